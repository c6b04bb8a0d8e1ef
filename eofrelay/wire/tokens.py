# -*- test-case-name: tests.test_tokens -*-
"""
What a token may be, and how it is read from its file: the server and the
client read the same files the same way.
"""

from __future__ import annotations

import os
import stat

from eofrelay.wire.replies import isWord

#: The longest token, in bytes.
MAX_TOKEN = 256


class TokenFileError(Exception):
    """
    The token file cannot be used; the message says why in one line.
    """


def readTokenFile(path: str) -> bytes:
    """
    Read the token from C{path}: its content without surrounding
    whitespace.

    @raise TokenFileError: if the file cannot be read, is empty, or the
        token is longer than 256 bytes, contains whitespace, the delimiter
        C{<EOF>} or anything but printable ASCII.
    """
    try:
        with open(path, "rb") as file:
            token = file.read().strip()
    except OSError as error:
        raise TokenFileError(
            f"cannot read token file {path}: {error.strerror}"
        ) from None
    if not token:
        raise TokenFileError(f"token file {path} is empty")
    if not isToken(token):
        raise TokenFileError(
            f"token file {path}: the token must be one word of 1 to 256 "
            "printable ASCII characters, without <EOF> "
            "(e.g. made with: openssl rand -hex 32)"
        )
    return token


def isToken(token: object) -> bool:
    """
    Whether C{token} can be a token: bytes, one word of 1 to L{MAX_TOKEN}
    printable ASCII characters, without C{<EOF>}, so that C{auth TOKEN} can
    carry it.
    """
    return (
        isinstance(token, bytes)
        and len(token) <= MAX_TOKEN
        and token.isascii()
        and isWord(token.decode("ascii"))
    )


def readableByEveryone(path: str) -> bool:
    """
    Whether every user of the machine may read the file at C{path} (its
    "other" read bit), which a file holding a secret should not allow.
    """
    try:
        return bool(os.stat(path).st_mode & stat.S_IROTH)
    except OSError:
        return False
