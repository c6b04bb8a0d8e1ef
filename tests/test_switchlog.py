"""
Tests for L{eofrelay.core.switchlog}: the audit trail of one relay.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.core.relay import RelayState
from eofrelay.core.switchlog import SwitchLog
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
