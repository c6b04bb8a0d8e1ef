"""
L{GpiodPins} against the kernel: lines of gpio-sim chips requested through
the GPIO character device, each level checked in sysfs and in the trace of
what gpiolib drove.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.gpio import GPIOUnavailable, openPins
from eofrelay.gpio.libgpiod import CONSUMER, GpiodPins, chipDevices
from eofrelay.gpio.pinrelay import PinRelay
from tests.kernel.gpiosim import (
    OTHER_PROGRAM,
    SimulatedChip,
    simulatedChip,
    since,
    skipReason,
    traced,
)

#: A user the permission test runs as (Debian's nobody).
NOBODY = 65534


class KernelTestCase(SynchronousTestCase):
    """
    A test with the GPIO trace started and one simulated chip of 8 lines.
    """

    skip = skipReason()

    def setUp(self) -> None:
        self.trace = traced(self)
        self.chip = simulatedChip(self, self.trace)

    def history(self, offset: int, mark: str) -> list[tuple[str, int]]:
        """
        What gpiolib did to line C{offset} of the chip since C{mark}: each
        level set (C{("set", level)}) and each change of direction
        (C{("out", error)}, C{("in", error)}), in order.
        """
        gpio = self.chip.gpio(offset)
        return [
            (event.kind, event.value)
            for event in since(self.trace.events(), mark)
            if event.gpio == gpio and event.kind != "get"
        ]

    def driven(self, offset: int, mark: str) -> list[int]:
        """
        The levels driven on line C{offset} since C{mark}, in order.
        """
        return [value for kind, value in self.history(offset, mark) if kind == "set"]

    def pins(self, chip: SimulatedChip | None = None) -> GpiodPins:
        """
        A L{GpiodPins} on C{chip} (the test's chip by default), released at
        the end of the test.
        """
        pins = GpiodPins((chip or self.chip).path)
        self.addCleanup(pins.release)
        return pins

    def holdLine(self, offset: int, level: int) -> Any:
        """
        Hold line C{offset} as an output driving C{level}, as another
        program, until the end of the test.

        @return: The C{gpiod} line request.
        """
        import gpiod
        from gpiod.line import Direction, Value

        settings = gpiod.LineSettings(
            direction=Direction.OUTPUT,
            output_value=Value.ACTIVE if level else Value.INACTIVE,
        )
        request = gpiod.request_lines(
            self.chip.path, consumer=OTHER_PROGRAM, config={offset: settings}
        )
        self.addCleanup(request.release)
        return request


class LevelTests(KernelTestCase):
    """
    The level on each line is the level eofrelay means, from the instant
    the line is requested.
    """

    def test_levelsAtSetup(self) -> None:
        """
        A line is requested as an output already driving the relay's
        initial state, for active-high and active-low relays, on and off:
        the one level gpiolib drives at the request is the right one (never
        a wrong level first, then the right one), sysfs shows it right after
        the request, and the kernel lists the line as an output of
        C{eofrelay}, active-low where the relay is.
        """
        # offset, active-low, initially on, the level that means it
        cases = [
            (0, False, False, 0),
            (1, False, True, 1),
            (2, True, False, 1),
            (3, True, True, 0),
        ]
        # Until the request, each line shows the wrong level.
        for offset, _, _, level in cases:
            self.chip.pull(offset, up=not level)
        self.assertEqual(self.chip.levels(0, 1, 2, 3), (1, 0, 0, 1))
        self.trace.mark("setup")
        pins = self.pins()
        for offset, activeLow, on, level in cases:
            PinRelay(f"r{offset}", pins, offset, activeLow=activeLow, on=on)
            self.assertEqual(self.chip.level(offset), level, f"line {offset}")
        for offset, activeLow, _, level in cases:
            self.assertEqual(
                self.history(offset, "setup"), [("set", level), ("out", 0)]
            )
            info = self.chip.info(offset)
            self.assertEqual(
                (info.used, info.consumer, info.direction.name, info.active_low),
                (True, CONSUMER, "OUTPUT", activeLow),
            )

    def test_levelsAfterEachSwitch(self) -> None:
        """
        Each switch drives exactly one level, the one it means (high for an
        active-high relay on, low for an active-low one on), and leaves the
        other relay's line alone.
        """
        pins = self.pins()
        high = PinRelay("high", pins, 1)
        low = PinRelay("low", pins, 2, activeLow=True)
        self.trace.mark("switching")
        expected: dict[int, list[int]] = {1: [], 2: []}
        levels = {1: 0, 2: 1}
        for on in (True, False, False, True, True, False):
            for relay in (high, low):
                relay.switch(on)
                levels[relay.pin] = int(on != relay.activeLow)
                expected[relay.pin].append(levels[relay.pin])
                self.assertEqual(self.chip.levels(1, 2), (levels[1], levels[2]))
        self.assertEqual(
            (self.driven(1, "switching"), self.driven(2, "switching")),
            (expected[1], expected[2]),
        )
        self.assertEqual(expected[2], [0, 1, 1, 0, 0, 1])

    def test_glitchSeen(self) -> None:
        """
        The trace shows what sysfs cannot: a line requested with the wrong
        level and then switched (what an output requested without its
        initial value does) shows both levels in the trace, though sysfs
        shows only the last one.  So the trace would catch that glitch in
        the tests above.
        """
        import gpiod
        from gpiod.line import Direction, Value

        self.trace.mark("glitch")
        settings = gpiod.LineSettings(
            direction=Direction.OUTPUT, output_value=Value.INACTIVE
        )
        request = gpiod.request_lines(
            self.chip.path, consumer="glitchy", config={5: settings}
        )
        self.addCleanup(request.release)
        request.set_value(5, Value.ACTIVE)
        self.assertEqual(self.chip.level(5), 1)
        self.assertEqual(
            self.history(5, "glitch"), [("set", 0), ("out", 0), ("set", 1)]
        )


class ReleaseTests(KernelTestCase):
    """
    L{GpiodPins.release} gives back eofrelay's lines and nothing else.
    """

    def test_releaseOnlyOurs(self) -> None:
        """
        After C{release}, eofrelay's lines are free (another program can
        request them) and back at their pull, as gpio-sim does with a
        released line; release itself drives no level; a line another
        program holds stays held, at its level.
        """
        self.holdLine(3, 1)
        pins = self.pins()
        PinRelay("a", pins, 1, on=True)
        PinRelay("b", pins, 2, activeLow=True, on=True)
        self.assertEqual(self.chip.levels(1, 2, 3), (1, 0, 1))
        self.trace.mark("release")
        pins.release()
        self.assertEqual(self.chip.unused(range(8)), [0, 1, 2, 4, 5, 6, 7])
        info = self.chip.info(3)
        self.assertEqual((info.used, info.consumer), (True, OTHER_PROGRAM))
        self.assertEqual(self.chip.levels(1, 2, 3), (0, 0, 1))
        self.assertEqual([self.history(n, "release") for n in (1, 2, 3)], [[], [], []])
        pins.release()
        again = self.pins()
        again.setup(1, False, True)
        again.setup(2, False, True)
        self.assertEqual(self.chip.levels(1, 2), (1, 1))


class ErrorTests(KernelTestCase):
    """
    What the kernel refuses becomes the one line that C{eofrelay/gpio}
    documents (options.rst, C{--gpio gpiod}), and nothing is driven.
    """

    def test_busy(self) -> None:
        """
        A line another program holds gives C{GPIO N on CHIP is busy:
        another program is using it}; its holder and level are unchanged,
        and the lines eofrelay already has keep working.
        """
        self.holdLine(3, 1)
        pins = self.pins()
        pins.setup(1, False, False)
        self.trace.mark("busy")
        error = self.assertRaises(GPIOUnavailable, pins.setup, 3, True, False)
        self.assertEqual(
            str(error),
            f"GPIO 3 on {self.chip.path} is busy: another program is using it",
        )
        self.assertEqual(self.chip.info(3).consumer, OTHER_PROGRAM)
        self.assertEqual(self.chip.level(3), 1)
        self.assertEqual(self.history(3, "busy"), [])
        pins.write(1, True)
        self.assertEqual(self.chip.level(1), 1)

    def test_pastTheEnd(self) -> None:
        """
        A line number past the chip's last line gives C{GPIO N does not
        exist on CHIP}; the last line itself works.
        """
        pins = self.pins()
        self.trace.mark("past")
        error = self.assertRaises(GPIOUnavailable, pins.setup, 8, False, True)
        self.assertEqual(str(error), f"GPIO 8 does not exist on {self.chip.path}")
        error = self.assertRaises(GPIOUnavailable, pins.setup, 1000, False, True)
        self.assertEqual(str(error), f"GPIO 1000 does not exist on {self.chip.path}")
        driven = [e for e in since(self.trace.events(), "past") if e.kind == "set"]
        self.assertEqual(driven, [])
        pins.setup(7, False, True)
        self.assertEqual(self.chip.level(7), 1)

    def test_missingChip(self) -> None:
        """
        A chip path that does not exist gives C{GPIO chip PATH does not
        exist}; a path that is not a chip, C{PATH is not a GPIO chip}.
        """
        missing = "/dev/gpiochip99"
        self.assertFalse(os.path.exists(missing))
        error = self.assertRaises(GPIOUnavailable, GpiodPins, missing)
        self.assertEqual(str(error), f"GPIO chip {missing} does not exist")
        error = self.assertRaises(GPIOUnavailable, GpiodPins, "/dev/null")
        self.assertEqual(str(error), "/dev/null is not a GPIO chip")

    def test_chipGone(self) -> None:
        """
        A chip that goes away after the backend opened it gives C{GPIO chip
        PATH does not exist} at the next setup.
        """
        chip = simulatedChip(self, self.trace)
        pins = self.pins(chip)
        chip.remove()
        self.assertFalse(os.path.exists(chip.path))
        error = self.assertRaises(GPIOUnavailable, pins.setup, 0, False, False)
        self.assertEqual(str(error), f"GPIO chip {chip.path} does not exist")


class PermissionTests(KernelTestCase):
    """
    A user without access to the chip is told what to do.
    """

    def test_noPermission(self) -> None:
        """
        A user who may not open the chip gets C{no permission to use CHIP:
        add this user to the 'gpio' group ...}, and nothing is driven.
        """
        os.chmod(self.chip.path, 0o600)
        pins = GpiodPins(self.chip.path)
        self.trace.mark("denied")
        # Open the chip as another user: the kernel checks the effective
        # user and group, which root may change and change back.
        os.setegid(NOBODY)
        os.seteuid(NOBODY)
        try:
            error = self.assertRaises(GPIOUnavailable, pins.setup, 1, False, True)
        finally:
            os.seteuid(0)
            os.setegid(0)
        self.assertEqual(
            str(error),
            f"no permission to use {self.chip.path}: add this user to the 'gpio' "
            "group (sudo adduser $USER gpio) and log in again",
        )
        self.assertEqual(self.chip.unused([1]), [1])
        self.assertEqual(since(self.trace.events(), "denied"), [])


class ChipChoiceTests(SynchronousTestCase):
    """
    Which chip the backend takes when C{--gpio-chip} is not given.
    """

    skip = skipReason()

    def test_noChip(self) -> None:
        """
        On a machine without any GPIO chip (the virtual machine, before a
        simulated one is made), the backend says so in one line.
        """
        self.assertEqual(chipDevices(), [])
        error = self.assertRaises(GPIOUnavailable, GpiodPins)
        self.assertEqual(str(error), "no GPIO character device (/dev/gpiochip*) here")

    def test_headerByLabel(self) -> None:
        """
        The chip labelled as the Raspberry Pi 5's header (C{pinctrl-rp1}) is
        chosen, though it is not C{/dev/gpiochip0}; C{openPins} logs it;
        C{--gpio auto} takes libgpiod on it.
        """
        trace = traced(self)
        simulatedChip(self, trace, label="other-chip")
        header = simulatedChip(self, trace, label="pinctrl-rp1")
        self.assertNotEqual(header.path, "/dev/gpiochip0")
        self.assertEqual(GpiodPins().chip, header.path)
        with capturedLogs() as events:
            pins = openPins("gpiod")
        self.addCleanup(pins.release)
        self.assertEqual(
            [event["backend"] for event in events if "backend" in event],
            [f"libgpiod ({header.path})"],
        )
        pins.release()
        auto = openPins("auto")
        self.addCleanup(auto.release)
        self.assertIsInstance(auto, GpiodPins)
        self.assertEqual(auto.chip, header.path)  # type: ignore[attr-defined]

    def test_firstChipOtherwise(self) -> None:
        """
        Without a chip labelled as a Pi's header, C{/dev/gpiochip0} is
        chosen.
        """
        trace = traced(self)
        first = simulatedChip(self, trace, label="first")
        simulatedChip(self, trace, label="second")
        self.assertEqual(first.path, "/dev/gpiochip0")
        self.assertEqual(GpiodPins().chip, "/dev/gpiochip0")
