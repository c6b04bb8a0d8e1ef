# -*- test-case-name: tests.test_factory,tests.test_pulse -*-
"""
The shared state of one relay: what every connection sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional, Union

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from eofrelay.interfaces import IRelay
from eofrelay.sequencer import Sequencer

#: Called after every change operation on a relay, with the relay, its
#: state before and its state after (the same for a no-op, which may still
#: be news to a state file that is out of date).
ChangeListener = Callable[["RelayState", bool, bool], None]

#: What the operations of a L{RelayState} return: the state at once, or a
#: Deferred firing with it.
Result = Union[bool, "Deferred[bool]"]

#: The commands whose repeats, when they change nothing, are counted rather
#: than logged one by one (pulses, toggles, interlocks and the exit policy
#: always are).
_REPEATABLE = frozenset({"on", "off", "on all", "off all"})

#: The longest pulse, in milliseconds (one day).
MAX_PULSE_MS = 86_400_000


class HardwareFailure(Exception):
    """
    A relay's driver raised or its Deferred failed; the relay's reported
    state is unchanged.
    """


def _interlockCommand(command: str, name: str) -> str:
    """
    How an interlock's switch-off of a partner is logged: C{interlock:} and
    the command that caused it as a client would send it, the relay's name
    after the verb (C{interlock: pulse down 500} for C{pulse 500} of
    C{down}).
    """
    verb, _, rest = command.partition(" ")
    return " ".join(word for word in ("interlock:", verb, name, rest) if word)


def stateName(on: bool) -> str:
    """
    The protocol's word for a state: C{"on"} or C{"off"}.
    """
    return "on" if on else "off"


@implementer(IRelay)
class RelayState:
    """
    One configured relay as all connections see it.

    It wraps the relay's driver (any L{IRelay} provider) and remembers the
    state the relay was last driven to.  Changes and queries are applied in
    arrival order across all connections (through a L{Sequencer} that
    interlocked relays share), also while the driver answers
    asynchronously.  It keeps the relay's pulse timer and its interlock
    partners, logs every switch, and tells its listeners about every
    change.  A burst of switches that change nothing (a client repeating
    C{on}) is logged as its first switch and a count.

    @ivar driver: The L{IRelay} provider that drives the hardware.
    @ivar name: The relay's name, as configured.
    @ivar partners: The relays that must never be on together with this
        one (its interlock groups), set by the factory.
    @ivar listeners: L{ChangeListener}s called after every change.
    @ivar sequencer: The L{Sequencer} applying this relay's operations.
    @ivar switches: How many times the relay was driven.
    @ivar failures: How many times its driver failed.
    """

    log = Logger()

    #: A switch that changes nothing and is logged starts a burst of this
    #: many seconds: the switches of the burst that change nothing are
    #: counted, and the count is logged with the next switch that is
    #: logged, or by L{flushLog} (at stop).  No timer is involved, so a
    #: relay leaves nothing scheduled on its clock.
    SUMMARY_PERIOD = 1.0

    def __init__(
        self,
        driver: IRelay,
        on: bool = False,
        clock: Optional[IReactorTime] = None,
        sequencer: Optional[Sequencer] = None,
        hardwareTimeout: float = 10.0,
    ) -> None:
        """
        @param driver: The relay's driver.
        @param on: The state the relay is in now.
        @param clock: What times pulses and the driver; the global reactor
            by default.
        @param sequencer: The sequencer to share; a new one by default.
        @param hardwareTimeout: Seconds after which a driver's Deferred that
            has not fired counts as a hardware failure (it is cancelled), so
            that a hung device does not stall its relay for ever.
        """
        self.driver = driver
        self.name: str = driver.name
        self._on = on
        if clock is None:
            from twisted.internet import reactor

            clock = reactor  # type: ignore[assignment]
        self.clock: IReactorTime = clock  # type: ignore[assignment]
        self.sequencer = sequencer if sequencer is not None else Sequencer()
        self.partners: list[RelayState] = []
        self.listeners: list[ChangeListener] = []
        self._pulseCall: Optional[IDelayedCall] = None
        self._commandedOff = False
        self.uncertain = False
        self.switches = 0
        self.failures = 0
        self._burstEnd: Optional[float] = None
        self._unlogged = 0
        self.hardwareTimeout = hardwareTimeout

    @property
    def isOn(self) -> bool:
        """
        The state the relay was last driven to, not counting changes that
        are still queued or in progress.
        """
        return self._on

    @property
    def pulsing(self) -> bool:
        """
        Whether a pulse's switch-off is pending.
        """
        return self._pulseCall is not None

    @property
    def commanded(self) -> bool:
        """
        The state last commanded, as the state file records it: a relay in
        the middle of a pulse, or whose pulse was ended by a command still
        queued, or whose switch-off at the end of its pulse failed, counts
        as off, the state its pulse ends in.
        """
        return self._on and not (self.pulsing or self._commandedOff)

    # Operations, applied in arrival order

    def switch(self, on: bool, peer: str = "", command: str = "") -> Result:
        """
        Drive the relay on or off, after every change queued before.  Ends
        a pending pulse.

        @param peer: Who asked for it, for the log.
        @param command: The command that asked for it, for the log.
        @return: The new state, or a Deferred firing with it.
        @raise HardwareFailure: if the driver failed (or the Deferred fails
            with it).
        """
        if self._pulseCall is None:
            return self.sequencer.runNow(self._change, on, peer, command)
        return self._submit(self._change, on, peer, command)

    def toggle(self, peer: str = "", command: str = "toggle") -> Result:
        """
        Invert the relay's state as it is after every change queued before.
        Ends a pending pulse.

        @return: The new state, or a Deferred firing with it.
        @raise HardwareFailure: if the driver failed (or the Deferred fails
            with it).
        """
        return self._submit(lambda: self._change(not self._on, peer, command))

    def pulse(
        self, milliseconds: int, peer: str = "", command: str = "pulse"
    ) -> Result:
        """
        Switch the relay on now and off again after C{milliseconds}, timed
        by the clock; a pulse already pending is replaced.

        @param milliseconds: From 1 to L{MAX_PULSE_MS}, as over the wire.
        @return: C{True} once the relay is on, or a Deferred firing with it.
        @raise HardwareFailure: if the driver failed (or the Deferred fails
            with it).
        @raise ValueError: for C{milliseconds} out of range, without
            switching anything.
        """
        if not (
            isinstance(milliseconds, int)
            and not isinstance(milliseconds, bool)
            and 1 <= milliseconds <= MAX_PULSE_MS
        ):
            raise ValueError(f"a pulse lasts 1 to {MAX_PULSE_MS} milliseconds")
        return self._submit(self._change, True, peer, command, milliseconds)

    def _submit(self, change: Callable[..., Any], *args: object) -> Result:
        """
        Apply C{change(*args)} now, or queue it.  A pending pulse ends now,
        so that its switch-off cannot overtake the change while it waits;
        should the change fail, the pulse goes on and ends when it would
        have.
        """
        deadline = None if self._pulseCall is None else self._pulseCall.getTime()
        self._stopPulse()
        if deadline is None:
            return self.sequencer.runNow(change, *args)
        try:
            result = self.sequencer.runNow(change, *args)
        except HardwareFailure:
            self._resumePulse(None, deadline)
            raise
        if isinstance(result, Deferred):
            result.addErrback(self._resumePulse, deadline)
        return result

    def _resumePulse(
        self, failure: Optional[Failure], deadline: float
    ) -> Optional[Failure]:
        """
        The change that ended a pulse failed: resume the pulse.
        """
        if self._on and self._pulseCall is None:
            delay = max(0.0, deadline - self.clock.seconds())
            self._pulseCall = self.clock.callLater(delay, self.endPulse)
        return failure

    def state(self) -> Result:
        """
        The relay's state once every change queued before has been applied.

        @return: C{True} for on, C{False} for off, or a Deferred firing with
            it when changes are still queued.
        """
        if self.sequencer.idle:
            return self._on
        return self.sequencer.run(lambda: self._on)

    def cancelPulse(self) -> bool:
        """
        Cancel a pending pulse's switch-off: the relay stays on, and counts
        as commanded on from now on (its listeners are told, so that a state
        file records it).  It is logged.

        @return: Whether a pulse was pending.
        """
        if not self._stopPulse():
            return False
        self._commandedOff = False
        self.flushLog()
        self.log.info(
            "relay {relay}: pulse cancelled (stays {state})",
            relay=self.name,
            state=stateName(self._on),
        )
        for listener in self.listeners:
            listener(self, self._on, self._on)
        return True

    def _stopPulse(self) -> bool:
        """
        Cancel a pending pulse's switch-off because a change ends the
        pulse: until that change is applied, the relay counts as commanded
        off, the state its pulse would have ended in.

        @return: Whether a pulse was pending.
        """
        if self._pulseCall is None:
            return False
        if self._pulseCall.active():
            self._pulseCall.cancel()
        self._pulseCall = None
        self._commandedOff = True
        return True

    def endPulse(self) -> Deferred[bool]:
        """
        Switch off now a relay whose pulse is pending, through the same path
        as a client's C{off}.  A failure is logged loudly and the reported
        state stays on.
        """
        self._stopPulse()
        self._commandedOff = True
        ended = self.sequencer.run(
            lambda: self._change(False, "pulse timer", "pulse end")
        )
        return ended.addErrback(self._pulseEndFailed)

    def _pulseEndFailed(self, failure: Failure) -> bool:
        """
        The switch-off at the end of a pulse failed: say so loudly.
        """
        failure.trap(HardwareFailure)
        self._commandedOff = True
        self.log.critical(
            "relay {relay} could NOT be switched off at the end of its pulse "
            "and is still on",
            relay=self.name,
        )
        return self._on

    # The steps of a change, run by the sequencer

    def _change(
        self,
        new: bool,
        peer: str,
        command: str,
        pulse: Optional[int] = None,
        partnersOff: bool = False,
    ) -> Any:
        """
        Apply one change: cancel a pending pulse, switch interlock partners
        off before switching on (unless C{partnersOff} says they are), then
        drive the relay, starting C{pulse}, if any, once it is on.
        """
        if self._pulseCall is not None:
            self._stopPulse()
        if new and self.partners and not partnersOff:
            cleared = self._partnersOff(0, peer, _interlockCommand(command, self.name))
            if cleared is not None:
                return cleared.addCallback(
                    self._partnersCleared, new, peer, command, pulse
                )
        return self._drive(new, peer, command, pulse)

    def _partnersCleared(
        self, ignored: object, new: bool, peer: str, command: str, pulse: Optional[int]
    ) -> Any:
        """
        The interlock partners were switched off asynchronously: go on with
        the change.
        """
        return self._change(new, peer, command, pulse, True)

    def _partnersOff(self, start: int, peer: str, command: str) -> Any:
        """
        Switch off, one after the other, the partners from index C{start}
        on that are on (or whose state is uncertain after a hardware
        failure); their pulses end once they are off.

        @return: C{None}, or a Deferred firing when they are off.
        """
        for index in range(start, len(self.partners)):
            partner = self.partners[index]
            if not (partner._on or partner.uncertain):
                continue
            driven = partner._drive(False, peer, command)
            if driven.__class__ is not bool:
                return driven.addCallback(self._partnerOff, index + 1, peer, command)
        return None

    def _partnerOff(self, ignored: object, start: int, peer: str, command: str) -> Any:
        """
        A partner was switched off asynchronously: go on with the next.
        """
        return self._partnersOff(start, peer, command)

    def _drive(
        self, new: bool, peer: str, command: str, pulse: Optional[int] = None
    ) -> Any:
        """
        Drive the relay through its driver, then record the outcome
        (L{_driven}).

        @return: The new state, or a Deferred firing with it.
        @raise HardwareFailure: if the driver raised (or the Deferred fails
            with it if the driver's Deferred failed); the state is then
            unchanged, and so is a pending pulse.
        """
        old = self._on
        try:
            driven = self.driver.switch(new)
        except Exception:
            raise self._failed(Failure(), old, new, peer, command) from None
        if driven is not None and isinstance(driven, Deferred):
            driven.addTimeout(self.hardwareTimeout, self.clock)  # type: ignore[arg-type]
            return driven.addCallbacks(
                self._driven,
                self._driveFailed,
                (old, new, peer, command, pulse),
                errbackArgs=(old, new, peer, command),
            )
        return self._driven(None, old, new, peer, command, pulse)

    def _driveFailed(
        self, failure: Failure, old: bool, new: bool, peer: str, command: str
    ) -> Failure:
        """
        The driver's Deferred failed: a L{HardwareFailure}, logged.
        """
        return Failure(self._failed(failure, old, new, peer, command))

    def _driven(
        self,
        ignored: object,
        old: bool,
        new: bool,
        peer: str,
        command: str,
        pulse: Optional[int],
    ) -> bool:
        """
        The driver switched the relay: record and log it, end a pending
        pulse (an interlock switched the relay off) or start C{pulse}, and
        tell the listeners.
        """
        self.switches += 1
        if self.uncertain:
            self.uncertain = False
            self._record(old, new, peer, command)
        elif (
            old == new
            and self._burstEnd is not None
            and command in _REPEATABLE
            and self.clock.seconds() < self._burstEnd
        ):
            self._unlogged += 1
        else:
            self._record(old, new, peer, command)
        if self._pulseCall is not None:
            # Only an interlock partner gets here with a pulse pending (a
            # relay's own change cancels its pulse first): the pulse is
            # over once the partner is off.
            self._stopPulse()
        self._commandedOff = False
        if pulse is not None:
            self._pulseCall = self.clock.callLater(pulse / 1000, self.endPulse)
        for listener in self.listeners:
            listener(self, old, new)
        return new

    def _record(self, old: bool, new: bool, peer: str, command: str) -> None:
        """
        Take C{new} as the relay's state and log the switch (after the
        summary of the burst before it, if any); a switch that changed
        nothing starts a burst.
        """
        self.flushLog()
        self._on = new
        if old == new and command in _REPEATABLE:
            self._burstEnd = self.clock.seconds() + self.SUMMARY_PERIOD
        self.log.info(
            "relay {relay} switched {new} (was {old}) by {peer}: {command}",
            relay=self.name,
            old=stateName(old),
            new=stateName(new),
            peer=peer,
            command=command,
        )

    def flushLog(self) -> None:
        """
        Log how many switches that changed nothing were not logged one by
        one, if any, and end the burst: the next one is logged again.
        """
        self._burstEnd = None
        if self._unlogged:
            self.log.info(
                "relay {relay} driven {count} more times without changing "
                "(stays {state})",
                relay=self.name,
                count=self._unlogged,
                state=stateName(self._on),
            )
            self._unlogged = 0

    def _failed(
        self, failure: Failure, old: bool, new: bool, peer: str, command: str
    ) -> HardwareFailure:
        """
        The driver failed: log it with its cause.  The relay may or may not
        have switched: it is reported as it was, and an interlock partner
        switching on drives it off all the same.

        @return: The L{HardwareFailure} to raise.
        """
        self.uncertain = True
        self.failures += 1
        self.flushLog()
        self.log.failure(
            "relay {relay}: hardware failure switching {new} "
            "(requested by {peer}: {command}); state stays {old}",
            failure=failure,
            relay=self.name,
            old=stateName(old),
            new=stateName(new),
            peer=peer,
            command=command,
        )
        return HardwareFailure(failure.getErrorMessage())
