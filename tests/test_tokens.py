"""
Tests for L{eofrelay.wire.tokens}: what a token may be, and its file.
"""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from eofrelay.wire.tokens import TokenFileError, readableByEveryone, readTokenFile

TOKEN = b"s3cret-Token"


class TokenFileTests(SynchronousTestCase):
    """
    L{readTokenFile}.
    """

    def write(self, content: bytes, mode: int = 0o600) -> str:
        path: str = self.mktemp()
        with open(path, "wb") as file:
            file.write(content)
        os.chmod(path, mode)
        return path

    def test_read(self) -> None:
        """
        The token is the file's content without surrounding whitespace.
        """
        self.assertEqual(readTokenFile(self.write(b"  " + TOKEN + b"\n", 0o640)), TOKEN)

    def test_anyPrintableASCII(self) -> None:
        """
        A token may be any printable ASCII without whitespace, 256
        characters at most; the file's permissions do not matter here.
        """
        for token in (b"p@ss!word#1", b"<EOF", b"'\"\\`$(x)", b"x" * 256):
            self.assertEqual(readTokenFile(self.write(token + b"\n", 0o644)), token)

    def test_refused(self) -> None:
        """
        An empty, multi-word, non-ASCII, too long or missing file, or one
        whose token holds the delimiter or a control character, is refused
        with a message that says why.
        """
        cases = [
            (self.write(b" \n"), "empty"),
            (self.write(b"two words"), "1 to 256"),
            (self.write(b"tab\tinside"), "1 to 256"),
            (self.write(b"bell\x07"), "1 to 256"),
            (self.write("tökén".encode()), "1 to 256"),
            (self.write(b"a<EOF>b"), "without <EOF>"),
            (self.write(b"x" * 257), "1 to 256"),
            (self.mktemp(), "cannot read"),
        ]
        for path, message in cases:
            error = self.assertRaises(TokenFileError, readTokenFile, path)
            self.assertIn(message, str(error))

    def test_readableByEveryone(self) -> None:
        """
        L{readableByEveryone} tells whether the "other" read bit is set; a
        missing file is not readable.
        """
        self.assertTrue(readableByEveryone(self.write(TOKEN, 0o644)))
        self.assertTrue(readableByEveryone(self.write(TOKEN, 0o604)))
        self.assertFalse(readableByEveryone(self.write(TOKEN, 0o640)))
        self.assertFalse(readableByEveryone(self.mktemp()))
