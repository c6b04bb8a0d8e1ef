"""
Tests for the GPIO backends in L{eofrelay.gpio}, against a fake RPi.GPIO
module that records every call.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

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
    """

    BCM = 11
    BOARD = 10
    OUT = 0
    IN = 1
    HIGH = 1
    LOW = 0

    def __init__(self, failSetup: Exception | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.failSetup = failSetup

    def setmode(self, mode: int) -> None:
        self.calls.append(("setmode", mode))

    def setup(self, pin: int, direction: int, initial: int = -1) -> None:
        if self.failSetup is not None:
            raise self.failSetup
        self.calls.append(("setup", pin, direction, initial))

    def output(self, pin: int, level: int) -> None:
        self.calls.append(("output", pin, level))

    def cleanup(self, pins: Any = None) -> None:
        self.calls.append(("cleanup", pins))


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


class FakeGpiod:
    """
    Stands in for the C{gpiod} package (libgpiod v2): records every call,
    knows which chips exist, their labels, and which lines are busy.
    """

    class line:  # noqa: N801 - the real module's name
        class Direction:
            INPUT = "input"
            OUTPUT = "output"

        class Value:
            INACTIVE = "inactive"
            ACTIVE = "active"

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

        return Chip()

    def LineSettings(self, **settings: Any) -> tuple[Any, ...]:
        return ("settings", tuple(sorted(settings.items())))

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
            if offset in self.busy:
                raise OSError(errnos.EBUSY, "Device or resource busy")
        self.calls.append(("request_lines", path, consumer, config))
        fake = self

        class Request:
            def set_value(self, offset: int, value: str) -> None:
                fake.calls.append(("set_value", offset, value))

            def release(self) -> None:
                fake.calls.append(("release", tuple(config)))

        return Request()


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
