# -*- test-case-name: tests.test_hangup,tests.test_plugin -*-
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

    Installed before the reactor runs (twistd starts the service first),
    it handles SIGTERM and SIGINT the same way until the reactor's own
    handlers take over: a SIGTERM in between (just after start-up, with
    the relays already driven) ended the process without its exit policy.
    """

    log = NamedLogger(SERVICE)

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """
        Handle SIGHUP from now on, and SIGTERM and SIGINT until the reactor
        runs.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        numbers = [getattr(signal, "SIGHUP", None)]
        if not getattr(self._reactor, "running", True):
            numbers += [signal.SIGTERM, signal.SIGINT]
        for number in numbers:
            if number is not None:
                self._previous[number] = signal.signal(number, self._received)

    def uninstall(self) -> None:
        """
        Put back the handlers the signals had before L{install}.
        """
        for number, previous in self._previous.items():
            if signal.getsignal(number) == self._received:
                signal.signal(number, previous)
        self._previous = {}

    def _received(self, number: int, frame: Optional[FrameType]) -> None:
        """
        SIGHUP (or SIGTERM or SIGINT before the reactor runs): stop, as for
        SIGTERM.
        """
        name = signal.Signals(number).name
        if number == getattr(signal, "SIGHUP", None):
            self.log.info("Received SIGHUP, shutting down (as for SIGTERM).")
        else:
            self.log.info("Received {name}, shutting down.", name=name)
        self._reactor.callFromThread(self._stop)
        # What twistd ends by once it has stopped, as for SIGTERM.
        self._reactor._exitSignal = number

    def _stop(self) -> None:
        try:
            self._reactor.stop()
        except ReactorNotRunning:
            # Already stopping (a second signal).
            pass
