# -*- test-case-name: tests.test_secretfiles -*-
"""
Files that hold a secret (C{--token-file}, and the like): refused when
other users of the machine may read or change them, as OpenSSH refuses a
private key that others can read.

The file's owner and group may do what they like: a file owned by root
and readable by the service's group (mode C{0640}) is fine.
"""

from __future__ import annotations

import os
import shlex
import stat


class SecretFileTooOpen(Exception):
    """
    Other users may read or change a file that holds a secret; the message
    says so in one line, with the file's mode and the C{chmod} that fixes
    it.
    """


def checkSecretFile(path: str) -> None:
    """
    Check that no one but the owner and the group of the file at C{path}
    may read, change or execute it: its permissions for "other" users are
    none.

    A file that cannot be looked at, or is no regular file (a directory),
    passes: reading it will say why, and a C{chmod} would not help.

    @raise SecretFileTooOpen: if other users have any permission on it.
    """
    try:
        status = os.stat(path)
    except OSError:
        return
    mode = stat.S_IMODE(status.st_mode)
    if not stat.S_ISREG(status.st_mode) or not mode & stat.S_IRWXO:
        return
    raise SecretFileTooOpen(
        f"permissions {mode:04o} for '{path}' are too open: it holds a secret, "
        f"and {_whatOthersMay(mode)}; run: chmod o-rwx {shlex.quote(path)}"
    )


def _whatOthersMay(mode: int) -> str:
    """
    What the "other" permissions of C{mode} let every other user do.
    """
    may = [
        verb
        for bit, verb in ((stat.S_IROTH, "read"), (stat.S_IWOTH, "change"))
        if mode & bit
    ]
    if not may:
        return "other users have access to it"
    return f"every user of this machine can {' and '.join(may)} it"
