"""
Tests for L{eofrelay.factory}, L{eofrelay.names} and L{eofrelay.state}.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from eofrelay.core.bank import RelayBank
from eofrelay.core.relay import HardwareFailure, RelayState
from eofrelay.gpio.memory import MemoryPins
from eofrelay.gpio.pinrelay import PinRelay
from eofrelay.interfaces import IRelay
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay
from eofrelay.wire.names import checkRelayName


class FactoryTests(SynchronousTestCase):
    """
    Tests for L{RelayFactory}.
    """

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


class RelayStateTests(SynchronousTestCase):
    """
    Tests for L{RelayState}.
    """

    def test_interface(self) -> None:
        """
        L{RelayState} and L{PinRelay} provide L{IRelay}.
        """
        self.assertTrue(verifyObject(IRelay, RelayState(MemoryRelay())))
        self.assertTrue(verifyObject(IRelay, PinRelay("p", MemoryPins(), 1)))

    def test_synchronous(self) -> None:
        """
        With a synchronous driver every operation returns its result at
        once, without a Deferred.
        """
        state = RelayState(MemoryRelay())
        self.assertIs(state.switch(True), True)
        self.assertIs(state.toggle(), False)
        self.assertIs(state.state(), False)
        self.assertFalse(state.isOn)

    def test_queued(self) -> None:
        """
        Operations wait for the driver to finish the previous switch; a
        toggle inverts the state the earlier operations left.
        """
        driver = MemoryRelay(asynchronous=True)
        state = RelayState(driver)
        first = state.switch(True)
        second = state.toggle()
        third = state.state()
        assert isinstance(first, Deferred) and isinstance(second, Deferred)
        assert isinstance(third, Deferred)
        self.assertNoResult(first)
        self.assertEqual(len(driver.pending), 1)
        driver.pending[0][0].callback(None)
        self.assertEqual(self.successResultOf(first), True)
        self.assertNoResult(second)
        self.assertEqual(driver.pending[0][1], False)
        driver.pending[0][0].callback(None)
        self.assertEqual(self.successResultOf(second), False)
        self.assertEqual(self.successResultOf(third), False)

    def test_failureKeepsState(self) -> None:
        """
        A failed switch fails with L{HardwareFailure}, keeps the state, and
        the next operation runs.
        """
        driver = MemoryRelay(asynchronous=True)
        state = RelayState(driver)
        first = state.switch(True)
        second = state.state()
        assert isinstance(first, Deferred) and isinstance(second, Deferred)
        driver.pending[0][0].errback(OSError("i2c timeout"))
        self.failureResultOf(first, HardwareFailure)
        self.assertEqual(self.successResultOf(second), False)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)

    def test_reentrant(self) -> None:
        """
        An operation submitted while another one runs (from a listener) runs
        after it, in order.
        """
        state = RelayState(MemoryRelay())
        seen: list[bool] = []

        def listener(relay: RelayState, old: bool, new: bool) -> None:
            seen.append(new)
            if new:
                relay.toggle()

        state.listeners.append(listener)
        self.assertIs(state.switch(True), True)
        self.assertEqual(seen, [True, False])
        self.assertFalse(state.isOn)


class SwitchLogTests(SynchronousTestCase):
    """
    The audit trail of switches.
    """

    def test_burstSummarised(self) -> None:
        """
        Every change is logged; of a burst of switches that change nothing,
        the first is logged and the rest counted in one line, logged with
        the next change (or at stop); after the summary period the next
        one is logged again.
        """
        from twisted.internet.task import Clock
        from twisted.logger import capturedLogs

        clock = Clock()
        state = RelayState(MemoryRelay(), clock=clock)
        with capturedLogs() as events:
            for _ in range(5):
                state.switch(True, "peer", "on")
            clock.advance(0.5)
            state.switch(True, "peer", "on")
            state.switch(False, "peer", "off")
            state.switch(False, "peer", "off")
            clock.advance(1.0)
            state.switch(False, "peer", "off")
            state.switch(False, "peer", "off")
            state.flushLog()
        lines = [e["log_format"].format(**e) for e in events]
        self.assertEqual(
            lines,
            [
                "relay relay switched on (was off) by peer: on",
                "relay relay switched on (was on) by peer: on",
                "relay relay driven 4 more times without changing (stays on)",
                "relay relay switched off (was on) by peer: off",
                "relay relay switched off (was off) by peer: off",
                "relay relay switched off (was off) by peer: off",
                "relay relay driven 1 more times without changing (stays off)",
            ],
        )
        self.assertEqual(state.switches, 10)

    def test_burstOfAll(self) -> None:
        """
        Repeats of C{off all} (a script's periodic safety net) are counted
        per relay like repeats of C{off}.
        """
        from twisted.internet.task import Clock
        from twisted.logger import capturedLogs

        from eofrelay.testing import connect

        factory = RelayFactory(
            RelayBank([MemoryRelay("a"), MemoryRelay("b")], clock=Clock())
        )
        protocol, transport = connect(factory)
        with capturedLogs() as events:
            protocol.dataReceived(b"off all<EOF>" * 5)
            for relay in factory.bank.relays:
                relay.flushLog()
        self.assertEqual(transport.value(), b"success<EOF>" * 5)
        self.assertEqual(
            [e["log_format"].format(**e) for e in events],
            [
                "relay a switched off (was off) by 127.0.0.1:40000: off all",
                "relay b switched off (was off) by 127.0.0.1:40000: off all",
                "relay a driven 4 more times without changing (stays off)",
                "relay b driven 4 more times without changing (stays off)",
            ],
        )

    def test_nothingScheduled(self) -> None:
        """
        Counting a burst leaves nothing scheduled on the relay's clock, so
        an application that embeds the factory (and its tests) is left with
        a clean reactor.
        """
        from twisted.internet.task import Clock

        clock = Clock()
        state = RelayState(MemoryRelay(), clock=clock)
        for _ in range(5):
            state.switch(True, "peer", "on")
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_notSummarised(self) -> None:
        """
        Pulses, interlocks, and a switch after a hardware failure are always
        logged one by one, even when they change nothing.
        """
        from twisted.internet.task import Clock
        from twisted.logger import capturedLogs

        clock = Clock()
        driver = MemoryRelay()
        state = RelayState(driver, clock=clock)
        with capturedLogs() as events:
            state.switch(True, "peer", "on")
            state.switch(True, "peer", "on")
            state.pulse(500, "peer", "pulse 500")
            driver.failWith = OSError("stuck")
            self.assertRaises(HardwareFailure, state.switch, True, "peer", "on")
            driver.failWith = None
            state.switch(True, "peer", "on")
        self.flushLoggedErrors(OSError)
        lines = [e["log_format"].format(**e) for e in events if "log_failure" not in e]
        self.assertEqual(
            lines,
            [
                "relay relay switched on (was off) by peer: on",
                "relay relay switched on (was on) by peer: on",
                "relay relay switched on (was on) by peer: pulse 500",
                "relay relay switched on (was on) by peer: on",
            ],
        )
