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
from eofrelay.gpio.memory import MemoryPins
from eofrelay.gpio.rpi import RPiGPIOPins, importRPiGPIO
from eofrelay.interfaces import IPins
from eofrelay.pinrelay import PinRelay


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

        sys.meta_path.insert(0, Finder)  # type: ignore[arg-type]
        self.addCleanup(sys.meta_path.remove, Finder)

    def test_notInstalled(self) -> None:
        """
        A missing RPi.GPIO is reported as L{GPIOUnavailable}.
        """
        self.installFakeModule(None)
        error = self.assertRaises(GPIOUnavailable, importRPiGPIO)
        self.assertIn("not installed", str(error))

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

    def test_misuse(self) -> None:
        """
        Setting a pin up twice or writing a pin not set up is an error.
        """
        pins = MemoryPins()
        pins.setup(17, False, False)
        self.assertRaises(ValueError, pins.setup, 17, False, False)
        self.assertRaises(ValueError, pins.write, 18, True)
