"""
Tests for L{eofrelay.wiring.listening}: why the service could not listen,
in one line.
"""

from __future__ import annotations

import errno
import os
import socket

from twisted.internet.error import CannotListenError
from twisted.logger import Logger, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.wiring.listening import (
    ListenFailed,
    asListenError,
    listenErrorMessage,
    listening,
)


def systemError(code: int) -> OSError:
    """
    The L{OSError} the system gives for C{code}.
    """
    return OSError(code, os.strerror(code))


class ListenErrorMessageTests(SynchronousTestCase):
    """
    L{listenErrorMessage}.
    """

    def test_tcpInUse(self) -> None:
        """
        A TCP port in use is said with its address and the likely cause:
        another eofrelay, or another program.
        """
        inUse = systemError(errno.EADDRINUSE)
        self.assertEqual(
            listenErrorMessage(CannotListenError("", 1100, inUse)),
            "eofrelay: cannot listen on tcp:1100 (all interfaces): address "
            "already in use: is another eofrelay, or another program, "
            "listening there (ss -ltnp shows which)? Stop it, or choose "
            "another port",
        )
        self.assertTrue(
            listenErrorMessage(CannotListenError("127.0.0.1", 9108, inUse)).startswith(
                "eofrelay: cannot listen on tcp:9108 on 127.0.0.1: address "
                "already in use: "
            )
        )
        for everywhere in ("0.0.0.0", "::"):
            self.assertIn(
                "tcp:1100 (all interfaces)",
                listenErrorMessage(CannotListenError(everywhere, 1100, inUse)),
            )

    def test_tcpPrivileged(self) -> None:
        """
        A port below 1024 that the user may not have says why, and what to
        do; above, permission denied is said as the system says it.
        """
        denied = systemError(errno.EACCES)
        self.assertEqual(
            listenErrorMessage(CannotListenError("", 80, denied)),
            "eofrelay: cannot listen on tcp:80 (all interfaces): permission "
            "denied: a port below 1024 needs root or the capability "
            "CAP_NET_BIND_SERVICE (AmbientCapabilities=CAP_NET_BIND_SERVICE "
            "in a systemd unit); or choose a port from 1024 up",
        )
        self.assertEqual(
            listenErrorMessage(CannotListenError("", 1100, denied)),
            "eofrelay: cannot listen on tcp:1100 (all interfaces): permission denied",
        )

    def test_tcpInterface(self) -> None:
        """
        An interface address the machine does not have, or a name that
        does not resolve, is said to be no address of this machine.
        """
        self.assertEqual(
            listenErrorMessage(
                CannotListenError("10.9.9.9", 1100, systemError(errno.EADDRNOTAVAIL))
            ),
            "eofrelay: cannot listen on tcp:1100 on 10.9.9.9: no network "
            "interface of this machine has the address 10.9.9.9: check interface=",
        )
        unknown = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        self.assertEqual(
            listenErrorMessage(CannotListenError("nosuchhost", 1100, unknown)),
            "eofrelay: cannot listen on tcp:1100 on nosuchhost: nosuchhost is "
            "no address (nor host name) of this machine: check interface=",
        )

    def test_tcpOther(self) -> None:
        """
        Anything else is said as the system says it, without C{[Errno N]}.
        """
        message = listenErrorMessage(
            CannotListenError("", 1100, systemError(errno.ENOBUFS))
        )
        self.assertEqual(
            message,
            "eofrelay: cannot listen on tcp:1100 (all interfaces): "
            f"{os.strerror(errno.ENOBUFS).lower()}",
        )

    def test_unixLocked(self) -> None:
        """
        A UNIX socket whose lock file another process holds is in use, by
        that process as the lock says.
        """
        directory = self.mktemp()
        os.mkdir(directory)
        path = os.path.join(directory, "s")
        os.symlink("4242", path + ".lock")
        self.assertEqual(
            listenErrorMessage(
                CannotListenError(None, os.fsencode(path), "Cannot acquire lock")
            ),
            f"eofrelay: cannot listen on unix:{path}: in use: its lock file "
            f"{path}.lock is held by process 4242; is another eofrelay running "
            "on it? Stop it, or choose another path",
        )

    def test_unix(self) -> None:
        """
        A path in use, a directory that is missing or not writable, or a
        path through a file are each said, with the directory.
        """
        for code, path, reason in (
            (
                errno.EADDRINUSE,
                "/run/x/s",
                "address already in use: something is at that path already; "
                "is another eofrelay running on it? Stop it, or remove the "
                "file if nothing uses it, or choose another path",
            ),
            (
                errno.ENOENT,
                "/nonexistent/s",
                "the directory /nonexistent does not exist: create it "
                "(RuntimeDirectory= in a systemd unit), or choose another path",
            ),
            (errno.ENOENT, "/s", "no such file or directory"),
            (errno.ENOTDIR, "/etc/hostname/s", "a part of /etc/hostname is not"),
            (errno.EACCES, "/s", "permission denied: the user running eofrelay"),
        ):
            error = CannotListenError(None, path.encode(), systemError(code))
            message = listenErrorMessage(error)
            self.assertTrue(
                message.startswith(f"eofrelay: cannot listen on unix:{path}: {reason}"),
                message,
            )


class AsListenErrorTests(SynchronousTestCase):
    """
    L{asListenError}.
    """

    def test_lockFile(self) -> None:
        """
        The L{OSError} of a UNIX socket's lock file (Twisted's C{unix:}
        endpoint raises it bare) stands for that socket.
        """
        missing = FileNotFoundError(
            errno.ENOENT, "No such file or directory", "123", None, b"/no/s.lock"
        )
        error = asListenError(missing)
        assert error is not None
        self.assertEqual((error.interface, error.port), (None, "/no/s"))
        self.assertIs(error.socketError, missing)

    def test_others(self) -> None:
        """
        A L{CannotListenError} is itself; other errors stand for none.
        """
        error = CannotListenError("", 1, systemError(errno.EADDRINUSE))
        self.assertIs(asListenError(error), error)
        self.assertIsNone(asListenError(systemError(errno.EIO)))
        self.assertIsNone(asListenError(ValueError("x")))


class ListenFailedTests(SynchronousTestCase):
    """
    L{ListenFailed} and L{listening}.
    """

    def test_both(self) -> None:
        """
        L{ListenFailed} is the L{CannotListenError} it was made from, and a
        L{SystemExit} with status 1 whose text is the message.
        """
        inUse = systemError(errno.EADDRINUSE)
        failed = ListenFailed(CannotListenError("", 1100, inUse))
        self.assertIsInstance(failed, CannotListenError)
        self.assertIsInstance(failed, Exception)
        self.assertIsInstance(failed, SystemExit)
        self.assertEqual(failed.code, 1)
        self.assertEqual((failed.interface, failed.port), ("", 1100))
        self.assertIs(failed.socketError, inUse)
        self.assertEqual(str(failed), failed.message)
        self.assertTrue(failed.message.startswith("eofrelay: cannot listen on tcp:"))

    def test_listening(self) -> None:
        """
        L{listening} logs a listener's failure in one line, critical, and
        raises L{ListenFailed} instead; other errors pass unchanged and
        unlogged.
        """
        log = Logger()
        inUse = CannotListenError("", 1100, systemError(errno.EADDRINUSE))
        with capturedLogs() as events:
            with self.assertRaises(ListenFailed) as raised:
                with listening(log):
                    raise inUse
        self.assertEqual(
            [(e["log_level"].name, formatEvent(e)) for e in events],
            [("critical", raised.exception.message)],
        )
        other = systemError(errno.EIO)
        with capturedLogs() as events:
            with self.assertRaises(OSError) as passed:
                with listening(log):
                    raise other
        self.assertIs(passed.exception, other)
        self.assertEqual(events, [])
