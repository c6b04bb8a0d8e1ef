"""
Tests for the GPIO backends in L{eofrelay.gpio}, against a fake RPi.GPIO
module that records every call.
"""

from __future__ import annotations

import sys
import warnings
from types import ModuleType
from typing import Any, cast

from twisted.internet.interfaces import IReactorThreads, IReadDescriptor
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from eofrelay.gpio import GPIOUnavailable, openPins
from eofrelay.gpio.libgpiod import GpiodPins, findChip
from eofrelay.gpio.memory import MemoryPins
from eofrelay.gpio.pinrelay import PinRelay
from eofrelay.gpio.rpi import RPiGPIOPins, importRPiGPIO
from eofrelay.interfaces import IPins


class FakeRPiGPIO:
    """
    Stands in for the C{RPi.GPIO} module and records every call as a tuple.

    It is as strict as the real one where that matters: C{input} of a
    channel this process has not set up raises C{RuntimeError}; C{setup}
    of an output without C{initial} writes no level; setting up a channel
    that is an output already, not set up by this process, warns that it
    is "already in use".

    @ivar functions: Each pin's function (C{IN} unless set).
    @ivar levels: Each pin's electrical level (C{LOW} unless set).
    @ivar callbacks: The edge callback of each pin with event detection.
    """

    BCM = 11
    BOARD = 10
    OUT = 0
    IN = 1
    I2C = 42
    HIGH = 1
    LOW = 0
    PUD_OFF = 20
    PUD_DOWN = 21
    PUD_UP = 22
    RISING = 31
    FALLING = 32
    BOTH = 33

    def __init__(
        self, failSetup: Exception | None = None, failEvents: Exception | None = None
    ) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.failSetup = failSetup
        self.failEvents = failEvents
        self.functions: dict[int, int] = {}
        self.levels: dict[int, int] = {}
        self.callbacks: dict[int, Any] = {}
        self._setUp: set[int] = set()

    def newProcess(self) -> None:
        """
        What a new process of the service sees: the pins as the last one
        left them, none set up by it.
        """
        self._setUp.clear()
        self.calls.clear()

    def setmode(self, mode: int) -> None:
        self.calls.append(("setmode", mode))

    def gpio_function(self, pin: int) -> int:
        self.calls.append(("gpio_function", pin))
        return self.functions.get(pin, self.IN)

    def setup(
        self, pin: int, direction: int, initial: int = -1, pull_up_down: Any = None
    ) -> None:
        if self.failSetup is not None:
            raise self.failSetup
        if pull_up_down is None:
            self.calls.append(("setup", pin, direction, initial))
        else:
            self.calls.append(("setup", pin, direction, initial, pull_up_down))
        if pin not in self._setUp and self.functions.get(pin) == self.OUT:
            warnings.warn(
                "This channel is already in use, continuing anyway.  Use "
                "GPIO.setwarnings(False) to disable warnings.",
                RuntimeWarning,
                stacklevel=2,
            )
        if direction == self.OUT and initial in (self.LOW, self.HIGH):
            self.levels[pin] = initial
        elif direction == self.IN:
            self.levels[pin] = self.HIGH if pull_up_down == self.PUD_UP else self.LOW
        self.functions[pin] = direction
        self._setUp.add(pin)

    def input(self, pin: int) -> int:
        if pin not in self._setUp:
            raise RuntimeError("You must setup() the GPIO channel first")
        self.calls.append(("input", pin))
        return self.levels.get(pin, self.LOW)

    def output(self, pin: int, level: int) -> None:
        if pin not in self._setUp or self.functions.get(pin) != self.OUT:
            raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
        self.calls.append(("output", pin, level))
        self.levels[pin] = level

    def add_event_detect(self, pin: int, edge: int, callback: Any = None) -> None:
        if self.failEvents is not None:
            raise self.failEvents
        self.calls.append(("add_event_detect", pin, edge))
        self.callbacks[pin] = callback

    def remove_event_detect(self, pin: int) -> None:
        self.calls.append(("remove_event_detect", pin))
        self.callbacks.pop(pin, None)

    def cleanup(self, pins: Any = None) -> None:
        self.calls.append(("cleanup", pins))
        for pin in pins or ():
            self._setUp.discard(pin)
            self.functions[pin] = self.IN

    def edge(self, pin: int, level: int) -> None:
        """
        The outside world changes the level of input C{pin}: RPi.GPIO's
        thread calls its callback, if any.
        """
        self.levels[pin] = level
        if pin in self.callbacks:
            self.callbacks[pin](pin)


class ThreadedReactor:
    """
    The part of a reactor that RPi.GPIO's thread hands edges to: each
    C{callFromThread} is kept until L{runThreadCalls}.
    """

    def __init__(self) -> None:
        self.threadCalls: list[tuple[Any, tuple[Any, ...]]] = []

    def callFromThread(self, function: Any, *args: Any) -> None:
        self.threadCalls.append((function, args))

    def runThreadCalls(self) -> None:
        calls, self.threadCalls = self.threadCalls, []
        for function, args in calls:
            function(*args)


class RPiGPIOPinsTests(SynchronousTestCase):
    """
    Tests for L{RPiGPIOPins}.
    """

    def test_interface(self) -> None:
        """
        L{RPiGPIOPins} provides L{IPins}.
        """
        self.assertTrue(verifyObject(IPins, RPiGPIOPins(FakeRPiGPIO())))

    def test_activeHighSequence(self) -> None:
        """
        BCM numbering is selected, the pin is set up as an output already
        low (off), on is high, and only our pin is cleaned up.
        """
        gpio = FakeRPiGPIO()
        pins = RPiGPIOPins(gpio)
        relay = PinRelay("relay", pins, 17)
        relay.switch(True)
        relay.switch(False)
        pins.release()
        pins.release()
        self.assertEqual(
            gpio.calls,
            [
                ("setmode", gpio.BCM),
                ("setup", 17, gpio.OUT, gpio.LOW),
                ("output", 17, gpio.HIGH),
                ("output", 17, gpio.LOW),
                ("cleanup", [17]),
            ],
        )

    def test_activeLowSequence(self) -> None:
        """
        An active-low pin is set up already high (off, so the board does
        not click at start), and on is driven low.
        """
        gpio = FakeRPiGPIO()
        pins = RPiGPIOPins(gpio)
        PinRelay("a", pins, 5, activeLow=True).switch(True)
        PinRelay("b", pins, 6).switch(True)
        pins.release()
        self.assertEqual(
            gpio.calls,
            [
                ("setmode", gpio.BCM),
                ("setup", 5, gpio.OUT, gpio.HIGH),
                ("output", 5, gpio.LOW),
                ("setup", 6, gpio.OUT, gpio.LOW),
                ("output", 6, gpio.HIGH),
                ("cleanup", [5, 6]),
            ],
        )

    def test_initiallyOn(self) -> None:
        """
        A relay created on is set up with the on level right away.
        """
        gpio = FakeRPiGPIO()
        PinRelay("a", RPiGPIOPins(gpio), 5, activeLow=True, on=True)
        self.assertEqual(gpio.calls[1], ("setup", 5, gpio.OUT, gpio.LOW))

    def test_releaseWithoutPins(self) -> None:
        """
        Releasing before any pin was set up cleans up nothing (a bare
        C{cleanup()} would touch every pin of the process).
        """
        gpio = FakeRPiGPIO()
        RPiGPIOPins(gpio).release()
        self.assertEqual(gpio.calls, [("setmode", gpio.BCM)])

    def test_setupRefused(self) -> None:
        """
        A setup that RPi.GPIO refuses becomes L{GPIOUnavailable} with a
        hint about the gpio group.
        """
        gpio = FakeRPiGPIO(failSetup=RuntimeError("No access to /dev/mem"))
        pins = RPiGPIOPins(gpio)
        error = self.assertRaises(GPIOUnavailable, pins.setup, 17, False, False)
        self.assertIn("No access to /dev/mem", str(error))
        self.assertIn("gpio", str(error))
        pins.release()
        self.assertEqual(gpio.calls, [("setmode", gpio.BCM)])


class RPiGPIOKeepTests(SynchronousTestCase):
    """
    L{RPiGPIOPins.setupKept}: C{--power-on keep} on RPi.GPIO.
    """

    def test_outputKept(self) -> None:
        """
        An output keeps its level: its function is read, it is set up as an
        output without C{initial} (RPi.GPIO reads no channel it has not set
        up, and such a setup writes no level), and only then read; nothing
        is written, and no "already in use" warning reaches the log.  An
        active-low relay whose pin is low is on.
        """
        gpio = FakeRPiGPIO()
        gpio.functions[17] = gpio.OUT
        gpio.levels[17] = gpio.LOW
        pins = RPiGPIOPins(gpio)
        self.assertIs(pins.setupKept(17, True), True)
        self.assertEqual(
            gpio.calls,
            [
                ("setmode", gpio.BCM),
                ("gpio_function", 17),
                ("setup", 17, gpio.OUT, -1),
                ("input", 17),
            ],
        )
        self.assertEqual(gpio.levels[17], gpio.LOW)
        self.assertEqual(self.flushWarnings(), [])
        pins.write(17, False)
        self.assertEqual(gpio.calls[-1], ("output", 17, gpio.HIGH))

    def test_activeHighRead(self) -> None:
        """
        An active-high output that is high is on; one that is low is off.
        """
        gpio = FakeRPiGPIO()
        gpio.functions.update({5: gpio.OUT, 6: gpio.OUT})
        gpio.levels.update({5: gpio.HIGH, 6: gpio.LOW})
        pins = RPiGPIOPins(gpio)
        self.assertEqual(
            (pins.setupKept(5, False), pins.setupKept(6, False)), (True, False)
        )

    def test_notAnOutput(self) -> None:
        """
        A pin that is an input, or has another function (I2C), is not read:
        it is set up as an output already off, as by C{--power-on off}.
        """
        gpio = FakeRPiGPIO()
        gpio.functions[3] = gpio.I2C
        pins = RPiGPIOPins(gpio)
        self.assertIsNone(pins.setupKept(17, True))
        self.assertIsNone(pins.setupKept(3, False))
        self.assertEqual(
            gpio.calls[1:],
            [
                ("gpio_function", 17),
                ("setup", 17, gpio.OUT, gpio.HIGH),
                ("gpio_function", 3),
                ("setup", 3, gpio.OUT, gpio.LOW),
            ],
        )

    def test_restartChangesNothing(self) -> None:
        """
        With C{--power-on keep} and C{--on-exit keep}, a restart changes
        nothing on the wire: the second process writes no level to the
        pins the first one left, sets them up without C{initial}, and
        reads each relay's state from them.
        """
        gpio = FakeRPiGPIO()
        first = RPiGPIOPins(gpio)
        PinRelay("a", first, 5, activeLow=True).switch(True)
        PinRelay("b", first, 6).switch(True)
        PinRelay("c", first, 7)
        # --on-exit keep: the pins are not released.
        before = dict(gpio.levels)
        gpio.newProcess()
        second = RPiGPIOPins(gpio)
        relays = [
            PinRelay(name, second, pin, low, setUp=False)
            for name, pin, low in (("a", 5, True), ("b", 6, False), ("c", 7, False))
        ]
        self.assertEqual(
            [relay.setUpPinKept() for relay in relays], [True, True, False]
        )
        self.assertEqual([relay.state() for relay in relays], [True, True, False])
        self.assertEqual(gpio.levels, before)
        self.assertEqual(
            [call for call in gpio.calls if call[0] in ("setup", "output")],
            [("setup", pin, gpio.OUT, -1) for pin in (5, 6, 7)],
        )
        self.assertEqual(self.flushWarnings(), [])

    def test_refused(self) -> None:
        """
        A setup that RPi.GPIO refuses is L{GPIOUnavailable}, and the pin is
        not released later (it was never set up).
        """
        gpio = FakeRPiGPIO(failSetup=RuntimeError("No access to /dev/mem"))
        gpio.functions[17] = gpio.OUT
        pins = RPiGPIOPins(gpio)
        error = self.assertRaises(GPIOUnavailable, pins.setupKept, 17, False)
        self.assertIn("No access to /dev/mem", str(error))
        pins.release()
        self.assertNotIn(("cleanup", [17]), gpio.calls)


class RPiGPIOInputTests(SynchronousTestCase):
    """
    L{RPiGPIOPins.setupInput}: buttons on RPi.GPIO.
    """

    def test_sequence(self) -> None:
        """
        A button wired to ground is an input with its pull-up whose both
        edges are detected; RPi.GPIO's thread reads the level each edge
        left and hands it to the reactor with C{callFromThread}, where the
        watcher gets the logical level (pressed: low, so C{True}).  Inputs
        are released (event detection removed, then cleaned up) with the
        pins, and only ours.
        """
        gpio = FakeRPiGPIO()
        reactor = ThreadedReactor()
        pins = RPiGPIOPins(gpio, cast(IReactorThreads, reactor))
        PinRelay("a", pins, 17)
        levels: list[bool] = []
        pins.setupInput(22, True, True, levels.append)
        gpio.edge(22, gpio.LOW)
        gpio.edge(22, gpio.HIGH)
        # Nothing reaches the watcher from RPi.GPIO's thread itself.
        self.assertEqual(levels, [])
        reactor.runThreadCalls()
        self.assertEqual(levels, [True, False])
        pins.release()
        self.assertEqual(
            gpio.calls,
            [
                ("setmode", gpio.BCM),
                ("setup", 17, gpio.OUT, gpio.LOW),
                ("setup", 22, gpio.IN, -1, gpio.PUD_UP),
                ("add_event_detect", 22, gpio.BOTH),
                ("input", 22),
                ("input", 22),
                ("remove_event_detect", 22),
                ("cleanup", [22]),
                ("cleanup", [17]),
            ],
        )

    def test_activeHigh(self) -> None:
        """
        A button wired to 3.3 V is an input with its pull-down, pressed
        when high.
        """
        gpio = FakeRPiGPIO()
        reactor = ThreadedReactor()
        pins = RPiGPIOPins(gpio, cast(IReactorThreads, reactor))
        levels: list[bool] = []
        pins.setupInput(23, False, False, levels.append)
        gpio.edge(23, gpio.HIGH)
        reactor.runThreadCalls()
        self.assertEqual(levels, [True])
        self.assertIn(("setup", 23, gpio.IN, -1, gpio.PUD_DOWN), gpio.calls)

    def test_releaseInputs(self) -> None:
        """
        L{RPiGPIOPins.releaseInputs} releases the inputs and leaves the
        outputs driven; an edge already handed to the reactor is dropped.
        """
        gpio = FakeRPiGPIO()
        reactor = ThreadedReactor()
        pins = RPiGPIOPins(gpio, cast(IReactorThreads, reactor))
        PinRelay("a", pins, 17, on=True)
        levels: list[bool] = []
        pins.setupInput(22, True, True, levels.append)
        gpio.edge(22, gpio.LOW)
        pins.releaseInputs()
        pins.releaseInputs()
        reactor.runThreadCalls()
        self.assertEqual(levels, [])
        self.assertEqual(
            gpio.calls[-2:], [("remove_event_detect", 22), ("cleanup", [22])]
        )
        self.assertEqual(gpio.levels[17], gpio.HIGH)

    def test_edgeDetectionFails(self) -> None:
        """
        When RPi.GPIO cannot detect edges, the input is cleaned up and the
        error says to use libgpiod.
        """
        gpio = FakeRPiGPIO(failEvents=RuntimeError("Failed to add edge detection"))
        pins = RPiGPIOPins(gpio, cast(IReactorThreads, ThreadedReactor()))
        error = self.assertRaises(
            GPIOUnavailable, pins.setupInput, 22, True, True, lambda level: None
        )
        self.assertIn("Failed to add edge detection", str(error))
        self.assertIn("--gpio gpiod", str(error))
        self.assertEqual(gpio.calls[-1], ("cleanup", [22]))
        pins.release()
        self.assertEqual(gpio.calls[-1], ("cleanup", [22]))


class ImportTests(SynchronousTestCase):
    """
    Tests for L{importRPiGPIO} and L{openPins}.
    """

    def installFakeModule(self, module: ModuleType | None) -> None:
        """
        Make C{import RPi.GPIO} find C{module} (C{None}: fail to import)
        for the duration of the test.
        """
        saved = {name: sys.modules.get(name) for name in ("RPi", "RPi.GPIO")}

        def restore() -> None:
            for name, old in saved.items():
                if old is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = old

        self.addCleanup(restore)
        package = ModuleType("RPi")
        package.__path__ = []
        sys.modules["RPi"] = package
        sys.modules["RPi.GPIO"] = module  # type: ignore[assignment]
        if module is not None:
            package.GPIO = module  # type: ignore[attr-defined]

    def offPi(self) -> None:
        """
        Make C{import RPi.GPIO} raise C{RuntimeError}, as it does off a Pi.
        """
        self.installFakeModule(None)
        sys.modules.pop("RPi.GPIO")

        class Finder:
            @staticmethod
            def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
                if name == "RPi.GPIO":
                    raise RuntimeError("This module can only be run on a Raspberry Pi!")
                return None

        sys.meta_path.insert(0, Finder)
        self.addCleanup(sys.meta_path.remove, Finder)

    def test_notInstalled(self) -> None:
        """
        A missing RPi.GPIO is reported as L{GPIOUnavailable}.
        """
        self.installFakeModule(None)
        error = self.assertRaises(GPIOUnavailable, importRPiGPIO)
        self.assertIn("not installed", str(error))
        self.assertIn("--gpio memory simulates the relays", str(error))

    def test_offPi(self) -> None:
        """
        RPi.GPIO's C{RuntimeError} off a Pi becomes one readable line.
        """
        self.offPi()
        error = self.assertRaises(GPIOUnavailable, importRPiGPIO)
        self.assertEqual(
            str(error),
            "RPi.GPIO cannot run here: This module can only be run on a Raspberry Pi!",
        )

    def test_rpiOffPi(self) -> None:
        """
        C{openPins("rpi")} off a Pi raises L{GPIOUnavailable}.
        """
        self.offPi()
        self.assertRaises(GPIOUnavailable, openPins, "rpi")

    def test_autoOffPi(self) -> None:
        """
        C{openPins("auto")} off a Pi falls back to simulated pins and warns
        in the log, saying why.
        """
        self.offPi()
        with capturedLogs() as events:
            pins = openPins("auto")
        self.assertIsInstance(pins, MemoryPins)
        warnings = [e for e in events if e["log_level"].name == "warn"]
        self.assertEqual(len(warnings), 1)
        self.assertIn("SIMULATED", warnings[0]["log_format"])
        self.assertIn("Raspberry Pi", warnings[0]["reason"])

    def test_autoOnPi(self) -> None:
        """
        C{openPins("auto")} uses RPi.GPIO where it imports.
        """
        fake = FakeRPiGPIO()
        module = ModuleType("RPi.GPIO")
        for name in ("BCM", "OUT", "HIGH", "LOW"):
            setattr(module, name, getattr(fake, name))
        module.setmode = fake.setmode  # type: ignore[attr-defined]
        self.installFakeModule(module)
        with capturedLogs() as events:
            pins = openPins("auto")
        self.assertIsInstance(pins, RPiGPIOPins)
        self.assertEqual(fake.calls, [("setmode", fake.BCM)])
        self.assertEqual([e["backend"] for e in events if "backend" in e], ["RPi.GPIO"])

    def test_memory(self) -> None:
        """
        C{openPins("memory")} gives simulated pins without a warning.
        """
        with capturedLogs() as events:
            pins = openPins("memory")
        self.assertIsInstance(pins, MemoryPins)
        self.assertEqual([e for e in events if e["log_level"].name == "warn"], [])

    def test_unknown(self) -> None:
        """
        An unknown backend name is refused.
        """
        self.assertRaises(GPIOUnavailable, openPins, "nope")


class MemoryPinsTests(SynchronousTestCase):
    """
    Tests for L{MemoryPins}.
    """

    def test_records(self) -> None:
        """
        L{MemoryPins} provides L{IPins} and records levels and history.
        """
        pins = MemoryPins()
        self.assertTrue(verifyObject(IPins, pins))
        pins.setup(17, True, False)
        pins.write(17, True)
        self.assertEqual(pins.levels, {17: True})
        self.assertEqual(pins.activeLow, {17: True})
        self.assertEqual(pins.history, [(17, False), (17, True)])
        pins.release()
        self.assertTrue(pins.released)
        self.assertEqual(pins.levels, {})

    def test_historyBounded(self) -> None:
        """
        The history keeps at least the last C{HISTORY} levels and never
        more than twice that many, however long the simulation runs.
        """
        pins = MemoryPins()
        pins.HISTORY = 10
        pins.setup(17, False, False)
        for index in range(1, 1000):
            pins.write(17, index % 2 == 1)
            self.assertLessEqual(len(pins.history), 20)
            self.assertGreaterEqual(len(pins.history), min(index + 1, 10))
        self.assertEqual(pins.history[-2:], [(17, False), (17, True)])

    def test_misuse(self) -> None:
        """
        Setting a pin up twice is refused as a pin in use is by the real
        backends, with L{GPIOUnavailable}; writing a pin not set up is an
        error.
        """
        from eofrelay.gpio import GPIOUnavailable

        pins = MemoryPins()
        pins.setup(17, False, False)
        self.assertRaises(GPIOUnavailable, pins.setup, 17, False, False)
        self.assertRaises(ValueError, pins.write, 18, True)
        self.assertRaises(ValueError, pins.write, -1, True)

    def test_anyPinNumber(self) -> None:
        """
        The history records any pin number as it was written, high ones
        (an expander's lines) included.
        """
        pins = MemoryPins()
        for pin in (0, 63, 64, 500):
            pins.setup(pin, True, False)
            pins.write(pin, True)
        self.assertEqual(
            pins.history[1::2], [(0, True), (63, True), (64, True), (500, True)]
        )
        self.assertEqual(pins.outputs, {0: False, 63: False, 64: False, 500: False})


class MemoryPinsKeepAndInputTests(SynchronousTestCase):
    """
    L{MemoryPins.setupKept} and the simulated inputs of L{MemoryPins}.
    """

    def test_keptFresh(self) -> None:
        """
        On fresh simulated pins no pin is an output yet: each is set up off.
        """
        pins = MemoryPins()
        self.assertIsNone(pins.setupKept(17, True))
        self.assertEqual((pins.levels, pins.history), ({17: False}, [(17, False)]))

    def test_keptAfterRestart(self) -> None:
        """
        Pins made from the outputs an earlier run left keep their levels:
        they are read (logically, after active-low) and nothing is driven.
        """
        earlier = MemoryPins()
        earlier.setup(5, True, True)
        earlier.setup(6, False, True)
        earlier.setup(7, False, False)
        pins = MemoryPins(earlier.outputs)
        self.assertEqual(
            [
                pins.setupKept(5, True),
                pins.setupKept(6, False),
                pins.setupKept(7, False),
            ],
            [True, True, False],
        )
        self.assertEqual(pins.history, [])
        self.assertEqual(pins.levels, {5: True, 6: True, 7: False})
        self.assertRaises(GPIOUnavailable, pins.setupKept, 5, True)
        earlier.release()
        self.assertEqual(earlier.outputs, {})

    def test_press(self) -> None:
        """
        L{MemoryPins.press} presses and lets go: two edges, each told to
        the input's watcher; L{MemoryPins.driveInput} tells only changes.
        """
        pins = MemoryPins()
        levels: list[bool] = []
        pins.setupInput(22, True, True, levels.append)
        self.assertEqual((pins.inputs, pins.pulls), ({22: False}, {22: "up"}))
        pins.press(22)
        pins.driveInput(22, False)
        pins.driveInput(22, True)
        self.assertEqual(levels, [True, False, True])
        self.assertRaises(GPIOUnavailable, pins.setup, 22, False, False)
        self.assertRaises(ValueError, pins.press, 23)
        pins.releaseInputs()
        self.assertRaises(ValueError, pins.press, 22)
        pins.setupInput(22, False, False, levels.append)
        self.assertEqual(pins.pulls, {22: "down"})
        pins.release()
        self.assertEqual(pins.inputs, {})


class FakeEdgeEvent:
    """
    Stands in for C{gpiod.EdgeEvent}.
    """

    class Type:
        RISING_EDGE = "rising edge"
        FALLING_EDGE = "falling edge"

    def __init__(self, eventType: str, offset: int) -> None:
        self.event_type = eventType
        self.line_offset = offset


class FakeGpiod:
    """
    Stands in for the C{gpiod} package (libgpiod v2): records every call,
    knows which chips exist, their labels, and which lines are busy, and
    models each line's direction and electrical level as the kernel keeps
    them, across requests and processes.

    @ivar directions: Each line's direction (input unless set).
    @ivar high: The electrical level of each line (C{True}: high).
    @ivar requests: The live request of each line.
    """

    class line:  # noqa: N801 - the real module's name
        class Direction:
            AS_IS = "as-is"
            INPUT = "input"
            OUTPUT = "output"

        class Value:
            INACTIVE = "inactive"
            ACTIVE = "active"

        class Edge:
            NONE = "no edges"
            BOTH = "both edges"

        class Bias:
            PULL_UP = "pull-up"
            PULL_DOWN = "pull-down"

    EdgeEvent = FakeEdgeEvent

    def __init__(
        self,
        chips: dict[str, str] | None = None,
        busy: frozenset[int] = frozenset(),
        failure: OSError | None = None,
        lines: int = 54,
    ) -> None:
        self.chips = {"/dev/gpiochip0": "pinctrl-bcm2711"} if chips is None else chips
        self.busy = busy
        self.lines = lines
        self.failure = failure
        self.calls: list[tuple[Any, ...]] = []
        self.directions: dict[int, str] = {}
        self.high: dict[int, bool] = {}
        self.requests: dict[int, Any] = {}

    def is_gpiochip_device(self, path: str) -> bool:
        return path in self.chips

    def Chip(self, path: str) -> Any:
        fake = self

        class Chip:
            def __enter__(self) -> Any:
                return self

            def __exit__(self, *args: object) -> None:
                pass

            def get_info(self) -> Any:
                class Info:
                    label = fake.chips[path]

                return Info()

            def get_line_info(self, offset: int) -> Any:
                fake.calls.append(("get_line_info", offset))

                class LineInfo:
                    direction = fake.directions.get(offset, fake.line.Direction.INPUT)

                return LineInfo()

        return Chip()

    def LineSettings(self, **settings: Any) -> tuple[Any, ...]:
        return ("settings", tuple(sorted(settings.items())))

    def _apply(self, offset: int, settings: tuple[Any, ...]) -> bool:
        """
        What the kernel does to a line requested or reconfigured with
        C{settings}; returns its active-low setting.
        """
        values = dict(settings[1])
        activeLow = bool(values.get("active_low", False))
        direction = values.get("direction", self.line.Direction.AS_IS)
        if direction == self.line.Direction.OUTPUT:
            self.directions[offset] = direction
            active = values.get("output_value") == self.line.Value.ACTIVE
            self.high[offset] = active != activeLow
        elif direction == self.line.Direction.INPUT:
            self.directions[offset] = direction
            self.high[offset] = values.get("bias") == self.line.Bias.PULL_UP
        return activeLow

    def request_lines(self, path: str, consumer: str, config: dict[int, Any]) -> Any:
        import errno as errnos

        if self.failure is not None:
            raise self.failure
        if path not in self.chips:
            raise FileNotFoundError(errnos.ENOENT, "No such file or directory")
        for offset in config:
            # As gpiod 2.5 does, before asking the kernel.
            if offset >= self.lines:
                raise ValueError("line offset of out range")
            if offset in self.busy or offset in self.requests:
                raise OSError(errnos.EBUSY, "Device or resource busy")
        self.calls.append(("request_lines", path, consumer, config))
        fake = self
        [(requested, settings)] = config.items()
        activeLow = {requested: self._apply(requested, settings)}

        class Request:
            fd = 100 + requested
            events: list[FakeEdgeEvent] = []

            def get_value(self, offset: int) -> str:
                fake.calls.append(("get_value", offset))
                active = fake.high.get(offset, False) != activeLow[offset]
                return fake.line.Value.ACTIVE if active else fake.line.Value.INACTIVE

            def set_value(self, offset: int, value: str) -> None:
                fake.calls.append(("set_value", offset, value))
                active = value == fake.line.Value.ACTIVE
                fake.high[offset] = active != activeLow[offset]

            def reconfigure_lines(self, config: dict[int, Any]) -> None:
                fake.calls.append(("reconfigure_lines", config))
                for offset, settings in config.items():
                    activeLow[offset] = fake._apply(offset, settings)

            def read_edge_events(self) -> list[FakeEdgeEvent]:
                fake.calls.append(("read_edge_events", requested))
                events, self.events = self.events, []
                return events

            def release(self) -> None:
                fake.calls.append(("release", tuple(config)))
                fake.requests.pop(requested, None)

        request = Request()
        self.requests[requested] = request
        return request

    def edge(self, offset: int, high: bool) -> None:
        """
        The outside world changes the level of input line C{offset}: the
        kernel queues an edge event on its request (logical, as the kernel
        reports it, for the request's active-low setting).
        """
        self.high[offset] = high
        request = self.requests[offset]
        settings = dict(self.settingsOf(offset)[1])
        rising = high != settings.get("active_low", False)
        event = (
            FakeEdgeEvent.Type.RISING_EDGE
            if rising
            else FakeEdgeEvent.Type.FALLING_EDGE
        )
        request.events.append(FakeEdgeEvent(event, offset))

    def settingsOf(self, offset: int) -> tuple[Any, ...]:
        """
        The settings of the last request of line C{offset}.
        """
        for call in reversed(self.calls):
            if call[0] == "request_lines" and offset in call[3]:
                settings: tuple[Any, ...] = call[3][offset]
                return settings
        raise KeyError(offset)

    def newProcess(self) -> None:
        """
        What a new process of the service finds: the lines as the last one
        left them (its requests gone with it), and no call recorded.
        """
        self.requests.clear()
        self.calls.clear()


class GpiodPinsTests(SynchronousTestCase):
    """
    Tests for L{GpiodPins}, against L{FakeGpiod}.
    """

    def test_interface(self) -> None:
        """
        L{GpiodPins} provides L{IPins}.
        """
        self.assertTrue(verifyObject(IPins, GpiodPins("/dev/gpiochip0", FakeGpiod())))

    def test_sequence(self) -> None:
        """
        Each line is requested once as an output with its initial value and
        its active-low setting (the kernel inverts), consumer C{eofrelay};
        switching sets logical values; release gives back only our lines.
        """
        gpiod = FakeGpiod()
        pins = GpiodPins("/dev/gpiochip0", gpiod)
        PinRelay("a", pins, 17, activeLow=True).switch(True)
        PinRelay("b", pins, 27, on=True).switch(False)
        pins.release()
        pins.release()
        output = FakeGpiod.line.Direction.OUTPUT
        self.assertEqual(
            gpiod.calls,
            [
                (
                    "request_lines",
                    "/dev/gpiochip0",
                    "eofrelay",
                    {
                        17: (
                            "settings",
                            (
                                ("active_low", True),
                                ("direction", output),
                                ("output_value", "inactive"),
                            ),
                        )
                    },
                ),
                ("set_value", 17, "active"),
                (
                    "request_lines",
                    "/dev/gpiochip0",
                    "eofrelay",
                    {
                        27: (
                            "settings",
                            (
                                ("active_low", False),
                                ("direction", output),
                                ("output_value", "active"),
                            ),
                        )
                    },
                ),
                ("set_value", 27, "inactive"),
                ("release", (17,)),
                ("release", (27,)),
            ],
        )

    def test_errors(self) -> None:
        """
        A busy line, a missing chip, a line past the chip's end and a
        permission problem are each one readable line.
        """
        import errno

        busy = GpiodPins("/dev/gpiochip0", FakeGpiod(busy=frozenset({17})))
        error = self.assertRaises(GPIOUnavailable, busy.setup, 17, False, False)
        self.assertEqual(
            str(error), "GPIO 17 on /dev/gpiochip0 is busy: another program is using it"
        )
        short = GpiodPins("/dev/gpiochip0", FakeGpiod(lines=8))
        error = self.assertRaises(GPIOUnavailable, short.setup, 8, False, False)
        self.assertEqual(str(error), "GPIO 8 does not exist on /dev/gpiochip0")
        invalid = GpiodPins(
            "/dev/gpiochip0", FakeGpiod(failure=OSError(errno.EINVAL, "Invalid"))
        )
        error = self.assertRaises(GPIOUnavailable, invalid.setup, 17, False, False)
        self.assertEqual(str(error), "GPIO 17 does not exist on /dev/gpiochip0")
        denied = GpiodPins(
            "/dev/gpiochip0", FakeGpiod(failure=PermissionError(errno.EACCES, "denied"))
        )
        error = self.assertRaises(GPIOUnavailable, denied.setup, 17, False, False)
        self.assertIn("'gpio' group", str(error))
        error = self.assertRaises(
            GPIOUnavailable, GpiodPins, "/dev/gpiochip9", FakeGpiod()
        )
        self.assertIn("/dev/gpiochip9", str(error))

    def test_findChip(self) -> None:
        """
        The chip of the Pi's header is found by its label; otherwise
        C{/dev/gpiochip0}; with no chip at all, an error.
        """
        chips = {"/dev/gpiochip0": "other", "/dev/gpiochip4": "pinctrl-rp1"}
        self.assertEqual(findChip(FakeGpiod(chips), sorted(chips)), "/dev/gpiochip4")
        chips = {"/dev/gpiochip0": "other", "/dev/gpiochip1": "x"}
        self.assertEqual(findChip(FakeGpiod(chips), sorted(chips)), "/dev/gpiochip0")
        self.assertRaises(GPIOUnavailable, findChip, FakeGpiod({}), [])

    def replaceModule(self, name: str, module: ModuleType | None) -> None:
        """
        Make C{import name} find C{module} (C{None}: fail to import) for
        the duration of the test, whether or not the real one is installed:
        the import system reads C{sys.modules} itself, so the dict is
        changed in place, not replaced.
        """
        missing = object()
        saved = sys.modules.get(name, missing)

        def restore() -> None:
            if saved is missing:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = saved  # type: ignore[assignment]

        self.addCleanup(restore)
        sys.modules[name] = module  # type: ignore[assignment]

    def test_notInstalled(self) -> None:
        """
        Without the gpiod package, C{--gpio gpiod} says how to install it.
        """
        self.replaceModule("gpiod", None)
        error = self.assertRaises(GPIOUnavailable, openPins, "gpiod")
        self.assertIn("eofrelay[gpiod]", str(error))

    def test_autoPrefersGpiod(self) -> None:
        """
        C{--gpio auto} picks libgpiod where the package and a chip are
        present, and logs that choice in one line.
        """
        from eofrelay.gpio import libgpiod

        fake = FakeGpiod()
        module = ModuleType("gpiod")
        for name in ("is_gpiochip_device", "Chip", "LineSettings", "request_lines"):
            setattr(module, name, getattr(fake, name))
        module.line = FakeGpiod.line  # type: ignore[attr-defined]
        self.replaceModule("gpiod", module)
        self.patch(libgpiod, "chipDevices", lambda: ["/dev/gpiochip0"])
        with capturedLogs() as events:
            pins = openPins("auto")
        self.assertIsInstance(pins, GpiodPins)
        [event] = [e for e in events if "backend" in e]
        self.assertEqual(event["backend"], "libgpiod (/dev/gpiochip0)")


def settings(**values: Any) -> tuple[Any, ...]:
    """
    What L{FakeGpiod.LineSettings} makes of C{values}.
    """
    return FakeGpiod().LineSettings(**values)


class GpiodKeepTests(SynchronousTestCase):
    """
    L{GpiodPins.setupKept}: C{--power-on keep} on libgpiod.
    """

    def test_outputKept(self) -> None:
        """
        A line that is an output (as its line info says) is requested as it
        is, neither its direction nor its value given, read, and then made
        an output driving the value read: nothing is written before the
        read, and what is written after is what was read.  The kernel
        applies active-low: an active-low line that is low reads active.
        """
        gpiod = FakeGpiod()
        gpiod.directions[17] = gpiod.line.Direction.OUTPUT
        gpiod.high[17] = False
        pins = GpiodPins("/dev/gpiochip0", gpiod)
        self.assertIs(pins.setupKept(17, True), True)
        direction = gpiod.line.Direction
        self.assertEqual(
            gpiod.calls,
            [
                ("get_line_info", 17),
                (
                    "request_lines",
                    "/dev/gpiochip0",
                    "eofrelay",
                    {17: settings(direction=direction.AS_IS, active_low=True)},
                ),
                ("get_value", 17),
                (
                    "reconfigure_lines",
                    {
                        17: settings(
                            direction=direction.OUTPUT,
                            active_low=True,
                            output_value="active",
                        )
                    },
                ),
            ],
        )
        self.assertIs(gpiod.high[17], False)
        pins.write(17, False)
        self.assertEqual(gpiod.calls[-1], ("set_value", 17, "inactive"))
        self.assertIs(gpiod.high[17], True)

    def test_notAnOutput(self) -> None:
        """
        A line that is an input is not read: it is requested as an output
        already off, as by C{--power-on off}.
        """
        gpiod = FakeGpiod()
        pins = GpiodPins("/dev/gpiochip0", gpiod)
        self.assertIsNone(pins.setupKept(17, True))
        self.assertEqual(
            gpiod.calls,
            [
                ("get_line_info", 17),
                (
                    "request_lines",
                    "/dev/gpiochip0",
                    "eofrelay",
                    {
                        17: settings(
                            direction=gpiod.line.Direction.OUTPUT,
                            active_low=True,
                            output_value="inactive",
                        )
                    },
                ),
            ],
        )
        self.assertIs(gpiod.high[17], True)

    def test_restartChangesNothing(self) -> None:
        """
        With C{--power-on keep} and C{--on-exit keep}, a restart changes
        nothing on the wire: the second process sets no value and reads
        each relay's state from the lines the first one left.
        """
        gpiod = FakeGpiod()
        first = GpiodPins("/dev/gpiochip0", gpiod)
        PinRelay("a", first, 5, activeLow=True).switch(True)
        PinRelay("b", first, 6, on=True)
        PinRelay("c", first, 7)
        before = dict(gpiod.high)
        gpiod.newProcess()
        second = GpiodPins("/dev/gpiochip0", gpiod)
        relays = [
            PinRelay(name, second, pin, low, setUp=False)
            for name, pin, low in (("a", 5, True), ("b", 6, False), ("c", 7, False))
        ]
        self.assertEqual(
            [relay.setUpPinKept() for relay in relays], [True, True, False]
        )
        self.assertEqual(gpiod.high, before)
        self.assertEqual(
            [call[0] for call in gpiod.calls],
            ["get_line_info", "request_lines", "get_value", "reconfigure_lines"] * 3,
        )
        values = [
            dict(call[1][pin][1])["output_value"]
            for call, pin in zip(
                [c for c in gpiod.calls if c[0] == "reconfigure_lines"],
                (5, 6, 7),
                strict=True,
            )
        ]
        self.assertEqual(values, ["active", "active", "inactive"])

    def test_busy(self) -> None:
        """
        A line that another program holds is one readable line.
        """
        gpiod = FakeGpiod(busy=frozenset({17}))
        gpiod.directions[17] = gpiod.line.Direction.OUTPUT
        pins = GpiodPins("/dev/gpiochip0", gpiod)
        error = self.assertRaises(GPIOUnavailable, pins.setupKept, 17, False)
        self.assertEqual(
            str(error), "GPIO 17 on /dev/gpiochip0 is busy: another program is using it"
        )


class GpiodInputTests(SynchronousTestCase):
    """
    L{GpiodPins.setupInput}: buttons on libgpiod.
    """

    def setUp(self) -> None:
        from twisted.internet.testing import MemoryReactor

        self.reactor = MemoryReactor()
        self.gpiod = FakeGpiod()
        self.pins = GpiodPins("/dev/gpiochip0", self.gpiod, self.reactor)

    def test_sequence(self) -> None:
        """
        A button wired to ground is an input line with its pull-up,
        active-low (the kernel inverts), with both edges detected; the
        reactor watches the request's file descriptor, and each time it is
        readable the events waiting are read and handed on as logical
        levels (pressed: C{True}).  Nothing polls: without an event,
        nothing reads.
        """
        line = self.gpiod.line
        levels: list[bool] = []
        self.pins.setupInput(22, True, True, levels.append)
        self.assertEqual(
            self.gpiod.calls,
            [
                (
                    "request_lines",
                    "/dev/gpiochip0",
                    "eofrelay",
                    {
                        22: settings(
                            direction=line.Direction.INPUT,
                            edge_detection=line.Edge.BOTH,
                            bias=line.Bias.PULL_UP,
                            active_low=True,
                        )
                    },
                )
            ],
        )
        [reader] = self.reactor.getReaders()
        self.assertTrue(verifyObject(IReadDescriptor, reader))
        self.assertEqual(reader.fileno(), 122)
        self.gpiod.edge(22, False)
        self.gpiod.edge(22, True)
        self.gpiod.edge(22, False)
        reader.doRead()
        self.assertEqual(levels, [True, False, True])
        self.assertEqual(self.gpiod.calls[-1], ("read_edge_events", 22))

    def test_activeHigh(self) -> None:
        """
        A button wired to 3.3 V is an input with its pull-down, active-high.
        """
        levels: list[bool] = []
        self.pins.setupInput(23, False, False, levels.append)
        given = dict(self.gpiod.settingsOf(23)[1])
        self.assertEqual(
            (given["bias"], given["active_low"]),
            (self.gpiod.line.Bias.PULL_DOWN, False),
        )
        self.gpiod.edge(23, True)
        self.reactor.getReaders()[0].doRead()
        self.assertEqual(levels, [True])

    def test_release(self) -> None:
        """
        L{GpiodPins.releaseInputs} stops watching the inputs' descriptors
        first, then releases their requests, and leaves the outputs;
        L{GpiodPins.release} releases everything.
        """
        PinRelay("a", self.pins, 17, on=True)
        self.pins.setupInput(22, True, True, lambda level: None)
        self.pins.releaseInputs()
        self.pins.releaseInputs()
        self.assertEqual(self.reactor.getReaders(), [])
        self.assertEqual(self.gpiod.calls[-1], ("release", (22,)))
        self.pins.setupInput(22, True, True, lambda level: None)
        self.pins.release()
        self.assertEqual(self.reactor.getReaders(), [])
        self.assertEqual(
            self.gpiod.calls[-2:], [("release", (22,)), ("release", (17,))]
        )

    def test_readFails(self) -> None:
        """
        A reader whose read fails says so loudly when the reactor drops it.
        """
        from twisted.python.failure import Failure

        self.pins.setupInput(22, True, True, lambda level: None)
        [reader] = self.reactor.getReaders()
        with capturedLogs() as events:
            reader.connectionLost(Failure(OSError(5, "Input/output error")))
        [event] = events
        self.assertIn("no longer works", event["log_format"])
        self.assertEqual(event["pin"], 22)
        self.flushLoggedErrors(OSError)
