"""
Tests for L{eofrelay.core.switchlog}: the audit trail of one relay.
"""

from __future__ import annotations

from typing import cast

from twisted.internet.task import Clock
from twisted.logger import (
    ILogObserver,
    LogEvent,
    Logger,
    LogLevel,
    LogPublisher,
    capturedLogs,
)
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.logs import EventLogger
from eofrelay.core.relay import RelayState
from eofrelay.core.switchlog import PeerCounts, SwitchLog, stateName
from eofrelay.testing import MemoryRelay


class SwitchLogTests(SynchronousTestCase):
    """
    Tests for L{SwitchLog}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.log = SwitchLog("pump", self.clock)

    def lines(self, *switches: tuple[bool, bool, str]) -> list[str]:
        with capturedLogs() as events:
            for old, new, command in switches:
                self.log.switched(old, new, "peer", command)
            self.log.flush(True)
        return [event["log_format"].format(**event) for event in events]

    def test_everyChange(self) -> None:
        """
        Every change is one line with the relay, the states, peer and
        command, in the namespace operators filter on.
        """
        with capturedLogs() as events:
            self.log.switched(False, True, "10.0.0.1:5", "on")
        self.assertEqual(
            events[0]["log_format"].format(**events[0]),
            "relay pump switched on (was off) by 10.0.0.1:5: on",
        )
        self.assertEqual(events[0]["log_namespace"], "eofrelay.state.RelayState")

    def test_source(self) -> None:
        """
        A relay's switch log names the relay's state as the events' source,
        as it always has.
        """
        relay = RelayState(MemoryRelay("pump"), clock=self.clock)
        with capturedLogs() as events:
            relay.switch(True, "peer", "on")
        self.assertIs(events[0]["log_source"], relay)

    def test_burst(self) -> None:
        """
        Repeats that change nothing within L{SwitchLog.SUMMARY_PERIOD} are
        counted and summed up in one line.
        """
        self.assertEqual(
            self.lines((True, True, "on"), (True, True, "on"), (True, True, "on all")),
            [
                "relay pump switched on (was on) by peer: on",
                "relay pump driven 2 more times without changing (stays on)",
            ],
        )

    def test_uncertain(self) -> None:
        """
        A switch from a state that was not known for sure is always logged.
        """
        with capturedLogs() as events:
            self.log.switched(True, True, "peer", "on")
            self.log.switched(True, True, "peer", "on", certain=False)
        self.assertEqual(len(events), 2)

    def test_failed(self) -> None:
        """
        A hardware failure is logged with its cause.
        """
        with capturedLogs() as events:
            try:
                raise OSError("gone")
            except OSError:
                self.log.failed(Failure(), False, True, "peer", "on")
        self.assertIn(
            "hardware failure switching on", events[0]["log_format"].format(**events[0])
        )
        self.assertIsInstance(events[0]["log_failure"].value, OSError)
        self.assertEqual(events[0]["log_namespace"], "eofrelay.state.RelayState")
        self.flushLoggedErrors(OSError)


class FloodTests(SynchronousTestCase):
    """
    Tests for what L{SwitchLog} logs of more switches than
    L{SwitchLog.LINES_PER_PERIOD} a period.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.log = SwitchLog("pump", self.clock)

    def flood(self, count: int, interval: float, peers: int = 1) -> list[str]:
        """
        Switch C{count} times, on and off in turn, C{interval} seconds
        apart, the peers C{p0}, C{p1}... taking turns, and the lines
        logged meanwhile and by L{SwitchLog.flushAll}.
        """
        with capturedLogs() as events:
            for index in range(count):
                on = index % 2 == 0
                self.log.switched(not on, on, f"p{index % peers}", stateName(on))
                self.clock.advance(interval)
            self.log.flushAll(count % 2 == 1)
        return [event["log_format"].format(**event) for event in events]

    def test_sustainedRate(self) -> None:
        """
        Ten changes a second, for a minute, are each logged one by one, and
        nothing is left scheduled.
        """
        lines = self.flood(600, 0.1)
        self.assertEqual(len(lines), 600)
        self.assertTrue(all(" switched " in line for line in lines))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_limit(self) -> None:
        """
        L{SwitchLog.LINES_PER_PERIOD} switches a period are logged one by
        one, the period's further ones summed up at its end with their
        count, their peers and the state they left the relay in.
        """
        limit = SwitchLog.LINES_PER_PERIOD
        with capturedLogs() as events:
            for index in range(limit + 30):
                on = index % 2 == 0
                self.log.switched(not on, on, f"p{index % 2}", stateName(on))
            self.clock.advance(0.5)
            self.assertEqual(len(events), limit)
            self.clock.advance(0.5)
        lines = [event["log_format"].format(**event) for event in events]
        self.assertEqual(
            lines[limit - 1], "relay pump switched off (was on) by p1: off"
        )
        self.assertEqual(
            lines[limit:],
            [
                "relay pump switched 30 more times within 1 s, not logged one "
                "by one, by p0 (15), p1 (15); left off"
            ],
        )
        self.assertEqual(events[limit]["count"], 30)
        self.assertEqual(events[limit]["peers"], {"p0": 15, "p1": 15})
        self.assertEqual(events[limit]["state"], "off")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_flood(self) -> None:
        """
        Under a sustained flood every period logs its first
        L{SwitchLog.LINES_PER_PERIOD} switches and one summary, and the
        lines account for every switch.
        """
        lines = self.flood(10_000, 0.001, peers=3)
        summaries = [line for line in lines if "more times within" in line]
        self.assertEqual(len(summaries), 10)
        self.assertEqual(len(lines), 10 * (SwitchLog.LINES_PER_PERIOD + 1))
        counted = sum(int(line.split()[3]) for line in summaries)
        self.assertEqual(counted + len(lines) - len(summaries), 10_000)

    def test_peers(self) -> None:
        """
        A summary names the peers that switched most first, at most
        L{PeerCounts.SHOWN} of them, and counts the others.
        """
        peers = PeerCounts({"a": 1, "b": 7, "c": 3, "d": 3, "e": 2, "f": 1, "g": 1})
        self.assertEqual(
            str(peers), "b (7), c (3), d (3), e (2), a (1), 2 other peers (2)"
        )

    def test_summaryNotFormattedUnlessObserved(self) -> None:
        """
        The peers of a summary are formatted only by an observer that
        formats the line.
        """
        for index in range(SwitchLog.LINES_PER_PERIOD + 3):
            on = index % 2 == 0
            self.log.switched(not on, on, "p", stateName(on))
        with capturedLogs() as events:
            self.log.flushAll(True)
        self.assertIsInstance(events[0]["peers"], PeerCounts)

    def test_flushAll(self) -> None:
        """
        L{SwitchLog.flushAll} logs what is held back, cancels the summary's
        timer and starts afresh: the next switch is logged one by one.
        """
        self.flood(SwitchLog.LINES_PER_PERIOD + 5, 0.0)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        with capturedLogs() as events:
            self.log.switched(False, True, "shutdown", "on-exit off")
        self.assertEqual(len(events), 1)

    def test_uncertainLogged(self) -> None:
        """
        A switch from an uncertain state is logged beyond the period's
        lines too.
        """
        for index in range(SwitchLog.LINES_PER_PERIOD):
            self.log.switched(index % 2 == 1, index % 2 == 0, "p", "on")
        with capturedLogs() as events:
            self.log.switched(True, False, "p", "off", certain=False)
        self.assertEqual(len(events), 1)


class EventLoggerTests(SynchronousTestCase):
    """
    Tests for L{EventLogger}, the switch log's logger.
    """

    def test_sameEvents(self) -> None:
        """
        Its events have the keys and values a plain L{Logger}'s have.
        """
        source = object()
        events: list[LogEvent] = []
        observer = LogPublisher(cast(ILogObserver, events.append))
        for logger in (
            Logger("a.b", source, observer=observer),
            EventLogger("a.b", source, observer=observer),
        ):
            logger.info("x {y}", y=1)
        plain, fast = events
        self.assertEqual(set(plain), set(fast))
        for key in plain:
            if key not in ("log_logger", "log_time"):
                self.assertEqual(plain[key], fast[key], key)
        self.assertIsInstance(fast["log_logger"], EventLogger)
        self.assertEqual(fast["log_level"], LogLevel.info)

    def test_trace(self) -> None:
        """
        An event with C{log_trace} records the logger and its observer, as
        with a plain L{Logger}.
        """
        events: list[LogEvent] = []
        observer = LogPublisher(cast(ILogObserver, events.append))
        logger = EventLogger("a.b", observer=observer)
        trace: list[object] = []
        logger.warn("x", log_trace=trace)
        self.assertEqual(trace[0], (logger, observer))


class FloodEdgeTests(SynchronousTestCase):
    """
    What L{SwitchLog} logs where a flood meets repeats, uncertainty and a
    clock set back.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.log = SwitchLog("pump", self.clock)

    def fill(self) -> None:
        """
        Log the period's L{SwitchLog.LINES_PER_PERIOD} lines, ending off.
        """
        for index in range(SwitchLog.LINES_PER_PERIOD):
            on = index % 2 == 0
            self.log.switched(not on, on, "p", stateName(on))

    def test_repeatsBeforeHeld(self) -> None:
        """
        Repeats counted when the period's lines run out are logged, with the
        state they left the relay in, before the summary of the switches
        held back after them.
        """
        with capturedLogs() as events:
            for index in range(SwitchLog.LINES_PER_PERIOD - 1):
                on = index % 2 == 0
                self.log.switched(not on, on, "p", stateName(on))
            self.log.switched(True, True, "a", "on")
            for _ in range(5):
                self.log.switched(True, True, "a", "on")
            self.log.switched(True, False, "b", "off")
            self.log.switched(False, False, "b", "off")
            self.clock.advance(SwitchLog.PERIOD)
        lines = [event["log_format"].format(**event) for event in events]
        self.assertEqual(
            lines[-2:],
            [
                "relay pump driven 5 more times without changing (stays on)",
                "relay pump switched 2 more times within 1 s, not logged one by "
                "one, by b (2); left off",
            ],
        )

    def test_uncertainAfterHeld(self) -> None:
        """
        A switch from an uncertain state while switches are held back comes
        after their summary.
        """
        self.fill()
        with capturedLogs() as events:
            self.log.switched(False, True, "p", "on")
            self.log.switched(True, False, "p", "off", certain=False)
        lines = [event["log_format"].format(**event) for event in events]
        self.assertEqual(
            lines,
            [
                "relay pump switched 1 more times within 1 s, not logged one by "
                "one, by p (1); left on",
                "relay pump switched off (was on) by p: off",
            ],
        )
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_clockSetBack(self) -> None:
        """
        A clock set back does not put the summary off: a new period starts.
        """
        self.clock.advance(3600)
        self.fill()
        self.clock.rightNow -= 1800
        with capturedLogs() as events:
            self.log.switched(False, True, "p", "on")
        self.assertEqual(len(events), 1)
        self.fill()
        self.log.switched(False, True, "p", "on")
        [call] = self.clock.getDelayedCalls()
        self.assertLessEqual(call.getTime() - self.clock.seconds(), SwitchLog.PERIOD)
