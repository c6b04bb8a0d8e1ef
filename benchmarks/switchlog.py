"""
What the switch log costs: one line, as twistd writes it, and a flood.

Run from the repository root::

    python -m benchmarks.switchlog

In-process, with one relay's L{SwitchLog} on a L{Clock}, it measures (best
of five):

  - I{a line}: a switch logged one by one, with twistd's default observer
    (C{textFileLogObserver}, as C{twistd -n} and C{--logfile} use) writing
    to a file; then its parts: making and publishing the event with no
    observer (with eofrelay's L{EventLogger}, and with a plain
    L{Logger} for comparison), Twisted's formatting of the line
    (C{formatEventAsClassicLogText}: the text and its time stamp), and
    the write;
  - I{a filtered line}: the same event dropped by a level filter (the
    C{eofrelay} command's C{--log-level warn}), which formats nothing;
  - I{a flood}: 1,000,000 switches, on and off in turn, 2.5 µs apart on
    the clock (400,000 a second, about what a pipelined flood reaches),
    with the same observer: the lines written, the cost per switch, and a
    check that the lines account for every switch.
"""

from __future__ import annotations

import tempfile
import timeit
from collections.abc import Callable

from twisted.internet.task import Clock
from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    Logger,
    LogLevel,
    LogLevelFilterPredicate,
    LogPublisher,
    formatEventAsClassicLogText,
    textFileLogObserver,
)

from eofrelay.core.logs import SWITCHES, EventLogger
from eofrelay.core.switchlog import SwitchLog

FORMAT = "relay {relay} switched {new} (was {old}) by {peer}: {command}"
PEER = "192.168.1.20:51544"
FLOOD = 1_000_000
#: Seconds between two switches of the flood.
FLOOD_INTERVAL = 2.5e-6


def best(function: Callable[[], object], number: int = 20_000) -> float:
    """
    The best of five runs of C{number} calls of C{function}, in
    microseconds per call.
    """
    runs = timeit.repeat(function, number=number, repeat=5)
    return min(runs) / number * 1e6


def switchLog(observer: ILogObserver) -> tuple[SwitchLog, Clock]:
    """
    A relay's switch log publishing to C{observer}, and its clock.
    """
    clock = Clock()
    log = SwitchLog("pump", clock)
    publisher = LogPublisher(observer)
    log.log = EventLogger(SWITCHES, None, observer=publisher)
    return log, clock


def oneByOne(log: SwitchLog, clock: Clock) -> Callable[[], None]:
    """
    A switch that is logged one by one: each in a period of its own.
    """
    state = [False]

    def switch() -> None:
        old = state[0]
        state[0] = not old
        log.switched(old, not old, PEER, "on" if not old else "off")
        clock.advance(SwitchLog.PERIOD)

    return switch


def main() -> None:
    """
    C{python -m benchmarks.switchlog}.
    """
    with tempfile.TemporaryFile("w+") as logFile:
        log, clock = switchLog(textFileLogObserver(logFile))
        line = best(oneByOne(log, clock))

        nothing, quiet = switchLog(lambda event: None)
        event = best(oneByOne(nothing, quiet))
        publisher = LogPublisher(lambda event: None)
        plain = Logger(SWITCHES, None, observer=publisher)
        fast = EventLogger(SWITCHES, None, observer=publisher)
        fields = dict(relay="pump", old="off", new="on", peer=PEER, command="on")
        plainEvent = best(lambda: plain.info(FORMAT, **fields))
        fastEvent = best(lambda: fast.info(FORMAT, **fields))
        captured: list[dict[str, object]] = []
        EventLogger(SWITCHES, None, observer=captured.append).info(FORMAT, **fields)
        formatting = best(lambda: formatEventAsClassicLogText(captured[0]))
        text = formatEventAsClassicLogText(captured[0]) or ""

        def write() -> None:
            logFile.write(text)
            logFile.flush()

        writing = best(write)

        dropped, dropClock = switchLog(
            FilteringLogObserver(
                textFileLogObserver(logFile),
                [LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)],
            )
        )
        filtered = best(oneByOne(dropped, dropClock))

    print("one switch logged one by one (microseconds per line, best of 5):")
    print(f"  with twistd's default observer, to a file   {line:6.2f}")
    print(f"    the switch log's own work, no observer     {event:6.2f}")
    print(f"      of which the event (EventLogger)         {fastEvent:6.2f}")
    print(f"      the same with a plain twisted Logger     {plainEvent:6.2f}")
    print(f"    Twisted's formatting (text, time stamp)    {formatting:6.2f}")
    print(f"    the write (and flush) of the line          {writing:6.2f}")
    print(f"  dropped by a level filter (--log-level warn) {filtered:6.2f}")
    flood()


def flood() -> None:
    """
    Switch one relay L{FLOOD} times, L{FLOOD_INTERVAL} apart, with
    twistd's default observer; print what was logged and what it cost.
    """
    with tempfile.TemporaryFile("w+") as logFile:
        log, clock = switchLog(textFileLogObserver(logFile))
        started = timeit.default_timer()
        on = False
        for index in range(FLOOD):
            log.switched(on, not on, f"10.0.0.{index % 3}:5000", "toggle")
            on = not on
            clock.advance(FLOOD_INTERVAL)
        log.flushAll(on)
        elapsed = timeit.default_timer() - started
        logFile.seek(0)
        lines = logFile.read().splitlines()
    summaries = [line for line in lines if "more times within" in line]
    accounted = (
        len(lines)
        - len(summaries)
        + sum(int(line.split("switched ", 1)[1].split()[0]) for line in summaries)
    )
    seconds = FLOOD * FLOOD_INTERVAL
    print(
        f"a flood of {FLOOD:,} switches in {seconds:g} s of the clock: "
        f"{len(lines)} lines ({len(summaries)} summaries, "
        f"{len(lines) / seconds:.0f} a second), {elapsed / FLOOD * 1e9:.0f} ns "
        f"per switch; the lines account for {accounted:,} switches"
    )
    if accounted != FLOOD:
        raise SystemExit("the lines do not account for every switch")


if __name__ == "__main__":
    main()
