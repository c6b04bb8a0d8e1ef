"""
Tests for L{eofrelay.wiring.hangup}.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.wiring.hangup import StopOnHangUp


class FakeReactor:
    """
    What L{StopOnHangUp} uses of a reactor, recording.
    """

    def __init__(self, running: bool) -> None:
        self.running = running
        self.calls: list[Callable[[], object]] = []
        self.stopped = 0

    def callFromThread(self, function: Callable[[], object]) -> None:
        self.calls.append(function)

    def stop(self) -> None:
        self.stopped += 1


class StopOnHangUpTests(SynchronousTestCase):
    """
    Tests for L{StopOnHangUp}.
    """

    def setUp(self) -> None:
        saved = {n: signal.getsignal(n) for n in (signal.SIGHUP, signal.SIGTERM)}
        self.addCleanup(lambda: [signal.signal(n, h) for n, h in saved.items()])

    def test_beforeTheReactorRuns(self) -> None:
        """
        Installed before the reactor runs, SIGTERM (as SIGHUP) stops the
        reactor once it runs, and it ends by that signal, instead of the
        process ending at once without its exit policy.
        """
        before = signal.getsignal(signal.SIGTERM)
        reactor = FakeReactor(running=False)
        stopping = StopOnHangUp(reactor)
        stopping.install()
        with capturedLogs() as events:
            os.kill(os.getpid(), signal.SIGTERM)
        self.assertEqual(
            [formatEvent(event) for event in events],
            ["Received SIGTERM, shutting down."],
        )
        self.assertEqual(reactor._exitSignal, signal.SIGTERM)  # type: ignore[attr-defined]
        [stop] = reactor.calls
        stop()
        self.assertEqual(reactor.stopped, 1)
        stopping.uninstall()
        self.assertEqual(signal.getsignal(signal.SIGTERM), before)

    def test_running(self) -> None:
        """
        With the reactor running, SIGTERM stays the reactor's; SIGHUP is
        handled.
        """
        before = signal.getsignal(signal.SIGTERM)
        stopping = StopOnHangUp(FakeReactor(running=True))
        stopping.install()
        self.assertEqual(signal.getsignal(signal.SIGTERM), before)
        self.assertNotEqual(signal.getsignal(signal.SIGHUP), signal.SIG_DFL)
        stopping.uninstall()
