# -*- test-case-name: tests.test_tlsfailures -*-
"""
The log of connections whose TLS failed, at a bounded rate.
"""

from __future__ import annotations

from typing import Optional

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

from eofrelay.core.logs import CONNECTIONS, NamedLogger


def tlsReason(reason: Failure) -> str:
    """
    What went wrong, in OpenSSL's words where it gives some (C{wrong
    version number}, C{certificate unknown}), without its tuples.
    """
    arguments = getattr(reason.value, "args", ())
    details = arguments[0] if arguments else None
    if isinstance(details, list):
        words = [str(entry[-1]) for entry in details if isinstance(entry, tuple)]
        if words and all(words):
            return "; ".join(words)
    return reason.getErrorMessage()


class TLSFailureLog:
    """
    Logs the connections whose TLS failed (a handshake with a certificate
    the peer refuses, a scanner speaking plain text to a TLS port): the
    first at once, then at most one line per L{INTERVAL} saying how many
    more failed and the latest's peer and reason, so that hostile peers
    are seen without growing the log one line each.

    @cvar INTERVAL: Seconds between two lines.
    @ivar count: Every failure since the start, for the metrics.
    """

    log = NamedLogger(CONNECTIONS)
    INTERVAL = 60.0

    def __init__(self, clock: IReactorTime) -> None:
        self.clock = clock
        self.count = 0
        self._unlogged = 0
        self._latest = ("", "")
        self._timer: Optional[IDelayedCall] = None

    def failed(self, peer: str, reason: Failure) -> None:
        """
        The TLS of the connection from C{peer} failed for C{reason}.
        """
        self.count += 1
        if self._timer is None:
            self.log.warn(
                "TLS failed for {peer}: {reason}", peer=peer, reason=tlsReason(reason)
            )
            self._timer = self.clock.callLater(self.INTERVAL, self._summarise)
            return
        self._unlogged += 1
        self._latest = (peer, tlsReason(reason))

    def _summarise(self) -> None:
        """
        Log the failures of the interval that ends, if any; a quiet
        interval ends the rate limit.
        """
        self._timer = None
        if not self._unlogged:
            return
        self.flush()
        self._timer = self.clock.callLater(self.INTERVAL, self._summarise)

    def flush(self) -> None:
        """
        Log the failures not logged yet, if any.
        """
        if not self._unlogged:
            return
        peer, reason = self._latest
        self.log.warn(
            "TLS failed for {count} more connections in {interval:.0f} seconds "
            "(the latest from {peer}: {reason})",
            count=self._unlogged,
            interval=self.INTERVAL,
            peer=peer,
            reason=reason,
        )
        self._unlogged = 0

    def stop(self) -> None:
        """
        Log what is not logged yet, and time nothing more.
        """
        self.flush()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
