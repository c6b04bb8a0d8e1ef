"""
Tests for L{eofrelay.tcp.factory}: the connections to a bank, their
limits and refusals.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.bank import RelayBank
from eofrelay.tcp.factory import RelayFactory, TooManyConnections
from eofrelay.tcp.protocol import RelayProtocol
from eofrelay.testing import MemoryRelay, connect
from eofrelay.wire.names import checkRelayName
from tests.test_access import replies


class FactoryTests(SynchronousTestCase):
    """
    Tests for L{RelayFactory}.
    """

    def test_startStopLogged(self) -> None:
        """
        Starting and stopping the factory is logged once, in the namespace
        of eofrelay 0.1's factory.
        """
        factory = RelayFactory(RelayBank([MemoryRelay()], clock=Clock()))
        with capturedLogs() as events:
            factory.doStart()
            factory.doStart()
            factory.doStop()
            factory.doStop()
        self.assertEqual(
            [(e["log_namespace"], e["log_format"]) for e in events],
            [
                ("eofrelay.factory.RelayFactory", "Starting factory {factory!r}"),
                ("eofrelay.factory.RelayFactory", "Stopping factory {factory!r}"),
            ],
        )

    def test_protocolAttribute(self) -> None:
        """
        The factory builds its C{protocol}, which a subclass may replace.
        """

        class Subclass(RelayProtocol):
            pass

        factory = RelayFactory(RelayBank([MemoryRelay()], clock=Clock()))
        factory.protocol = Subclass
        built = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        self.assertIsInstance(built, Subclass)
        self.assertIs(getattr(built, "factory", None), factory)

    def test_relays(self) -> None:
        """
        The factory wraps each driver in one shared L{RelayState}, keeps the
        configured order, and finds relays case-insensitively; the first is
        the default.
        """
        a, b = MemoryRelay("Pump"), MemoryRelay("door")
        factory = RelayFactory(RelayBank([a, b]))
        self.assertEqual([r.driver for r in factory.bank.relays], [a, b])
        self.assertIs(factory.bank.relay(), factory.bank.relays[0])
        self.assertIs(factory.bank.relay("PUMP"), factory.bank.relays[0])
        self.assertIs(factory.bank.relay("Door"), factory.bank.relays[1])
        self.assertRaises(KeyError, factory.relay, "nope")

    def test_initialState(self) -> None:
        """
        A driver that reports its state synchronously starts in that state;
        one that answers with a Deferred is taken to be off.
        """
        on = MemoryRelay("a")
        on.on = True
        later = MemoryRelay("b")
        later.state = lambda: Deferred()  # type: ignore[method-assign, return-value, assignment]
        factory = RelayFactory(RelayBank([on, later]))
        self.assertEqual([r.isOn for r in factory.bank.relays], [True, False])

    def test_interlocks(self) -> None:
        """
        Interlocked relays are each other's partners and share one
        sequencer; relays connected through two groups share it too, but
        are partners only within a group.
        """
        factory = RelayFactory(
            RelayBank(
                [MemoryRelay(n) for n in "abcd"], interlocks=[["a", "B"], ["b", "c"]]
            )
        )
        a, b, c, d = factory.bank.relays
        self.assertEqual(
            (a.partners, b.partners, c.partners, d.partners), ([b], [a, c], [b], [])
        )
        self.assertIs(a.sequencer, b.sequencer)
        self.assertIs(b.sequencer, c.sequencer)
        self.assertIsNot(a.sequencer, d.sequencer)
        self.assertEqual(len(factory.bank.interlocks), 2)

    def test_badInterlocks(self) -> None:
        """
        An interlock naming an unknown relay, or fewer than two, is refused.
        """
        relays = [MemoryRelay("a"), MemoryRelay("b")]
        for group in (["a", "x"], ["a"], ["a", "A"], "ab"):
            self.assertRaises(ValueError, RelayBank, relays, interlocks=[group])

    def test_badArguments(self) -> None:
        """
        A token C{auth} could not carry (a C{str} included), an C{allow}
        entry that is not a network, and limits out of range are refused
        when the factory is made, not on the first connection.
        """
        from ipaddress import ip_network

        relays = [MemoryRelay("a")]
        for token in ("sesame", b"", b"two words", b"a<EOF>b", b"x" * 257):
            self.assertRaises(ValueError, RelayFactory, RelayBank(relays), token=token)
        RelayFactory(RelayBank(relays), token=b"x" * 256)
        self.assertRaises(
            ValueError, RelayFactory, RelayBank(relays), allow=["127.0.0.1/32"]
        )
        RelayFactory(RelayBank(relays), allow=[ip_network("127.0.0.1/32")])
        for limits in (
            {"maxLine": 0},
            {"maxConnections": 0},
            {"idleTimeout": -1},
            {"idleTimeout": float("nan")},
        ):
            self.assertRaises(ValueError, RelayFactory, RelayBank(relays), **limits)
        for timeout in (0, float("inf")):
            self.assertRaises(ValueError, RelayBank, relays, hardwareTimeout=timeout)
        RelayFactory(RelayBank(relays), maxLine=1, maxConnections=1, idleTimeout=0)

    def test_refused(self) -> None:
        """
        No relays, bad names and names given twice are refused.
        """
        self.assertRaises(ValueError, RelayBank, [])
        self.assertRaises(ValueError, RelayBank, [MemoryRelay("all")])
        self.assertRaises(ValueError, RelayBank, [MemoryRelay("a"), MemoryRelay("A")])

    def test_names(self) -> None:
        """
        A relay name is a letter followed by up to 31 letters, digits, C{_}
        or C{-}, and not C{all}.
        """
        for good in ("a", "Pump_2", "door-1", "x" * 32):
            self.assertEqual(checkRelayName(good), good)
        for bad in ("", "1a", "_a", "a b", "a:b", "é", "x" * 33, "ALL", "a\n"):
            self.assertRaises(ValueError, checkRelayName, bad)


class LimitTests(SynchronousTestCase):
    """
    The connection limit and the idle timeout.
    """

    def test_tooManyConnections(self) -> None:
        """
        Past the limit, a connection is told C{error: too many connections}
        and closed; a closed connection frees its place.
        """
        factory = RelayFactory(
            RelayBank([MemoryRelay()], clock=Clock()), maxConnections=2
        )
        first, _ = connect(factory)
        connect(factory, port=40001)
        address = IPv4Address("TCP", "127.0.0.1", 40002)
        with capturedLogs() as events:
            refused = factory.buildProtocol(address)
        self.assertIsInstance(refused, TooManyConnections)
        self.assertEqual(len(events), 1)
        transport = StringTransport()
        refused.makeConnection(transport)  # type: ignore[union-attr]
        self.assertEqual(transport.value(), b"error: too many connections<EOF>")
        self.assertTrue(transport.disconnecting)
        first.connectionLost(None)
        self.assertNotIsInstance(factory.buildProtocol(address), TooManyConnections)

    def test_tooManyConnectionsCutOff(self) -> None:
        """
        A refused connection that does not close (a TLS peer that never
        completes its handshake) is aborted after a grace period.
        """
        clock = Clock()
        factory = RelayFactory(
            RelayBank([MemoryRelay()], clock=clock), maxConnections=1
        )
        connect(factory)
        refused = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 2))
        transport = StringTransport()
        refused.makeConnection(transport)  # type: ignore[union-attr]
        self.assertFalse(transport.disconnected)
        clock.advance(TooManyConnections.GRACE)
        self.assertTrue(transport.disconnected)

    def test_idleTimeout(self) -> None:
        """
        A connection that sends no complete message for C{idleTimeout}
        seconds is closed; every complete message restarts the time; bytes
        trickling in without a delimiter do not.
        """
        clock = Clock()
        factory = RelayFactory(RelayBank([MemoryRelay()], clock=clock), idleTimeout=600)
        protocol, transport = connect(factory)
        clock.advance(599)
        protocol.dataReceived(b"ping<EOF>")
        clock.advance(599)
        self.assertFalse(transport.disconnecting)
        for _ in range(100):
            protocol.dataReceived(b"x")
            clock.advance(0.02)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(replies(transport), [b"pong"])

    def test_watchersExempt(self) -> None:
        """
        A watcher is not closed for being idle.
        """
        clock = Clock()
        factory = RelayFactory(RelayBank([MemoryRelay()], clock=clock), idleTimeout=600)
        protocol, transport = connect(factory)
        protocol.dataReceived(b"watch<EOF>")
        clock.advance(6000)
        self.assertFalse(transport.disconnecting)
        protocol.connectionLost(None)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_noIdleTimeout(self) -> None:
        """
        An idle timeout of 0 never closes.
        """
        clock = Clock()
        factory = RelayFactory(RelayBank([MemoryRelay()], clock=clock), idleTimeout=0)
        _protocol, _transport = connect(factory)
        self.assertEqual(clock.getDelayedCalls(), [])
