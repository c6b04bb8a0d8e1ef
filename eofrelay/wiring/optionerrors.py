# -*- test-case-name: tests.test_optionerrors -*-
"""
What a command prints for an option it refuses: the error first, in one
line, and where the options are described; not the whole usage text.
"""

from __future__ import annotations

from twisted.python.usage import UsageError

#: The exit status for an option refused, as argparse's.
USAGE_STATUS = 2


def optionErrorMessage(command: str, error: UsageError) -> str:
    """
    The message for C{error}, an option that C{command} refuses: two lines,
    the error (after the command's name, and with its whitespace made
    single spaces, so that it is one line) and a hint to C{--help}.

    @param command: The command as a user types it, such as C{"eofrelay"}
        or C{"twistd eofrelay"}.
    """
    reason = " ".join(str(error).split()) or "invalid options"
    return f"{command}: {reason}\nRun '{command} --help' for the options."
