# -*- test-case-name: tests.test_interpreter -*-
"""
How one message of eofrelay's wire protocol is parsed into a verb and its
arguments.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from eofrelay.wire.replies import BAD_ENCODING, EMPTY_COMMAND

_SPACES: Final = bytes.maketrans(b"\t\r\n", b"   ")


class CommandError(Exception):
    """
    A message that gets an error reply instead of being executed.

    @ivar reply: The error reply, one of the C{error: ...} texts of
        L{eofrelay.wire.replies}.
    """

    def __init__(self, reply: bytes) -> None:
        super().__init__(reply.decode("ascii"))
        self.reply = reply


class Command(NamedTuple):
    """
    One parsed message.

    @ivar verb: The verb, lower-cased.
    @ivar arguments: The words after the verb, as sent.
    """

    verb: str
    arguments: tuple[str, ...]


def parseMessage(message: bytes) -> Command:
    """
    Parse one message (without its delimiter) into a L{Command}.

    Leading and trailing whitespace (space, tab, CR, LF) is ignored and
    words are separated by runs of it.  Whether the verb is known and its
    arguments fit is for the caller to decide.

    @raise CommandError: with L{EMPTY_COMMAND} for a message of nothing but
        whitespace, or L{BAD_ENCODING} for one that is not ASCII.
    """
    words = [word for word in message.translate(_SPACES).split(b" ") if word]
    if not words:
        raise CommandError(EMPTY_COMMAND)
    if not message.isascii():
        raise CommandError(BAD_ENCODING)
    verb = words[0].decode("ascii").lower()
    return Command(verb, tuple(word.decode("ascii") for word in words[1:]))
