# -*- test-case-name: tests.test_state -*-
"""
The shared state of one relay: what every connection sees.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Optional

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from eofrelay.interfaces import IRelay

#: How a queued operation computes the relay's new state from its current
#: one; C{None} for an operation that only reads the state.
Target = Optional[Callable[[bool], bool]]


class HardwareFailure(Exception):
    """
    A relay's driver raised or its Deferred failed; the relay's reported
    state is unchanged.
    """


def stateName(on: bool) -> str:
    """
    The protocol's word for a state: C{"on"} or C{"off"}.
    """
    return "on" if on else "off"


@implementer(IRelay)
class RelayState:
    """
    One configured relay as all connections see it.

    It wraps the relay's driver (any L{IRelay} provider), remembers the
    state the relay was last driven to, applies changes and queries in the
    order they arrive, across all connections, also while the driver
    answers asynchronously, and logs every switch.

    @ivar driver: The L{IRelay} provider that drives the hardware.
    @ivar name: The relay's name, as configured.
    """

    log = Logger()

    def __init__(self, driver: IRelay, on: bool = False) -> None:
        """
        @param driver: The relay's driver.
        @param on: The state the relay is in now (it was driven there when
            its driver was set up).
        """
        self.driver = driver
        self.name: str = driver.name
        self._on = on
        self._queue: deque[tuple[Target, str, str, Deferred[bool]]] = deque()
        self._running = False
        self._waiting = False

    @property
    def isOn(self) -> bool:
        """
        The state the relay was last driven to, not counting changes that
        are still queued or in progress.
        """
        return self._on

    def switch(self, on: bool, peer: str = "", command: str = "") -> Deferred[bool]:
        """
        Drive the relay on or off, after every change queued before.

        @param peer: Who asked for it, for the log.
        @param command: The command that asked for it, for the log.
        @return: A Deferred firing with the new state, or failing with
            L{HardwareFailure}.
        """
        return self._enqueue(lambda current: on, peer, command)

    def toggle(self, peer: str = "", command: str = "toggle") -> Deferred[bool]:
        """
        Invert the relay's state as it is after every change queued before.

        @return: A Deferred firing with the new state, or failing with
            L{HardwareFailure}.
        """
        return self._enqueue(lambda current: not current, peer, command)

    def state(self) -> Deferred[bool]:
        """
        The relay's state once every change queued before has been applied.

        @return: A Deferred firing with C{True} for on, C{False} for off.
        """
        if not self._queue and not self._waiting:
            return succeed(self._on)
        return self._enqueue(None, "", "status")

    def _enqueue(self, target: Target, peer: str, command: str) -> Deferred[bool]:
        """
        Queue an operation and run the queue unless it is already running.
        """
        result: Deferred[bool] = Deferred()
        self._queue.append((target, peer, command, result))
        if not (self._running or self._waiting):
            self._run()
        return result

    def _run(self) -> None:
        """
        Apply queued operations in order until one waits for its driver.
        """
        self._running = True
        try:
            while self._queue and not self._waiting:
                target, peer, command, result = self._queue.popleft()
                if target is None:
                    result.callback(self._on)
                    continue
                old = self._on
                new = target(old)
                try:
                    driven = self.driver.switch(new)
                except Exception:
                    self._settle(Failure(), old, new, peer, command, result)
                    continue
                if isinstance(driven, Deferred):
                    self._waiting = True
                    driven.addBoth(self._settle, old, new, peer, command, result)
                else:
                    self._settle(None, old, new, peer, command, result)
        finally:
            self._running = False

    def _settle(
        self,
        outcome: object,
        old: bool,
        new: bool,
        peer: str,
        command: str,
        result: Deferred[bool],
    ) -> None:
        """
        Record the outcome of driving the relay and go on with the queue.
        """
        self._waiting = False
        if isinstance(outcome, Failure):
            self.log.failure(
                "relay {relay}: hardware failure switching {new} "
                "(requested by {peer}: {command}); state stays {old}",
                failure=outcome,
                relay=self.name,
                old=stateName(old),
                new=stateName(new),
                peer=peer,
                command=command,
            )
            result.errback(HardwareFailure(outcome.getErrorMessage()))
        else:
            self._on = new
            self.log.info(
                "relay {relay} switched {new} (was {old}) by {peer}: {command}",
                relay=self.name,
                old=stateName(old),
                new=stateName(new),
                peer=peer,
                command=command,
            )
            result.callback(new)
        if not self._running:
            self._run()
