"""
C{--power-on keep} against the kernel: the level an output line already
has is read, not changed, through L{GpiodPins.setupKept} and through a
real C{twistd -n eofrelay --power-on keep} restarted after a run with
C{--on-exit keep}.

What a line keeps once no one holds it is the driver's business (see
C{docs/hardware-testing.rst}).  gpiolib and gpio-sim keep its direction:
a line released as an output is still listed as an output.  Its level,
gpio-sim puts back to the line's pull.  So each test that leaves a line
driven sets the line's pull to the level driven I{while the line is still
held} (gpio-sim then changes nothing on the line: it only records the
pull) and releases it: the line goes on showing that level, as an output
of nobody's, as a Raspberry Pi's driver leaves a released output.  The
trace shows that nothing is driven in between.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence

from twisted.internet.defer import inlineCallbacks
from twisted.internet.error import ProcessTerminated
from twisted.trial.unittest import TestCase

from eofrelay.gpio import GPIOUnavailable
from eofrelay.gpio.libgpiod import CONSUMER
from tests.kernel.gpiosim import (
    OTHER_PROGRAM,
    GpioTrace,
    SimulatedChip,
    simulatedChip,
    since,
    skipReason,
    traced,
)
from tests.kernel.test_libgpiod import KernelTestCase
from tests.kernel.test_twistd import connectClient, spawnEofrelay
from tests.test_plugin import Twistd


def leaveOutput(chip: SimulatedChip, offset: int, level: int) -> None:
    """
    Leave line C{offset} an output of no one's at C{level}, as an earlier
    program would that drove it and ended: request it as an output driving
    C{level}, set its pull to C{level} while it is held (which changes
    nothing on a driven line), release it.
    """
    import gpiod
    from gpiod.line import Direction, Value

    settings = gpiod.LineSettings(
        direction=Direction.OUTPUT,
        output_value=Value.ACTIVE if level else Value.INACTIVE,
    )
    request = gpiod.request_lines(
        chip.path, consumer=OTHER_PROGRAM, config={offset: settings}
    )
    try:
        chip.pull(offset, up=bool(level))
    finally:
        request.release()


class KeptLineTests(KernelTestCase):
    """
    L{GpiodPins.setupKept} on lines left as outputs, and on lines that are
    not outputs.
    """

    def events(self, offset: int, mark: str) -> list[tuple[str, int]]:
        """
        What gpiolib did to line C{offset} since C{mark}, reads included:
        C{("get", value)} for each value read (logical, for a read through
        the character device: see L{Event.value}), C{("set", level)} for
        each level driven, C{("out", error)} and C{("in", error)} for each change
        of direction.
        """
        gpio = self.chip.gpio(offset)
        return [
            (event.kind, event.value)
            for event in since(self.trace.events(), mark)
            if event.gpio == gpio
        ]

    def test_levelRead(self) -> None:
        """
        A line left as an output is read, not changed: for active-high and
        active-low relays, on and off, C{setupKept} returns the relay's
        state that the level means, the line shows the same level, and
        the trace shows the level read and then that same level driven
        (the request made an output driving what was read), never another
        one.  A line that is not an output (an input, pulled up or down) is
        not read: C{setupKept} returns C{None} and drives the relay off.
        Every line is then eofrelay's output, active-low where the relay
        is, and switches as usual.
        """
        # offset, active-low, the level left (None: an input pulled so),
        # the state setupKept returns, the level the line has then
        cases: Sequence[tuple[int, bool, int, bool | None, int]] = [
            (1, False, 1, True, 1),
            (2, False, 0, False, 0),
            (3, True, 0, True, 0),
            (4, True, 1, False, 1),
        ]
        inputs: Sequence[tuple[int, bool, int, bool | None, int]] = [
            # A high input is not read as "on", nor a low one as "on" of an
            # active-low relay: both start off.
            (5, False, 1, None, 0),
            (6, True, 0, None, 1),
        ]
        for offset, _, level, _, _ in cases:
            leaveOutput(self.chip, offset, level)
        for offset, _, level, _, _ in inputs:
            self.chip.pull(offset, up=bool(level))
        self.assertEqual(self.chip.unused(range(1, 7)), [1, 2, 3, 4, 5, 6])
        self.assertEqual(
            [self.chip.info(offset).direction.name for offset in range(1, 7)],
            ["OUTPUT"] * 4 + ["INPUT"] * 2,
        )
        self.assertEqual(self.chip.levels(1, 2, 3, 4, 5, 6), (1, 0, 0, 1, 1, 0))
        self.trace.mark("keep")
        pins = self.pins()
        for offset, activeLow, _, state, level in [*cases, *inputs]:
            self.assertEqual(pins.setupKept(offset, activeLow), state, f"line {offset}")
            self.assertEqual(self.chip.level(offset), level, f"line {offset}")
        for offset, _, level, state, _ in cases:
            # Read (the logical value), then driven at the level it had.
            self.assertEqual(
                self.events(offset, "keep"),
                [("get", int(bool(state))), ("set", level), ("out", 0)],
                f"line {offset}",
            )
        for offset, _, _, _, level in inputs:
            self.assertEqual(self.history(offset, "keep"), [("set", level), ("out", 0)])
        for offset, activeLow, _, _, _ in [*cases, *inputs]:
            info = self.chip.info(offset)
            self.assertEqual(
                (info.consumer, info.direction.name, info.active_low),
                (CONSUMER, "OUTPUT", activeLow),
                f"line {offset}",
            )
        self.trace.mark("switch")
        pins.write(1, False)
        pins.write(3, False)
        pins.write(6, True)
        self.assertEqual(self.chip.levels(1, 3, 6), (0, 1, 0))
        self.assertEqual(
            [self.driven(offset, "switch") for offset in (1, 3, 6)], [[0], [1], [0]]
        )

    def test_errors(self) -> None:
        """
        A kept line that another program holds gives C{GPIO N on CHIP is
        busy: another program is using it}, with its holder and level
        untouched; a line past the chip's end, C{GPIO N does not exist on
        CHIP}.  Nothing is driven.
        """
        self.holdLine(3, 1)
        pins = self.pins()
        self.trace.mark("errors")
        error = self.assertRaises(GPIOUnavailable, pins.setupKept, 3, False)
        self.assertEqual(
            str(error),
            f"GPIO 3 on {self.chip.path} is busy: another program is using it",
        )
        self.assertEqual(
            (self.chip.info(3).consumer, self.chip.level(3)), (OTHER_PROGRAM, 1)
        )
        for offset in (8, 1000):
            error = self.assertRaises(GPIOUnavailable, pins.setupKept, offset, False)
            self.assertEqual(
                str(error), f"GPIO {offset} does not exist on {self.chip.path}"
            )
        driven = [e for e in since(self.trace.events(), "errors") if e.kind == "set"]
        self.assertEqual(driven, [])


#: The relays of the restart test: their lines, and whether they are
#: active-low.
RELAYS = {"a": (1, False), "b": (2, True), "c": (3, False), "d": (4, True)}


class RestartTests(TestCase):
    """
    C{twistd -n eofrelay --power-on keep --on-exit keep}, started again
    after a run with C{--on-exit keep}: nothing changes on the wire, and
    each relay reports the state its line shows.
    """

    skip = skipReason()
    # Python starts slowly in a virtual machine without KVM.
    timeout = 300

    def setUp(self) -> None:
        self.trace: GpioTrace = traced(self)
        self.chip = simulatedChip(self, self.trace)

    def driven(self, offset: int, mark: str) -> list[int]:
        gpio = self.chip.gpio(offset)
        return [
            event.value
            for event in since(self.trace.events(), mark)
            if event.kind == "set" and event.gpio == gpio
        ]

    @staticmethod
    def relayOptions(relays: dict[str, tuple[int, bool]]) -> list[str]:
        options = []
        for name, (offset, activeLow) in relays.items():
            options += ["--relay", f"{name}:{offset}" + (":active-low" * activeLow)]
        return options

    @inlineCallbacks
    def stop(self, process: Twistd):
        """
        SIGTERM: the process ends by it, without a traceback, having freed
        every line.

        @return: Its output.
        """
        os.kill(int(process.transport.pid), signal.SIGTERM)  # type: ignore[union-attr]
        reason = yield process.ended
        output = process.output.decode()
        self.assertIsInstance(reason, ProcessTerminated, output)
        self.assertEqual(reason.signal, signal.SIGTERM, output)
        self.assertNotIn("Traceback", output)
        self.assertEqual(self.chip.unused(range(8)), list(range(8)))
        return output

    @inlineCallbacks
    def test_restartKeeps(self):
        """
        A first run (C{--on-exit keep}) switches C{a} (active-high) and
        C{b} (active-low) on and leaves C{c} and C{d} off; it ends and
        leaves the lines as they were.  The second run, with C{--power-on
        keep}, drives no level other than the one each line has (the trace:
        each line driven once, at the level read), reports C{a} and C{b} on
        and C{c} and C{d} off (C{relays}, C{status}), says so in its log,
        and starts C{e} and C{f}, whose lines were inputs (at the level
        that would read as on), off.  Then its relays switch as usual, and
        its SIGTERM with C{--on-exit keep} drives nothing.
        """
        options = self.relayOptions(RELAYS)
        first = spawnEofrelay(self, self.chip, *options, "--on-exit", "keep")
        port = yield first.port
        client = yield connectClient(self, port)
        for message in (b"on a", b"on b"):
            self.assertEqual((yield client.send(message)), b"success")
        levels = {1: 1, 2: 0, 3: 0, 4: 1}
        self.assertEqual(self.chip.levels(*levels), tuple(levels.values()))
        # gpio-sim keeps a released line at its pull: set it to the level
        # driven, while the first run holds the line (nothing changes).
        self.trace.mark("pulls")
        for offset, level in levels.items():
            self.chip.pull(offset, up=bool(level))
        self.assertEqual(self.chip.levels(*levels), tuple(levels.values()))
        yield self.stop(first)
        self.assertEqual(
            [self.driven(offset, "pulls") for offset in levels], [[]] * len(levels)
        )
        self.assertEqual(
            [self.chip.info(offset).direction.name for offset in levels],
            ["OUTPUT"] * len(levels),
        )
        self.assertEqual(self.chip.levels(*levels), tuple(levels.values()))

        # e and f: lines that are inputs, at a level that reads as on.
        self.chip.pull(5, up=True)
        self.chip.pull(6, up=False)
        self.trace.mark("restart")
        second = spawnEofrelay(
            self,
            self.chip,
            *options,
            *("--relay", "e:5", "--relay", "f:6:active-low"),
            *("--power-on", "keep", "--on-exit", "keep"),
        )
        port = yield second.port
        self.assertEqual(
            [self.driven(offset, "restart") for offset in levels],
            [[level] for level in levels.values()],
        )
        self.assertEqual(
            (self.driven(5, "restart"), self.driven(6, "restart")), ([0], [1])
        )
        self.assertEqual(self.chip.levels(1, 2, 3, 4, 5, 6), (1, 0, 0, 1, 0, 1))
        self.assertIn(
            "--power-on keep: relay states read from their pins: a=on b=on c=off "
            "d=off; pins not outputs yet, so starting off: e, f",
            second.output.decode(),
        )
        client = yield connectClient(self, port)
        for message, reply in [
            (b"relays", b"a=on b=on c=off d=off e=off f=off"),
            (b"status b", b"on"),
            (b"status d", b"off"),
        ]:
            self.assertEqual((yield client.send(message)), reply, message)
        self.trace.mark("switch")
        for message in (b"off b", b"on d", b"on e"):
            self.assertEqual((yield client.send(message)), b"success", message)
        self.assertEqual(self.chip.levels(2, 4, 5), (1, 0, 1))
        self.assertEqual(
            [self.driven(offset, "switch") for offset in (1, 2, 3, 4, 5)],
            [[], [1], [], [0], [1]],
        )
        self.trace.mark("second stop")
        output = yield self.stop(second)
        self.assertEqual(
            [self.driven(offset, "second stop") for offset in range(1, 7)], [[]] * 6
        )
        self.assertIn("GPIO pins left as outputs (--on-exit keep)", output)
