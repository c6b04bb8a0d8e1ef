"""
Tests for pulses (L{eofrelay.core.pulse}), watchers and interlocks, with
time driven by L{task.Clock}.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.bank import RelayBank
from eofrelay.core.pulse import PulseTimer
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay, connect
from eofrelay.wire import replies as commands


def replies(transport: StringTransport) -> list[bytes]:
    data: bytes = transport.value()
    transport.clear()
    return data.split(b"<EOF>")[:-1]


class PulseTests(SynchronousTestCase):
    """
    C{pulse [RELAY] MS}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.a = MemoryRelay("a")
        self.b = MemoryRelay("b")
        self.factory = RelayFactory(RelayBank([self.a, self.b], clock=self.clock))
        self.protocol, self.transport = connect(self.factory)
        self.other, self.otherTransport = connect(self.factory, port=40001)

    def test_fires(self) -> None:
        """
        A pulse switches on now and off after MS milliseconds, not before.
        """
        self.protocol.dataReceived(b"pulse 500<EOF>status<EOF>")
        self.assertEqual(replies(self.transport), [b"success", b"on"])
        self.clock.advance(0.499)
        self.assertEqual(self.a.history, [True])
        self.clock.advance(0.001)
        self.assertEqual(self.a.history, [True, False])
        self.protocol.dataReceived(b"status<EOF>")
        self.assertEqual(replies(self.transport), [b"off"])

    def test_namedRelay(self) -> None:
        """
        C{pulse RELAY MS} pulses the named relay.
        """
        self.protocol.dataReceived(b"PULSE B 1<EOF>")
        self.clock.advance(0.001)
        self.assertEqual((self.a.history, self.b.history), ([], [True, False]))

    def test_cancelledByChanges(self) -> None:
        """
        C{on}, C{off} and C{toggle} of the relay, from this or another
        connection, cancel the pending switch-off.
        """
        for command, final in ((b"on", True), (b"off", False), (b"toggle", False)):
            for connection in (self.protocol, self.other):
                self.protocol.dataReceived(b"pulse 100<EOF>")
                connection.dataReceived(command + b"<EOF>")
                self.assertFalse(self.factory.bank.relay().pulsing)
                del self.a.history[:]
                self.clock.advance(1)
                self.assertEqual(self.a.history, [], command)
                self.assertEqual(self.factory.bank.relay().isOn, final, command)
                self.factory.bank.relay().switch(False)

    def test_notCancelledByOthers(self) -> None:
        """
        Commands that do not change the relay leave its pulse pending.
        """
        self.protocol.dataReceived(b"pulse 100<EOF>")
        self.other.dataReceived(b"status<EOF>relays<EOF>on b<EOF>ping<EOF>")
        self.clock.advance(0.1)
        self.assertEqual(self.a.history, [True, False])

    def test_restarted(self) -> None:
        """
        A second pulse restarts the timer.
        """
        self.protocol.dataReceived(b"pulse 100<EOF>")
        self.clock.advance(0.09)
        self.other.dataReceived(b"pulse 100<EOF>")
        self.clock.advance(0.09)
        self.assertTrue(self.factory.bank.relay().isOn)
        self.clock.advance(0.01)
        self.assertFalse(self.factory.bank.relay().isOn)
        self.assertFalse(self.factory.bank.relay().pulsing)

    def test_badArguments(self) -> None:
        """
        Missing, malformed or out-of-range durations, and extra arguments,
        get C{error: bad argument}; an unknown relay C{error: unknown
        relay}.
        """
        self.protocol.dataReceived(
            b"pulse<EOF>pulse a<EOF>pulse 0<EOF>pulse 86400001<EOF>pulse -5<EOF>"
            b"pulse 1.5<EOF>pulse 1e3<EOF>pulse a 5 6<EOF>pulse all 5<EOF>"
            b"pulse x 5<EOF>pulse a b<EOF>"
        )
        self.assertEqual(
            replies(self.transport),
            [commands.BAD_ARGUMENT] * 9
            + [commands.UNKNOWN_RELAY, commands.BAD_ARGUMENT],
        )
        self.assertEqual(self.a.history, [])
        self.protocol.dataReceived(b"pulse a 86400000<EOF>")
        self.assertEqual(replies(self.transport), [b"success"])

    def test_watchersSeeSwitchOff(self) -> None:
        """
        Watchers get an event for the pulse's switch-on and its automatic
        switch-off.
        """
        self.other.dataReceived(b"watch<EOF>")
        self.assertEqual(replies(self.otherTransport), [b"success"])
        self.protocol.dataReceived(b"pulse 100<EOF>")
        self.clock.advance(0.1)
        self.assertEqual(
            replies(self.otherTransport), [b"event: a on", b"event: a off"]
        )

    def test_switchOffFailure(self) -> None:
        """
        A switch-off at the end of a pulse that fails is logged critically
        and the relay is still reported on.
        """
        self.protocol.dataReceived(b"pulse 100<EOF>")
        self.a.failWith = OSError("relay board gone")
        self.clock.advance(0.1)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.protocol.dataReceived(b"status<EOF>")
        self.assertEqual(replies(self.transport), [b"success", b"on"])

    def test_failedCommandKeepsPulse(self) -> None:
        """
        A command that would end a pulse but fails leaves the pulse going:
        the relay is still switched off when the pulse would have ended.
        """
        self.protocol.dataReceived(b"pulse 100<EOF>")
        self.clock.advance(0.04)
        self.a.failWith = OSError("stuck")
        self.protocol.dataReceived(b"off<EOF>")
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.a.failWith = None
        self.assertTrue(self.factory.bank.relay().pulsing)
        self.clock.advance(0.059)
        self.assertEqual(self.a.history, [True])
        self.clock.advance(0.001)
        self.assertEqual(self.a.history, [True, False])

    def test_hugeDuration(self) -> None:
        """
        Durations with thousands of digits are refused as bad arguments, and
        so are zero and 86400001 however many leading zeros they have.
        """
        factory = RelayFactory(
            RelayBank([MemoryRelay("a")], clock=self.clock), maxLine=10_000
        )
        protocol, transport = connect(factory)
        protocol.dataReceived(
            b"pulse " + b"9" * 5000 + b"<EOF>pulse " + b"0" * 5000 + b"<EOF>"
            b"pulse 0000000086400001<EOF>"
        )
        self.assertEqual(replies(transport), [commands.BAD_ARGUMENT] * 3)

    def test_leadingZeros(self) -> None:
        """
        Leading zeros do not count: C{pulse 00000000001} and a duration of
        thousands of zeros then C{250} are pulses of 1 and 250 ms.
        """
        factory = RelayFactory(
            RelayBank([MemoryRelay("a")], clock=self.clock), maxLine=10_000
        )
        protocol, transport = connect(factory)
        relay = factory.bank.relay()
        protocol.dataReceived(b"pulse 00000000001<EOF>")
        self.assertEqual(replies(transport), [b"success"])
        self.clock.advance(0.001)
        self.assertFalse(relay.isOn)
        protocol.dataReceived(b"pulse " + b"0" * 5000 + b"250<EOF>")
        self.assertEqual(replies(transport), [b"success"])
        self.clock.advance(0.249)
        self.assertTrue(relay.isOn)
        self.clock.advance(0.001)
        self.assertFalse(relay.isOn)

    def test_commandedState(self) -> None:
        """
        The commanded state (what the state file records) of a pulsing
        relay is off; so is it when the pulse's switch-off failed.
        """
        relay = self.factory.bank.relay()
        self.protocol.dataReceived(b"pulse 100<EOF>")
        self.assertEqual((relay.isOn, relay.commanded), (True, False))
        self.a.failWith = OSError("stuck")
        self.clock.advance(0.1)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.assertEqual((relay.isOn, relay.commanded), (True, False))
        self.a.failWith = None
        self.protocol.dataReceived(b"on<EOF>")
        self.assertEqual((relay.isOn, relay.commanded), (True, True))

    def test_commandedStateWhileQueued(self) -> None:
        """
        A command that ends a pulse but waits behind a slow switch leaves
        the commanded state off until it runs.
        """
        relay = MemoryRelay("a", asynchronous=True)
        factory = RelayFactory(RelayBank([relay], clock=self.clock))
        protocol, _ = connect(factory)
        protocol.dataReceived(b"pulse 100<EOF>")
        relay.pending.pop(0)[0].callback(None)
        protocol.dataReceived(b"toggle<EOF>on<EOF>")
        state = factory.bank.relay()
        self.assertEqual((state.isOn, state.commanded), (True, False))
        relay.pending.pop(0)[0].callback(None)
        relay.pending.pop(0)[0].callback(None)
        self.assertEqual((state.isOn, state.commanded), (True, True))

    def test_cancelPulse(self) -> None:
        """
        L{RelayState.cancelPulse} leaves the relay on, commanded on from
        then on, and tells the listeners (so that a state file records it),
        without an event; without a pulse it does nothing.
        """
        relay = self.factory.bank.relay()
        changes: list[tuple[str, bool, bool, bool]] = []
        relay.listeners.append(
            lambda state, old, new: changes.append(
                (state.name, old, new, state.commanded)
            )
        )
        self.protocol.dataReceived(b"watch<EOF>pulse 100<EOF>")
        self.transport.clear()
        with capturedLogs() as events:
            self.assertTrue(relay.cancelPulse())
        self.assertEqual(
            [formatEvent(event) for event in events],
            ["relay a: pulse cancelled (stays on)"],
        )
        self.assertEqual(
            (relay.isOn, relay.pulsing, relay.commanded), (True, False, True)
        )
        self.assertEqual(changes, [("a", False, True, False), ("a", True, True, True)])
        self.assertEqual(self.factory.bank.commandedStates(), {"a": True, "b": False})
        self.clock.advance(1)
        self.assertEqual((relay.isOn, self.a.history), (True, [True]))
        self.assertEqual(self.transport.value(), b"")
        self.assertFalse(relay.cancelPulse())
        self.assertEqual(len(changes), 2)

    def test_pulseOutOfRange(self) -> None:
        """
        L{RelayState.pulse} refuses what the wire protocol refuses (a
        duration that is not an C{int} from 1 to 86,400,000 ms) with
        C{ValueError}, switching nothing.
        """
        relay = self.factory.bank.relay()
        for milliseconds in (0, -1, 86_400_001, 1.5, True, "10"):
            self.assertRaises(ValueError, relay.pulse, milliseconds)
        self.assertEqual(
            (relay.isOn, relay.pulsing, self.a.history), (False, False, [])
        )
        self.assertTrue(relay.pulse(86_400_000))

    def test_endPulseEarly(self) -> None:
        """
        L{RelayState.endPulse} called before the pulse's time switches the
        relay off once: the pulse's own switch-off no longer comes.
        """
        relay = self.factory.bank.relay()
        self.protocol.dataReceived(b"pulse 100<EOF>")
        relay.endPulse()
        self.assertEqual(
            (relay.isOn, relay.pulsing, relay.commanded), (False, False, False)
        )
        self.clock.advance(1)
        self.assertEqual(self.a.history, [True, False])

    def test_asynchronousDriver(self) -> None:
        """
        With a slow driver, the timer starts once the relay is on, and an
        C{off} that arrives before then still cancels it.
        """
        relay = MemoryRelay("a", asynchronous=True)
        factory = RelayFactory(RelayBank([relay], clock=self.clock))
        protocol, transport = connect(factory)
        protocol.dataReceived(b"pulse 100<EOF>off<EOF>")
        self.clock.advance(1)
        relay.pending.pop(0)[0].callback(None)
        self.clock.advance(1)
        relay.pending.pop(0)[0].callback(None)
        self.clock.advance(1)
        self.assertEqual(relay.history, [True, False])
        self.assertEqual(relay.pending, [])
        self.assertEqual(replies(transport), [b"success", b"success"])


class WatchTests(SynchronousTestCase):
    """
    C{watch}.
    """

    def setUp(self) -> None:
        self.factory = RelayFactory(
            RelayBank([MemoryRelay("a"), MemoryRelay("Bee")], clock=Clock())
        )

    def test_events(self) -> None:
        """
        A watcher gets C{event: NAME on|off} for every change, by anyone,
        with the configured name, and still gets replies to its commands;
        no event for a command that changes nothing.
        """
        watcher, watcherTransport = connect(self.factory)
        other, _ = connect(self.factory, port=40001)
        watcher.dataReceived(b"watch<EOF>")
        other.dataReceived(b"on bee<EOF>on bee<EOF>toggle<EOF>off all<EOF>")
        watcher.dataReceived(b"status bee<EOF>")
        self.assertEqual(
            replies(watcherTransport),
            [
                b"success",
                b"event: Bee on",
                b"event: a on",
                b"event: a off",
                b"event: Bee off",
                b"off",
            ],
        )

    def test_notWatching(self) -> None:
        """
        Connections that did not ask for events get none, and a closed
        watcher is forgotten.
        """
        watcher, _ = connect(self.factory)
        quiet, quietTransport = connect(self.factory, port=40001)
        watcher.dataReceived(b"watch<EOF>")
        watcher.connectionLost(None)
        quiet.dataReceived(b"on<EOF>")
        self.assertEqual(replies(quietTransport), [b"success"])
        self.assertEqual(self.factory.watchers, set())

    def test_slowWatcherDropped(self) -> None:
        """
        A watcher whose write buffer is full when an event comes is
        disconnected instead of buffered for; others are still served.
        """
        watcher, watcherTransport = connect(self.factory)
        other, otherTransport = connect(self.factory, port=40001)
        watcher.dataReceived(b"watch<EOF>")
        watcher.pauseProducing()
        other.dataReceived(b"on<EOF>")
        self.assertTrue(watcherTransport.disconnected)
        self.assertEqual(self.factory.watchers, set())
        self.assertEqual(replies(otherTransport), [b"success"])

    def test_noEventsAfterBye(self) -> None:
        """
        A watcher that quit gets no event after C{bye}.
        """
        watcher, transport = connect(self.factory)
        other, _ = connect(self.factory, port=40001)
        watcher.dataReceived(b"watch<EOF>quit<EOF>")
        other.dataReceived(b"on<EOF>")
        self.assertEqual(replies(transport), [b"success", b"bye"])

    def test_watchArguments(self) -> None:
        """
        C{watch} takes no argument.
        """
        watcher, transport = connect(self.factory)
        watcher.dataReceived(b"watch all<EOF>")
        self.assertEqual(replies(transport), [commands.BAD_ARGUMENT])


class InterlockTests(SynchronousTestCase):
    """
    C{--interlock}: at most one relay of a group on at any instant.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.up = MemoryRelay("up")
        self.down = MemoryRelay("down")
        self.light = MemoryRelay("light")
        self.factory = RelayFactory(
            RelayBank(
                [self.up, self.down, self.light],
                interlocks=[["up", "down"]],
                clock=self.clock,
            )
        )
        self.protocol, self.transport = connect(self.factory)

    def test_logged(self) -> None:
        """
        A partner's switch-off is logged with the command that caused it,
        as a client sends it: C{interlock: on down}, C{interlock: pulse
        down 500}, C{interlock: toggle up}.
        """
        from twisted.logger import capturedLogs

        with capturedLogs() as events:
            self.protocol.dataReceived(
                b"on up<EOF>on down<EOF>pulse up 500<EOF>"
                b"pulse down 500<EOF>toggle up<EOF>"
            )
        lines = [e["log_format"].format(**e) for e in events]
        self.assertEqual(
            [line.split(": ", 1)[1] for line in lines if "switched off" in line],
            ["interlock: on down", "interlock: pulse up 500",
             "interlock: pulse down 500", "interlock: toggle up"],
        )  # fmt: skip

    def test_onSwitchesPartnerOffFirst(self) -> None:
        """
        Switching one relay on first switches its partner off.
        """
        self.protocol.dataReceived(b"on up<EOF>on down<EOF>relays<EOF>")
        self.assertEqual(
            replies(self.transport),
            [b"success", b"success", b"up=off down=on light=off"],
        )
        self.assertEqual(self.up.history, [True, False])
        self.assertEqual(self.down.history, [True])

    def test_neverTogether(self) -> None:
        """
        With slow drivers, the relay is not driven on until its partner is
        off.
        """
        up, down = (
            MemoryRelay("up", asynchronous=True),
            MemoryRelay("down", asynchronous=True),
        )
        factory = RelayFactory(
            RelayBank([up, down], interlocks=[["up", "down"]], clock=self.clock)
        )
        protocol, _ = connect(factory)
        other, _ = connect(factory, port=40001)
        protocol.dataReceived(b"on up<EOF>")
        other.dataReceived(b"on down<EOF>")
        up.pending.pop(0)[0].callback(None)
        self.assertEqual((up.pending[0][1], down.pending), (False, []))
        up.pending.pop(0)[0].callback(None)
        self.assertEqual(down.pending[0][1], True)
        down.pending.pop(0)[0].callback(None)
        self.assertEqual((up.on, down.on), (False, True))

    def test_partnerFailure(self) -> None:
        """
        When the partner cannot be switched off, the relay is not switched
        on and the reply is C{error: hardware failure}.
        """
        self.protocol.dataReceived(b"on up<EOF>")
        self.up.failWith = OSError("stuck")
        self.protocol.dataReceived(b"on down<EOF>relays<EOF>")
        self.assertEqual(
            replies(self.transport),
            [b"success", b"error: hardware failure", b"up=on down=off light=off"],
        )
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)

    def test_pulseEndsPartnersPulse(self) -> None:
        """
        A pulse switches the partner off first; C{on} of a relay whose
        partner is mid-pulse ends that pulse.
        """
        self.protocol.dataReceived(b"on down<EOF>pulse up 100<EOF>")
        self.assertEqual(self.down.history, [True, False])
        self.protocol.dataReceived(b"on down<EOF>")
        self.assertFalse(self.factory.bank.relay("up").pulsing)
        self.clock.advance(1)
        self.assertEqual(self.up.history, [True, False])
        self.assertEqual(self.down.history, [True, False, True])

    def test_uncertainPartnerDrivenOff(self) -> None:
        """
        A partner whose last switch failed (its real state is unknown) is
        driven off before the other relay switches on.
        """
        self.up.failWith = OSError("timeout")
        self.protocol.dataReceived(b"on up<EOF>")
        self.up.failWith = None
        self.protocol.dataReceived(b"on down<EOF>")
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.assertEqual(self.up.history, [False])
        self.assertEqual(self.down.history, [True])
        self.assertEqual(
            replies(self.transport), [b"error: hardware failure", b"success"]
        )

    def test_partnerPulseKeptOnFailure(self) -> None:
        """
        When a pulsing partner cannot be switched off, its pulse stays
        pending, so it is still switched off at the end of it.
        """
        self.protocol.dataReceived(b"pulse up 100<EOF>")
        self.up.failWith = OSError("stuck")
        self.protocol.dataReceived(b"on down<EOF>")
        self.assertTrue(self.factory.bank.relay("up").pulsing)
        self.up.failWith = None
        self.clock.advance(0.1)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.assertEqual(self.up.history, [True, False])
        self.assertEqual(self.down.history, [])

    def test_onAllRefused(self) -> None:
        """
        C{on all} is refused with interlocks; C{off all} works.
        """
        self.protocol.dataReceived(b"on all<EOF>on up<EOF>off all<EOF>relays<EOF>")
        self.assertEqual(
            replies(self.transport),
            [
                commands.BAD_ARGUMENT,
                b"success",
                b"success",
                b"up=off down=off light=off",
            ],
        )


class PulseTimerTests(SynchronousTestCase):
    """
    Tests for L{PulseTimer}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.ended: list[float] = []
        self.timer = PulseTimer(
            self.clock, lambda: self.ended.append(self.clock.seconds())
        )

    def test_ends(self) -> None:
        """
        A pulse ends after its milliseconds, by the clock.
        """
        self.timer.start(1500)
        self.assertTrue(self.timer.pending)
        self.clock.advance(1.499)
        self.assertEqual(self.ended, [])
        self.clock.advance(0.001)
        self.assertEqual(self.ended, [1.5])

    def test_stopResume(self) -> None:
        """
        Stopping says when the pulse would have ended; resuming ends it then,
        or at once if that is past.
        """
        self.assertIsNone(self.timer.stop())
        self.timer.start(1000)
        self.clock.advance(0.25)
        deadline = self.timer.stop()
        self.assertEqual((deadline, self.timer.pending), (1.0, False))
        assert deadline is not None
        self.timer.resume(deadline)
        self.clock.advance(0.75)
        self.assertEqual(self.ended, [1.0])
        self.timer.resume(0.5)
        self.clock.advance(0)
        self.assertEqual(self.ended, [1.0, 1.0])
        self.assertFalse(self.clock.getDelayedCalls())
