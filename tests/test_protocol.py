"""
Tests for L{eofrelay.tcp.protocol} and L{eofrelay.tcp.replyorder}, against
L{StringTransport}.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address, UNIXAddress
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.bank import RelayBank
from eofrelay.tcp.factory import RelayFactory
from eofrelay.tcp.protocol import RelayProtocol
from eofrelay.testing import MemoryRelay, connect
from eofrelay.wire import replies as commands
from eofrelay.wire.addresses import describePeer


def replies(transport: StringTransport) -> list[bytes]:
    """
    The replies written to C{transport} so far, without delimiters.
    """
    data: bytes = transport.value()
    assert data.endswith(b"<EOF>") or not data, data
    return data.split(b"<EOF>")[:-1]


class TurnClock(Clock):
    """
    A L{Clock} that can also run one turn of a reactor: the calls due now,
    and not those they schedule in turn (which C{advance(0)} runs too).
    """

    def turn(self) -> None:
        for call in [each for each in self.calls if each.getTime() <= self.seconds()]:
            self.calls.remove(call)
            call.called = 1
            call.func(*call.args, **call.kw)


class HalfCloseableTransport(StringTransport):
    """
    A L{StringTransport} that can half-close, as TCP transports can.
    """

    writeClosed = False

    def loseWriteConnection(self) -> None:
        self.writeClosed = True


class ProtocolTestCase(SynchronousTestCase):
    """
    Helpers: a factory with two memory relays, C{a} (default) and C{b}.
    """

    def setUp(self) -> None:
        self.a = MemoryRelay("a")
        self.b = MemoryRelay("b")
        self.factory = RelayFactory(RelayBank([self.a, self.b], clock=Clock()))

    def send(self, data: bytes) -> list[bytes]:
        """
        Send C{data} on a new connection and return the replies.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(data)
        return replies(transport)


class CommandTests(ProtocolTestCase):
    """
    Every command and every error reply of the protocol reference
    (C{docs/protocol.rst}).
    """

    def test_articleCommands(self) -> None:
        """
        The article's commands get the article's replies.
        """
        self.assertEqual(
            self.send(b"on<EOF>off<EOF>invalid<EOF>"),
            [b"success", b"success", b"error: unknown command"],
        )
        self.assertEqual(self.a.history, [True, False])

    def test_onOffToggleStatus(self) -> None:
        """
        C{on}, C{off} and C{toggle} switch the default or the named relay;
        C{status} reports it.
        """
        self.assertEqual(
            self.send(
                b"status<EOF>on<EOF>status<EOF>toggle<EOF>status a<EOF>"
                b"on b<EOF>status B<EOF>toggle b<EOF>status b<EOF>off a<EOF>"
            ),
            [b"off", b"success", b"on", b"success", b"off"]
            + [b"success", b"on", b"success", b"off", b"success"],
        )
        self.assertEqual(self.a.history, [True, False, False])
        self.assertEqual(self.b.history, [True, False])

    def test_caseInsensitive(self) -> None:
        """
        Verbs and relay names are case-insensitive.
        """
        self.assertEqual(self.send(b"ON B<EOF>Status b<EOF>"), [b"success", b"on"])

    def test_all(self) -> None:
        """
        C{on all} and C{off all} switch every relay.
        """
        self.assertEqual(
            self.send(b"on all<EOF>relays<EOF>"), [b"success", b"a=on b=on"]
        )
        self.assertEqual(
            self.send(b"OFF ALL<EOF>relays<EOF>"), [b"success", b"a=off b=off"]
        )

    def test_allOnlyForOnOff(self) -> None:
        """
        C{all} is reserved and refused as an argument of other verbs.
        """
        self.assertEqual(
            self.send(b"toggle all<EOF>status all<EOF>"),
            [commands.BAD_ARGUMENT] * 2,
        )

    def test_relays(self) -> None:
        """
        C{relays} lists every relay in configured order with its state.
        """
        self.assertEqual(
            self.send(b"on b<EOF>relays<EOF>"), [b"success", b"a=off b=on"]
        )

    def test_pingHelpQuit(self) -> None:
        """
        C{ping} gets C{pong}; C{help} lists the verbs; C{quit} gets C{bye}
        and the connection is closed; nothing after it is executed.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"ping<EOF>help<EOF>quit<EOF>on<EOF>")
        self.assertEqual(
            replies(transport),
            [
                b"pong",
                b"commands: on off toggle pulse blink status relays watch auth ping"
                b" help quit",
                b"bye",
            ],
        )
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.a.history, [])

    def test_whitespace(self) -> None:
        """
        Space, tab, CR and LF around a message and between words are
        ignored, as the article's C{.strip()} did.
        """
        self.assertEqual(
            self.send(b"on<EOF>\r\n \toff\t<EOF>\r\n on \t b \r\n<EOF>"),
            [b"success", b"success", b"success"],
        )
        self.assertEqual(self.b.history, [True])

    def test_otherControlCharactersAreNotWhitespace(self) -> None:
        """
        A form feed is not whitespace.
        """
        self.assertEqual(self.send(b"on\x0c<EOF>"), [commands.UNKNOWN_COMMAND])

    def test_errors(self) -> None:
        """
        Each kind of bad message gets its documented error and the
        connection stays open.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(
            b"bogus<EOF><EOF>  \r\n<EOF>on \xff<EOF>\xc3\xa9<EOF>on c<EOF>"
            b"on a b<EOF>relays x<EOF>ping 1<EOF>help me<EOF>quit now<EOF>"
            b"status a b<EOF>toggle a b<EOF>ping<EOF>"
        )
        self.assertEqual(
            replies(transport),
            [
                b"error: unknown command",
                b"error: empty command",
                b"error: empty command",
                b"error: bad encoding",
                b"error: bad encoding",
                b"error: unknown relay",
            ]
            + [b"error: bad argument"] * 7
            + [b"pong"],
        )
        self.assertFalse(transport.disconnecting)
        self.assertEqual(self.a.history + self.b.history, [])

    def test_lineTooLong(self) -> None:
        """
        More than C{maxLine} bytes without a delimiter get C{error: line
        too long} after the earlier replies, and the connection is closed.
        """
        factory = RelayFactory(RelayBank([self.a], clock=Clock()), maxLine=8)
        protocol, transport = connect(factory)
        protocol.dataReceived(b"on<EOF>" + b"x" * 9)
        self.assertEqual(replies(transport), [b"success", b"error: line too long"])
        self.assertTrue(transport.disconnecting)

    def test_lineOfMaxLength(self) -> None:
        """
        A message of exactly C{maxLine} bytes is accepted.
        """
        factory = RelayFactory(RelayBank([self.a], clock=Clock()), maxLine=8)
        protocol, transport = connect(factory)
        protocol.dataReceived(b"  on a  <EO")
        protocol.dataReceived(b"F>")
        self.assertEqual(replies(transport), [b"success"])

    def test_closeAfterReply(self) -> None:
        """
        With C{closeAfterReply}, the connection is closed after the first
        reply and later messages are not executed.
        """
        factory = RelayFactory(RelayBank([self.a], clock=Clock()), closeAfterReply=True)
        protocol, transport = connect(factory)
        protocol.dataReceived(b"on<EOF>off<EOF>")
        self.assertEqual(replies(transport), [b"success"])
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.a.history, [True])

    def test_describePeer(self) -> None:
        """
        Peers are described as C{host:port}, C{[v6]:port} or C{unix:path}.
        """
        from twisted.internet.address import IPv4Address, IPv6Address

        self.assertEqual(describePeer(IPv4Address("TCP", "10.0.0.1", 5)), "10.0.0.1:5")
        self.assertEqual(describePeer(IPv6Address("TCP", "::1", 5)), "[::1]:5")
        self.assertEqual(describePeer(UNIXAddress(b"/run/s")), "unix:/run/s")
        self.assertEqual(describePeer(UNIXAddress(None)), "unix:")

    def test_switchLogged(self) -> None:
        """
        Every switch is logged with the relay, its old and new state and
        the peer.
        """
        with capturedLogs() as events:
            self.send(b"on b<EOF>")
        switched = [e for e in events if e.get("relay") == "b"]
        self.assertEqual(len(switched), 1)
        self.assertEqual(
            (
                switched[0]["old"],
                switched[0]["new"],
                switched[0]["peer"],
                switched[0]["command"],
            ),
            ("off", "on", "127.0.0.1:40000", "on"),
        )

    def throughProxy(self, data: bytes) -> tuple[list[bytes], list[str]]:
        """
        Send C{data} (a PROXY header and messages) on a new connection
        from a proxy at 127.0.0.1:40000 through Twisted's PROXY-protocol
        wrapper.

        @return: The replies, and the peer named by each log event.
        """
        from twisted.protocols.haproxy._wrapper import HAProxyWrappingFactory

        proxy = IPv4Address("TCP", "127.0.0.1", 40000)
        protocol = HAProxyWrappingFactory(self.factory).buildProtocol(proxy)
        transport = StringTransport(peerAddress=proxy)
        protocol.makeConnection(transport)
        with capturedLogs() as events:
            protocol.dataReceived(data)
        return replies(transport), [event["peer"] for event in events]

    def test_proxiedPeerLogged(self) -> None:
        """
        Behind a PROXY-protocol listener (C{--listen haproxy:...}), log
        lines name the client from the header and the proxy it came
        through.
        """
        self.factory.commands.authenticator.token = b"secret"
        self.assertEqual(
            self.throughProxy(
                b"PROXY TCP4 10.0.0.1 127.0.0.1 1234 1100\r\nauth secret<EOF>on b<EOF>"
            ),
            (
                [b"success", b"success"],
                ["10.0.0.1:1234 via 127.0.0.1:40000"] * 2,
            ),
        )

    def test_proxiedPeerNotAnAddress(self) -> None:
        """
        A PROXY header whose address is not an IP address (Twisted checks
        no further than that it is a word) does not get into the log: the
        proxy is named alone.
        """
        self.assertEqual(
            self.throughProxy(
                b"PROXY TCP4 10.9.9.9:1\nfake_log_line 127.0.0.1 1 2\r\non b<EOF>"
            ),
            ([b"success"], ["127.0.0.1:40000"]),
        )


class OrderTests(SynchronousTestCase):
    """
    Replies come in message order also when relays answer later.
    """

    def setUp(self) -> None:
        self.a = MemoryRelay("a", asynchronous=True)
        self.b = MemoryRelay("b", asynchronous=True)
        self.factory = RelayFactory(RelayBank([self.a, self.b], clock=Clock()))

    def test_outOfOrderDeferreds(self) -> None:
        """
        When a later command's relay answers first, its reply waits for the
        earlier one; replies that need no relay wait too.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"on a<EOF>on b<EOF>ping<EOF>bogus<EOF>")
        self.assertEqual(transport.value(), b"")
        self.b.pending[0][0].callback(None)
        self.assertEqual(transport.value(), b"")
        self.a.pending[0][0].callback(None)
        self.assertEqual(
            replies(transport),
            [b"success", b"success", b"pong", b"error: unknown command"],
        )

    def test_statusAfterPendingChange(self) -> None:
        """
        C{status} answers after the changes queued before it for that
        relay, so it reports their outcome.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"on<EOF>status<EOF>relays<EOF>")
        self.assertEqual(transport.value(), b"")
        self.a.pending[0][0].callback(None)
        self.assertEqual(replies(transport), [b"success", b"on", b"a=on b=off"])

    def test_asyncFailure(self) -> None:
        """
        A relay whose Deferred fails gets C{error: hardware failure}, its
        state stays as it was and the failure is logged with its cause.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"on<EOF>status<EOF>")
        with capturedLogs() as events:
            self.a.pending[0][0].errback(OSError("bus error"))
        self.assertEqual(replies(transport), [b"error: hardware failure", b"off"])
        failures = [e for e in events if "log_failure" in e]
        self.assertEqual(len(failures), 1)
        self.assertEqual(failures[0]["relay"], "a")
        self.assertEqual(failures[0]["log_failure"].getErrorMessage(), "bus error")
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)

    def test_syncFailure(self) -> None:
        """
        A relay whose C{switch} raises gets C{error: hardware failure} and
        the connection goes on.
        """
        self.a.failWith = RuntimeError("no /dev/gpiomem")
        protocol, transport = connect(self.factory)
        with capturedLogs() as events:
            protocol.dataReceived(b"toggle<EOF>status<EOF>on b<EOF>")
        self.b.pending[0][0].callback(None)
        self.assertEqual(
            replies(transport), [b"error: hardware failure", b"off", b"success"]
        )
        self.assertEqual(
            [e["log_failure"].getErrorMessage() for e in events if "log_failure" in e],
            ["no /dev/gpiomem"],
        )
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_onAllPartialFailure(self) -> None:
        """
        C{on all} with one failing relay gets C{error: hardware failure};
        the other relays are switched.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"on all<EOF>relays<EOF>")
        self.a.pending[0][0].errback(OSError("stuck"))
        self.assertEqual(transport.value(), b"")
        self.b.pending[0][0].callback(None)
        self.assertEqual(
            replies(transport), [b"error: hardware failure", b"a=off b=on"]
        )
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)

    def test_halfCloseableBeforeConnected(self) -> None:
        """
        Twisted may ask a protocol whether it handles half-closes before its
        C{connectionMade} has run (or when it failed): the answer is a
        plain yes, never an exception, so the transport still closes.
        """
        from twisted.internet.interfaces import IHalfCloseableProtocol

        protocol = self.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        self.assertIs(IHalfCloseableProtocol(protocol, None), protocol)

    def test_describeOddUnixPeer(self) -> None:
        """
        A UNIX peer bound to a name that is not UTF-8 is still described,
        and one whose name holds control characters (an abstract socket's
        leading NUL, a line break) is described with them escaped, so that
        a peer cannot put a line of its own into the log.
        """
        self.assertEqual(
            describePeer(UNIXAddress(b"\0peer-\xff")), "unix:\\x00peer-\\xff"
        )
        self.assertEqual(
            describePeer(UNIXAddress(b"/tmp/a\nfake line\t")),
            "unix:/tmp/a\\nfake line\\t",
        )

    def test_halfClose(self) -> None:
        """
        A peer that half-closes after sending still gets every pending
        reply; then the connection is closed.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"on<EOF>ping<EOF>off")
        protocol.readConnectionLost()
        self.assertFalse(transport.disconnecting)
        self.a.pending[0][0].callback(None)
        self.assertEqual(replies(transport), [b"success", b"pong"])
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.a.pending, [])

    def test_quitWaitsForPendingReplies(self) -> None:
        """
        C{quit} closes only after the replies before it are written.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"on<EOF>quit<EOF>")
        self.assertFalse(transport.disconnecting)
        self.a.pending[0][0].callback(None)
        self.assertEqual(replies(transport), [b"success", b"bye"])
        self.assertTrue(transport.disconnecting)

    def test_connectionLostWithPendingReplies(self) -> None:
        """
        A relay that answers after its client disconnected writes nothing
        and raises nothing; the state is still recorded.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"on<EOF>")
        protocol.connectionLost(None)
        self.a.pending[0][0].callback(None)
        self.assertEqual(transport.value(), b"")
        self.assertTrue(self.factory.bank.relay("a").isOn)

    def test_arrivalOrderAcrossConnections(self) -> None:
        """
        Commands for one relay from two connections are applied in arrival
        order, each after the previous one finished.
        """
        first, firstTransport = connect(self.factory)
        second, secondTransport = connect(self.factory, port=40001)
        first.dataReceived(b"on<EOF>")
        second.dataReceived(b"toggle<EOF>status<EOF>")
        first.dataReceived(b"status<EOF>")
        self.assertEqual(len(self.a.pending), 1)
        self.a.pending[0][0].callback(None)
        self.assertEqual(len(self.a.pending), 1)
        self.assertEqual(self.a.pending[0][1], False)
        self.a.pending[0][0].callback(None)
        self.assertEqual(replies(firstTransport), [b"success", b"off"])
        self.assertEqual(replies(secondTransport), [b"success", b"off"])
        self.assertEqual(self.a.history, [True, False])


class FlowControlTests(SynchronousTestCase):
    """
    A client that pipelines faster than the server can answer is slowed
    down by pausing reading, not by buffering without bound.
    """

    def test_writeBufferFull(self) -> None:
        """
        While the transport says its write buffer is full, messages are
        held back and the transport stops reading; when it drains, they are
        executed in order.
        """
        relay = MemoryRelay("a")
        protocol, transport = connect(RelayFactory(RelayBank([relay], clock=Clock())))
        self.assertIs(transport.producer, protocol)
        self.assertTrue(transport.streaming)
        protocol.pauseProducing()
        protocol.dataReceived(b"on<EOF>ping<EOF>")
        self.assertEqual((transport.value(), transport.producerState), (b"", "paused"))
        protocol.resumeProducing()
        self.assertEqual(replies(transport), [b"success", b"pong"])
        self.assertEqual(transport.producerState, "producing")

    def test_pendingRepliesBounded(self) -> None:
        """
        Once C{MAX_PENDING} replies wait for a slow relay, reading pauses;
        it resumes when half of them are answered, and every message still
        gets its reply in order.
        """
        relay = MemoryRelay("a", asynchronous=True)
        protocol, transport = connect(RelayFactory(RelayBank([relay], clock=Clock())))
        protocol.MAX_PENDING = 4
        protocol.dataReceived(b"toggle<EOF>" * 10)
        self.assertEqual(transport.producerState, "paused")
        self.assertEqual(len(protocol._pending), 4)
        for _ in range(10):
            relay.pending.pop(0)[0].callback(None)
        self.assertEqual(transport.producerState, "producing")
        self.assertEqual(replies(transport), [b"success"] * 10)
        self.assertEqual(relay.history, [True, False] * 5)

    def test_immediateRepliesBounded(self) -> None:
        """
        Replies that are ready at once but wait behind a slow one count
        towards C{MAX_PENDING} too.
        """
        relay = MemoryRelay("a", asynchronous=True)
        protocol, transport = connect(RelayFactory(RelayBank([relay], clock=Clock())))
        protocol.MAX_PENDING = 8
        protocol.dataReceived(b"on<EOF>" + b"ping<EOF>" * 100)
        self.assertEqual(transport.producerState, "paused")
        self.assertEqual(len(protocol._pending), 8)
        relay.pending.pop(0)[0].callback(None)
        self.assertEqual(replies(transport), [b"success"] + [b"pong"] * 100)

    def test_batchedRepliesStillPause(self) -> None:
        """
        The replies of one segment are written together, but in writes of
        at most C{BATCH_LIMIT} bytes, so a transport whose buffer fills up
        pauses reading between messages of the same segment.
        """

        class Filling(StringTransport):
            writes: list[int] = []

            def write(self, data: bytes) -> None:
                super().write(data)
                self.writes.append(len(data))
                if len(self.value()) > 100 and self.producer is not None:
                    self.producer.pauseProducing()

        factory = RelayFactory(RelayBank([MemoryRelay("a")], clock=Clock()))
        protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        transport = Filling()
        protocol.makeConnection(transport)  # type: ignore[union-attr]
        protocol.BATCH_LIMIT = 40  # type: ignore[union-attr]
        protocol.dataReceived(b"ping<EOF>" * 100)  # type: ignore[union-attr]
        self.assertLess(len(replies(transport)), 30)
        self.assertTrue(all(size < 40 + 9 for size in transport.writes))
        for _ in range(1000):
            if transport.producerState != "paused":
                break
            protocol.resumeProducing()  # type: ignore[union-attr]
        self.assertEqual(replies(transport), [b"pong"] * 100)

    def test_messagesPerTurn(self) -> None:
        """
        A connection executes at most C{MESSAGES_PER_TURN} messages in one
        turn of the reactor and the rest in later turns, with its replies
        in order; meanwhile its transport is paused, and another connection
        is served at once.
        """
        reactor = TurnClock()
        relay = MemoryRelay("a")
        factory = RelayFactory(RelayBank([relay], clock=Clock()), reactor=reactor)
        flooder, flooding = connect(factory)
        turn = RelayProtocol.MESSAGES_PER_TURN
        flooder.dataReceived(b"toggle<EOF>status<EOF>" * turn + b"ping<EOF>")
        self.assertEqual(len(replies(flooding)), turn)
        self.assertEqual(flooding.producerState, "paused")
        other, otherTransport = connect(factory)
        other.dataReceived(b"ping<EOF>")
        self.assertEqual(replies(otherTransport), [b"pong"])
        reactor.turn()
        self.assertEqual(len(replies(flooding)), 2 * turn)
        reactor.turn()
        self.assertEqual(
            replies(flooding),
            [b"success", b"on", b"success", b"off"] * (turn // 2) + [b"pong"],
        )
        self.assertEqual(flooding.producerState, "producing")
        self.assertEqual(reactor.getDelayedCalls(), [])

    def test_messagesPerTurnWhileWritesBlocked(self) -> None:
        """
        When the next turn comes while the transport's write buffer is
        full, the messages held back wait until it drains.
        """
        reactor = Clock()
        factory = RelayFactory(
            RelayBank([MemoryRelay("a")], clock=Clock()), reactor=reactor
        )
        protocol, transport = connect(factory)
        turn = RelayProtocol.MESSAGES_PER_TURN
        protocol.dataReceived(b"ping<EOF>" * (turn + 1))
        protocol.pauseProducing()
        reactor.advance(0)
        self.assertEqual(len(replies(transport)), turn)
        protocol.resumeProducing()
        self.assertEqual(len(replies(transport)), turn + 1)

    def test_messagesPerTurnClosed(self) -> None:
        """
        A connection lost with messages held back leaves no call pending.
        """
        reactor = Clock()
        factory = RelayFactory(
            RelayBank([MemoryRelay("a")], clock=Clock()), reactor=reactor
        )
        protocol, _ = connect(factory)
        protocol.dataReceived(b"ping<EOF>" * (RelayProtocol.MESSAGES_PER_TURN + 1))
        protocol.connectionLost(None)
        self.assertEqual(reactor.getDelayedCalls(), [])

    def test_closeUnregisters(self) -> None:
        """
        Closing the connection unregisters the protocol as producer first,
        so that the transport closes once its buffer is written.
        """
        protocol, transport = connect(
            RelayFactory(RelayBank([MemoryRelay("a")], clock=Clock()))
        )
        protocol.dataReceived(b"quit<EOF>")
        self.assertIsNone(transport.producer)
        self.assertTrue(transport.disconnecting)

    def closeWith(self, transport: StringTransport) -> tuple[RelayProtocol, Clock]:
        """
        Connect a protocol to C{transport} and send C{quit}.
        """
        clock = Clock()
        factory = RelayFactory(RelayBank([MemoryRelay("a")], clock=clock))
        protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        assert isinstance(protocol, RelayProtocol)
        protocol.makeConnection(transport)
        protocol.dataReceived(b"quit<EOF>")
        self.assertEqual(transport.value(), b"bye<EOF>")
        return protocol, clock

    def test_closeHalfCloses(self) -> None:
        """
        A transport that can half-close is half-closed; the rest of what
        the peer sends is read and discarded; if the peer has not closed
        too after L{RelayProtocol.LINGER} seconds, the connection is
        aborted; once it is closed, nothing is left scheduled.
        """
        transport = HalfCloseableTransport()
        protocol, clock = self.closeWith(transport)
        self.assertTrue(transport.writeClosed)
        self.assertFalse(transport.disconnecting)
        protocol.dataReceived(b"on<EOF>")
        self.assertEqual(transport.value(), b"bye<EOF>")
        clock.advance(protocol.LINGER - 0.1)
        self.assertFalse(transport.disconnected)
        clock.advance(0.1)
        self.assertTrue(transport.disconnected)

        protocol, clock = self.closeWith(HalfCloseableTransport())
        protocol.connectionLost(None)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_closeThroughWrapper(self) -> None:
        """
        Through a wrapping transport that is not TLS (HAProxy's, the
        policies'), the transport underneath is half-closed, as before.
        """
        from twisted.internet.protocol import Protocol, ServerFactory
        from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

        inner = HalfCloseableTransport()
        wrapper = ProtocolWrapper(WrappingFactory(ServerFactory()), Protocol())
        wrapper.makeConnection(inner)
        self.closeWith(wrapper)  # type: ignore[arg-type]
        self.assertTrue(inner.writeClosed)
        self.assertFalse(inner.disconnecting)

    def test_closeTLS(self) -> None:
        """
        A TLS transport (here, a TCP transport that started TLS) is closed
        with C{loseConnection}, which sends the TLS close alert, not
        half-closed underneath TLS; it is aborted if still open
        L{RelayProtocol.LINGER} seconds later.
        """
        transport = HalfCloseableTransport()
        transport.TLS = True  # type: ignore[attr-defined]
        protocol, clock = self.closeWith(transport)
        self.assertFalse(transport.writeClosed)
        self.assertTrue(transport.disconnecting)
        clock.advance(protocol.LINGER)
        self.assertTrue(transport.disconnected)

    def test_closeWithoutHalfClose(self) -> None:
        """
        A transport that cannot half-close and is not TLS is closed with
        C{loseConnection}, and nothing is left scheduled; one that cannot
        be aborted is half-closed or closed all the same.
        """
        plain = StringTransport()
        _, clock = self.closeWith(plain)
        self.assertTrue(plain.disconnecting)
        self.assertEqual(clock.getDelayedCalls(), [])

        class Unabortable(HalfCloseableTransport):
            abortConnection = property()

        transport = Unabortable()
        _, clock = self.closeWith(transport)
        self.assertTrue(transport.writeClosed)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_stopProducing(self) -> None:
        """
        When the transport stops its producer, nothing more is executed.
        """
        relay = MemoryRelay("a")
        protocol, transport = connect(RelayFactory(RelayBank([relay], clock=Clock())))
        protocol.stopProducing()
        protocol.dataReceived(b"on<EOF>")
        self.assertEqual((transport.value(), relay.history), (b"", []))


class ParseCacheTests(SynchronousTestCase):
    """
    The memo of what messages mean.
    """

    def test_bounded(self) -> None:
        """
        Short messages are remembered; long ones and C{auth} are not.
        """
        factory = RelayFactory(RelayBank([MemoryRelay()], clock=Clock()))
        protocol, _ = connect(factory)
        protocol.dataReceived(
            b"on<EOF>on " + b"x" * 100 + b"<EOF>auth s3cret<EOF>  <EOF>"
        )
        self.assertEqual(set(factory.commands._meanings), {b"on", b"  "})


class MemoryRelayTests(SynchronousTestCase):
    """
    L{MemoryRelay}, the test double.
    """

    def test_pending(self) -> None:
        """
        C{pending} holds the Deferreds of asynchronous switches not yet
        fired, oldest first: a loop over it fires each, and fired, failed
        and cancelled ones leave it.
        """
        relay = MemoryRelay(asynchronous=True)
        for on in (True, False, True):
            relay.switch(on)
        self.assertEqual([on for _, on in relay.pending], [True, False, True])
        for switch, _ in relay.pending:
            switch.callback(None)
        self.assertEqual((relay.pending, relay.history), ([], [True, False, True]))
        failing, cancelled = relay.switch(False), relay.switch(True)
        assert failing is not None and cancelled is not None
        failing.errback(OSError("bus error"))
        self.failureResultOf(failing, OSError)
        self.assertEqual([d for d, _ in relay.pending], [cancelled])
        cancelled.cancel()
        self.failureResultOf(cancelled)
        self.assertEqual((relay.pending, relay.history), ([], [True, False, True]))
