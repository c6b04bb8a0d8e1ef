# -*- test-case-name: tests.test_buttons -*-
"""
Push buttons: the levels an input pin reports after its edges, debounced
into presses, each press toggling a relay through the core as a client's
C{toggle} does.

Nothing here touches hardware: a GPIO backend (L{IPins.setupInput
<eofrelay.interfaces.IPins.setupInput>}) calls L{Button.edge} with the
pin's logical level after each edge, in the reactor thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Optional

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from eofrelay.core.relay import HardwareFailure, RelayState
from eofrelay.core.results import isDeferred

#: The default C{--button-debounce}, in milliseconds.
DEFAULT_DEBOUNCE_MS: Final = 50
#: The longest C{--button-debounce}, in milliseconds.
MAX_DEBOUNCE_MS: Final = 10_000


class Debouncer:
    """
    Turns the levels that a bouncing contact reports into clean changes.

    A change of level is accepted at once, and the edges that follow
    within C{seconds} of it are ignored: the contacts bounce.  When those
    ignored edges leave the pin at another level than the one accepted (a
    press shorter than C{seconds}), that level is accepted once the time
    is up, so that no press or release is lost.  The time is the clock's,
    never the wall clock's.

    @ivar level: The level last accepted.
    """

    def __init__(
        self,
        clock: IReactorTime,
        seconds: float,
        accepted: Callable[[bool], None],
        level: bool = False,
    ) -> None:
        """
        @param seconds: How long after an accepted edge the others are
            ignored; 0 accepts every change.
        @param accepted: Called with each level accepted.
        @param level: The level to start from (C{False}: a button
            released).
        """
        self.level = level
        self._clock = clock
        self._seconds = seconds
        self._accepted = accepted
        self._latest = level
        self._window: Optional[IDelayedCall] = None
        self._stopped = False

    def edge(self, level: bool) -> None:
        """
        The pin reported C{level} after an edge.
        """
        if self._stopped:
            return
        self._latest = level
        if self._window is None and level != self.level:
            self._accept(level)

    def _accept(self, level: bool) -> None:
        """
        Accept C{level}, and ignore the edges of the next C{seconds}.
        """
        self.level = level
        if self._seconds > 0:
            self._window = self._clock.callLater(self._seconds, self._windowEnded)
        self._accepted(level)

    def _windowEnded(self) -> None:
        """
        The bounces are over: accept the level they ended at, if it is
        another.
        """
        self._window = None
        if self._latest != self.level:
            self._accept(self._latest)

    def stop(self) -> None:
        """
        Accept nothing more; no timer is left pending.
        """
        self._stopped = True
        if self._window is not None:
            self._window.cancel()
            self._window = None


class Button:
    """
    A push button on a GPIO input that toggles one relay at each press,
    through L{RelayState.toggle}, as C{toggle} from a client does: the
    relay's queue, its interlocks, its max-on limit, a blink or pulse it
    ends, the listeners (watchers, MQTT, the web page), the state file and
    the switch log, in which the press is C{toggle} by C{button:PIN}.  It
    needs no network.

    @ivar relay: The relay toggled.
    @ivar pin: The input's pin number.
    @ivar peer: Who presses, as the switch log names it: C{button:PIN}.
    @ivar presses: How many presses were accepted.
    """

    log = Logger(namespace="eofrelay.buttons")

    def __init__(
        self,
        relay: RelayState,
        pin: int,
        debounce: float = DEFAULT_DEBOUNCE_MS / 1000,
        clock: Optional[IReactorTime] = None,
    ) -> None:
        """
        @param debounce: Seconds after an accepted edge during which the
            others are ignored (L{Debouncer}).
        @param clock: What times the debounce; the relay's clock by default.
        """
        self.relay = relay
        self.pin = pin
        self.peer = f"button:{pin}"
        self.presses = 0
        self._debouncer = Debouncer(
            clock if clock is not None else relay.clock, debounce, self._accepted
        )

    def edge(self, pressed: bool) -> None:
        """
        The input's logical level after an edge: C{True} pressed.
        """
        self._debouncer.edge(pressed)

    def _accepted(self, pressed: bool) -> None:
        if pressed:
            self.press()

    def press(self) -> None:
        """
        A press: toggle the relay.  A hardware failure is logged by the
        relay, anything else here.
        """
        self.presses += 1
        try:
            toggled = self.relay.toggle(self.peer, "toggle")
        except HardwareFailure:
            return
        except Exception:
            self.log.failure(
                "unexpected error toggling relay {relay} for {peer}",
                relay=self.relay.name,
                peer=self.peer,
            )
            return
        if isDeferred(toggled):
            toggled.addErrback(self._failed)

    def _failed(self, failure: Failure) -> None:
        if not failure.check(HardwareFailure):
            self.log.failure(
                "unexpected error toggling relay {relay} for {peer}",
                failure=failure,
                relay=self.relay.name,
                peer=self.peer,
            )

    def stop(self) -> None:
        """
        Take no more presses (the service stops); nothing is left pending
        on the clock.
        """
        self._debouncer.stop()
