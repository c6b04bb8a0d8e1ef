# -*- test-case-name: tests.test_client -*-
"""
The exceptions of the client: one per error reply of the protocol, whose
texts are L{eofrelay.wire.replies}'.
"""

from __future__ import annotations

from typing import ClassVar, Optional

from eofrelay.wire import replies


class RelayError(Exception):
    """
    The server answered with an error reply.

    @ivar reply: The reply, e.g. C{"error: unknown relay"}.
    """

    #: The error reply this exception stands for, if one.
    REPLY: ClassVar[Optional[bytes]] = None

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class UnknownCommand(RelayError):
    """C{error: unknown command}"""

    REPLY = replies.UNKNOWN_COMMAND


class EmptyCommand(RelayError):
    """C{error: empty command}"""

    REPLY = replies.EMPTY_COMMAND


class BadEncoding(RelayError):
    """C{error: bad encoding}"""

    REPLY = replies.BAD_ENCODING


class UnknownRelay(RelayError):
    """C{error: unknown relay}"""

    REPLY = replies.UNKNOWN_RELAY


class BadArgument(RelayError):
    """C{error: bad argument}"""

    REPLY = replies.BAD_ARGUMENT


class HardwareError(RelayError):
    """C{error: hardware failure}"""

    REPLY = replies.HARDWARE_FAILURE


class AuthenticationRequired(RelayError):
    """C{error: authentication required}"""

    REPLY = replies.AUTHENTICATION_REQUIRED


class AuthenticationFailed(RelayError):
    """C{error: authentication failed}"""

    REPLY = replies.AUTHENTICATION_FAILED


class LineTooLong(RelayError):
    """C{error: line too long}"""

    REPLY = replies.LINE_TOO_LONG


class TooManyConnections(RelayError):
    """C{error: too many connections}"""

    REPLY = replies.TOO_MANY_CONNECTIONS


class UnexpectedReply(RelayError):
    """
    A reply that is neither an error nor what the command expects (for
    example the other article server's C{unrecognized command}).
    """


class ConnectionLost(Exception):
    """
    The connection was lost before the reply arrived.
    """


#: The exception for each error reply of L{eofrelay.wire.replies}.
ERRORS: dict[bytes, type[RelayError]] = {
    error.REPLY: error for error in RelayError.__subclasses__() if error.REPLY
}


def errorFor(reply: bytes) -> RelayError:
    """
    The exception for an error reply.
    """
    return ERRORS.get(reply, RelayError)(reply.decode("ascii", "replace"))
