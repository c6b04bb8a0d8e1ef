"""
Tests for C{blink [RELAY] COUNT ON_MS [OFF_MS]} (L{RelayState.blink},
L{eofrelay.core.blink}).
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.bank import RelayBank
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay, connect


def replies(transport: StringTransport) -> list[bytes]:
    data: bytes = transport.value()
    transport.clear()
    return data.split(b"<EOF>")[:-1]


class BlinkTests(SynchronousTestCase):
    """
    A blink: COUNT cycles of on and off, timed by the clock, then back to
    the state before.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.a = MemoryRelay("a")
        self.b = MemoryRelay("b")
        self.lamp = MemoryRelay("lamp")
        self.bank = RelayBank(
            [self.a, self.b, self.lamp], interlocks=[["a", "b"]], clock=self.clock
        )
        self.factory = RelayFactory(self.bank, idleTimeout=0)
        self.protocol, self.transport = connect(self.factory)
        self.watcher, self.watching = connect(self.factory, port=40001)
        self.watcher.dataReceived(b"watch<EOF>")
        replies(self.watching)

    def test_cycles(self) -> None:
        """
        C{blink 3 100 200}: on for 100 ms, off for 200 ms, three times; the
        reply comes once the first on is driven; every change is an event;
        the log has one line at the start and one at the end.
        """
        with capturedLogs() as events:
            self.protocol.dataReceived(b"blink lamp 3 100 200<EOF>")
            self.assertEqual(replies(self.transport), [b"success"])
            for _ in range(3):
                self.clock.advance(0.1)
                self.clock.advance(0.2)
        self.assertEqual(self.lamp.history, [True, False] * 3)
        self.assertEqual(
            replies(self.watching), [b"event: lamp on", b"event: lamp off"] * 3
        )
        self.assertEqual(
            [formatEvent(event) for event in events],
            [
                "relay lamp switched on (was off) by 127.0.0.1:40000: blink 3 100 200",
                "relay lamp: blinking, 3 cycles",
                "relay lamp: blink of 3 cycles ended (back to off)",
            ],
        )
        self.assertFalse(self.bank.relay("lamp").blinking)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_offDefaultsToOn(self) -> None:
        """
        Without OFF_MS, the relay is off as long as it is on; the default
        relay blinks when none is named.
        """
        self.protocol.dataReceived(b"blink 2 500<EOF>")
        self.clock.advance(0.5)
        self.assertEqual(self.a.history, [True, False])
        self.clock.advance(0.499)
        self.assertEqual(self.a.history, [True, False])
        self.clock.advance(0.001)
        self.assertEqual(self.a.history, [True, False, True])

    def test_backToOn(self) -> None:
        """
        A relay that was on before the blink is on again at its end.
        """
        self.protocol.dataReceived(b"on lamp<EOF>blink lamp 1 100<EOF>")
        self.clock.advance(0.1)
        self.clock.advance(0.1)
        self.assertEqual(self.lamp.history, [True, True, False, True])
        self.assertTrue(self.bank.relay("lamp").isOn)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_endedByChange(self) -> None:
        """
        Any later change of the relay ends the blink and leaves the relay as
        that change sets it, also one that changes nothing; other relays'
        commands do not.
        """
        for command, final in ((b"on", True), (b"off", False), (b"toggle", None)):
            self.protocol.dataReceived(b"off lamp<EOF>blink lamp 5 100<EOF>")
            self.clock.advance(0.1)
            self.protocol.dataReceived(b"status a<EOF>")
            self.assertTrue(self.bank.relay("lamp").blinking)
            self.other, _ = connect(self.factory, port=40002)
            self.other.dataReceived(command + b" lamp<EOF>")
            relay = self.bank.relay("lamp")
            self.assertFalse(relay.blinking)
            state = relay.isOn
            self.clock.advance(10)
            self.assertEqual(relay.isOn, state)
            if final is not None:
                self.assertEqual(state, final)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_endedByPulseAndBlink(self) -> None:
        """
        A pulse or another blink of the relay replaces the blink.
        """
        self.protocol.dataReceived(b"blink lamp 5 100<EOF>pulse lamp 1000<EOF>")
        self.assertTrue(self.bank.relay("lamp").pulsing)
        self.assertFalse(self.bank.relay("lamp").blinking)
        self.clock.advance(1)
        self.assertFalse(self.bank.relay("lamp").isOn)
        self.protocol.dataReceived(b"blink lamp 5 100<EOF>blink lamp 1 300<EOF>")
        self.clock.advance(0.3)
        self.clock.advance(0.3)
        self.assertFalse(self.bank.relay("lamp").isOn)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_interlock(self) -> None:
        """
        Each on of a blink first switches its interlock partners off, as
        C{on} does; a partner switched on ends the blink.
        """
        self.protocol.dataReceived(b"on b<EOF>blink a 2 100<EOF>")
        self.assertEqual((self.a.history, self.b.history), ([True], [True, False]))
        self.clock.advance(0.1)
        self.protocol.dataReceived(b"on b<EOF>")
        self.assertFalse(self.bank.relay("a").blinking)
        self.clock.advance(1)
        self.assertEqual(self.a.history, [True, False])
        self.assertTrue(self.bank.relay("b").isOn)

    def test_stateFileRecordsEnd(self) -> None:
        """
        A blink in flight counts as the state it ends in.
        """
        self.protocol.dataReceived(b"blink lamp 3 100<EOF>")
        self.assertFalse(self.bank.commandedStates()["lamp"])
        self.protocol.dataReceived(b"on a<EOF>blink a 3 100<EOF>")
        self.assertTrue(self.bank.commandedStates()["a"])

    def test_endBlink(self) -> None:
        """
        L{RelayState.endBlink} ends it now, back to the state before (what
        the service does at stop with C{--on-exit keep}).
        """
        self.protocol.dataReceived(b"blink lamp 3 100<EOF>")
        self.bank.relay("lamp").endBlink()
        self.assertEqual(self.lamp.history, [True, False])
        self.assertFalse(self.bank.relay("lamp").blinking)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_failure(self) -> None:
        """
        A step that fails ends the blink, logged.
        """
        self.protocol.dataReceived(b"blink lamp 3 100<EOF>")
        self.lamp.failWith = OSError("stuck")
        with capturedLogs() as events:
            self.clock.advance(0.1)
        self.assertIn(
            "relay lamp: blink ended by a hardware failure",
            [formatEvent(event) for event in events],
        )
        self.assertFalse(self.bank.relay("lamp").blinking)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.flushLoggedErrors(OSError)

    def test_badArguments(self) -> None:
        """
        A count or a time that is missing, zero, too large or no number, a
        fifth argument and C{all} get C{bad argument}; an unknown relay
        C{unknown relay}.
        """
        for message, reply in (
            (b"blink", b"error: bad argument"),
            (b"blink 3", b"error: bad argument"),
            (b"blink lamp 3", b"error: bad argument"),
            (b"blink 0 100", b"error: bad argument"),
            (b"blink 10001 100", b"error: bad argument"),
            (b"blink 3 0", b"error: bad argument"),
            (b"blink 3 86400001", b"error: bad argument"),
            (b"blink 3 100 1.5", b"error: bad argument"),
            (b"blink lamp 3 100 100 100", b"error: bad argument"),
            (b"blink all 3 100", b"error: bad argument"),
            (b"blink nosuch 3 100", b"error: unknown relay"),
        ):
            self.protocol.dataReceived(message + b"<EOF>")
            self.assertEqual(replies(self.transport), [reply], message)
        self.assertEqual(self.lamp.history + self.a.history, [])

    def test_largest(self) -> None:
        """
        10000 cycles of 86400000 ms are accepted.
        """
        self.protocol.dataReceived(b"blink lamp 10000 86400000 86400000<EOF>")
        self.assertEqual(replies(self.transport), [b"success"])
        self.bank.relay("lamp").cancelBlink()
