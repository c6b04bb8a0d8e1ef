# -*- test-case-name: tests.test_listening -*-
"""
Why the service could not listen, in one line a user can act on (which
address, what is wrong, the likely cause and the fix), and the exit that
ends C{twistd eofrelay} with that line and no traceback.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional, Union

from twisted.internet.error import CannotListenError
from twisted.logger import Logger

#: The first port a user without privileges may listen on (on Linux, by
#: default: C{net.ipv4.ip_unprivileged_port_start}).
FIRST_UNPRIVILEGED_PORT = 1024
#: What Twisted's C{unix:} endpoint adds to the socket's path for its lock
#: file (C{lockfile=1}, the default).
LOCK_SUFFIX = ".lock"


class ListenFailed(CannotListenError, SystemExit):
    """
    A listener of the service could not listen.

    It is a L{CannotListenError}, so that an application that catches that
    still does, with the same attributes; and a L{SystemExit} with status
    1, so that twistd ends without a traceback (the line is in the log).
    Being an L{Exception} too, twistd's start-up catches it on its way
    out, so that it removes its pid file and tells a daemon's parent,
    before it goes on.

    @ivar message: The line that says why (L{listenErrorMessage}), which
        is also its C{str()}.
    """

    def __init__(self, error: CannotListenError) -> None:
        CannotListenError.__init__(self, error.interface, error.port, error.socketError)
        self.code = 1
        self.message = listenErrorMessage(error)

    def __str__(self) -> str:
        return self.message


class StartFailed(Exception, SystemExit):
    """
    The service could not start for another reason than listening (a GPIO
    pin that cannot be set up): a L{SystemExit} with status 1 and the
    line that says why, which is also logged, as for L{ListenFailed}.
    """

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.code = 1
        self.message = message

    def __str__(self) -> str:
        return self.message


def startFailed(log: Logger, message: str) -> StartFailed:
    """
    Log C{message}, why the service cannot start, as critical, and return
    the L{StartFailed} to raise.
    """
    log.critical("{message}", message=message)
    return StartFailed(message)


def asListenError(error: BaseException) -> Optional[CannotListenError]:
    """
    The L{CannotListenError} that C{error}, raised by an endpoint's
    C{listen}, stands for, or L{None} if it is no such error.

    Twisted's C{unix:} endpoint raises a bare L{OSError} when it cannot
    make the lock file next to the socket (its directory is missing, say);
    that is a UNIX socket that cannot listen too.
    """
    if isinstance(error, CannotListenError):
        return error
    if isinstance(error, OSError) and error.filename2 is not None:
        lock = os.fsdecode(error.filename2)
        if lock.endswith(LOCK_SUFFIX):
            return CannotListenError(None, lock[: -len(LOCK_SUFFIX)], error)
    return None


@contextmanager
def listening(log: Logger) -> Iterator[None]:
    """
    Run the code that starts listeners; when one cannot listen, log why
    in one line, critical, and raise L{ListenFailed} in place of the
    error.
    """
    try:
        yield
    except (CannotListenError, OSError) as error:
        listenError = asListenError(error)
        if listenError is None:
            raise
        failed = ListenFailed(listenError)
        log.critical("{line}", line=failed.message)
        raise failed from None


def listenErrorMessage(error: CannotListenError) -> str:
    """
    Why the listener of C{error} could not listen, in one line: which
    address, what is wrong, the likely cause and what to do.
    """
    if error.interface is None:
        path = os.fsdecode(error.port)
        where, reason = f"unix:{path}", _unixReason(path, error.socketError)
    else:
        where = f"tcp:{error.port} {_interfaceName(error.interface)}"
        reason = _tcpReason(error.interface, error.port, error.socketError)
    return f"eofrelay: cannot listen on {where}: {reason}"


def _interfaceName(interface: str) -> str:
    """
    The interface a TCP listener listens on, as the message says it.
    """
    if interface in ("", "0.0.0.0", "::"):
        return "(all interfaces)"
    return f"on {interface}"


def _tcpReason(interface: str, port: int, problem: Union[OSError, str]) -> str:
    """
    Why a TCP listener could not listen, and what to do.
    """
    if isinstance(problem, socket.gaierror):
        return (
            f"{interface} is no address (nor host name) of this machine: "
            "check interface="
        )
    code = getattr(problem, "errno", None)
    if code == errno.EADDRINUSE:
        return (
            "address already in use: is another eofrelay, or another program, "
            "listening there (ss -ltnp shows which)? Stop it, or choose "
            "another port"
        )
    if code == errno.EACCES and 0 < port < FIRST_UNPRIVILEGED_PORT:
        return (
            f"permission denied: a port below {FIRST_UNPRIVILEGED_PORT} needs "
            "root or the capability CAP_NET_BIND_SERVICE "
            "(AmbientCapabilities=CAP_NET_BIND_SERVICE in a systemd unit); or "
            f"choose a port from {FIRST_UNPRIVILEGED_PORT} up"
        )
    if code == errno.EADDRNOTAVAIL:
        return (
            f"no network interface of this machine has the address "
            f"{interface}: check interface="
        )
    return _said(problem)


def _unixReason(path: str, problem: Union[OSError, str]) -> str:
    """
    Why a UNIX socket listener could not listen, and what to do.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if problem == "Cannot acquire lock":
        return (
            f"in use: its lock file {path}{LOCK_SUFFIX} is held{_holder(path)}; "
            "is another eofrelay running on it? Stop it, or choose another path"
        )
    code = getattr(problem, "errno", None)
    if code == errno.EADDRINUSE:
        return (
            "address already in use: something is at that path already; is "
            "another eofrelay running on it? Stop it, or remove the file if "
            "nothing uses it, or choose another path"
        )
    if code == errno.ENOENT and not os.path.isdir(directory):
        return (
            f"the directory {directory} does not exist: create it "
            "(RuntimeDirectory= in a systemd unit), or choose another path"
        )
    if code == errno.EACCES:
        return (
            f"permission denied: the user running eofrelay ({_user()}) may not "
            f"create files in {directory}: choose a directory it may write to"
        )
    if code == errno.ENOTDIR:
        return f"a part of {directory} is not a directory"
    return _said(problem)


def _holder(path: str) -> str:
    """
    Who holds the lock file of C{path}, as Twisted's lock records it (its
    target is the holder's process id), for the message; empty if
    unknown.
    """
    try:
        return f" by process {os.readlink(path + LOCK_SUFFIX)}"
    except OSError:
        return ""


def _user() -> str:
    """
    The name of the user this process runs as, or its number.
    """
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def _said(problem: Union[OSError, str]) -> str:
    """
    What the system said, in the message's case, without Python's
    C{[Errno N]}.
    """
    said = getattr(problem, "strerror", None) or str(problem)
    return said[:1].lower() + said[1:]
