# -*- test-case-name: tests.test_relay,tests.test_pulse -*-
"""
The shared state of one relay: what every front end sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater
from twisted.python.failure import Failure
from zope.interface import implementer

from eofrelay.core.blink import Blink, checkBlink
from eofrelay.core.clocks import clockOrReactor
from eofrelay.core.pulse import MAX_PULSE_MS, PulseTimer
from eofrelay.core.results import Result, isDeferred, then
from eofrelay.core.sequencer import Sequencer
from eofrelay.core.switchlog import SwitchLog
from eofrelay.interfaces import IRelay

#: The shortest and the longest C{--max-on}, in seconds.
MAX_ON_RANGE = (0.1, 86_400.0)

#: Called after every change operation on a relay, with the relay, its
#: state before and its state after (the same for a no-op, which may still
#: be news to a state file that is out of date).
ChangeListener = Callable[["RelayState", bool, bool], None]


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


@implementer(IRelay)
class RelayState:
    """
    One configured relay as all front ends see it.

    It wraps the relay's driver (any L{IRelay} provider) and remembers the
    state the relay was last driven to.  Changes and queries are applied in
    arrival order, whoever asked (through a L{Sequencer} that interlocked
    relays share), also while the driver answers asynchronously.  It keeps
    the relay's pulse (a L{PulseTimer}), its interlock partners, its switch
    log (a L{SwitchLog}), and tells its listeners about every change.

    @ivar driver: The L{IRelay} provider that drives the hardware.
    @ivar name: The relay's name, as configured.
    @ivar partners: The relays that must never be on together with this
        one (its interlock groups), set by the L{RelayBank}.
    @ivar listeners: L{ChangeListener}s called after every change
        operation, also one that left the state as it was (a repeated
        C{on}, a cancelled pulse), which a state file may need to record.
    @ivar changeListeners: L{ChangeListener}s called after the listeners
        when the state changed.
    @ivar sequencer: The L{Sequencer} applying this relay's operations.
    @ivar uncertain: Whether the relay's state is unknown: its driver
        failed, or did not report a state at start.
    @ivar switches: How many times the relay was driven.
    @ivar failures: How many times its driver failed.
    @ivar maxOn: The longest the relay may stay on, in seconds, however
        it was switched on (L{limitOn}), or C{None}.
    @ivar interlockDelay: Seconds to wait after switching interlock
        partners off before switching this relay on (a motor's dead time
        before it reverses), when a partner had to be switched off.
    """

    maxOn: Optional[float] = None
    interlockDelay = 0.0
    _limitMilliseconds = 0

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
        self.clock = clockOrReactor(clock)
        self.sequencer = sequencer if sequencer is not None else Sequencer()
        self.partners: list[RelayState] = []
        self.listeners: list[ChangeListener] = []
        self.changeListeners: list[ChangeListener] = []
        self._pulse = PulseTimer(self.clock, self.endPulse)
        self._limit: Optional[PulseTimer] = None
        self._blink: Optional[Blink] = None
        self._log = SwitchLog(self.name, self.clock, self)
        self._commandedOff = False
        self.uncertain = False
        self.switches = 0
        self.failures = 0
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
        return self._pulse.pending

    @property
    def commanded(self) -> bool:
        """
        The state last commanded, as the state file records it: a relay in
        the middle of a pulse, or whose pulse was ended by a command still
        queued, or whose switch-off at the end of its pulse failed, counts
        as off, the state its pulse ends in; so does a relay on under a
        L{maxOn} limit, which ends off; a blinking relay counts as the state
        its blink ends in.
        """
        if self._blink is not None:
            return self._blink.before
        return self._on and not (
            self._pulse.pending
            or self._commandedOff
            or (self._limit is not None and self._limit.pending)
        )

    @property
    def limited(self) -> bool:
        """
        Whether the relay is on and its L{maxOn} switch-off is pending.
        """
        return self._limit is not None and self._limit.pending

    def limitOn(self, seconds: float) -> None:
        """
        From now on, switch the relay off at most C{seconds} after it was
        switched on, however that was (a command, a pulse, an interlock's
        partner, the state it started in); a pulse that would last longer
        is cut short.  A relay on now is switched off C{seconds} from now.

        @raise ValueError: for C{seconds} out of L{MAX_ON_RANGE}.
        """
        lowest, highest = MAX_ON_RANGE
        if not lowest <= seconds <= highest:
            raise ValueError(
                f"max-on of relay {self.name!r} must be {lowest:g} to "
                f"{highest:g} seconds"
            )
        self.maxOn = seconds
        self._limitMilliseconds = round(seconds * 1000)
        if self._limit is None:
            self._limit = PulseTimer(self.clock, self._maxOnReached)
        self._limit.stop()
        if self._on:
            self._limit.start(self._limitMilliseconds)

    def adoptDriverState(self) -> None:
        """
        Take the state that the driver reports now as the relay's, without
        driving anything and without telling the listeners (nothing
        changed: the relay was in that state all along): for a driver that
        learns its state only once its hardware is set up, after the relay
        was made, as C{--power-on keep} reads the pins.  A relay found on
        under a L{maxOn} limit goes off that long from now.  A driver that
        does not answer with a plain boolean leaves the relay as it was.

        Call it only while no change of the relay is queued.
        """
        reported = self.driver.state()
        if not isinstance(reported, bool):
            return
        self._on = reported
        self.uncertain = False
        limit = self._limit
        if limit is not None:
            limit.stop()
            if reported:
                limit.start(self._limitMilliseconds)

    def endLimit(self) -> Deferred[bool]:
        """
        Switch off now a relay on under its L{maxOn} limit, as the limit
        would, through the same path as a client's C{off}.
        """
        if self._limit is not None:
            self._limit.stop()
        return self._maxOnReached()

    def cancelLimit(self) -> None:
        """
        Cancel a pending L{maxOn} switch-off without switching the relay
        (when nothing may drive it any more).
        """
        if self._limit is not None:
            self._limit.stop()

    def _maxOnReached(self) -> Deferred[bool]:
        """
        The relay has been on for L{maxOn} seconds: switch it off, logged
        with the reason; a failure is logged loudly.
        """
        ended = self.sequencer.run(
            lambda: self._change(False, "max-on", f"max-on {self.maxOn:g}s")
        )
        return ended.addErrback(self._maxOnFailed)

    def _maxOnFailed(self, failure: Failure) -> bool:
        """
        The switch-off at the end of the L{maxOn} limit failed: say so
        loudly.
        """
        failure.trap(HardwareFailure)
        self._log.maxOnEndFailed()
        return self._on

    # Operations, applied in arrival order

    def switch(self, on: bool, peer: str = "", command: str = "") -> Result[bool]:
        """
        Drive the relay on or off, after every change queued before.  Ends
        a pending pulse.

        @param peer: Who asked for it, for the log.
        @param command: The command that asked for it, for the log.
        @return: The new state, or a Deferred firing with it.
        @raise HardwareFailure: if the driver failed (or the Deferred fails
            with it).
        """
        if self._pulse.call is None and self._blink is None:
            # The common case, without what ending a pulse takes; with no
            # interlock partners to switch off first, and nothing queued
            # before it (which could start a pulse), it is only driving.
            if not self.partners:
                return self.sequencer.runNowOr(
                    self._drive, self._change, on, peer, command
                )
            return self.sequencer.runNow(self._change, on, peer, command)
        return self._submit(self._change, on, peer, command)

    def toggle(self, peer: str = "", command: str = "toggle") -> Result[bool]:
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
    ) -> Result[bool]:
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

    def blink(
        self,
        count: int,
        onMs: int,
        offMs: Optional[int] = None,
        peer: str = "",
        command: str = "blink",
    ) -> Result[bool]:
        """
        Switch the relay on now, then off and on again, C{count} cycles of
        on for C{onMs} and off for C{offMs} milliseconds, timed by the
        clock, then back to the state it had before.  Any later change of
        the relay (L{switch}, L{toggle}, L{pulse}, L{blink}, an interlock
        partner or a max-on limit switching it) ends the blink, leaving the
        relay as that change sets it.  Every change is one for the
        listeners; the log has a line at the start and one at the end, not
        one per cycle.

        @param offMs: C{onMs} by default.
        @return: C{True} once the relay is on, or a Deferred firing with it.
        @raise HardwareFailure: if the driver failed (or the Deferred fails
            with it).
        @raise ValueError: for a count or a time out of range (see
            L{checkBlink <eofrelay.core.blink.checkBlink>}), without
            switching anything.
        """
        if offMs is None:
            offMs = onMs
        checkBlink(count, onMs, offMs)
        # A blink that replaces one goes back to where that one would have.
        before = self._blink.before if self._blink is not None else None
        return self._submit(self._startBlink, count, onMs, offMs, before, peer, command)

    @property
    def blinking(self) -> bool:
        """
        Whether a blink is in progress.
        """
        return self._blink is not None

    def endBlink(self) -> Deferred[bool]:
        """
        End a blink in progress now, switching the relay back to the state
        it had before, as the blink's end would.
        """
        blink = self._blink
        if blink is None:
            return succeed(self._on)
        blink.stop()
        return self.sequencer.run(lambda: self._blinkEnded(blink))

    def cancelBlink(self) -> None:
        """
        Cancel a blink in progress without switching the relay (when
        nothing may drive it any more).
        """
        if self._blink is not None:
            self._blink.stop()
            self._blink = None

    def state(self) -> Result[bool]:
        """
        The relay's state once every change queued before has been applied.

        @return: C{True} for on, C{False} for off, or a Deferred firing with
            it when changes are still queued.
        """
        if self.sequencer.idle:
            return self._on
        return self.sequencer.run(lambda: self._on)

    def flushLog(self) -> None:
        """
        Log what the switch log holds back (see L{SwitchLog}): the next
        switch is logged one by one.
        """
        self._log.flushAll(self._on)

    def _submit(self, change: Callable[..., Any], *args: object) -> Result[bool]:
        """
        Apply C{change(*args)} now, or queue it.  A pending pulse ends now,
        so that its switch-off cannot overtake the change while it waits;
        should the change fail, the pulse goes on and ends when it would
        have.
        """
        if self._blink is not None:
            self._stopBlink()
        deadline = self._stopPulse()
        if deadline is None:
            return self.sequencer.runNow(change, *args)
        try:
            result = self.sequencer.runNow(change, *args)
        except HardwareFailure:
            self._resumePulse(None, deadline)
            raise
        if isDeferred(result):
            result.addErrback(self._resumePulse, deadline)
        return result

    def _resumePulse(
        self, failure: Optional[Failure], deadline: float
    ) -> Optional[Failure]:
        """
        The change that ended a pulse failed: resume the pulse.
        """
        if self._on:
            self._pulse.resume(deadline)
        return failure

    # Blinks

    def _startBlink(
        self,
        count: int,
        onMs: int,
        offMs: int,
        before: Optional[bool],
        peer: str,
        command: str,
    ) -> Result[bool]:
        """
        Switch the relay on as a blink's start (logged, interlocks applied),
        then time its cycles.

        @param before: The state to go back to at the end; by default, the
            state the relay is in (a pulse in progress counting as ended).
        """
        if before is None:
            before = self._on and not self._commandedOff
        blink = Blink(count, onMs, offMs, before)
        started = self._change(True, peer, command)
        return then(started, lambda on: self._blinkStarted(blink))

    def _blinkStarted(self, blink: Blink) -> bool:
        """
        The relay is on: time the end of the first cycle's on.
        """
        self._blink = blink
        self._log.blinkStarted(blink.count)
        blink.call = self.clock.callLater(blink.onMs / 1000, self._blinkStep, blink)
        return self._on

    def _blinkStep(self, blink: Blink) -> None:
        """
        A blink's on or off time is up: switch to the next state, or end it.
        """
        blink.call = None
        stepped = self.sequencer.run(lambda: self._nextBlinkState(blink))
        stepped.addErrback(self._blinkFailed, blink)

    def _nextBlinkState(self, blink: Blink) -> Result[bool]:
        """
        Switch a blinking relay to its next state, unless the blink ended
        meanwhile.
        """
        if self._blink is not blink:
            return self._on
        if self._on:
            switched = self._change(False, "blink", "blink", quiet=True)
            delay = blink.offMs
        elif blink.cycle < blink.count:
            blink.cycle += 1
            switched = self._change(True, "blink", "blink", quiet=True)
            delay = blink.onMs
        else:
            return self._blinkEnded(blink)

        def timeNext(on: bool) -> bool:
            if self._blink is blink:
                blink.call = self.clock.callLater(delay / 1000, self._blinkStep, blink)
            return on

        return then(switched, timeNext)

    def _blinkEnded(self, blink: Blink) -> Result[bool]:
        """
        The last cycle is over: back to the state before the blink, logged.
        """
        if self._blink is not blink:
            return self._on
        self._blink = None
        self._log.blinkEnded(blink.count, blink.before)
        if self._on == blink.before:
            return self._on
        return self._change(blink.before, "blink", "blink end", quiet=True)

    def _blinkFailed(self, failure: Failure, blink: Blink) -> bool:
        """
        A step of the blink failed (logged as a hardware failure): the
        blink is over.
        """
        failure.trap(HardwareFailure)
        if self._blink is blink:
            self._blink = None
            self._log.blinkFailed()
        return self._on

    def _stopBlink(self) -> None:
        """
        A change ends the blink in progress: log how far it got.
        """
        blink = self._blink
        if blink is None:
            return
        blink.stop()
        self._blink = None
        self._log.blinkCancelled(blink.cycle, blink.count)

    # Pulses

    def cancelPulse(self) -> bool:
        """
        Cancel a pending pulse's switch-off: the relay stays on, and counts
        as commanded on from now on (its listeners are told, so that a state
        file records it).  It is logged.

        @return: Whether a pulse was pending.
        """
        if self._stopPulse() is None:
            return False
        self._commandedOff = False
        self._log.pulseCancelled(self._on)
        for listener in self.listeners:
            listener(self, self._on, self._on)
        return True

    def _stopPulse(self) -> Optional[float]:
        """
        Cancel a pending pulse's switch-off because a change ends the
        pulse: until that change is applied, the relay counts as commanded
        off, the state its pulse would have ended in.

        @return: When the pulse would have ended, if one was pending.
        """
        deadline = self._pulse.stop()
        if deadline is not None:
            self._commandedOff = True
        return deadline

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
        self._log.pulseEndFailed()
        return self._on

    # The steps of a change, run by the sequencer

    def _change(
        self,
        new: bool,
        peer: str,
        command: str,
        pulse: Optional[int] = None,
        partnersOff: bool = False,
        quiet: bool = False,
    ) -> Result[bool]:
        """
        Apply one change: cancel a pending pulse, switch interlock partners
        off before switching on (unless C{partnersOff} says they are), then
        drive the relay, starting C{pulse}, if any, once it is on.

        @param quiet: Whether this is a step of the blink in progress, which
            is not logged and does not end it.
        """
        if self._pulse.call is not None:
            self._stopPulse()
        if new and self.partners and not partnersOff:
            delay = self.interlockDelay and any(
                partner._on or partner.uncertain for partner in self.partners
            )
            cleared = self._partnersOff(0, peer, _interlockCommand(command, self.name))
            if delay:
                waited = cleared if cleared is not None else succeed(None)
                return waited.addCallback(
                    lambda _: deferLater(
                        self.clock,
                        self.interlockDelay,
                        self._change,
                        new,
                        peer,
                        command,
                        pulse,
                        True,
                        quiet,
                    )
                )
            if cleared is not None:
                return cleared.addCallback(
                    lambda _: self._change(new, peer, command, pulse, True, quiet)
                )
        return self._drive(new, peer, command, pulse, quiet)

    def _partnersOff(
        self, start: int, peer: str, command: str
    ) -> Optional[Deferred[object]]:
        """
        Switch off, one after the other, the partners from index C{start}
        on that are on (or whose state is uncertain after a hardware
        failure); their pulses end once they are off.

        @return: C{None}, or a Deferred firing when they are off.
        """
        for index in range(start, len(self.partners)):
            partner = self.partners[index]
            if partner._blink is not None:
                # Also in its off time: its next on would switch this off.
                partner._stopBlink()
            if not (partner._on or partner.uncertain):
                continue
            driven = partner._drive(False, peer, command)
            if isDeferred(driven):
                return driven.addCallback(self._partnerOff, index + 1, peer, command)
        return None

    def _partnerOff(
        self, ignored: object, start: int, peer: str, command: str
    ) -> Optional[Deferred[object]]:
        """
        A partner was switched off asynchronously: go on with the next.
        """
        return self._partnersOff(start, peer, command)

    def _drive(
        self,
        new: bool,
        peer: str,
        command: str,
        pulse: Optional[int] = None,
        quiet: bool = False,
    ) -> Result[bool]:
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
        if driven is not None and isDeferred(driven):
            driven.addTimeout(self.hardwareTimeout, self.clock)
            return driven.addCallbacks(
                self._driven,
                self._driveFailed,
                (old, new, peer, command, pulse, quiet),
                errbackArgs=(old, new, peer, command),
            )
        return self._driven(None, old, new, peer, command, pulse, quiet)

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
        quiet: bool = False,
    ) -> bool:
        """
        The driver switched the relay: record and log it (unless C{quiet},
        a blink's step), end a pending pulse or blink (an interlock or a
        max-on limit switched the relay) or start C{pulse}, and tell the
        listeners.
        """
        self.switches += 1
        if not quiet:
            if self._blink is not None:
                self._stopBlink()
            self._log.switched(old, new, peer, command, not self.uncertain)
        self.uncertain = False
        self._on = new
        # Only an interlock partner gets here with a pulse pending (a
        # relay's own change cancels its pulse first): the pulse is over
        # once the partner is off.
        if self._pulse.call is not None:
            self._pulse.stop()
        self._commandedOff = False
        if pulse is not None:
            self._pulse.start(pulse)
        limit = self._limit
        if limit is not None and new != limit.pending:
            if new:
                limit.start(self._limitMilliseconds)
            else:
                limit.stop()
        for listener in self.listeners:
            listener(self, old, new)
        if old != new:
            for listener in self.changeListeners:
                listener(self, old, new)
        return new

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
        self._log.failed(failure, old, new, peer, command)
        return HardwareFailure(failure.getErrorMessage())
