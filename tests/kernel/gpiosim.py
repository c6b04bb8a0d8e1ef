# -*- test-case-name: tests.kernel -*-
"""
What the kernel tests use of the kernel: simulated GPIO chips, and the
history of the levels gpiolib drives.

A L{SimulatedChip} is a gpio-sim device made through configfs.  sysfs
shows each of its lines' level I{now} (C{sim_gpioN/value}), and gpio-sim
puts a released line back to its pull, so sysfs alone cannot show a level
that lasted an instant, nor what a process did just before it ended.  A
L{GpioTrace} can: it reads the kernel's C{gpio_value} and
C{gpio_direction} trace events through tracefs, which record, in order and
from every process, each level gpiolib drives on a line and each change of
its direction.  The tests write marks into the same trace
(L{GpioTrace.mark}) to say where each step begins.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Optional

from twisted.trial.unittest import SynchronousTestCase

if TYPE_CHECKING:
    from gpiod import LineInfo

#: The environment variable that asks for the kernel tests; C{.ci/kernel-gpio}
#: sets it inside its virtual machine.
ENABLE: Final = "EOFRELAY_KERNEL_TESTS"

CONFIGFS: Final = Path("/sys/kernel/config/gpio-sim")
PLATFORM: Final = Path("/sys/devices/platform")
TRACEFS: Final = Path("/sys/kernel/tracing")

#: Why the kernel tests are skipped where they are not asked for.
SKIP_REASON: Final = (
    "kernel GPIO tests run in the virtual machine of .ci/kernel-gpio, whose "
    "kernel has gpio-sim: run .ci/kernel-gpio (or, as root on a kernel with "
    f"gpio-sim and event tracing, set {ENABLE}=1)"
)

#: The consumer name of lines the tests hold as "another program".
OTHER_PROGRAM: Final = "other-program"

_serial = itertools.count()


def skipReason() -> Optional[str]:
    """
    Why the kernel tests do not run here, or C{None} where they are asked
    for.

    Only C{EOFRELAY_KERNEL_TESTS=1} decides, so that where it is set a
    kernel without gpio-sim or tracing fails the tests instead of skipping
    them.
    """
    if os.environ.get(ENABLE) == "1":
        return None
    return SKIP_REASON


@dataclass(frozen=True)
class Event:
    """
    One event of the trace.

    @ivar kind: C{"set"} (gpiolib drove a level), C{"get"} (it read one),
        C{"out"} or C{"in"} (it made the line an output or an input), or
        C{"mark"} (a test's mark).
    @ivar gpio: The line's global GPIO number; C{-1} for a mark.
    @ivar value: The level set or read; for C{"out"} and C{"in"}, the error
        the driver returned (0: none).  A level set is the physical one; so
        is a level read for one line alone (as gpiolib does for an edge
        event), but a read through the character device's "get values"
        (C{LineRequest.get_value}) is traced as the logical value, after the
        line's active-low setting (Linux 6.12's C{gpiod_get_array_value}).
    @ivar text: A mark's text; C{""} otherwise.
    """

    kind: str
    gpio: int = -1
    value: int = 0
    text: str = ""


# A mark is a "print" event, shown as "tracing_mark_write: TEXT", or, in a
# kernel without symbol names (no CONFIG_KALLSYMS, as .ci/kernel-gpio's),
# with that function's address instead.
_EVENT = re.compile(
    r": (?P<name>gpio_value|gpio_direction|tracing_mark_write|0x[0-9a-f]+): "
    r"(?P<body>.*)$"
)
_VALUE = re.compile(r"(?P<gpio>\d+) +(?P<kind>set|get) (?P<value>-?\d+)$")
_DIRECTION = re.compile(r"(?P<gpio>\d+) +(?P<kind>in|out) \((?P<error>-?\d+)\)$")
_ENTRIES = re.compile(r"^# entries-in-buffer/entries-written: (\d+)/(\d+)")


def parseTrace(text: str) -> list[Event]:
    """
    The events in the text of tracefs's C{trace} file.

    @raise AssertionError: if the buffer lost events (it holds fewer than
        were written), or a GPIO event is not understood.
    """
    events = []
    for line in text.splitlines():
        entries = _ENTRIES.match(line)
        if entries is not None and entries.group(1) != entries.group(2):
            raise AssertionError(f"the trace buffer lost events: {line}")
        match = _EVENT.search(line)
        if match is None:
            continue
        name, body = match.group("name"), match.group("body")
        if name not in ("gpio_value", "gpio_direction"):
            events.append(Event("mark", text=body))
            continue
        parsed = (_VALUE if name == "gpio_value" else _DIRECTION).match(body)
        if parsed is None:
            raise AssertionError(f"unexpected trace line: {line!r}")
        numbers = parsed.groupdict()
        events.append(
            Event(
                parsed.group("kind"),
                int(numbers["gpio"]),
                int(numbers.get("value") or numbers.get("error") or 0),
            )
        )
    return events


def since(events: Sequence[Event], mark: str) -> list[Event]:
    """
    The events after the last mark C{mark}.

    @raise AssertionError: if there is no such mark.
    """
    for index in range(len(events) - 1, -1, -1):
        if events[index] == Event("mark", text=mark):
            return list(events[index + 1 :])
    raise AssertionError(f"no mark {mark!r} in the trace: {events[-10:]}")


class GpioTrace:
    """
    The kernel's GPIO trace events, read through tracefs.

    The trace is the whole kernel's: a test starts it (clearing what was
    there) and reads it back whole.
    """

    EVENTS: Final = ("gpio/gpio_value", "gpio/gpio_direction")

    def __init__(self, root: Path = TRACEFS) -> None:
        self.root = root

    def _write(self, name: str, text: str) -> None:
        with open(self.root / name, "w") as control:
            control.write(text)

    def start(self) -> None:
        """
        Clear the trace buffer and record the GPIO events from now on.

        @raise AssertionError: if the kernel has no GPIO trace events.
        """
        for event in self.EVENTS:
            if not (self.root / "events" / event).is_dir():
                raise AssertionError(
                    f"no trace event {event} in {self.root}: the kernel needs "
                    "CONFIG_FTRACE and CONFIG_ENABLE_DEFAULT_TRACERS, and "
                    "tracefs mounted there"
                )
        self._write("tracing_on", "0")
        # Opening "trace" for writing with truncation clears the buffer.
        self._write("trace", "")
        for event in self.EVENTS:
            self._write(f"events/{event}/enable", "1")
        self._write("tracing_on", "1")

    def stop(self) -> None:
        """
        Stop recording the GPIO events.
        """
        for event in self.EVENTS:
            self._write(f"events/{event}/enable", "0")

    def mark(self, text: str) -> None:
        """
        Write the mark C{text} into the trace, between the events before
        and after it.
        """
        self._write("trace_marker", text)

    def events(self) -> list[Event]:
        """
        Every event recorded since L{start}, in order.
        """
        return parseTrace((self.root / "trace").read_text())


class TracePipe:
    """
    The kernel's C{gpio_value} events as they come, read without blocking
    from the C{trace_pipe} of a trace instance of their own: a file
    descriptor a reactor can watch, so that a test waits for an event
    instead of sleeping.

    Reading a C{trace_pipe} consumes what it reads; the instance has its
    own buffer, so L{GpioTrace} still reads the main trace whole.  Marks
    (L{mark}) go into this instance's buffer, between its events.

    What this is for: when gpiolib queues an edge event of a line requested
    for both edges, it reads the line's level (the event says which edge
    from that level), and that read is a C{get} event here.  Once the
    C{get} of the level a test wrote after its mark has come, the edge
    event is in the request's queue, for the process that holds the line
    to read.
    """

    def __init__(self, root: Path = TRACEFS) -> None:
        self.path = root / "instances" / f"eofrelay-{os.getpid()}-{next(_serial)}"
        self._partial = b""
        self._fd = -1
        self.path.mkdir()
        try:
            (self.path / "events" / "gpio" / "gpio_value" / "enable").write_text("1")
            self._fd = os.open(self.path / "trace_pipe", os.O_RDONLY | os.O_NONBLOCK)
        except BaseException:
            self.close()
            raise

    def fileno(self) -> int:
        """
        The C{trace_pipe}'s descriptor, readable when events have come.
        """
        return self._fd

    def mark(self, text: str) -> None:
        """
        Write the mark C{text} into this instance's buffer.
        """
        (self.path / "trace_marker").write_text(text)

    def read(self) -> list[Event]:
        """
        The events that have come since the last call, without waiting.
        """
        chunks = [self._partial]
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            if not data:
                break
            chunks.append(data)
        # A line not yet complete is kept for the next call.
        complete, _, self._partial = b"".join(chunks).rpartition(b"\n")
        return parseTrace(complete.decode())

    def close(self) -> None:
        """
        Close the pipe and remove the instance.
        """
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self.path.is_dir():
            self.path.rmdir()


class SimulatedChip:
    """
    A gpio-sim device with one bank of lines, live from its creation until
    L{remove}.

    Its lines start as inputs pulled down (gpio-sim's default), so that
    their level is 0 until something drives them; a released line goes back
    to its pull.

    @ivar path: The chip's character device, C{/dev/gpiochipN}.
    @ivar lines: How many lines it has.
    @ivar base: The global GPIO number of its line 0, which the trace uses;
        found by L{calibrate}.
    """

    def __init__(self, lines: int = 8, label: str = "eofrelay-sim") -> None:
        self.lines = lines
        self.base = -1
        self._device = CONFIGFS / f"eofrelay-{os.getpid()}-{next(_serial)}"
        self._bank = self._device / "gpio-bank0"
        try:
            self._device.mkdir()
            self._bank.mkdir()
            (self._bank / "num_lines").write_text(str(lines))
            (self._bank / "label").write_text(label)
            (self._device / "live").write_text("1")
        except BaseException:
            self.remove()
            raise
        name = (self._bank / "chip_name").read_text().strip()
        self.path = f"/dev/{name}"
        device = (self._device / "dev_name").read_text().strip()
        self._sysfs = PLATFORM / device / name

    def remove(self) -> None:
        """
        Take the device down and remove it; nothing is left in configfs.
        """
        live = self._device / "live"
        if live.exists() and live.read_text().strip() == "1":
            live.write_text("0")
        for directory in (self._bank, self._device):
            if directory.exists():
                directory.rmdir()

    def calibrate(self, trace: GpioTrace) -> None:
        """
        Find L{base}: request line 0 as an output, through libgpiod, and
        find the line's number in the trace; then release it.

        @raise AssertionError: if the trace does not show the request.
        """
        import gpiod
        from gpiod.line import Direction, Value

        mark = f"calibrate {self.path}"
        trace.mark(mark)
        settings = gpiod.LineSettings(
            direction=Direction.OUTPUT, output_value=Value.ACTIVE
        )
        gpiod.request_lines(
            self.path, consumer="calibration", config={0: settings}
        ).release()
        outputs = [
            event.gpio for event in since(trace.events(), mark) if event.kind == "out"
        ]
        if len(outputs) != 1:
            raise AssertionError(
                f"the trace shows {len(outputs)} outputs for one request: it "
                "does not record gpiolib's calls"
            )
        self.base = outputs[0]

    def gpio(self, offset: int) -> int:
        """
        The global GPIO number of line C{offset}, as the trace names it.
        """
        assert self.base >= 0, "not calibrated"
        return self.base + offset

    def _line(self, offset: int) -> Path:
        return self._sysfs / f"sim_gpio{offset}"

    def level(self, offset: int) -> int:
        """
        The level of line C{offset} now: driven, or else its pull.
        """
        return int((self._line(offset) / "value").read_text())

    def levels(self, *offsets: int) -> tuple[int, ...]:
        """
        The levels of lines C{offsets} now.
        """
        return tuple(self.level(offset) for offset in offsets)

    def pull(self, offset: int, up: bool) -> None:
        """
        Pull line C{offset} up or down: its level while no one drives it.
        """
        (self._line(offset) / "pull").write_text("pull-up" if up else "pull-down")

    def info(self, offset: int) -> LineInfo:
        """
        What the kernel says of line C{offset}: whether it is used, by which
        consumer, its direction and active-low setting.
        """
        import gpiod

        with gpiod.Chip(self.path) as chip:
            return chip.get_line_info(offset)

    def unused(self, offsets: Iterable[int]) -> list[int]:
        """
        Those of C{offsets} that no one holds.
        """
        return [offset for offset in offsets if not self.info(offset).used]


def traced(test: SynchronousTestCase) -> GpioTrace:
    """
    Start the GPIO trace for C{test}, stopped when it ends.
    """
    trace = GpioTrace()
    trace.start()
    test.addCleanup(trace.stop)
    return trace


def simulatedChip(
    test: SynchronousTestCase,
    trace: GpioTrace,
    lines: int = 8,
    label: str = "eofrelay-sim",
) -> SimulatedChip:
    """
    A calibrated L{SimulatedChip} for C{test}, removed when it ends.
    """
    chip = SimulatedChip(lines, label)
    test.addCleanup(chip.remove)
    chip.calibrate(trace)
    return chip
