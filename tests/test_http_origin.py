"""
Tests for the same-origin rule of C{eofrelay.http.origin}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from eofrelay.http.origin import parseOrigin


class ParseOriginTests(SynchronousTestCase):
    """
    L{parseOrigin}.
    """

    def test_origins(self) -> None:
        """
        An origin is a scheme, a lower-cased host and a port, the scheme's
        default port when none is given.
        """
        for text, origin in (
            ("http://relays.local", ("http", "relays.local", 80)),
            ("HTTP://Relays.Local:8080", ("http", "relays.local", 8080)),
            ("https://192.0.2.1", ("https", "192.0.2.1", 443)),
            ("https://[fd00::1]:8443", ("https", "fd00::1", 8443)),
        ):
            self.assertEqual(parseOrigin(text), origin, text)

    def test_notOrigins(self) -> None:
        """
        C{null}, other schemes, paths, credentials, bad ports and garbage
        name no origin.
        """
        for text in (
            "null",
            "",
            "file://",
            "ftp://relays.local",
            "http://",
            "http://relays.local/",
            "http://relays.local/x",
            "http://relays.local?x",
            "http://user@relays.local",
            "http://relays.local:99999",
            "http://relays.local:port",
            "http://[fd00::1",
            "relays.local",
        ):
            self.assertIsNone(parseOrigin(text), text)
