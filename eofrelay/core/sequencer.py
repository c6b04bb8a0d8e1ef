# -*- test-case-name: tests.test_sequencer,tests.test_relay -*-
"""
Operations applied one at a time, in the order they arrive.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from eofrelay.core.results import isDeferred

T = TypeVar("T")


class Sequencer:
    """
    Runs operations one at a time, in submission order.

    An operation is a callable; when it returns a L{Deferred}, the next
    operation waits until that Deferred has fired.  Operations that return
    plain values run back to back without waiting for the reactor.

    Relays share one sequencer when their operations must not overlap: one
    relay's changes, and the changes of relays bound by an interlock.
    """

    def __init__(self) -> None:
        self._queue: deque[
            tuple[Callable[..., Any], tuple[object, ...], Deferred[Any]]
        ] = deque()
        self._running = False
        self._waiting = False

    @property
    def idle(self) -> bool:
        """
        Whether no operation is queued or in progress.
        """
        return not (self._queue or self._waiting or self._running)

    def run(
        self, operation: Callable[..., T | Deferred[T]], *args: object
    ) -> Deferred[T]:
        """
        Run C{operation(*args)} after every operation submitted before it.

        @return: A Deferred firing with the operation's result, or failing
            with what it raised or how its Deferred failed.
        """
        result: Deferred[T] = Deferred()
        self._queue.append((operation, args, result))
        if not (self._running or self._waiting):
            self._drain()
        return result

    def runNow(
        self, operation: Callable[..., T | Deferred[T]], *args: object
    ) -> T | Deferred[T]:
        """
        Like L{run}, but when nothing is queued or in progress, run
        C{operation} at once and return its plain result (or let its
        exception propagate) without the cost of a Deferred.

        @return: The operation's result, or a Deferred for it.
        """
        return self.runNowOr(operation, operation, *args)

    def runNowOr(
        self,
        operation: Callable[..., T | Deferred[T]],
        queued: Callable[..., T | Deferred[T]],
        *args: object,
    ) -> T | Deferred[T]:
        """
        Like L{runNow}, but queue C{queued} instead of C{operation} when
        it cannot run at once: what the operation has to do may then have
        changed by the time it runs, and C{queued} sees to that.

        @return: The operation's result, or a Deferred for it.
        """
        if self._running or self._waiting or self._queue:
            return self.run(queued, *args)
        self._running = True
        try:
            outcome = operation(*args)
            # A relay's state, most often: told apart by its class before
            # isDeferred is called (a call less for every switch).
            if outcome.__class__ is not bool and isDeferred(outcome):
                result: Deferred[T] = Deferred()
                self._waiting = True
                outcome.addBoth(self._finished, result)
                outcome = result
        finally:
            self._running = False
            if self._queue and not self._waiting:
                self._drain()
        return outcome

    def _drain(self) -> None:
        """
        Run queued operations until one has to be waited for.
        """
        self._running = True
        try:
            while self._queue and not self._waiting:
                operation, args, result = self._queue.popleft()
                try:
                    outcome = operation(*args)
                except Exception:
                    result.errback(Failure())
                    continue
                if isDeferred(outcome):
                    self._waiting = True
                    outcome.addBoth(self._finished, result)
                else:
                    result.callback(outcome)
        finally:
            self._running = False

    def _finished(self, outcome: object, result: Deferred[Any]) -> None:
        """
        An operation's Deferred fired: pass its outcome on and go on.
        """
        self._waiting = False
        if isinstance(outcome, Failure):
            result.errback(outcome)
        else:
            result.callback(outcome)
        if not self._running:
            self._drain()
