# -*- test-case-name: tests.test_protocol -*-
"""
The protocol of one client connection: messages in, replies out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional
from typing import Protocol as TypingProtocol

from twisted.internet.error import ConnectionAborted, ConnectionDone, ConnectionLost
from twisted.internet.interfaces import (
    IDelayedCall,
    IHalfCloseableProtocol,
    IPushProducer,
    IReactorTime,
)
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from zope.interface import implementer

from eofrelay.commands.access import peerHost
from eofrelay.commands.interpreter import CommandInterpreter
from eofrelay.commands.session import ISession
from eofrelay.core.logs import CONNECTIONS, NamedLogger
from eofrelay.tcp.closing import closeGracefully
from eofrelay.tcp.replyorder import OrderedReplies
from eofrelay.tcp.tlsfailures import TLSFailureLog
from eofrelay.tcp.writethrough import hasUnsentData
from eofrelay.wire import replies
from eofrelay.wire.addresses import describePeer, isIPAddress
from eofrelay.wire.framing import EOFReceiver
from eofrelay.wire.layers import isWrapper, noDelay, usesTLS


class RelayServer(TypingProtocol):
    """
    What a L{RelayProtocol} uses of the factory that built it (a
    L{RelayFactory <eofrelay.tcp.factory.RelayFactory>}), so that this
    module need not know that class.
    """

    commands: CommandInterpreter
    clock: IReactorTime
    reactor: IReactorTime
    maxLine: int
    closeAfterReply: bool
    idleTimeout: float
    connections: set[RelayProtocol]
    watchers: set[RelayProtocol]
    tlsFailures: TLSFailureLog


@implementer(ISession, IPushProducer)
class RelayProtocol(EOFReceiver, OrderedReplies, TimeoutMixin):
    """
    eofrelay's wire protocol on one connection.

    Each C{<EOF>}-delimited message is executed by the factory's
    L{CommandInterpreter <eofrelay.commands.interpreter.CommandInterpreter>};
    exactly one reply is written for it, in the order the messages arrived,
    also when the relays answer asynchronously and out of order
    (L{OrderedReplies}).  The protocol holds no device state: it is the
    interpreter's L{ISession}.

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

    A connection executes at most L{MESSAGES_PER_TURN} messages in one
    turn of the reactor; the rest wait for a later turn, after the other
    connections had theirs, so that a client that pipelines thousands of
    messages cannot hold up the others.  The order of its replies does not
    change.

    A connection that sends no complete message for the factory's
    C{idleTimeout} is closed (L{TimeoutMixin}); a watcher is exempt, and
    kept honest by TCP keepalive instead.

    @ivar factory: The factory of the connection, a L{RelayServer}.
    @ivar peer: The peer's address, for the log.
    @ivar authenticated: Whether commands are unlocked.
    @cvar LINGER: How long, in seconds, a connection the server closes
        waits for the peer to close its side too.
    @cvar MESSAGES_PER_TURN: The most messages one connection executes in
        one turn of the reactor.
    """

    factory: RelayServer
    log = NamedLogger(CONNECTIONS)
    peer = ""
    LINGER = 10.0
    # About 2 ms of work at the most (a "relays" message with 20 relays),
    # so that a ping waits some 10 ms behind five flooding connections
    # (benchmarks.fairness).
    MESSAGES_PER_TURN = 100

    authenticated = True

    _writesBlocked = False
    _received = False
    _disconnecting = False
    _readClosed = False
    _linger: Optional[IDelayedCall] = None
    _nextTurn: Optional[IDelayedCall] = None
    _peerMayChange = False

    def __init__(self) -> None:
        self._pending = []

    def connectionMade(self) -> None:
        """
        Take the connection's limits from the factory, register for flow
        control, and have small writes sent at once (L{noDelay}).
        """
        self._connected = True
        # What every connection sets once it has received a segment, set
        # now and always in this order: the instance dictionaries of all
        # connections then keep sharing their keys (tracemalloc: 1.4 KB
        # of Python objects per connection after a command instead of 2.1).
        self._buffer = b""
        self._batch = None
        self._batchSize = 0
        self._received = False
        factory = self.factory
        self.MAX_LENGTH = factory.maxLine
        self.peer = describePeer(self.transport.getPeer())
        if isWrapper(self.transport):
            # A wrapping transport may learn the peer's address from the
            # first data (HAProxy's PROXY header), before handing the rest
            # on.  (Set only here: an attribute more on every connection
            # costs memory.)
            self._peerMayChange = True
        self.transport.registerProducer(self, True)
        factory.connections.add(self)
        self.authenticated = factory.commands.token is None
        self._execute = factory.commands.execute
        self._closeAfterReply = factory.closeAfterReply
        if factory.idleTimeout:
            self.setTimeout(factory.idleTimeout)
        noDelay(self.transport)

    def connectionLost(self, reason: Optional[Failure] = None) -> None:
        """
        Forget the replies that can no longer be sent; if TLS failed, say
        so (at a bounded rate, L{TLSFailureLog}).
        """
        if (
            reason is not None
            and not reason.check(ConnectionDone, ConnectionLost, ConnectionAborted)
            and usesTLS(self.transport)
        ):
            self.factory.tlsFailures.failed(self.peer, reason)
        self._connected = False
        self.stopReceiving()
        self._pending.clear()
        self.factory.connections.discard(self)
        self.factory.watchers.discard(self)
        self.setTimeout(None)
        self._cancelNextTurn()
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
            self._pending or self._disconnecting or hasUnsentData(self.transport)
        ):
            return self
        return None

    def callLater(self, period: float, func: Callable[[], object]) -> IDelayedCall:
        """
        Schedule the idle timeout (L{TimeoutMixin}) on the factory's clock.
        """
        return self.factory.clock.callLater(period, func)

    # The session, as the command layer sees it

    @property
    def host(self) -> Optional[str]:
        """
        The peer's IP address, by which failed C{auth} attempts count.
        """
        return peerHost(self.transport.getPeer())

    def watch(self) -> None:
        """
        Send this connection an event for every change from now on; it is
        exempt from the idle timeout and kept honest by TCP keepalive.
        """
        self.factory.watchers.add(self)
        self.setTimeout(None)
        setKeepAlive = getattr(self.transport, "setTcpKeepAlive", None)
        if setKeepAlive is not None:
            setKeepAlive(True)

    def close(self) -> None:
        """
        Close the connection after the reply being sent.
        """
        self._closing = True

    # Framing events

    def dataReceived(self, data: bytes) -> None:
        """
        Handle a segment's messages, then write all their replies at once.
        """
        if self._batch is not None:
            EOFReceiver.dataReceived(self, data)
            return
        if self._peerMayChange:
            self._namePeer()
        self.startBatch()
        self._received = False
        try:
            EOFReceiver.dataReceived(self, data)
        finally:
            self.flushBatch()
            if self._received:
                self.resetTimeout()

    def lineReceived(self, message: bytes) -> None:
        """
        Execute one message and send its reply in turn.
        """
        self._received = True
        self.sendReply(self._execute(self, message))
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
        self.factory.commands.countCommand("invalid", replies.LINE_TOO_LONG)
        self.sendReply(replies.LINE_TOO_LONG)
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
            self.transport.abortConnection()
        else:
            self.disconnect()

    def readConnectionLost(self) -> None:
        """
        The peer half-closed: send the pending replies, then close.
        """
        self._readClosed = True
        if self._disconnecting:
            self.transport.loseConnection()
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

    def _namePeer(self) -> None:
        """
        Name the peer in the log as the wrapping transport now gives it:
        behind a PROXY-protocol listener, the client the header names,
        and the proxy it came through.
        """
        self._peerMayChange = False
        address = self.transport.getPeer()
        if not isIPAddress(getattr(address, "host", None)):
            # Twisted checks a PROXY header's address no further than that
            # it is a word: it could be anything (a fake log line).
            return
        peer = describePeer(address)
        if peer != self.peer:
            self.peer = f"{peer} via {self.peer}"

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

    def repliesPiledUp(self) -> None:
        """
        Too many replies wait for their relays: stop reading messages.
        """
        self.pauseReceiving()

    def repliesDrained(self) -> None:
        """
        The replies waiting are down to half: read again, unless the
        transport's buffer is full.
        """
        self._resumeIfClear()

    def _resumeIfClear(self) -> None:
        """
        Resume reading if nothing blocks it any more.
        """
        if not (self._writesBlocked or self._repliesBlocked or self._nextTurn):
            self.resumeReceiving()

    # Fairness between connections

    def messagesHeldBack(self) -> None:
        """
        L{MESSAGES_PER_TURN} messages were executed and more are waiting:
        execute them in the next turn of the reactor, once the other
        connections have had theirs.
        """
        self._nextTurn = self.factory.reactor.callLater(0, self._takeTurn)

    def _takeTurn(self) -> None:
        """
        A new turn: execute the messages held back, unless something else
        holds them back still.
        """
        self._nextTurn = None
        self._resumeIfClear()

    def _cancelNextTurn(self) -> None:
        """
        Forget the turn L{messagesHeldBack} asked for, if any.
        """
        if self._nextTurn is not None:
            if self._nextTurn.active():
                self._nextTurn.cancel()
            self._nextTurn = None

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
            self.transport.abortConnection()
            return
        # The events of one turn (one per relay for "off all") may be
        # gathered by a TLS layer: encrypting each alone costs three times
        # as much.
        self.writeMessage(event, gather=True)

    # Closing

    def _closeWhenReplied(self) -> None:
        """
        Read nothing more, and close once every pending reply is written.
        """
        self.stopReceiving()
        self._closing = True
        self.factory.watchers.discard(self)
        if not self._pending:
            self.disconnect()

    def disconnect(self) -> None:
        """
        Close the connection once the transport has written everything
        already sent, acting on nothing more the peer sends (see
        L{closeGracefully}).
        """
        if self._disconnecting:
            return
        self._disconnecting = True
        self.flushBatch()
        self.stopReceiving()
        self._cancelNextTurn()
        self.factory.watchers.discard(self)
        self.setTimeout(None)
        self.transport.unregisterProducer()
        if self._readClosed:
            self.transport.loseConnection()
            return
        self._linger = closeGracefully(
            self.transport, self.factory.clock, self.LINGER, self.resumeReceiving
        )
