# -*- test-case-name: tests.test_protocol,tests.test_properties -*-
"""
The messages of eofrelay's wire protocol: how a message is parsed, and the
exact texts of the replies.

The reply texts are part of the contract (DESIGN.md section 1): scripts
match them, so they are defined once, here.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

SUCCESS: Final = b"success"
ON: Final = b"on"
OFF: Final = b"off"
PONG: Final = b"pong"
BYE: Final = b"bye"

UNKNOWN_COMMAND: Final = b"error: unknown command"
EMPTY_COMMAND: Final = b"error: empty command"
BAD_ENCODING: Final = b"error: bad encoding"
UNKNOWN_RELAY: Final = b"error: unknown relay"
BAD_ARGUMENT: Final = b"error: bad argument"
HARDWARE_FAILURE: Final = b"error: hardware failure"
LINE_TOO_LONG: Final = b"error: line too long"
AUTHENTICATION_REQUIRED: Final = b"error: authentication required"
AUTHENTICATION_FAILED: Final = b"error: authentication failed"
TOO_MANY_CONNECTIONS: Final = b"error: too many connections"

#: The result each error reply counts as in the metrics (its text after
#: C{error: }); any other reply counts as C{ok}.
ERROR_RESULTS: Final = {
    reply: reply[len(b"error: ") :].decode("ascii")
    for reply in (
        UNKNOWN_COMMAND,
        EMPTY_COMMAND,
        BAD_ENCODING,
        UNKNOWN_RELAY,
        BAD_ARGUMENT,
        HARDWARE_FAILURE,
        LINE_TOO_LONG,
        AUTHENTICATION_REQUIRED,
        AUTHENTICATION_FAILED,
        TOO_MANY_CONNECTIONS,
    )
}


_WORD: Final = re.compile(r"[!-~]+\Z")


def isArgument(text: str) -> bool:
    """
    Whether C{text} can be sent as one argument of a command: one word of
    printable ASCII, without the delimiter.  (Anything else would be no
    argument, several, or a second message.)
    """
    return _WORD.match(text) is not None and "<EOF>" not in text


def resultOf(reply: bytes) -> str:
    """
    What a reply counts as in the metrics: C{"ok"}, or the error's text
    (C{"unknown relay"} for C{error: unknown relay}).  There are as many
    results as error replies, whatever the replies carry (C{relays} lists
    states), so counting by result stays bounded.
    """
    return ERROR_RESULTS.get(reply, "ok")


#: The verbs allowed before C{auth} when a token is configured.
BEFORE_AUTHENTICATION: Final = frozenset({"auth", "ping", "help", "quit"})

#: The relay name that means every relay, in C{on all} and C{off all}.
ALL: Final = "all"

#: Whitespace ignored around a message and between its words.
WHITESPACE: Final = b" \t\r\n"
_SPACES: Final = bytes.maketrans(b"\t\r\n", b"   ")


class CommandError(Exception):
    """
    A message that gets an error reply instead of being executed.

    @ivar reply: The error reply, one of this module's C{error: ...} texts.
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

    Leading and trailing whitespace is ignored and words are separated by
    runs of whitespace.  Whether the verb is known and its arguments fit is
    for the caller to decide.

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


_parsed: dict[bytes, Command | bytes] = {}
_PARSED_MAX = 512
_PARSED_LENGTH = 48


def parseCached(message: bytes) -> Command:
    """
    L{parseMessage}, remembering a few hundred short messages: clients
    repeat the same few commands, and parsing one is pure.  Long messages
    and C{auth} (whose token must not linger in memory) are not remembered,
    so the memory is bounded by a few tens of kilobytes.

    @raise CommandError: as L{parseMessage} does.
    """
    parsed = _parsed.get(message)
    if parsed is None:
        try:
            parsed = parseMessage(message)
        except CommandError as error:
            parsed = error.reply
        if len(message) <= _PARSED_LENGTH and not (
            isinstance(parsed, Command) and parsed.verb == "auth"
        ):
            if len(_parsed) >= _PARSED_MAX:
                _parsed.clear()
            _parsed[message] = parsed
    if parsed.__class__ is bytes:
        raise CommandError(parsed)  # type: ignore[arg-type]
    return parsed  # type: ignore[return-value]
