# -*- test-case-name: tests.test_pulse -*-
"""
The timer of a pulse: the pending switch-off of one relay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from twisted.internet.interfaces import IDelayedCall, IReactorTime

#: The longest pulse, in milliseconds (one day).
MAX_PULSE_MS = 86_400_000


class PulseTimer:
    """
    When a relay's pulse ends: at most one switch-off pending, timed by a
    clock, that can be stopped and resumed for the time it had left.

    @ivar call: The pending switch-off, or C{None}.
    """

    def __init__(self, clock: IReactorTime, end: Callable[[], object]) -> None:
        """
        @param clock: What times the pulse.
        @param end: Called when a pulse's time is up.
        """
        self._clock = clock
        self._end = end
        self.call: Optional[IDelayedCall] = None

    @property
    def pending(self) -> bool:
        """
        Whether a pulse's switch-off is pending.
        """
        return self.call is not None

    def start(self, milliseconds: int) -> None:
        """
        End a pulse C{milliseconds} from now.
        """
        self.call = self._clock.callLater(milliseconds / 1000, self._ended)

    def stop(self) -> Optional[float]:
        """
        Cancel the pending switch-off, if any.

        @return: When it would have happened (in the clock's seconds), or
            C{None} if none was pending.
        """
        call, self.call = self.call, None
        if call is None:
            return None
        if call.active():
            call.cancel()
        return call.getTime()

    def resume(self, deadline: float) -> None:
        """
        End a pulse at C{deadline} after all (at once if that is past),
        unless one is pending already.
        """
        if self.call is None:
            delay = max(0.0, deadline - self._clock.seconds())
            self.call = self._clock.callLater(delay, self._ended)

    def _ended(self) -> None:
        """
        The pulse's time is up: nothing is pending any more.
        """
        self.call = None
        self._end()
