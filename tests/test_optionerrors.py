"""
Tests for L{eofrelay.wiring.optionerrors}: what a command prints for an
option it refuses.
"""

from __future__ import annotations

from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.wiring.optionerrors import USAGE_STATUS, optionErrorMessage


class OptionErrorMessageTests(SynchronousTestCase):
    """
    Tests for L{optionErrorMessage}.
    """

    def test_errorFirst(self) -> None:
        """
        The message is the error after the command's name, then a hint to
        C{--help}; no usage text.
        """
        message = optionErrorMessage(
            "eofrelay", UsageError("--relay 'all:3': bad relay name 'all'")
        )
        self.assertEqual(
            message.splitlines(),
            [
                "eofrelay: --relay 'all:3': bad relay name 'all'",
                "Run 'eofrelay --help' for the options.",
            ],
        )

    def test_oneLine(self) -> None:
        """
        An error of several lines is said in one; an empty one still says
        something.
        """
        message = optionErrorMessage("twistd eofrelay", UsageError("a\n  b\tc"))
        self.assertEqual(
            message,
            "twistd eofrelay: a b c\nRun 'twistd eofrelay --help' for the options.",
        )
        self.assertTrue(
            optionErrorMessage("eofrelay", UsageError()).startswith(
                "eofrelay: invalid options\n"
            )
        )

    def test_status(self) -> None:
        """
        The exit status for an option refused is 2, as argparse's.
        """
        self.assertEqual(USAGE_STATUS, 2)
