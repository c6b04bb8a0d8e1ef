# -*- test-case-name: tests.test_interpreter,tests.test_client -*-
"""
The exact texts of eofrelay's replies, and what a word of a message may
be.

The reply texts are part of the contract (the protocol reference in
C{docs/protocol.rst}): scripts match them, so the server's replies and the
client's errors are both defined here, once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

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

#: Every error reply, in the order of the protocol reference.
ERROR_REPLIES: Final = (
    UNKNOWN_COMMAND,
    EMPTY_COMMAND,
    BAD_ENCODING,
    UNKNOWN_RELAY,
    BAD_ARGUMENT,
    HARDWARE_FAILURE,
    AUTHENTICATION_REQUIRED,
    AUTHENTICATION_FAILED,
    LINE_TOO_LONG,
    TOO_MANY_CONNECTIONS,
)

#: The result each error reply counts as in the metrics (its text after
#: C{error: }); any other reply counts as C{ok}.
ERROR_RESULTS: Final = {
    reply: reply[len(b"error: ") :].decode("ascii") for reply in ERROR_REPLIES
}


def resultOf(reply: bytes) -> str:
    """
    What a reply counts as in the metrics: C{"ok"}, or the error's text
    (C{"unknown relay"} for C{error: unknown relay}).  There are as many
    results as error replies, whatever the replies carry (C{relays} lists
    states), so counting by result stays bounded.
    """
    return ERROR_RESULTS.get(reply, "ok")


_WORD: Final = re.compile(r"[!-~]+\Z")


def isWord(text: str) -> bool:
    """
    Whether C{text} can be sent as one word of a message (a relay name, a
    command's argument, a token): one word of printable ASCII, without the
    delimiter.  (Anything else would be no word, several, or a second
    message.)
    """
    return _WORD.match(text) is not None and "<EOF>" not in text


@lru_cache(maxsize=1024)
def watchEvent(relay: str, on: bool) -> bytes:
    """
    The C{event: NAME on} (or C{off}) message that tells watchers of a
    change, built once for each relay and state.
    """
    return f"event: {relay} {'on' if on else 'off'}".encode("ascii")
