"""
Tests for L{eofrelay.core.relay}: one relay's ordered changes, its switch
log and its hardware timeout.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from eofrelay.core.bank import RelayBank
from eofrelay.core.relay import HardwareFailure, RelayState
from eofrelay.gpio.memory import MemoryPins
from eofrelay.gpio.pinrelay import PinRelay
from eofrelay.interfaces import IRelay
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay, connect
from tests.test_access import replies


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


class HardwareTimeoutTests(SynchronousTestCase):
    """
    A relay driver that never answers.
    """

    def test_hangingDriver(self) -> None:
        """
        After the hardware timeout, a command whose driver never answered
        gets C{error: hardware failure}; other relays and clients were
        served meanwhile; later commands for that relay work again.
        """
        clock = Clock()
        hung = MemoryRelay("hung", asynchronous=True)
        fine = MemoryRelay("fine")
        factory = RelayFactory(RelayBank([hung, fine], hardwareTimeout=10, clock=clock))
        protocol, transport = connect(factory)
        other, otherTransport = connect(factory, port=40001)
        protocol.dataReceived(b"on hung<EOF>")
        other.dataReceived(b"on fine<EOF>status hung<EOF>")
        self.assertEqual(replies(otherTransport), [b"success"])
        clock.advance(10)
        self.assertEqual(replies(transport), [b"error: hardware failure"])
        self.assertEqual(replies(otherTransport), [b"off"])
        self.assertEqual(len(self.flushLoggedErrors()), 1)
        hung.pending.clear()
        hung.asynchronous = False
        protocol.dataReceived(b"on hung<EOF>status hung<EOF>")
        self.assertEqual(replies(transport), [b"success", b"on"])
