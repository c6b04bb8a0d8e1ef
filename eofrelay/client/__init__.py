# -*- test-case-name: tests.test_client -*-
"""
A Twisted client for eofrelay (and for the article's servers, for C{on}
and C{off}).

    client = yield connect(reactor, "tcp:raspberrypi.local:1100")
    yield client.on("pump")
    print((yield client.relays()))

Every command returns a L{Deferred}; commands may be issued without waiting,
and each Deferred gets its own reply, in order.  An error reply fails the
Deferred with the L{RelayError} subclass for it; a lost connection fails
every pending Deferred with L{ConnectionLost}, or with the error the server
gave before closing (L{TooManyConnections}).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from typing import Optional, Union

from twisted.internet.defer import Deferred, fail
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IReactorCore, IStreamClientEndpoint
from twisted.python.failure import Failure

from eofrelay.client.errors import (
    ERRORS,
    AuthenticationFailed,
    AuthenticationRequired,
    BadArgument,
    BadEncoding,
    ConnectionLost,
    EmptyCommand,
    HardwareError,
    LineTooLong,
    RelayError,
    TooManyConnections,
    UnexpectedReply,
    UnknownCommand,
    UnknownRelay,
    errorFor,
)
from eofrelay.wire import replies
from eofrelay.wire.framing import EOFReceiver
from eofrelay.wire.layers import noDelay
from eofrelay.wire.names import NAME_PATTERN
from eofrelay.wire.replies import isWord

__all__ = [
    "ERRORS",
    "AuthenticationFailed",
    "AuthenticationRequired",
    "BadArgument",
    "BadEncoding",
    "ConnectionLost",
    "EmptyCommand",
    "EventCallback",
    "HardwareError",
    "LineTooLong",
    "RelayClient",
    "RelayClientProtocol",
    "RelayError",
    "TooManyConnections",
    "UnexpectedReply",
    "UnknownCommand",
    "UnknownRelay",
    "connect",
    "errorFor",
]


_CONNECTION_DONE = Failure(ConnectionDone())

#: Called with a relay's name and its new state for each C{event:}.
EventCallback = Callable[[str, bool], None]


class RelayClientProtocol(EOFReceiver):
    """
    The client side of the protocol: sends messages, matches each reply to
    the oldest message still waiting, hands C{event:} messages to
    L{eventReceived}.

    An error reply that arrives while no message waits for one (the
    server's C{error: too many connections}, sent before it closes a
    connection it cannot serve) is kept: once the connection is closed,
    messages fail with it instead of L{ConnectionLost}, so that the reason
    is not lost.

    @ivar eventReceived: Called for each event, or C{None}.
    """

    MAX_LENGTH = 65536

    def __init__(self) -> None:
        self._waiting: deque[Deferred[bytes]] = deque()
        self.eventReceived: Optional[EventCallback] = None
        self.closed: Deferred[None] = Deferred()
        self._unsolicited: Optional[bytes] = None

    def connectionMade(self) -> None:
        """
        Send each message at once, without waiting for the acknowledgement
        of the one before (L{noDelay}).
        """
        noDelay(self.transport)

    def send(self, message: str) -> Deferred[bytes]:
        """
        Send one message.

        @return: A Deferred firing with the reply (without delimiter), or
            failing with the L{RelayError} for an error reply, with
            L{ConnectionLost}, or, without sending anything, with
            C{ValueError} for a message that is not ASCII or holds the
            delimiter (which would make it more than one message).
        """
        data = message.encode("ascii", "replace") + self.delimiter
        if not message.isascii() or data.count(self.delimiter) > 1:
            # The message is not quoted: it may hold a token.
            return fail(ValueError("a message is ASCII, without <EOF>"))
        if self.transport is None or not self.connected:
            return fail(self._closedWith("not connected"))
        waiting: Deferred[bytes] = Deferred()
        self._waiting.append(waiting)
        self.transport.write(data)
        return waiting

    def lineReceived(self, line: bytes) -> None:
        """
        Deliver a reply or an event.
        """
        if line.startswith(b"event: "):
            words = line.split()
            if self.eventReceived is not None and len(words) == 3:
                self.eventReceived(words[1].decode("ascii"), words[2] == b"on")
            return
        if not self._waiting:
            if line.startswith(b"error: "):
                self._unsolicited = line
            return
        waiting = self._waiting.popleft()
        if line.startswith(b"error: "):
            waiting.errback(errorFor(line))
        else:
            waiting.callback(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        """
        A reply too long to be one: give up on this connection.
        """
        self.transport.loseConnection()

    def _closedWith(self, why: str) -> Exception:
        """
        What a message fails with once the connection is closed: the error
        the server sent unasked, if any, or L{ConnectionLost}.
        """
        if self._unsolicited is not None:
            return errorFor(self._unsolicited)
        return ConnectionLost(why)

    def connectionLost(self, reason: Failure = _CONNECTION_DONE) -> None:
        """
        Fail every command still waiting for its reply: with the error the
        server sent unasked, if any, or with L{ConnectionLost}.
        """
        self.connected = False
        waiting, self._waiting = self._waiting, deque()
        for each in waiting:
            each.errback(self._closedWith(reason.getErrorMessage()))
        self.closed.callback(None)


def _expect(expected: bytes) -> Callable[[bytes], None]:
    def check(reply: bytes) -> None:
        if reply != expected:
            raise UnexpectedReply(reply.decode("ascii", "replace"))

    return check


def _state(reply: bytes) -> bool:
    if reply not in (replies.ON, replies.OFF):
        raise UnexpectedReply(reply.decode("ascii", "replace"))
    return reply == replies.ON


#: What a reply to C{relays} looks like: C{NAME=on NAME=off ...}, one
#: space between words, names as a server's relays can have.
_RELAY_STATE = f"{NAME_PATTERN}=o(?:n|ff)".encode("ascii")
_RELAY_STATES = re.compile(_RELAY_STATE + b"(?: " + _RELAY_STATE + rb")*\Z")


def _relays(reply: bytes) -> dict[str, bool]:
    """
    The states a reply to C{relays} gives, by name.  Any other reply is
    unexpected, so that the result gives the reply back exactly.
    """
    text = reply.decode("ascii", "replace")
    if _RELAY_STATES.match(reply) is None:
        raise UnexpectedReply(text)
    words = text.split(" ")
    states = {
        name: state == "on"
        for name, _, state in (word.partition("=") for word in words)
    }
    if len(states) < len(words):
        # A name given twice: a dict cannot hold both states.
        raise UnexpectedReply(text)
    return states


#: How the reply to C{help} starts.
_COMMANDS = b"commands: "


def _verbs(reply: bytes) -> list[str]:
    """
    The verbs a reply to C{help} lists: its words after C{commands: },
    each space separating two.
    """
    if not reply.startswith(_COMMANDS):
        raise UnexpectedReply(reply.decode("ascii", "replace"))
    listed = reply[len(_COMMANDS) :].decode("ascii", "replace")
    return listed.split(" ") if listed else []


def _message(verb: str, *arguments: object) -> Union[str, ValueError]:
    """
    The message for C{verb} and the C{arguments} that are not C{None}, or
    the C{ValueError} for an argument that is not one word of printable
    ASCII (an empty relay name would mean the default relay, and C{<EOF>}
    a second message).
    """
    words = [verb]
    for argument in arguments:
        if argument is None:
            continue
        if not (isinstance(argument, str) and isWord(argument)):
            # Not quoted: it may be a token.
            return ValueError(
                f"{verb}: an argument is one word of printable ASCII, without <EOF>"
            )
        words.append(argument)
    return " ".join(words)


class RelayClient:
    """
    A connection to an eofrelay server, one method per command.

    @ivar protocol: The L{RelayClientProtocol} underneath.
    """

    def __init__(self, protocol: RelayClientProtocol) -> None:
        self.protocol = protocol

    def _send(self, verb: str, *arguments: object) -> Deferred[bytes]:
        """
        Send C{verb} with the C{arguments} that are not C{None}.

        @return: The reply's Deferred, or one failed with C{ValueError},
            without sending anything, for an argument that is not one word
            of printable ASCII without C{<EOF>}.
        """
        message = _message(verb, *arguments)
        if isinstance(message, ValueError):
            return fail(message)
        return self.protocol.send(message)

    def on(self, relay: Optional[str] = None) -> Deferred[None]:
        """
        Switch C{relay} (or the default relay, or C{"all"}) on.
        """
        return self._send("on", relay).addCallback(_expect(replies.SUCCESS))

    def off(self, relay: Optional[str] = None) -> Deferred[None]:
        """
        Switch C{relay} (or the default relay, or C{"all"}) off.
        """
        return self._send("off", relay).addCallback(_expect(replies.SUCCESS))

    def toggle(self, relay: Optional[str] = None) -> Deferred[None]:
        """
        Invert C{relay}.
        """
        return self._send("toggle", relay).addCallback(_expect(replies.SUCCESS))

    def pulse(
        self, milliseconds: Union[int, str], relay: Optional[str] = None
    ) -> Deferred[None]:
        """
        Switch C{relay} on now and off after C{milliseconds}.

        @param milliseconds: An C{int}, or a word sent as it is (the server
            checks it), as C{eofrelay-cli} passes its C{MS}.
        """
        return self._send("pulse", relay, str(milliseconds)).addCallback(
            _expect(replies.SUCCESS)
        )

    def blink(
        self,
        count: Union[int, str],
        onMilliseconds: Union[int, str],
        offMilliseconds: Union[int, str, None] = None,
        relay: Optional[str] = None,
    ) -> Deferred[None]:
        """
        Blink C{relay}: C{count} cycles of on for C{onMilliseconds} and off
        for C{offMilliseconds} (C{onMilliseconds} by default), then back to
        its state before.

        @param count: An C{int}, or a word sent as it is (the server checks
            it), as C{eofrelay-cli} passes it; the times too.
        """
        times = [str(onMilliseconds)]
        if offMilliseconds is not None:
            times.append(str(offMilliseconds))
        return self._send("blink", relay, str(count), *times).addCallback(
            _expect(replies.SUCCESS)
        )

    def status(self, relay: Optional[str] = None) -> Deferred[bool]:
        """
        Whether C{relay} is on.
        """
        return self._send("status", relay).addCallback(_state)

    def relays(self) -> Deferred[dict[str, bool]]:
        """
        Every relay's state, in configured order.
        """
        return self.protocol.send("relays").addCallback(_relays)

    def ping(self) -> Deferred[None]:
        """
        Check that the server answers.
        """
        return self.protocol.send("ping").addCallback(_expect(replies.PONG))

    def help(self) -> Deferred[list[str]]:
        """
        The verbs the server lists, in its order.
        """
        return self.protocol.send("help").addCallback(_verbs)

    def auth(self, token: str) -> Deferred[None]:
        """
        Unlock the other commands with C{token}.
        """
        return self._send("auth", token).addCallback(_expect(replies.SUCCESS))

    def watch(self, callback: EventCallback) -> Deferred[None]:
        """
        Call C{callback(name, on)} for every change of any relay from now on.
        """
        self.protocol.eventReceived = callback
        return self.protocol.send("watch").addCallback(_expect(replies.SUCCESS))

    def quit(self) -> Deferred[None]:
        """
        Say goodbye; the server closes the connection.
        """
        return self.protocol.send("quit").addCallback(_expect(replies.BYE))

    def disconnect(self) -> Deferred[None]:
        """
        Close the connection.

        @return: A Deferred firing once it is closed.
        """
        if self.protocol.transport is not None:
            self.protocol.transport.loseConnection()
        return self.protocol.closed


async def _connect(
    reactor: IReactorCore,
    where: Union[str, IStreamClientEndpoint],
    token: Optional[str],
) -> RelayClient:
    endpoint = clientFromString(reactor, where) if isinstance(where, str) else where
    protocol = await connectProtocol(endpoint, RelayClientProtocol())
    client = RelayClient(protocol)
    if token is not None:
        try:
            await client.auth(token)
        except BaseException:
            client.disconnect()
            raise
    return client


def connect(
    reactor: IReactorCore,
    where: Union[str, IStreamClientEndpoint],
    token: Optional[str] = None,
) -> Deferred[RelayClient]:
    """
    Connect to an eofrelay server.

    @param where: A Twisted client endpoint description, e.g.
        C{"tcp:raspberrypi.local:1100"} or C{"tls:pi.lan:1100"}, or a client
        endpoint (such as a L{HostnameEndpoint}, which reaches IPv4 and
        IPv6 addresses alike).
    @param token: If given, C{auth} is sent first.
    @return: A Deferred firing with a L{RelayClient}.
    """
    return Deferred.fromCoroutine(_connect(reactor, where, token))
