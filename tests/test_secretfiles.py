"""
Tests for L{eofrelay.wire.secretfiles}: a file that holds a secret is
refused when other users may read or change it.
"""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from eofrelay.wire.secretfiles import SecretFileTooOpen, checkSecretFile


class CheckSecretFileTests(SynchronousTestCase):
    """
    L{checkSecretFile}.
    """

    def write(self, mode: int, name: str = "secret") -> str:
        directory = self.mktemp()
        os.mkdir(directory)
        path = os.path.join(directory, name)
        with open(path, "w") as file:
            file.write("s3cret\n")
        os.chmod(path, mode)
        return path

    def test_private(self) -> None:
        """
        A file that other users have no permission on passes, whatever its
        owner and its group may do.
        """
        for mode in (0o600, 0o400, 0o640, 0o660, 0o750, 0o700):
            checkSecretFile(self.write(mode))

    def test_tooOpen(self) -> None:
        """
        A file other users may read is refused in one line naming it, its
        mode in octal, and the C{chmod} that fixes it.
        """
        path = self.write(0o644)
        with self.assertRaises(SecretFileTooOpen) as raised:
            checkSecretFile(path)
        self.assertEqual(
            str(raised.exception),
            f"permissions 0644 for '{path}' are too open: it holds a secret, "
            f"and every user of this machine can read it; run: chmod o-rwx {path}",
        )

    def test_whatOthersMay(self) -> None:
        """
        The message says what other users may do: read, change, or, with
        only the execute bit, have access.
        """
        for mode, what in (
            (0o604, "every user of this machine can read it"),
            (0o602, "every user of this machine can change it"),
            (0o666, "every user of this machine can read and change it"),
            (0o601, "other users have access to it"),
        ):
            with self.assertRaises(SecretFileTooOpen) as raised:
                checkSecretFile(self.write(mode))
            self.assertIn(f"permissions {mode:04o} for ", str(raised.exception))
            self.assertIn(f"and {what};", str(raised.exception))

    def test_quotedForTheShell(self) -> None:
        """
        The C{chmod} can be pasted into a shell also when the path has
        spaces in it.
        """
        path = self.write(0o644, "my token")
        with self.assertRaises(SecretFileTooOpen) as raised:
            checkSecretFile(path)
        self.assertTrue(str(raised.exception).endswith(f"chmod o-rwx '{path}'"))

    def test_missing(self) -> None:
        """
        A file that does not exist passes: reading it says why it cannot
        be used.
        """
        checkSecretFile(self.mktemp())

    def test_directory(self) -> None:
        """
        A directory passes whatever its mode: reading it says it is a
        directory, which no C{chmod} fixes.
        """
        path = self.mktemp()
        os.mkdir(path, 0o755)
        checkSecretFile(path)
