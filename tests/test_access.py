"""
Tests for L{eofrelay.commands.access}: the allow-list and token
authentication, with its throttle.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.commands.access import (
    FailedAuthentications,
    isAllowed,
    parseNetwork,
    throttleKey,
)
from eofrelay.core.bank import RelayBank
from eofrelay.tcp.factory import Refused, RelayFactory
from eofrelay.tcp.protocol import RelayProtocol
from eofrelay.testing import MemoryRelay, connect
from eofrelay.wire import replies as commands

TOKEN = b"s3cret-Token"


def replies(transport: StringTransport) -> list[bytes]:
    data: bytes = transport.value()
    transport.clear()
    return data.split(b"<EOF>")[:-1]


class AllowTests(SynchronousTestCase):
    """
    The allow-list.
    """

    def test_isAllowed(self) -> None:
        """
        IPv4 and IPv6 peers are matched against the networks; IPv4-mapped
        IPv6 peers as IPv4; UNIX socket peers are always allowed.
        """
        networks = [parseNetwork("192.168.1.0/24"), parseNetwork("fd00::/8")]
        self.assertTrue(isAllowed(IPv4Address("TCP", "192.168.1.7", 1), networks))
        self.assertFalse(isAllowed(IPv4Address("TCP", "192.168.2.7", 1), networks))
        self.assertTrue(isAllowed(IPv6Address("TCP", "fd12::1", 1), networks))
        self.assertFalse(isAllowed(IPv6Address("TCP", "fe80::1%eth0", 1), networks))
        self.assertTrue(
            isAllowed(IPv6Address("TCP", "::ffff:192.168.1.9", 1), networks)
        )
        self.assertTrue(isAllowed(UNIXAddress(b"/run/s"), networks))

    def test_parseNetwork(self) -> None:
        """
        Networks and single addresses parse; anything else is refused.
        """
        self.assertEqual(str(parseNetwork("10.1.2.3/8")), "10.0.0.0/8")
        self.assertEqual(str(parseNetwork("::1")), "::1/128")
        self.assertRaises(ValueError, parseNetwork, "10.0.0.0/33")
        self.assertRaises(ValueError, parseNetwork, "example.com")

    def test_refusedBeforeReading(self) -> None:
        """
        The factory builds no protocol for a peer outside the list, so the
        connection is closed before any byte is read, and logs the peer.
        """
        factory = RelayFactory(
            RelayBank([MemoryRelay()], clock=Clock()),
            allow=[parseNetwork("127.0.0.0/8")],
        )
        with capturedLogs() as events:
            refused = factory.buildProtocol(IPv4Address("TCP", "10.0.0.5", 9))
        self.assertIsInstance(refused, Refused)
        self.assertEqual([e.get("peer") for e in events], ["10.0.0.5:9"])
        transport = StringTransport()
        refused.makeConnection(transport)  # type: ignore[union-attr]
        self.assertTrue(transport.disconnected)
        self.assertEqual(transport.value(), b"")
        self.assertIsInstance(
            factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 9)), RelayProtocol
        )

    def test_mappedNetworks(self) -> None:
        """
        An IPv4-mapped IPv6 network in the list is matched as IPv4.
        """
        networks = [parseNetwork("::ffff:10.0.0.0/104")]
        self.assertEqual(str(networks[0]), "10.0.0.0/8")
        self.assertTrue(isAllowed(IPv4Address("TCP", "10.1.2.3", 1), networks))
        self.assertTrue(isAllowed(IPv6Address("TCP", "::ffff:10.1.2.3", 1), networks))


class AuthenticationTests(SynchronousTestCase):
    """
    C{auth TOKEN} with C{--token-file}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.relay = MemoryRelay("a")
        self.factory = RelayFactory(
            RelayBank([self.relay], clock=self.clock), token=TOKEN
        )

    def test_required(self) -> None:
        """
        Before C{auth}, every command but C{auth}, C{ping}, C{help} and
        C{quit} gets C{error: authentication required}; unknown verbs are
        still unknown.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(
            b"on<EOF>status<EOF>relays<EOF>watch<EOF>pulse 5<EOF>ping<EOF>bogus<EOF>"
        )
        self.assertEqual(
            replies(transport),
            [commands.AUTHENTICATION_REQUIRED] * 5
            + [b"pong", commands.UNKNOWN_COMMAND],
        )
        self.assertEqual(self.relay.history, [])
        self.assertNotIn(protocol, self.factory.watchers)

    def test_success(self) -> None:
        """
        The right token unlocks the other commands on this connection only.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"auth " + TOKEN + b"<EOF>on<EOF>")
        self.assertEqual(replies(transport), [b"success", b"success"])
        other, otherTransport = connect(self.factory, port=40001)
        other.dataReceived(b"off<EOF>")
        self.assertEqual(replies(otherTransport), [commands.AUTHENTICATION_REQUIRED])

    def test_failure(self) -> None:
        """
        A wrong token gets C{error: authentication failed} and the
        connection is closed; nothing after it is executed; the token is
        never logged.
        """
        protocol, transport = connect(self.factory)
        with capturedLogs() as events:
            protocol.dataReceived(b"auth wrong<EOF>auth " + TOKEN + b"<EOF>on<EOF>")
        self.assertEqual(replies(transport), [commands.AUTHENTICATION_FAILED])
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.relay.history, [])
        for event in events:
            self.assertNotIn("s3cret", repr(event))
            self.assertNotIn("wrong", repr(event))

    def test_badArguments(self) -> None:
        """
        C{auth} needs exactly one argument.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"auth<EOF>auth a b<EOF>")
        self.assertEqual(replies(transport), [commands.BAD_ARGUMENT] * 2)

    def test_throttled(self) -> None:
        """
        After five failures within a minute, a host is refused even with the
        right token, until a minute after its last failure; other hosts are
        not affected.
        """
        for _attempt in range(5):
            protocol, transport = connect(self.factory)
            protocol.dataReceived(b"auth nope<EOF>")
            self.clock.advance(1)
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"auth " + TOKEN + b"<EOF>")
        self.assertEqual(replies(transport), [commands.AUTHENTICATION_FAILED])
        other, otherTransport = connect(self.factory, host="127.0.0.2")
        other.dataReceived(b"auth " + TOKEN + b"<EOF>")
        self.assertEqual(replies(otherTransport), [b"success"])
        self.clock.advance(FailedAuthentications.WINDOW)
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"auth " + TOKEN + b"<EOF>")
        self.assertEqual(replies(transport), [b"success"])

    def authenticate(self, token: bytes) -> bytes:
        """
        Send C{auth token} on a new connection; return the reply.
        """
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"auth " + token + b"<EOF>")
        [reply] = replies(transport)
        return reply

    def test_guessingProlongsTheRefusal(self) -> None:
        """
        A wrong token sent while refused counts as a failure: the host
        stays refused until a minute after it, even once its first five
        failures are more than a minute old.
        """
        for _attempt in range(5):
            self.authenticate(b"nope")
        self.clock.advance(30)
        self.assertEqual(self.authenticate(b"guess"), commands.AUTHENTICATION_FAILED)
        self.clock.advance(45)
        self.assertEqual(self.authenticate(TOKEN), commands.AUTHENTICATION_FAILED)
        self.clock.advance(15)
        self.assertEqual(self.authenticate(TOKEN), b"success")

    def test_rightTokenDoesNotProlongTheRefusal(self) -> None:
        """
        The right token sent while refused is refused, but does not count
        as a failure: a client with the right token that keeps polling gets
        in a minute after the last wrong one.
        """
        for _attempt in range(5):
            self.authenticate(b"nope")
        for wait in [15, 15, 15, 14.5]:
            self.clock.advance(wait)
            self.assertEqual(self.authenticate(TOKEN), commands.AUTHENTICATION_FAILED)
        self.clock.advance(0.5)
        self.assertEqual(self.authenticate(TOKEN), b"success")

    def test_failuresSpreadOut(self) -> None:
        """
        Failures more than a minute apart never add up to a lock.
        """
        for _attempt in range(10):
            protocol, transport = connect(self.factory)
            protocol.dataReceived(b"auth nope<EOF>")
            self.clock.advance(FailedAuthentications.WINDOW / 4 + 0.1)
        protocol, transport = connect(self.factory)
        protocol.dataReceived(b"auth " + TOKEN + b"<EOF>")
        self.assertEqual(replies(transport), [b"success"])

    def test_noTokenConfigured(self) -> None:
        """
        Without a token, C{auth} with any token succeeds and nothing is
        locked.
        """
        factory = RelayFactory(RelayBank([MemoryRelay()], clock=Clock()))
        protocol, transport = connect(factory)
        protocol.dataReceived(b"on<EOF>auth anything<EOF>")
        self.assertEqual(replies(transport), [b"success", b"success"])


class CountingClock(Clock):
    """
    A clock that counts how often it is read.
    """

    reads = 0

    def seconds(self) -> float:
        self.reads += 1
        return super().seconds()


class ThrottleTableTests(SynchronousTestCase):
    """
    The table of L{FailedAuthentications} is bounded, and a failure costs
    the same however many hosts failed before.
    """

    def test_bounded(self) -> None:
        """
        However many hosts fail within the window, at most C{MAX_HOSTS} are
        remembered.
        """
        throttle = FailedAuthentications(Clock())
        throttle.MAX_HOSTS = 100
        for index in range(250):
            throttle.failed(f"10.0.{index // 256}.{index % 256}")
        self.assertEqual(len(throttle), 100)

    def test_constantCost(self) -> None:
        """
        With a full table of hosts that failed within the window, one more
        failure reads the clock a bounded number of times (it does not
        look at every host).
        """
        clock = CountingClock()
        throttle = FailedAuthentications(clock)
        for index in range(FailedAuthentications.MAX_HOSTS):
            throttle.failed(f"10.{index >> 16}.{(index >> 8) & 255}.{index & 255}")
        clock.reads = 0
        throttle.failed("192.0.2.1")
        throttle.refused("192.0.2.1")
        self.assertLessEqual(clock.reads, 4)

    def test_expiresFromTheFront(self) -> None:
        """
        Hosts whose last failure is a window old are forgotten, oldest
        first, by the next failure or check of any host.
        """
        clock = Clock()
        throttle = FailedAuthentications(clock)
        throttle.failed("10.0.0.1")
        clock.advance(30)
        throttle.failed("10.0.0.2")
        clock.advance(FailedAuthentications.WINDOW - 30)
        throttle.refused("10.0.0.3")
        self.assertEqual(len(throttle), 1)
        clock.advance(30)
        throttle.refused("10.0.0.3")
        self.assertEqual(len(throttle), 0)

    def test_lockedHostsStayLocked(self) -> None:
        """
        A host refused for now stays refused while others keep failing
        (as long as the table has room).
        """
        clock = Clock()
        throttle = FailedAuthentications(clock)
        for _ in range(FailedAuthentications.LIMIT):
            throttle.failed("10.0.0.1")
        for index in range(1000):
            throttle.failed(f"10.1.{index // 256}.{index % 256}")
        self.assertTrue(throttle.refused("10.0.0.1"))
        self.assertFalse(throttle.refused("10.1.0.1"))


class IPv6ThrottleTests(SynchronousTestCase):
    """
    IPv6 peers are throttled by their /64: a peer chooses its address in
    its own /64 freely.
    """

    def test_key(self) -> None:
        """
        Addresses of one /64 share a key; IPv4 addresses are their own.
        """
        self.assertEqual(throttleKey("2001:db8:1:2::1"), "2001:db8:1:2::/64")
        self.assertEqual(
            throttleKey("2001:db8:1:2:ffff:1:2:3"), throttleKey("2001:db8:1:2::9")
        )
        self.assertNotEqual(
            throttleKey("2001:db8:1:2::1"), throttleKey("2001:db8:1:3::1")
        )
        self.assertEqual(throttleKey("fe80::1%eth0"), "fe80::/64")
        self.assertEqual(throttleKey("192.0.2.7"), "192.0.2.7")

    def test_refusedByPrefix(self) -> None:
        """
        Failures from different addresses of one /64 add up, and refuse the
        whole /64, not another one.
        """
        throttle = FailedAuthentications(Clock())
        for index in range(FailedAuthentications.LIMIT):
            throttle.failed(f"2001:db8:0:1::{index + 1:x}")
        self.assertTrue(throttle.refused("2001:db8:0:1:abcd::1"))
        self.assertFalse(throttle.refused("2001:db8:0:2::1"))
