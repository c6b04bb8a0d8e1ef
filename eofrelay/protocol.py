# -*- test-case-name: tests.test_protocol -*-
"""
The protocol of one client connection: commands in, replies out.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar, Optional, Union

from twisted.internet.defer import (
    Deferred,
    DeferredList,
    gatherResults,
    maybeDeferred,
    succeed,
)
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHalfCloseableProtocol,
)
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure

from eofrelay import commands
from eofrelay.access import peerHost, tokenMatches
from eofrelay.commands import CommandError, parseCached, resultOf
from eofrelay.framing import EOFReceiver
from eofrelay.sequencer import then
from eofrelay.state import MAX_PULSE_MS, HardwareFailure, RelayState, stateName
from eofrelay.writethrough import (
    hasUnsentData,
    isWrapper,
    noDelay,
    usesTLS,
    writeThrough,
)

if TYPE_CHECKING:
    from eofrelay.factory import RelayFactory

#: A reply: its bytes, or a Deferred firing with them.
Reply = Union[bytes, "Deferred[bytes]"]
#: A command's implementation, given the protocol and the command's
#: arguments.
Handler = Callable[["RelayProtocol", tuple[str, ...]], Reply]


def describePeer(address: IAddress) -> str:
    """
    A short text naming a peer in the log: C{host:port} for IP addresses.
    """
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    if host is None:
        name = getattr(address, "name", None)
        if isinstance(name, bytes):
            name = name.decode("utf-8", errors="backslashreplace")
        # A socket's path is the peer's choice: no line breaks or other
        # control characters into the log.
        return "unix:" + "".join(
            char if char.isprintable() else ascii(char)[1:-1] for char in name or ""
        )
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def _isIPAddress(host: object) -> bool:
    """
    Whether C{host} is an IPv4 or IPv6 address, as text.
    """
    if not isinstance(host, str):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _success(state: bool) -> bytes:
    """
    The reply to a switch that succeeded.
    """
    return commands.SUCCESS


def _stateReply(on: bool) -> bytes:
    """
    The reply to C{status}.
    """
    return commands.ON if on else commands.OFF


def _allSucceeded(results: Sequence[tuple[bool, object]]) -> bytes:
    """
    The reply to C{on all} or C{off all} once every relay has answered:
    C{success}, or the first failure, which becomes C{error: hardware
    failure}.
    """
    for succeeded, result in results:
        if not succeeded:
            assert isinstance(result, Failure)
            raise HardwareFailure(result.getErrorMessage())
    return commands.SUCCESS


class _PendingReply:
    """
    The place of one reply in a connection's reply order.

    @ivar reply: The reply, once known.
    """

    __slots__ = ("reply",)

    def __init__(self) -> None:
        self.reply: Optional[bytes] = None


class RelayProtocol(EOFReceiver, TimeoutMixin):
    """
    eofrelay's wire protocol on one connection.

    Each C{<EOF>}-delimited message is parsed and dispatched through the
    factory's relays (L{IRelay} providers); exactly one reply is written
    for it, in the order the messages arrived, also when the relays answer
    asynchronously and out of order.  The protocol holds no device state.

    A peer that half-closes its side still gets every pending reply; then
    the connection is closed.  The protocol adapts to
    L{IHalfCloseableProtocol} (see L{__conform__}) only while that needs
    handling, so that a peer that closes with nothing left to send (the
    article's client, once it has its reply) is closed at once.

    Reading is paused, so that TCP slows the peer down, while the
    transport's write buffer is full (the protocol is registered as the
    transport's streaming producer) and while L{MAX_PENDING} replies are
    waiting for their relays: a client that pipelines without reading
    cannot make the server buffer without bound.

    A connection that sends no complete message for the factory's
    C{idleTimeout} is closed (L{TimeoutMixin}); a watcher is exempt, and
    kept honest by TCP keepalive instead.  With a token configured, only
    C{auth}, C{ping}, C{help} and C{quit} are accepted until C{auth}
    succeeds.

    @ivar factory: The L{RelayFactory} holding the shared relay state.
    @ivar peer: The peer's address, for the log.
    @ivar authenticated: Whether commands are unlocked.
    @cvar MAX_PENDING: How many replies may wait for their relays before
        reading pauses.
    @cvar LINGER: How long, in seconds, a connection the server closes
        waits for the peer to close its side too.
    @cvar BATCH_LIMIT: Replies of one segment are written together, but
        never more than this many bytes at once, so that a full write
        buffer still pauses reading between messages.
    """

    factory: RelayFactory
    log = Logger()
    peer = ""
    MAX_PENDING = 64
    LINGER = 10.0
    BATCH_LIMIT = 65536

    authenticated = True

    _handlers: ClassVar[dict[str, Handler]]
    _closing = False
    _connected = False
    _writesBlocked = False
    _repliesBlocked = False
    _batch: Optional[list[bytes]] = None
    _batchSize = 0
    _received = False
    _disconnecting = False
    _readClosed = False
    _linger: Optional[IDelayedCall] = None
    _peerMayChange = False

    def __init__(self) -> None:
        # A list, not a deque: it holds at most MAX_PENDING replies, and an
        # empty list costs a tenth of an empty deque on every idle
        # connection.
        self._pending: list[_PendingReply] = []

    def connectionMade(self) -> None:
        """
        Take the connection's limits from the factory, register for flow
        control, and have small writes sent at once (L{noDelay}).
        """
        self._connected = True
        self.MAX_LENGTH = self.factory.maxLine
        self.peer = describePeer(self.transport.getPeer())  # type: ignore[union-attr]
        if isWrapper(self.transport):  # type: ignore[arg-type]
            # A wrapping transport may learn the peer's address from the
            # first data (HAProxy's PROXY header), before handing the rest
            # on.  (Set only here: an attribute more on every connection
            # costs memory.)
            self._peerMayChange = True
        self.transport.registerProducer(self, True)  # type: ignore[union-attr]
        self.factory.connections.add(self)
        self.authenticated = self.factory.token is None
        self._shortcuts = self.factory.shortcuts
        self._counts = self.factory.commandCounts
        self._closeAfterReply = self.factory.closeAfterReply
        self.callLater = self.factory.clock.callLater  # type: ignore[method-assign, assignment]
        if self.factory.idleTimeout:
            self.setTimeout(self.factory.idleTimeout)
        noDelay(self.transport)  # type: ignore[arg-type]

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        """
        Forget the replies that can no longer be sent.
        """
        self._connected = False
        self.stopReceiving()
        self._pending.clear()
        self.factory.connections.discard(self)
        self.factory.watchers.discard(self)
        self.setTimeout(None)
        if self._linger is not None and self._linger.active():
            self._linger.cancel()

    def __conform__(self, interface: object) -> Optional[RelayProtocol]:
        """
        Be an L{IHalfCloseableProtocol} while replies are pending or the
        transport still holds data to send, so that the peer's half-close
        lets them be delivered (L{readConnectionLost}).  Otherwise the
        transport, finding no such protocol, closes the connection as soon
        as the peer closes its side, without a further turn of the reactor:
        there is nothing left to send, and nothing more is acted upon.
        """
        if interface is IHalfCloseableProtocol and (
            self._pending or self._disconnecting or hasUnsentData(self.transport)  # type: ignore[arg-type]
        ):
            return self
        return None

    # Framing events

    def lineReceived(self, message: bytes) -> None:
        """
        Execute one message and queue its reply.
        """
        self._received = True
        # The commonest messages (on, off, on NAME, off NAME), already
        # parsed and checked by the factory: the same relay and the same
        # call as through parsing and the handler, minus their cost.
        shortcut = self._shortcuts.get(message)
        try:
            if shortcut is not None and self.authenticated:
                relay, on, verb = shortcut
                switched = relay.switch(on, self.peer, verb)
                reply = (
                    commands.SUCCESS
                    if switched.__class__ is bool
                    else switched.addCallback(_success)  # type: ignore[union-attr]
                )
            else:
                verb = "invalid"
                command = parseCached(message)
                handler = self._handlers.get(command.verb)
                if handler is None:
                    raise CommandError(commands.UNKNOWN_COMMAND)
                verb = command.verb
                if not (self.authenticated or verb in commands.BEFORE_AUTHENTICATION):
                    raise CommandError(commands.AUTHENTICATION_REQUIRED)
                reply = handler(self, command.arguments)
        except CommandError as error:
            reply = error.reply
        except Exception:
            reply = self._failed(Failure())
        if reply.__class__ is bytes:
            self._counts[verb, resultOf(reply)] += 1  # type: ignore[arg-type]
            if self._pending:
                self._send(reply)
            else:
                self._write(reply)  # type: ignore[arg-type]
        else:
            self._send(
                reply.addErrback(self._failed).addCallback(self._counted, verb)  # type: ignore[union-attr]
            )
        if self._closing or self._closeAfterReply:
            self._closeWhenReplied()

    def lineLengthExceeded(self, message: bytes) -> None:
        """
        Answer an over-long message with C{error: line too long} after the
        replies still pending, then close the connection.
        """
        self.log.warn(
            "{peer} sent more than {limit} bytes without a delimiter; closing",
            peer=self.peer,
            limit=self.MAX_LENGTH,
        )
        self.factory.countCommand("invalid", commands.LINE_TOO_LONG)
        self._send(commands.LINE_TOO_LONG)
        self._closeWhenReplied()

    def timeoutConnection(self) -> None:
        """
        No complete message for too long: close, and abort if what is
        already written cannot even be delivered.
        """
        self.log.info(
            "closing connection from {peer}: idle for {timeout} seconds",
            peer=self.peer,
            timeout=self.timeOut,
        )
        if self._writesBlocked:
            self.transport.abortConnection()  # type: ignore[union-attr]
        else:
            self.disconnect()

    def readConnectionLost(self) -> None:
        """
        The peer half-closed: send the pending replies, then close.
        """
        self._readClosed = True
        if self._disconnecting:
            self.transport.loseConnection()  # type: ignore[union-attr]
            return
        self.stopReceiving()
        self._closeWhenReplied()

    def writeConnectionLost(self) -> None:
        """
        Nothing more can be written: close, unless this is the server's own
        half-close in L{disconnect}, which waits for the peer.
        """
        if not self._disconnecting:
            self.disconnect()

    # Flow control (IPushProducer, called by the transport)

    def pauseProducing(self) -> None:
        """
        The transport's write buffer is full: stop reading messages.
        """
        self._writesBlocked = True
        self.pauseReceiving()

    def resumeProducing(self) -> None:
        """
        The transport's write buffer has drained: read messages again,
        unless replies are still piling up.
        """
        self._writesBlocked = False
        self._resumeIfClear()

    def stopProducing(self) -> None:
        """
        The transport is going away: read nothing more.
        """
        self.stopReceiving()

    def _resumeIfClear(self) -> None:
        """
        Resume reading if nothing blocks it any more.
        """
        if not (self._writesBlocked or self._repliesBlocked):
            self.resumeReceiving()

    def disconnect(self) -> None:
        """
        Close the connection once the transport has written everything
        already sent, acting on nothing more the peer sends.

        Where the transport can half-close, the server sends its FIN and
        then reads and discards what the peer still sends until the peer
        closes too, for at most L{LINGER} seconds.  Closing outright with
        unread data would make the kernel send a reset, and a reset can
        destroy replies the peer has not read yet (C{bye}, C{error: line
        too long}).  Over TLS, the transport's own C{loseConnection} sends
        the TLS close alert and waits for the peer's, which serves the
        same end; it too is given at most L{LINGER} seconds.
        """
        if self._disconnecting:
            return
        self._disconnecting = True
        self._flushBatch()
        self.stopReceiving()
        self.factory.watchers.discard(self)
        self.setTimeout(None)
        transport = self.transport
        transport.unregisterProducer()  # type: ignore[union-attr]
        if self._readClosed:
            transport.loseConnection()  # type: ignore[union-attr]
            return
        if usesTLS(transport):  # type: ignore[arg-type]
            # Half-closing the TCP connection underneath would bypass TLS.
            self._linger = self._lingerThenAbort(transport)
            transport.loseConnection()  # type: ignore[union-attr]
            return
        loseWriteConnection = getattr(transport, "loseWriteConnection", None)
        if loseWriteConnection is None:
            transport.loseConnection()  # type: ignore[union-attr]
            return
        self._linger = self._lingerThenAbort(transport)
        loseWriteConnection()

    def _lingerThenAbort(self, transport: object) -> Optional[IDelayedCall]:
        """
        Read (and discard) what the peer still sends while the connection
        closes, and abort it, if the transport can be aborted, when it is
        not closed within L{LINGER} seconds.

        @return: The call that aborts, if any.
        """
        self.resumeReceiving()
        abort = getattr(transport, "abortConnection", None)
        if abort is None:
            return None
        return self.factory.clock.callLater(self.LINGER, abort)

    # Events

    def sendEvent(self, event: bytes) -> None:
        """
        Write an C{event: ...} message now, between replies.

        A watcher that does not read its events is disconnected rather than
        buffered for: when an event arrives while the transport's write
        buffer is full, the connection is aborted and the fact logged.
        """
        if self._closing or not self._connected:
            return
        if self._writesBlocked:
            self.log.warn(
                "watcher {peer} does not read its events; disconnecting it",
                peer=self.peer,
            )
            self.factory.watchers.discard(self)
            self.transport.abortConnection()  # type: ignore[union-attr]
            return
        # The events of one turn (one per relay for "off all") may be
        # gathered by a TLS layer: encrypting each alone costs three times
        # as much.
        self._write(event, gather=True)

    # Replies, in order

    def _send(self, reply: Reply) -> None:
        """
        Queue C{reply} behind the replies still pending and write every
        reply that is ready.
        """
        if reply.__class__ is bytes and not self._pending:
            self._write(reply)  # type: ignore[arg-type]
            return
        slot = _PendingReply()
        self._pending.append(slot)
        if len(self._pending) >= self.MAX_PENDING and not self._repliesBlocked:
            self._repliesBlocked = True
            self.pauseReceiving()
        if isinstance(reply, bytes):
            slot.reply = reply
        else:
            reply.addErrback(self._failed).addCallback(self._fill, slot)

    def _write(self, message: bytes, gather: bool = False) -> None:
        """
        Write one message (a reply or an event, without its delimiter), or
        add it to the replies of the segment being processed, which are
        written together once it is done.

        @param gather: See L{writeThrough}.
        """
        batch = self._batch
        if batch is None:
            writeThrough(self.transport, message + self.delimiter, gather)  # type: ignore[arg-type]
            return
        batch.append(message)
        self._batchSize += len(message) + 5  # and its delimiter, <EOF>
        if self._batchSize >= self.BATCH_LIMIT:
            # Let the transport see it, so that it can pause reading.
            self._flushBatch()
            self._batch = []

    def dataReceived(self, data: bytes) -> None:
        """
        Handle a segment's messages, then write all their replies at once.
        """
        if self._batch is not None:
            EOFReceiver.dataReceived(self, data)
            return
        if self._peerMayChange:
            self._namePeer()
        self._batch = []
        self._received = False
        try:
            EOFReceiver.dataReceived(self, data)
        finally:
            self._flushBatch()
            if self._received:
                self.resetTimeout()

    def _namePeer(self) -> None:
        """
        Name the peer in the log as the wrapping transport now gives it:
        behind a PROXY-protocol listener, the client the header names,
        and the proxy it came through.
        """
        self._peerMayChange = False
        address = self.transport.getPeer()  # type: ignore[union-attr]
        if not _isIPAddress(getattr(address, "host", None)):
            # Twisted checks a PROXY header's address no further than that
            # it is a word: it could be anything (a fake log line).
            return
        peer = describePeer(address)
        if peer != self.peer:
            self.peer = f"{peer} via {self.peer}"

    def _flushBatch(self) -> None:
        """
        Write the replies gathered so far, if any.
        """
        batch, self._batch = self._batch, None
        self._batchSize = 0
        if batch:
            batch.append(b"")
            writeThrough(self.transport, self.delimiter.join(batch))  # type: ignore[arg-type]

    def _counted(self, reply: bytes, verb: str) -> bytes:
        """
        Count a reply that came later.
        """
        self.factory.countCommand(verb, reply)
        return reply

    def _failed(self, failure: Failure) -> bytes:
        """
        The reply for a command whose relay failed.
        """
        if not failure.check(HardwareFailure):
            self.log.failure(
                "unexpected error executing a command from {peer}",
                failure=failure,
                peer=self.peer,
            )
        return commands.HARDWARE_FAILURE

    def _fill(self, reply: bytes, slot: _PendingReply) -> None:
        """
        A pending reply is known: write it and every reply ready after it.
        """
        slot.reply = reply
        if not self._connected:
            return
        pending = self._pending
        count = 0
        while count < len(pending) and pending[count].reply is not None:
            count += 1
        ready: list[bytes] = [each.reply for each in pending[:count]]  # type: ignore[misc]
        del pending[:count]
        if ready and self._batch is None:
            ready.append(b"")
            writeThrough(self.transport, self.delimiter.join(ready))  # type: ignore[arg-type]
        else:
            for each in ready:
                self._write(each)
        if self._closing and not pending:
            self.disconnect()
        elif self._repliesBlocked and len(pending) <= self.MAX_PENDING // 2:
            self._repliesBlocked = False
            self._resumeIfClear()

    def _closeWhenReplied(self) -> None:
        """
        Read nothing more, and close once every pending reply is written.
        """
        self.stopReceiving()
        self._closing = True
        self.factory.watchers.discard(self)
        if not self._pending:
            self.disconnect()

    # Commands

    def _relay(self, arguments: tuple[str, ...]) -> RelayState:
        """
        The relay named by a command's only, optional argument.

        @raise CommandError: for more than one argument or an unknown name.
        """
        if not arguments:
            return self.factory.relay()
        if len(arguments) > 1:
            raise CommandError(commands.BAD_ARGUMENT)
        try:
            return self.factory.relay(arguments[0])
        except KeyError:
            if arguments[0].lower() == commands.ALL:
                raise CommandError(commands.BAD_ARGUMENT) from None
            raise CommandError(commands.UNKNOWN_RELAY) from None

    def _switch(self, on: bool, arguments: tuple[str, ...]) -> Reply:
        """
        Switch one relay, or every relay for the argument C{all}.
        """
        if len(arguments) == 1 and arguments[0].lower() == commands.ALL:
            if on and self.factory.interlocks:
                raise CommandError(commands.BAD_ARGUMENT)
            command = f"{stateName(on)} all"
            switched = DeferredList(
                [
                    maybeDeferred(relay.switch, on, self.peer, command)  # type: ignore[call-overload]
                    for relay in self.factory.relays
                ],
                consumeErrors=True,
            )
            return switched.addCallback(_allSucceeded)
        result = self._relay(arguments).switch(on, self.peer, stateName(on))
        if result.__class__ is bool:
            return commands.SUCCESS
        return result.addCallback(_success)  # type: ignore[union-attr, no-any-return]

    def command_on(self, arguments: tuple[str, ...]) -> Reply:
        """
        C{on [RELAY|all]}: switch on; reply C{success}.
        """
        return self._switch(True, arguments)

    def command_off(self, arguments: tuple[str, ...]) -> Reply:
        """
        C{off [RELAY|all]}: switch off; reply C{success}.
        """
        return self._switch(False, arguments)

    def command_toggle(self, arguments: tuple[str, ...]) -> Reply:
        """
        C{toggle [RELAY]}: invert; reply C{success}.
        """
        return then(self._relay(arguments).toggle(self.peer, "toggle"), _success)

    def command_pulse(self, arguments: tuple[str, ...]) -> Reply:
        """
        C{pulse [RELAY] MS}: switch on now, off after MS milliseconds;
        reply C{success} once on.
        """
        if not 1 <= len(arguments) <= 2:
            raise CommandError(commands.BAD_ARGUMENT)
        relay = self._relay(arguments[:-1])
        # Leading zeros do not count; without them, a number too long to be
        # in range is refused before it is converted.
        text = arguments[-1]
        digits = text.lstrip("0")
        if not (text.isdigit() and len(digits) <= len(str(MAX_PULSE_MS))):
            raise CommandError(commands.BAD_ARGUMENT)
        milliseconds = int(digits or "0")
        if not 1 <= milliseconds <= MAX_PULSE_MS:
            raise CommandError(commands.BAD_ARGUMENT)
        pulsed = relay.pulse(milliseconds, self.peer, f"pulse {milliseconds}")
        return then(pulsed, _success)

    def command_status(self, arguments: tuple[str, ...]) -> Reply:
        """
        C{status [RELAY]}: reply C{on} or C{off}.
        """
        state = self._relay(arguments).state()
        if state.__class__ is bool:
            return commands.ON if state else commands.OFF
        return state.addCallback(_stateReply)  # type: ignore[union-attr]

    def command_relays(self, arguments: tuple[str, ...]) -> Reply:
        """
        C{relays}: reply C{NAME=on NAME=off ...}, in configured order.
        """
        if arguments:
            raise CommandError(commands.BAD_ARGUMENT)
        relays = self.factory.relays
        states = [relay.state() for relay in relays]

        def listed(states: list[bool]) -> bytes:
            return " ".join(
                f"{relay.name}={stateName(on)}"
                for relay, on in zip(relays, states, strict=True)
            ).encode("ascii")

        if any(isinstance(state, Deferred) for state in states):
            waiting = [s if isinstance(s, Deferred) else succeed(s) for s in states]
            return gatherResults(waiting).addCallback(listed)
        return listed(states)  # type: ignore[arg-type]

    def command_watch(self, arguments: tuple[str, ...]) -> Reply:
        """
        C{watch}: reply C{success}; from then on this connection also gets
        C{event: NAME on|off} whenever any relay changes.
        """
        if arguments:
            raise CommandError(commands.BAD_ARGUMENT)
        self.factory.watchers.add(self)
        self.setTimeout(None)
        setKeepAlive = getattr(self.transport, "setTcpKeepAlive", None)
        if setKeepAlive is not None:
            setKeepAlive(True)
        return commands.SUCCESS

    def command_auth(self, arguments: tuple[str, ...]) -> Reply:
        """
        C{auth TOKEN}: unlock the other commands; a wrong token closes the
        connection.
        """
        if len(arguments) != 1:
            raise CommandError(commands.BAD_ARGUMENT)
        token = self.factory.token
        if token is None:
            return commands.SUCCESS
        host = peerHost(self.transport.getPeer())  # type: ignore[union-attr]
        throttle = self.factory.failedAuthentications
        refused = throttle.refused(host)
        # Compared even while refused, in constant time: the right token
        # is still refused then, but does not prolong the refusal.
        matches = tokenMatches(token, arguments[0].encode())
        if matches and not refused:
            self.authenticated = True
            self.log.info("{peer} authenticated", peer=self.peer)
            return commands.SUCCESS
        if not matches:
            throttle.failed(host)
        self.log.warn(
            "{peer}: authentication failed{why}; closing",
            peer=self.peer,
            why=" (too many failures from this host, refused for now)"
            if refused
            else "",
        )
        self._closing = True
        return commands.AUTHENTICATION_FAILED

    def command_ping(self, arguments: tuple[str, ...]) -> Reply:
        """
        C{ping}: reply C{pong}.
        """
        if arguments:
            raise CommandError(commands.BAD_ARGUMENT)
        return commands.PONG

    def command_help(self, arguments: tuple[str, ...]) -> Reply:
        """
        C{help}: reply C{commands: } and the verbs this server knows.
        """
        if arguments:
            raise CommandError(commands.BAD_ARGUMENT)
        return b"commands: " + " ".join(self._handlers).encode("ascii")

    def command_quit(self, arguments: tuple[str, ...]) -> Reply:
        """
        C{quit}: reply C{bye}, then close the connection.
        """
        if arguments:
            raise CommandError(commands.BAD_ARGUMENT)
        self._closing = True
        return commands.BYE


RelayProtocol._handlers = {
    name[len("command_") :]: method
    for name, method in vars(RelayProtocol).items()
    if name.startswith("command_")
}
