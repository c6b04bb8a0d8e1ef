"""
Tests for L{eofrelay.wiring.descriptions}: the endpoint descriptions of
C{--listen} and C{--metrics}, refused in words at option parsing.
"""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import endpoints
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.wiring.descriptions import serverEndpoint, splitDescription

#: Words of Python or of a parser's insides, which no message may show.
PYTHON = (
    "literal",
    "_parse",
    "index out of range",
    "positional argument",
    "keyword argument",
    "DECODER",
    "PEM routines",
    "OpenSSL.SSL",
    "StopIteration",
    "KeyError",
)


def refusal(description: str) -> str:
    """
    Why C{--listen description} is refused.
    """
    try:
        serverEndpoint("listen", description)
    except UsageError as error:
        return str(error)
    raise AssertionError(f"{description!r} was accepted")


class SplitDescriptionTests(SynchronousTestCase):
    """
    L{splitDescription}.
    """

    @settings(derandomize=True, deadline=None)
    @given(st.text(alphabet=":=\\ab1", max_size=12))
    def test_asTwisted(self, description: str) -> None:
        """
        A description splits into the parts and keywords Twisted's parser
        gives its endpoint's parser.
        """
        if (len(description) - len(description.rstrip("\\"))) % 2:
            return
        self.assertEqual(
            splitDescription(description),
            endpoints._parse(description),
        )

    def test_examples(self) -> None:
        """
        Colons separate parts, the first equals sign of a part makes it a
        keyword, and a backslash escapes the next character.
        """
        self.assertEqual(
            splitDescription(r"tcp:1100:interface=\:\:1:x=a=b"),
            (["tcp", "1100"], {"interface": "::1", "x": "a=b"}),
        )

    def test_trailingBackslash(self) -> None:
        """
        A backslash at the end, which escapes nothing (Twisted's parser
        raises C{RuntimeError} for it), is refused in words.
        """
        self.assertRaises(ValueError, splitDescription, "tcp:1100\\")
        self.assertIn("a backslash at its end escapes nothing", refusal("tcp:1100\\"))


class ServerEndpointTests(SynchronousTestCase):
    """
    L{serverEndpoint}.
    """

    def test_refusedInWords(self) -> None:
        """
        A description that could never listen, or that Twisted's parser
        refuses, is refused with what is wrong with it, not with what
        failed inside a parser; C{unix:} without a path (which failed only
        at listening, and left a C{.lock} in the working directory) among
        them.
        """
        self.patch(os, "environ", {})
        long = "/tmp/" + "x" * 103
        for description, reason in (
            ("unix:", "it needs the socket's path: unix:PATH"),
            ("unix:address=", "it needs the socket's path: unix:PATH"),
            (long, "unknown endpoint type"),
            ("unix:" + long, "the path is 108 bytes long; a UNIX socket's path"),
            ("unix:/tmp/s:mode=rw", "mode= must be an octal file mode"),
            ("unix:/tmp/s:mode=999", "mode= must be an octal file mode"),
            ("unix:/tmp/s:lockfile=yes", "lockfile= must be 0 or 1"),
            ("unix:/tmp/s:backlog=x", "backlog= must be a number from 0 to 65535"),
            ("unix:/tmp/s:owner=me", "owner= is not an option of unix:"),
            ("tcp", "it needs a port: tcp:PORT"),
            ("tcp6", "it needs a port: tcp6:PORT"),
            ("tcp:", "the port must be a number from 0 to 65535"),
            ("ssl:x", "the port must be a number from 0 to 65535"),
            ("haproxy:tcp:99999", "the port must be from 0 to 65535"),
            ("tcp:1100:backlog=-1", "backlog= must be a number from 0 to 65535"),
            ("tcp:1100:backlog=" + "9" * 20, "backlog= must be a number"),
            ("tcp:1100:1:2:3", "it has more parts than tcp: takes"),
            (r"tcp:1100:interface=::1", r"(a colon inside a value, as in an IPv6"),
            ("", "it is empty: give one of tcp:PORT"),
            ("bogus:1", "unknown endpoint type 'bogus': give one of tcp:PORT"),
            ("haproxy:bogus:1", "unknown endpoint type 'bogus'"),
            ("systemd:", "domain= must be INET, INET6 or UNIX"),
            ("systemd:domain=AF_INET:index=0", "domain= must be INET, INET6 or"),
            ("systemd:domain=INET", "give index= (the socket's place"),
            ("systemd:domain=INET:index=0:name=a", "give index= (the socket's"),
            ("systemd:domain=INET:index=first", "index= must be a number from 0"),
        ):
            message = refusal(description)
            self.assertIn(reason, message)
            self.assertTrue(message.startswith(f"--listen {description!r}: "))
            for python in PYTHON:
                self.assertNotIn(python, message)

    def test_systemdSockets(self) -> None:
        """
        When the socket that a C{systemd:} description names was not
        passed, the message says what systemd did pass, and to whom, from
        what Twisted found when its endpoints were imported (it removes
        C{LISTEN_FDS} and C{LISTEN_PID} from this process's environment
        then).
        """
        from twisted.internet.endpoints import _SystemdParser
        from twisted.python.systemd import ListenFDs

        description = "systemd:domain=INET:index=0"
        self.patch(_SystemdParser, "_sddaemon", ListenFDs([], ()))
        self.patch(os, "environ", {"LISTEN_FDS": "1", "LISTEN_PID": "1"})
        self.assertIn(
            "systemd passed 1 socket(s) to process 1 (LISTEN_PID), not to this one",
            refusal(description),
        )
        self.patch(os, "environ", {})
        self.assertIn(
            "LISTEN_FDS is not set, or the sockets came without their names "
            "(LISTEN_FDNAMES",
            refusal(description),
        )
        self.patch(_SystemdParser, "_sddaemon", ListenFDs([3], ("web",)))
        self.assertIn(
            "systemd passed 1 socket(s), named web, none of them this one",
            refusal("systemd:domain=INET:index=1"),
        )

    def test_privateKeyTooOpen(self) -> None:
        """
        An C{ssl:} private key that other users may read is refused, as the
        token file is, with the C{chmod} that fixes it.
        """
        from tests.test_tls import selfSignedCertificate

        certificate, key = selfSignedCertificate("localhost")
        pem = self.mktemp()
        with open(pem, "wb") as file:
            file.write(key + certificate)
        os.chmod(pem, 0o644)
        message = refusal(f"ssl:0:privateKey={pem}")
        self.assertIn("the private key: permissions 0644", message)
        self.assertIn(f"run: chmod o-rwx {pem}", message)

    def test_tls(self) -> None:
        """
        A key or certificate file that is not PEM, and an C{sslmethod=}
        OpenSSL does not have, are said so, not with OpenSSL's insides.
        """
        from tests.test_tls import selfSignedCertificate, writeSecret

        certificate, key = selfSignedCertificate("localhost")
        pem = self.mktemp()
        writeSecret(pem, key + certificate)
        keyOnly = self.mktemp()
        writeSecret(keyOnly, key)
        notPEM = self.mktemp()
        writeSecret(notPEM, b"not a key\n")
        for description, reason in (
            (f"ssl:0:privateKey={notPEM}", "cannot load the TLS key and certif"),
            (f"ssl:0:privateKey={keyOnly}", "cannot load the TLS key and cert"),
            (f"ssl:0:privateKey={keyOnly}:certKey={notPEM}", "cannot load the"),
            (f"ssl:0:privateKey={pem}:sslmethod=SSLv9", "sslmethod= names no TLS"),
        ):
            message = refusal(description)
            self.assertIn(reason, message)
            for python in PYTHON:
                self.assertNotIn(python, message)

    def test_accepted(self) -> None:
        """
        Descriptions eofrelay documents, keywords and escapes included,
        still make endpoints.
        """
        for description in (
            "tcp:0",
            "tcp:port=1100:backlog=1024",
            r"tcp:1100:interface=\:\:1",
            "tcp6:1100",
            "unix:/tmp/s:mode=660",
            "unix:address=/tmp/s:lockfile=0",
            "unix:/tmp/" + "x" * 102,
            "haproxy:tcp:1100",
        ):
            serverEndpoint("listen", description)
