"""
Tests for L{eofrelay.core.buttons} (debouncing, a press toggling its relay
through the core) and for C{--button} and C{--button-debounce}: the
options, the service that sets the buttons up and stops them, and a press
on the simulated pins seen by a TCP watcher over a real socket.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import Clock
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase

from eofrelay.client import connect
from eofrelay.core.bank import RelayBank
from eofrelay.core.buttons import Button, Debouncer
from eofrelay.gpio.memory import MemoryPins
from eofrelay.gpio.pinrelay import PinRelay
from eofrelay.tap import Options, makeService
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay
from eofrelay.wiring.options import ButtonSpec
from eofrelay.wiring.service import RelayService


def parse(*arguments: str) -> Options:
    options = Options()
    options.parseOptions(list(arguments))
    return options


class DebouncerTests(SynchronousTestCase):
    """
    Tests for L{Debouncer}, timed by a L{Clock}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.accepted: list[bool] = []
        self.debouncer = Debouncer(self.clock, 0.05, self.accepted.append)

    def test_bouncesDropped(self) -> None:
        """
        A change is accepted at once; the edges within the debounce time
        after it are ignored; a change after that time is accepted.
        """
        for level in (True, False, True, False, True):
            self.debouncer.edge(level)
            self.clock.advance(0.005)
        self.assertEqual(self.accepted, [True])
        self.clock.advance(0.2)
        self.assertEqual(self.accepted, [True])
        self.debouncer.edge(False)
        self.clock.advance(0.001)
        self.debouncer.edge(True)
        self.debouncer.edge(False)
        self.assertEqual(self.accepted, [True, False])

    def test_shortPressNotLost(self) -> None:
        """
        When the ignored edges end at another level (a press let go within
        the debounce time), that level is accepted when the time is up, so
        the next press counts.
        """
        self.debouncer.edge(True)
        self.clock.advance(0.01)
        self.debouncer.edge(False)
        self.assertEqual(self.accepted, [True])
        self.clock.advance(0.04)
        self.assertEqual(self.accepted, [True, False])
        self.clock.advance(0.1)
        self.debouncer.edge(True)
        self.assertEqual(self.accepted, [True, False, True])

    def test_sameLevelIgnored(self) -> None:
        """
        An edge that reports the level already accepted changes nothing.
        """
        self.debouncer.edge(False)
        self.assertEqual(self.accepted, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_zero(self) -> None:
        """
        With no debounce time every change is accepted, and nothing is
        timed.
        """
        debouncer = Debouncer(self.clock, 0, self.accepted.append)
        for level in (True, False, True):
            debouncer.edge(level)
        self.assertEqual(self.accepted, [True, False, True])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop(self) -> None:
        """
        Stopped, it accepts nothing more and leaves no timer pending.
        """
        self.debouncer.edge(True)
        self.debouncer.edge(False)
        self.debouncer.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.debouncer.edge(True)
        self.clock.advance(1)
        self.assertEqual(self.accepted, [True])


class ButtonTests(SynchronousTestCase):
    """
    Tests for L{Button}: a press toggles its relay through the core.
    """

    def setUp(self) -> None:
        self.clock = Clock()

    def test_pressToggles(self) -> None:
        """
        Each debounced press toggles the relay, logged as C{toggle} by
        C{button:PIN}, and tells the bank's listeners (watchers, MQTT); a
        release toggles nothing.
        """
        bank = RelayBank([MemoryRelay("lamp")], clock=self.clock)
        changes: list[tuple[str, bool]] = []
        bank.addListener(lambda relay, old, new: changes.append((relay.name, new)))
        button = Button(bank.relay("lamp"), 22, 0.05)
        with capturedLogs() as events:
            # Pressed, bouncing; then let go.
            button.edge(True)
            button.edge(False)
            button.edge(True)
            self.clock.advance(0.05)
            button.edge(False)
            self.clock.advance(0.1)
            # A short press, let go within the debounce time; another.
            button.edge(True)
            button.edge(False)
            self.clock.advance(0.05)
            self.clock.advance(0.1)
            button.edge(True)
        self.assertEqual(changes, [("lamp", True), ("lamp", False), ("lamp", True)])
        self.assertEqual(button.presses, 3)
        lines = [formatEvent(e) for e in events if "switched" in e["log_format"]]
        self.assertEqual(
            lines[0], "relay lamp switched on (was off) by button:22: toggle"
        )
        self.assertEqual(events[0]["peer"], "button:22")

    def test_interlockAndMaxOn(self) -> None:
        """
        A press goes through the core as any command: switching a relay on
        first switches its interlock partner off, and its max-on limit
        switches it off again.
        """
        bank = RelayBank(
            [MemoryRelay("up"), MemoryRelay("down")],
            interlocks=[["up", "down"]],
            clock=self.clock,
            maxOn={"up": 5},
        )
        bank.relay("down").switch(True)
        Button(bank.relay("up"), 22, 0.05).edge(True)
        self.assertEqual([r.isOn for r in bank.relays], [True, False])
        self.clock.advance(5)
        self.assertEqual([r.isOn for r in bank.relays], [False, False])

    def test_endsBlink(self) -> None:
        """
        A press ends a blink of its relay, as any later change does.
        """
        bank = RelayBank([MemoryRelay("lamp")], clock=self.clock)
        lamp = bank.relay("lamp")
        lamp.blink(3, 100)
        Button(lamp, 22, 0.05).edge(True)
        self.assertFalse(lamp.blinking)
        self.assertFalse(lamp.isOn)

    def test_hardwareFailure(self) -> None:
        """
        A relay whose driver fails is logged by the relay; the button goes
        on taking presses.
        """
        driver = MemoryRelay("lamp")
        driver.failWith = OSError("relay board gone")
        bank = RelayBank([driver], clock=self.clock)
        button = Button(bank.relay("lamp"), 22, 0)
        with capturedLogs() as events:
            button.edge(True)
            button.edge(False)
            button.edge(True)
        self.assertEqual(button.presses, 2)
        self.assertFalse(bank.relay("lamp").isOn)
        failures = [e for e in events if e["log_level"] >= LogLevel.error]
        self.assertEqual(len(failures), 2)
        self.assertNotIn("unexpected", formatEvent(failures[0]))
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 2)

    def test_stop(self) -> None:
        """
        A stopped button toggles nothing and leaves nothing on the clock.
        """
        bank = RelayBank([MemoryRelay("lamp")], clock=self.clock)
        button = Button(bank.relay("lamp"), 22, 0.05)
        button.edge(True)
        button.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        button.edge(False)
        button.edge(True)
        self.assertTrue(bank.relay("lamp").isOn)


class ButtonOptionsTests(SynchronousTestCase):
    """
    C{--button} and C{--button-debounce}.
    """

    def test_defaults(self) -> None:
        """
        No button; a debounce of 50 ms.
        """
        options = parse()
        self.assertEqual((options["buttons"], options["button-debounce"]), ([], 50))

    def test_parsed(self) -> None:
        """
        C{RELAY:PIN} is wired to ground, C{RELAY:PIN:active-high} to 3.3 V;
        repeatable, several for one relay too; relay names match in any
        case.
        """
        options = parse(
            *("--relay", "lamp:17", "--relay", "fan:27", "--button", "LAMP:22"),
            *("--button", "fan:23:active-high", "--button", "lamp:24:Active-Low"),
            *("--button-debounce", "20"),
        )
        self.assertEqual(
            options["buttons"],
            [
                ButtonSpec("LAMP", 22, False),
                ButtonSpec("fan", 23, True),
                ButtonSpec("lamp", 24, False),
            ],
        )
        self.assertEqual(options["button-debounce"], 20)

    def test_refused(self) -> None:
        """
        An unknown relay, a relay's pin, another button's pin, bad syntax
        and a debounce out of range are refused at start, in words.
        """
        relays = ("--relay", "lamp:17", "--relay", "fan:27")
        for arguments, expected in (
            (("--button", "pump:22"), "no relay named 'pump'"),
            (("--button", "lamp:27"), "GPIO 27 is a relay's pin"),
            (("--button", "lamp:22", "--button", "fan:22"), "another button's pin"),
            (("--button", "lamp"), "expected RELAY:PIN"),
            (("--button", ":22"), "expected RELAY:PIN"),
            (("--button", "lamp:22:up"), "'active-high'"),
            (("--button", "lamp:99"), "BCM GPIO number from 0 to 53"),
            (("--button", "lamp:x"), "BCM GPIO number"),
            (("--button-debounce", "-1"), "--button-debounce"),
            (("--button-debounce", "10001"), "--button-debounce"),
        ):
            error = self.assertRaises(UsageError, parse, *relays, *arguments)
            self.assertIn(expected, str(error))

    def test_configFile(self) -> None:
        """
        A config file gives them as C{button} (strings) and
        C{button-debounce} (an integer).
        """
        path = self.mktemp()
        with open(path, "w") as file:
            file.write(
                'relay = ["lamp:17"]\nbutton = ["lamp:22"]\nbutton-debounce = 30\n'
            )
        options = parse("--config", path)
        self.assertEqual(options["buttons"], [ButtonSpec("lamp", 22, False)])
        self.assertEqual(options["button-debounce"], 30)


class ButtonServiceTests(SynchronousTestCase):
    """
    The buttons of the service that C{makeService} builds.
    """

    def build(self, *arguments: str) -> RelayService:
        service = makeService(
            parse(
                "--gpio", "memory", "--listen", "tcp:0:interface=127.0.0.1", *arguments
            )
        )
        return service

    def test_setUpAfterListening(self) -> None:
        """
        The inputs are set up with the pins, once every port listens, not
        before: pull-up for a button wired to ground, pull-down for one
        wired to 3.3 V; one line logs them.
        """
        service = self.build(
            *("--relay", "lamp:17", "--relay", "fan:27"),
            *("--button", "lamp:22", "--button", "fan:23:active-high"),
        )
        pins = service.pins
        assert isinstance(pins, MemoryPins)
        self.assertEqual(pins.inputs, {})
        with capturedLogs() as events:
            service._pinsUp()
        self.assertEqual(pins.pulls, {22: "up", 23: "down"})
        [line] = [
            formatEvent(e) for e in events if e["log_format"].startswith("buttons")
        ]
        self.assertEqual(
            line,
            "buttons: GPIO 22 toggles lamp (wired to ground, pull-up), GPIO 23 "
            "toggles fan (wired to 3.3 V, pull-down)",
        )
        for button in service.buttons:
            button.stop()

    def test_inputRefused(self) -> None:
        """
        An input that cannot be set up ends the start in one line, and
        every pin set up before is released.
        """
        import eofrelay.wiring.build
        from eofrelay.gpio import GPIOUnavailable

        pins = MemoryPins()

        def refused(
            pin: int, activeLow: bool, pullUp: bool, changed: Callable[[bool], None]
        ) -> None:
            raise GPIOUnavailable("GPIO 22 is busy")

        # Replaced on this instance only, as a backend that refuses would.
        pins.setupInput = refused  # type: ignore[method-assign]
        self.patch(eofrelay.wiring.build, "openPins", lambda backend, chip=None: pins)
        service = self.build("--button", "relay:22")
        with capturedLogs():
            error = self.assertRaises(SystemExit, service._pinsUp)
        self.assertEqual(str(error), "eofrelay: GPIO 22 is busy")
        self.assertTrue(pins.released)

    def test_stoppedFirst(self) -> None:
        """
        Stopping the service stops the buttons and releases their inputs
        before anything else, so that a press during the stop switches
        nothing; with C{--on-exit keep} the outputs stay set up.
        """
        clock = Clock()
        pins = MemoryPins()
        relay = PinRelay("lamp", pins, 17)
        bank = RelayBank([relay], clock=clock)
        button = Button(bank.relay("lamp"), 22, 0.05)
        service = RelayService(
            RelayFactory(bank),
            [],
            pins,
            "keep",
            setUpPins=lambda: pins.setupInput(22, True, True, button.edge),
            buttons=[button],
        )
        service.startService()
        pins.driveInput(22, True)
        self.assertTrue(bank.relay("lamp").isOn)
        self.successResultOf(service.stopService())
        self.assertEqual(pins.inputs, {})
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertEqual(pins.levels, {17: True})
        self.assertFalse(pins.released)


class ButtonNetworkTests(TestCase):
    """
    A press on the simulated pins, seen over a real socket.
    """

    timeout = 30

    @inlineCallbacks
    def test_pressSeenByWatcher(self):
        """
        A press of a button of the service C{twistd eofrelay} builds (on
        simulated pins) toggles its relay, which a TCP watcher sees as
        C{event: lamp on}; the next press, after the debounce time, as
        C{event: lamp off}.
        """
        service = makeService(
            parse(
                *("--gpio", "memory", "--listen", "tcp:0:interface=127.0.0.1"),
                *(
                    "--relay",
                    "lamp:17",
                    "--button",
                    "lamp:22",
                    "--button-debounce",
                    "20",
                ),
            )
        )
        service.privilegedStartService()
        service.startService()
        self.addCleanup(service.stopService)
        [listener] = list(service)
        port = listener._waitingForPort.result.getHost().port
        client = yield connect(reactor, f"tcp:127.0.0.1:{port}")
        self.addCleanup(client.disconnect)
        events: list[tuple[str, bool]] = []
        seen: Deferred[None] = Deferred()

        def received(relay: str, on: bool) -> None:
            events.append((relay, on))
            if len(events) == 2:
                seen.callback(None)

        yield client.watch(received)
        pins = service.pins
        assert isinstance(pins, MemoryPins)
        pins.press(22)
        self.assertEqual(pins.levels, {17: True})
        # The press's release is accepted once its debounce time is up.
        yield deferLaterSeconds(0.05)
        pins.press(22)
        yield seen
        self.assertEqual(events, [("lamp", True), ("lamp", False)])
        self.assertEqual((yield client.relays()), {"lamp": False})


def deferLaterSeconds(seconds: float) -> Deferred[None]:
    """
    A Deferred firing after C{seconds} on the global reactor.
    """
    from twisted.internet.task import deferLater

    return deferLater(reactor, seconds, lambda: None)
