# -*- test-case-name: tests.test_switchlog,tests.test_relay -*-
"""
The switch log of one relay: the audit trail of who switched it, and how.
"""

from __future__ import annotations

import heapq
from typing import Optional

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

from eofrelay.core.logs import SWITCHES, EventLogger

#: The commands whose repeats, when they change nothing, are counted rather
#: than logged one by one (pulses, toggles, interlocks and the exit policy
#: always are).
REPEATABLE = frozenset({"on", "off", "on all", "off all"})


def stateName(on: bool) -> str:
    """
    The protocol's word for a state: C{"on"} or C{"off"}.
    """
    return "on" if on else "off"


class PeerCounts(dict[str, int]):
    """
    How many switches each peer made, as a summary line names them: the
    peers that made most first, at most L{SHOWN} of them, with their
    counts.  It is rendered only when an observer formats the line.
    """

    #: The most peers a summary names one by one; the others are counted.
    SHOWN = 5

    def __str__(self) -> str:
        # Not sorted whole: one-shot clients are a new peer each.
        ranked = heapq.nsmallest(
            self.SHOWN, self.items(), key=lambda item: (-item[1], item[0])
        )
        shown = [f"{peer} ({count})" for peer, count in ranked]
        others = len(self) - len(ranked)
        if others:
            switches = sum(self.values()) - sum(count for _, count in ranked)
            shown.append(f"{others} other peers ({switches})")
        return ", ".join(shown)


class SwitchLog:
    """
    Logs each switch of one relay with its old and new state, who asked
    for it and with which command.

    Two things keep a flood of switches from flooding the log (and from
    costing more to log than to do), and account for every switch all
    the same:

      - A burst of switches that change nothing (a client repeating C{on})
        is logged as its first switch and a count.
      - At most L{LINES_PER_PERIOD} switches within L{PERIOD} seconds are
        logged one by one; the further switches of that period are summed
        up in one line at its end: how many, by which peers, and the state
        the relay was left in.

    The lines are in the namespace L{SWITCHES}, as they always were.

    @ivar relay: The relay's name.
    """

    #: A switch that changes nothing and is logged starts a burst of this
    #: many seconds: the switches of the burst that change nothing are
    #: counted, and the count is logged with the next switch that is
    #: logged, or by L{flush} (at stop).
    SUMMARY_PERIOD = 1.0
    #: The seconds of a period within which at most L{LINES_PER_PERIOD}
    #: switches are logged one by one.  A period starts with the first
    #: switch after the last one ended.
    PERIOD = 1.0
    #: How many switches of a period are logged one by one: people and
    #: automations switch a relay far less often than this.
    LINES_PER_PERIOD = 20

    def __init__(self, relay: str, clock: IReactorTime, source: object = None) -> None:
        """
        @param relay: The relay's name.
        @param source: What the log events name as their C{log_source}: the
            relay's L{RelayState}, as they always have.
        """
        self.relay = relay
        self.log = EventLogger(SWITCHES, source)
        self._clock = clock
        self._burstEnd: Optional[float] = None
        self._unlogged = 0
        self._periodEnd = -1.0
        self._lines = 0
        self._held = PeerCounts()
        self._heldState = False
        self._summary: Optional[IDelayedCall] = None

    def switched(
        self, old: bool, new: bool, peer: str, command: str, certain: bool = True
    ) -> None:
        """
        The relay was switched from C{old} to C{new}: log it, or count it
        within a burst or beyond a period's lines.

        @param certain: Whether C{old} was known for sure (not after a
            hardware failure); a switch from an uncertain state is logged.
        """
        if self._summary is None or not certain:
            if self._summary is not None:
                # An uncertain switch is logged after what came before it.
                self._endPeriod()
            now = self._clock.seconds()
            if (
                certain
                and old == new
                and self._burstEnd is not None
                and command in REPEATABLE
                and now < self._burstEnd
            ):
                self._unlogged += 1
                return
            if self._logLine(now, old, new, peer, command, certain):
                return
        # The period's lines are written, and its end is due: counted.
        held = self._held
        held[peer] = held.get(peer, 0) + 1
        self._heldState = new

    def _logLine(
        self, now: float, old: bool, new: bool, peer: str, command: str, certain: bool
    ) -> bool:
        """
        Log a switch on a line of its own if the period has lines left (a
        new period starts when the last one is over), or if it is not
        C{certain}; otherwise start the timer of the period's summary.

        @return: Whether the switch was logged.
        """
        if now >= self._periodEnd or self._periodEnd - now > self.PERIOD:
            # A period is over, or the clock was set back.
            self._endPeriod()
            self._periodEnd = now + self.PERIOD
        elif self._lines >= self.LINES_PER_PERIOD and certain:
            # The repeats counted so far are of the state before this one.
            self.flush(old)
            self._summary = self._clock.callLater(
                self._periodEnd - now, self._endPeriod
            )
            return False
        self._lines += 1
        self.flush(old)
        if old == new and command in REPEATABLE:
            self._burstEnd = now + self.SUMMARY_PERIOD
        self.log.info(
            "relay {relay} switched {new} (was {old}) by {peer}: {command}",
            relay=self.relay,
            old=stateName(old),
            new=stateName(new),
            peer=peer,
            command=command,
        )
        return True

    def _endPeriod(self) -> None:
        """
        End the period: log how many of its switches were not logged one
        by one, if any, and by whom.
        """
        if self._summary is not None:
            if self._summary.active():
                self._summary.cancel()
            self._summary = None
        self._periodEnd = -1.0
        self._lines = 0
        held = self._held
        if held:
            self._held = PeerCounts()
            self.log.info(
                "relay {relay} switched {count} more times within {period:g} s, "
                "not logged one by one, by {peers}; left {state}",
                relay=self.relay,
                count=sum(held.values()),
                period=self.PERIOD,
                peers=held,
                state=stateName(self._heldState),
            )

    def flush(self, state: bool) -> None:
        """
        Log how many switches that changed nothing were not logged one by
        one, if any, and end the burst: the next one is logged again.

        @param state: The state the relay stayed in.
        """
        self._burstEnd = None
        if self._unlogged:
            self.log.info(
                "relay {relay} driven {count} more times without changing "
                "(stays {state})",
                relay=self.relay,
                count=self._unlogged,
                state=stateName(state),
            )
            self._unlogged = 0

    def flushAll(self, state: bool) -> None:
        """
        Log everything held back, ending the period and the burst (at
        stop): the next switch is logged one by one.

        @param state: The relay's state now.
        """
        self._endPeriod()
        self.flush(state)

    def failed(
        self, failure: Failure, old: bool, new: bool, peer: str, command: str
    ) -> None:
        """
        The relay's driver failed to switch it: log that with its cause.
        """
        self.flush(old)
        self.log.failure(
            "relay {relay}: hardware failure switching {new} "
            "(requested by {peer}: {command}); state stays {old}",
            failure=failure,
            relay=self.relay,
            old=stateName(old),
            new=stateName(new),
            peer=peer,
            command=command,
        )

    def pulseCancelled(self, state: bool) -> None:
        """
        A pending pulse was cancelled without switching the relay.
        """
        self.flush(state)
        self.log.info(
            "relay {relay}: pulse cancelled (stays {state})",
            relay=self.relay,
            state=stateName(state),
        )

    def pulseEndFailed(self) -> None:
        """
        The switch-off at the end of a pulse failed: the relay is still on.
        """
        self.log.critical(
            "relay {relay} could NOT be switched off at the end of its pulse "
            "and is still on",
            relay=self.relay,
        )

    def maxOnEndFailed(self) -> None:
        """
        The switch-off at the end of the max-on limit failed: the relay is
        still on.
        """
        self.log.critical(
            "relay {relay} could NOT be switched off at the end of its max-on "
            "limit and is still on",
            relay=self.relay,
        )

    def blinkStarted(self, count: int) -> None:
        """
        A blink of C{count} cycles started (its first switch on is logged
        as any switch): its cycles are not logged one by one.
        """
        self.log.info(
            "relay {relay}: blinking, {count} cycles", relay=self.relay, count=count
        )

    def blinkEnded(self, count: int, state: bool) -> None:
        """
        A blink ended after its C{count} cycles, back to C{state}.
        """
        self.log.info(
            "relay {relay}: blink of {count} cycles ended (back to {state})",
            relay=self.relay,
            count=count,
            state=stateName(state),
        )

    def blinkCancelled(self, cycle: int, count: int) -> None:
        """
        A change ended a blink in its cycle C{cycle} of C{count}.
        """
        self.log.info(
            "relay {relay}: blink ended in cycle {cycle} of {count} by a change",
            relay=self.relay,
            cycle=cycle,
            count=count,
        )

    def blinkFailed(self) -> None:
        """
        A blink ended because its relay's driver failed.
        """
        self.log.warn(
            "relay {relay}: blink ended by a hardware failure", relay=self.relay
        )
