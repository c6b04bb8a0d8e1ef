"""
Tests for L{eofrelay.tcp.tlsfailures}.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.tcp.tlsfailures import TLSFailureLog, tlsReason


class OpenSSLLikeError(Exception):
    """
    Carries its reasons as OpenSSL's C{SSL.Error} does: a list of
    (library, function, reason) tuples.
    """


def failure(reason: str = "wrong version number") -> Failure:
    return Failure(OpenSSLLikeError([("SSL routines", "", reason)]))


class TLSFailureLogTests(SynchronousTestCase):
    """
    Tests for L{TLSFailureLog}.
    """

    def test_rateLimited(self) -> None:
        """
        The first failure is logged at once; the next ones in the same
        interval in one line at its end, naming the latest; a quiet interval
        ends the limit.
        """
        clock = Clock()
        failures = TLSFailureLog(clock)
        with capturedLogs() as events:
            failures.failed("127.0.0.1:1", failure())
            for port in range(2, 752):
                failures.failed(f"127.0.0.1:{port}", failure("http request"))
            self.assertEqual(len(events), 1)
            clock.advance(TLSFailureLog.INTERVAL)
            clock.advance(TLSFailureLog.INTERVAL)
            failures.failed("127.0.0.1:9", failure())
        self.assertEqual(
            [formatEvent(event) for event in events],
            [
                "TLS failed for 127.0.0.1:1: wrong version number",
                "TLS failed for 750 more connections in 60 seconds "
                "(the latest from 127.0.0.1:751: http request)",
                "TLS failed for 127.0.0.1:9: wrong version number",
            ],
        )
        self.assertEqual(failures.count, 752)

    def test_stop(self) -> None:
        """
        Stopping logs what is not logged yet and leaves no timer.
        """
        clock = Clock()
        failures = TLSFailureLog(clock)
        with capturedLogs() as events:
            failures.failed("a", failure())
            failures.failed("b", failure())
            failures.stop()
        self.assertEqual(len(events), 2)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_reason(self) -> None:
        """
        OpenSSL's reasons are given in its words; any other error by its
        message.
        """
        self.assertEqual(
            tlsReason(failure("certificate unknown")), "certificate unknown"
        )
        self.assertEqual(tlsReason(Failure(ValueError("odd"))), "odd")
