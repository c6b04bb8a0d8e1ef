"""
Push buttons against the kernel: a real C{twistd -n eofrelay --gpio gpiod
--button ...} on a gpio-sim chip, its buttons pressed through gpio-sim's
C{pull} attribute, each press checked on the relay's line (sysfs), in the
trace of the levels driven, and as an C{event:} on a TCP watcher.

A button wired to ground is an input pulled up (by the request's bias:
gpio-sim then shows the line at 1): pressing it pulls the line down,
releasing it lets it back up; gpio-sim makes those changes with the
line's C{pull} attribute (C{pull-down}, then C{pull-up}), and they reach
the service as edge events, as a real contact's do.  A button wired to
3.3 V (C{:active-high}) is the other way round.

The service runs in a real process, in real time.  Every step waits for
something to happen, with a bound (L{WAIT}): an edge event queued by the
kernel (L{KernelReads}), an C{event:} on the watcher, a reply.  The only
sleeps make bounces (L{BOUNCE}).
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from twisted.internet import defer, reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.error import ProcessTerminated
from twisted.internet.interfaces import IReactorFDSet, IReadDescriptor
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from eofrelay.gpio.libgpiod import CONSUMER
from tests.kernel.gpiosim import (
    Event,
    GpioTrace,
    TracePipe,
    simulatedChip,
    since,
    skipReason,
    traced,
)
from tests.kernel.test_twistd import Client, connectClient, spawnEofrelay
from tests.test_plugin import Twistd

#: The relays' lines, and the buttons'.
R, S, BUTTON_R, BUTTON_S = 1, 2, 3, 4

#: The longest wait for anything, in seconds (Python is slow in a virtual
#: machine without KVM).
WAIT: Final = 60.0

#: Seconds between the flips of a bounce.  A bounce is several edges
#: within a few milliseconds; each flip waits this long after the one
#: before so that the kernel has handled that one as an edge of its own
#: (it reads the line's level for each edge, in a thread: a flip made
#: before that thread ran would give two events of one level, and no
#: bounce).  It makes edges; it waits for nothing.
BOUNCE: Final = 0.002

#: The debounce of the test of bounces, in milliseconds: far longer than a
#: bounce (5 flips, 10 ms and what the virtual machine adds), so that the
#: service sees every bounce within one debounce interval.
DEBOUNCE_MS: Final = 500

_marks = itertools.count()


def timed(waiting: Deferred[Any], what: str | Callable[[], str]) -> Deferred[Any]:
    """
    C{waiting}, failed with a message saying C{what} (or what C{what}
    returns then) did not happen if it has not fired within L{WAIT}
    seconds.
    """

    def timedOut(failure: Failure) -> Failure:
        failure.trap(defer.TimeoutError)
        raise AssertionError(
            f"no {what if isinstance(what, str) else what()} within {WAIT} s"
        )

    waiting.addTimeout(WAIT, reactor)
    return waiting.addErrback(timedOut)


@implementer(IReadDescriptor)
class KernelReads:
    """
    The levels the kernel reads from lines, as it queues their edge
    events, from a L{TracePipe} that the reactor watches.
    """

    def __init__(self, pipe: TracePipe) -> None:
        self.pipe = pipe
        self.events: list[Event] = []
        self._waiters: list[tuple[str, int, int, Deferred[None]]] = []

    def fileno(self) -> int:
        return self.pipe.fileno()

    def doRead(self) -> None:
        self.events.extend(self.pipe.read())
        waiting, self._waiters = self._waiters, []
        for mark, gpio, level, waiter in waiting:
            if self._seen(mark, gpio, level):
                waiter.callback(None)
            else:
                self._waiters.append((mark, gpio, level, waiter))

    def _seen(self, mark: str, gpio: int, level: int) -> bool:
        if Event("mark", text=mark) not in self.events:
            return False
        return Event("get", gpio, level) in since(self.events, mark)

    def read(self, mark: str, gpio: int, level: int) -> Deferred[None]:
        """
        Fires once the kernel has read C{level} on line C{gpio} (the global
        number) after the mark C{mark}.
        """
        waiter: Deferred[None] = Deferred()
        self._waiters.append((mark, gpio, level, waiter))
        return waiter

    def connectionLost(self, reason: Failure) -> None:
        pass

    def logPrefix(self) -> str:
        return "trace_pipe"


class Watcher(Client):
    """
    A L{Client} that can wait for its number of events.
    """

    def __init__(self) -> None:
        super().__init__()
        self.counted: list[tuple[int, Deferred[None]]] = []

    def _fireEvents(self) -> None:
        super()._fireEvents()
        waiting, self.counted = self.counted, []
        for count, waiter in waiting:
            if len(self.events) >= count:
                waiter.callback(None)
            else:
                self.counted.append((count, waiter))

    def eventCount(self, count: int) -> Deferred[None]:
        """
        Fires once C{count} events have arrived.
        """
        waiter: Deferred[None] = Deferred()
        self.counted.append((count, waiter))
        self._fireEvents()
        return timed(waiter, lambda: f"{count} events (got {self.events})")


class ButtonTests(TestCase):
    """
    C{twistd -n eofrelay --gpio gpiod --relay r:1 --relay s:2} with buttons
    on lines 3 and 4 of a simulated chip.
    """

    skip = skipReason()
    # Python starts slowly in a virtual machine without KVM.
    timeout = 300

    def setUp(self) -> None:
        self.trace: GpioTrace = traced(self)
        self.chip = simulatedChip(self, self.trace)
        pipe = TracePipe()
        self.addCleanup(pipe.close)
        self.reads = KernelReads(pipe)
        fds: IReactorFDSet = reactor
        fds.addReader(self.reads)
        self.addCleanup(fds.removeReader, self.reads)

    @inlineCallbacks
    def started(self, *options: str):
        """
        Start the service with C{options}, and a watcher on it.

        @return: The process and the watcher, which has sent C{watch}.
        """
        self.trace.mark("start")
        process = spawnEofrelay(
            self, self.chip, "--relay", f"r:{R}", "--relay", f"s:{S}", *options
        )
        port = yield timed(process.port, "start")
        watcher = yield connectClient(self, port, Watcher())
        self.assertEqual((yield watcher.send(b"watch")), b"success")
        return process, watcher

    def flip(self, offset: int, ups: Sequence[bool]) -> Deferred[None]:
        """
        Pull line C{offset} up or down, as each of C{ups} says in turn,
        L{BOUNCE} apart.

        @return: Fires once the kernel has queued the edge event of the
            last flip, for the service to read.
        """
        assert ups, "no flip"
        mark = f"flip {next(_marks)}"
        for index, up in enumerate(ups):
            if index:
                time.sleep(BOUNCE)
            if index == len(ups) - 1:
                self.reads.pipe.mark(mark)
            self.chip.pull(offset, up)
        waiting = self.reads.read(mark, self.chip.gpio(offset), int(ups[-1]))
        return timed(waiting, f"edge event of line {offset} at {int(ups[-1])}")

    @inlineCallbacks
    def settled(self, watcher: Watcher):
        """
        Wait until the service has handled every edge event the kernel
        queued before: the reply to a second command sent after them (it
        reads the first in the same round of its reactor as those events,
        at the latest, and the second after that round); every C{event:}
        of the changes they made has come before.

        @return: The reply to C{relays}.
        """
        yield timed(watcher.send(b"ping"), "reply to ping")
        reply = yield timed(watcher.send(b"relays"), "reply to relays")
        return reply

    def driven(self, offset: int, mark: str) -> list[int]:
        """
        The levels driven on line C{offset} since C{mark}, in order.
        """
        gpio = self.chip.gpio(offset)
        return [
            event.value
            for event in since(self.trace.events(), mark)
            if event.kind == "set" and event.gpio == gpio
        ]

    @inlineCallbacks
    def stopped(self, process: Twistd):
        """
        SIGTERM: the process ends by it, without a traceback, having freed
        every line.

        @return: Its output.
        """
        os.kill(int(process.transport.pid), signal.SIGTERM)  # type: ignore[union-attr]
        reason = yield timed(process.ended, "end of the process")
        output = process.output.decode()
        self.assertIsInstance(reason, ProcessTerminated, output)
        self.assertEqual(reason.signal, signal.SIGTERM, output)
        self.assertNotIn("Traceback", output)
        self.assertEqual(self.chip.unused(range(8)), list(range(8)))
        return output

    @inlineCallbacks
    def test_pressesToggle(self):
        """
        Each press toggles its relay once, at once, and its release does
        nothing: for a button to ground (C{--button r:3}: the line requested
        as an input with its pull-up, active-low, both edges) and one to
        3.3 V (C{--button s:4:active-high}: pull-down, active-high).  After
        each press the relay's line shows the new state, the watcher gets
        C{event: NAME on} or C{off}, and the trace shows that one level
        driven; the log names the button as the peer.
        """
        process, watcher = yield self.started(
            *("--button", f"r:{BUTTON_R}", "--button", f"s:{BUTTON_S}:active-high"),
            *("--button-debounce", "0"),
        )
        self.assertIn(
            f"buttons: GPIO {BUTTON_R} toggles r (wired to ground, pull-up), "
            f"GPIO {BUTTON_S} toggles s (wired to 3.3 V, pull-down)",
            process.output.decode(),
        )
        for offset, activeLow, bias in (
            (BUTTON_R, True, "PULL_UP"),
            (BUTTON_S, False, "PULL_DOWN"),
        ):
            info = self.chip.info(offset)
            self.assertEqual(
                (
                    info.consumer,
                    info.direction.name,
                    info.active_low,
                    info.bias.name,
                    info.edge_detection.name,
                ),
                (CONSUMER, "INPUT", activeLow, bias, "BOTH"),
                f"line {offset}",
            )
        # Released: the bias holds each button's line at its level.
        self.assertEqual(self.chip.levels(R, S, BUTTON_R, BUTTON_S), (0, 0, 1, 0))
        steps = [
            # the button's line, pulled up to press it, the relay's line
            # and its level after the press, the event
            (BUTTON_R, False, R, 1, b"event: r on"),
            (BUTTON_R, False, R, 0, b"event: r off"),
            (BUTTON_R, False, R, 1, b"event: r on"),
            (BUTTON_S, True, S, 1, b"event: s on"),
            (BUTTON_S, True, S, 0, b"event: s off"),
        ]
        for count, (button, pressUp, relay, level, event) in enumerate(steps, 1):
            yield self.flip(button, [pressUp])
            yield watcher.eventCount(count)
            self.assertEqual(watcher.events[-1], event)
            self.assertEqual(self.chip.level(relay), level, event)
            yield self.flip(button, [not pressUp])
            yield self.settled(watcher)
            self.assertEqual(len(watcher.events), count, watcher.events)
            self.assertEqual(self.chip.level(relay), level, event)
        self.assertEqual(watcher.events, [step[-1] for step in steps])
        self.assertEqual((yield watcher.send(b"relays")), b"r=on s=off")
        self.assertEqual(
            (self.driven(R, "start"), self.driven(S, "start")),
            ([0, 1, 0, 1], [0, 1, 0]),
        )
        output = yield self.stopped(process)
        self.assertIn(
            f"relay r switched on (was off) by button:{BUTTON_R}: toggle", output
        )
        self.assertIn(
            f"relay s switched off (was on) by button:{BUTTON_S}: toggle", output
        )

    @inlineCallbacks
    def test_bouncesReachTheService(self):
        """
        The control of L{test_bouncesDebounced}: without debouncing
        (C{--button-debounce 0}), the same bouncing press (five flips, 2 ms
        apart) reaches the service as five edges, three of them presses:
        three toggles.  So one toggle there is the debouncing's doing, not
        the kernel's or gpio-sim's.
        """
        process, watcher = yield self.started(
            "--button", f"r:{BUTTON_R}", "--button-debounce", "0"
        )
        self.trace.mark("bounce")
        yield self.flip(BUTTON_R, [False, True, False, True, False])
        self.assertEqual((yield self.settled(watcher)), b"r=on s=off")
        self.assertEqual(
            watcher.events, [b"event: r on", b"event: r off", b"event: r on"]
        )
        self.assertEqual(self.driven(R, "bounce"), [1, 0, 1])
        self.assertEqual(self.chip.level(R), 1)
        yield self.stopped(process)

    @inlineCallbacks
    def test_bouncesDebounced(self):
        """
        With C{--button-debounce 500}, a press that bounces (five flips
        within 10 ms, ending pressed) toggles the relay once, at once; its
        release, bouncing too, toggles nothing; the next bouncing press,
        once 500 ms have passed on the service's clock, toggles it once
        more.  The relay's line and the watcher show exactly those two
        toggles.
        """
        process, watcher = yield self.started(
            *("--button", f"r:{BUTTON_R}", "--button-debounce", str(DEBOUNCE_MS))
        )
        pressed = [False, True, False, True, False]
        released = [True, False, True, False, True]
        self.trace.mark("bounce")
        yield self.flip(BUTTON_R, pressed)
        yield watcher.eventCount(1)
        self.assertEqual((yield self.settled(watcher)), b"r=on s=off")
        self.assertEqual(watcher.events, [b"event: r on"])
        self.assertEqual((self.chip.level(R), self.driven(R, "bounce")), (1, [1]))

        yield self.flip(BUTTON_R, released)
        self.assertEqual((yield self.settled(watcher)), b"r=on s=off")
        self.assertEqual(watcher.events, [b"event: r on"])
        self.assertEqual((self.chip.level(R), self.driven(R, "bounce")), (1, [1]))

        # Wait for the debounce interval of the press to end, on the
        # service's clock: a pulse of s, started after the press was
        # accepted and longer than that interval, ends after it.
        self.assertEqual(
            (yield watcher.send(f"pulse s {DEBOUNCE_MS + 100}".encode())), b"success"
        )
        yield watcher.eventCount(3)
        self.assertEqual(watcher.events[1:], [b"event: s on", b"event: s off"])
        yield self.flip(BUTTON_R, pressed)
        yield watcher.eventCount(4)
        self.assertEqual((yield self.settled(watcher)), b"r=off s=off")
        self.assertEqual(watcher.events[3:], [b"event: r off"])
        self.assertEqual((self.chip.level(R), self.driven(R, "bounce")), (0, [1, 0]))
        yield self.stopped(process)
