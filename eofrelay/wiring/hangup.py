# -*- test-case-name: tests.test_plugin -*-
"""
SIGHUP, when the terminal of C{twistd -n} goes away: a clean stop.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any, Optional

from twisted.internet.error import ReactorNotRunning

from eofrelay.core.logs import SERVICE, NamedLogger


class StopOnHangUp:
    """
    Stops the reactor on SIGHUP as on SIGTERM, so that the service's exit
    policy runs and is logged (L{RelayService
    <eofrelay.wiring.service.RelayService>} installs it while it runs, for
    C{twistd eofrelay}).

    Python's default for SIGHUP ends the process at once: run in a terminal
    that goes away, C{twistd -n} died silently, skipping C{--on-exit off},
    with relays left energised and a pulse never ended.  Twisted handles
    SIGINT and SIGTERM only.  Like those, a SIGHUP makes C{twistd} end by
    the same signal once it has stopped, which systemd counts as a clean
    stop.  The handler is installed only in the main thread, and the one
    before it is put back by L{uninstall}.
    """

    log = NamedLogger(SERVICE)

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor
        self._previous: Any = None

    def install(self) -> None:
        """
        Handle SIGHUP from now on.
        """
        hangUp = getattr(signal, "SIGHUP", None)
        if hangUp is None or threading.current_thread() is not threading.main_thread():
            return
        self._previous = signal.signal(hangUp, self._hungUp)

    def uninstall(self) -> None:
        """
        Put back the handler SIGHUP had before L{install}.
        """
        if self._previous is not None:
            signal.signal(signal.SIGHUP, self._previous)
            self._previous = None

    def _hungUp(self, number: int, frame: Optional[FrameType]) -> None:
        """
        SIGHUP: stop, as for SIGTERM.
        """
        self.log.info("Received SIGHUP, shutting down (as for SIGTERM).")
        self._reactor.callFromThread(self._stop)
        # What twistd ends by once it has stopped, as for SIGTERM.
        self._reactor._exitSignal = number

    def _stop(self) -> None:
        try:
            self._reactor.stop()
        except ReactorNotRunning:
            # Already stopping (a second signal).
            pass
