# -*- test-case-name: tests.test_bank -*-
"""
The relay bank: every configured relay, with what they share.  It knows no
network: an application can build one and switch its relays without any
server, and every front end (TCP, and whatever else an application adds)
drives the same bank.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Optional

from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from eofrelay.core.checks import checkInterlocks, checkRelayNames
from eofrelay.core.clocks import clockOrReactor
from eofrelay.core.relay import ChangeListener, HardwareFailure, RelayState
from eofrelay.core.sequencer import Sequencer
from eofrelay.interfaces import IRelay

if TYPE_CHECKING:
    from eofrelay.core.statefile import StateFile


#: The longest C{--interlock-delay}, in seconds.
MAX_INTERLOCK_DELAY = 60.0


class RelayBank:
    """
    The configured relays, in order, and what they share: lookup by name,
    the interlocks between them, switching all of them, listening to every
    change, and the state file that records them.

    @ivar relays: The relays (L{RelayState}s), in configured order; the
        first one is the default relay.
    @ivar interlocks: The interlock groups, as lists of relays.
    @ivar clock: What times pulses and hardware.
    @ivar stateFile: Where the commanded states are recorded, if anywhere.
    """

    def __init__(
        self,
        relays: Iterable[IRelay],
        interlocks: Iterable[Iterable[str]] = (),
        clock: Optional[IReactorTime] = None,
        stateFile: Optional[StateFile] = None,
        hardwareTimeout: float = 10.0,
        maxOn: Mapping[str, float] = {},
        interlockDelay: float = 0.0,
    ) -> None:
        """
        @param relays: The relays' drivers, in order, each an L{IRelay}
            provider.  A driver's C{state()} at this moment, when it answers
            with a plain boolean, is taken as the relay's current state;
            otherwise the relay is taken to be off, and uncertain.
        @param interlocks: Groups of relay names of which at most one relay
            may be on at any instant.
        @param clock: What times pulses and hardware; the global reactor by
            default.
        @param stateFile: Where to record the commanded states.
        @param hardwareTimeout: Seconds after which a relay driver that has
            not answered counts as failed.
        @param maxOn: The longest some relays may stay on, in seconds, by
            name (L{RelayState.limitOn}); a relay on now goes off that long
            from now.
        @param interlockDelay: Seconds to wait, when switching a relay on
            first had to switch an interlock partner off, before switching
            it on (L{RelayState.interlockDelay}), from 0 to 60.
        @raise ValueError: for no relays, a bad name, a name given twice, an
            interlock naming an unknown relay, a relay twice or fewer than
            two, C{hardwareTimeout} not above 0, a C{maxOn} naming an
            unknown relay or out of range, or C{interlockDelay} out of
            range.
        """
        drivers = list(relays)
        names = checkRelayNames(driver.name for driver in drivers)
        groups = checkInterlocks(list(interlocks), names)
        if not 0 < hardwareTimeout < float("inf"):
            raise ValueError("hardwareTimeout must be more than 0 seconds")
        self.clock = clockOrReactor(clock)
        self.stateFile = stateFile
        sequencers = _sharedSequencers(names, groups)
        self.relays = [
            self._relayFor(driver, sequencers.get(name), hardwareTimeout)
            for driver, name in zip(drivers, names, strict=True)
        ]
        self._byName = dict(zip(names, self.relays, strict=True))
        self.interlocks = [[self._byName[name] for name in group] for group in groups]
        for members in self.interlocks:
            for member in members:
                member.partners.extend(
                    other
                    for other in members
                    if other is not member and other not in member.partners
                )
        if not 0 <= interlockDelay <= MAX_INTERLOCK_DELAY:
            raise ValueError(
                f"interlockDelay must be 0 to {MAX_INTERLOCK_DELAY:g} seconds"
            )
        for members in self.interlocks:
            for member in members:
                member.interlockDelay = interlockDelay
        for name in maxOn:
            if name.lower() not in self._byName:
                raise ValueError(f"max-on: no relay named {name!r}")
        for name, seconds in maxOn.items():
            self._byName[name.lower()].limitOn(seconds)

    def _relayFor(
        self, driver: IRelay, sequencer: Optional[Sequencer], hardwareTimeout: float
    ) -> RelayState:
        """
        The L{RelayState} of one driver, in the state the driver reports.
        """
        reported = driver.state()
        relay = RelayState(
            driver,
            reported if isinstance(reported, bool) else False,
            self.clock,
            sequencer,
            hardwareTimeout,
        )
        relay.uncertain = not isinstance(reported, bool)
        if self.stateFile is not None:
            relay.listeners.append(self._record)
        return relay

    def relay(self, name: Optional[str] = None) -> RelayState:
        """
        Find a relay by name, case-insensitively.

        @param name: The name, or C{None} for the default (first) relay.
        @raise KeyError: if no relay has that name.
        """
        if name is None:
            return self.relays[0]
        return self._byName[name.lower()]

    def switchAll(self, on: bool, peer: str, command: str) -> Deferred[bool]:
        """
        Switch every relay on or off, each in its own order.

        @return: A Deferred firing with C{on} once every relay has
            switched, or failing with a L{HardwareFailure} (the first one)
            once every relay has answered, if any failed.
        @raise ValueError: to switch every relay on while interlocks are
            configured.
        """
        if on and self.interlocks:
            raise ValueError("interlocked relays cannot all be on")
        switched = DeferredList(
            [maybeDeferred(relay.switch, on, peer, command) for relay in self.relays],
            consumeErrors=True,
        )
        return switched.addCallback(_allSucceeded, on)

    def commandedStates(self) -> dict[str, bool]:
        """
        The state of each relay as last commanded, a relay in the middle of
        a pulse counting as off (the state its pulse ends in).
        """
        return {relay.name: relay.commanded for relay in self.relays}

    def adoptDriverStates(self) -> None:
        """
        Take the state each driver reports now as its relay's
        (L{RelayState.adoptDriverState}): for drivers that learn their
        states only once their hardware is set up (C{--power-on keep}).
        """
        for relay in self.relays:
            relay.adoptDriverState()

    def flushLog(self) -> None:
        """
        Log what every relay's switch log still holds back.
        """
        for relay in self.relays:
            relay.flushLog()

    def addListener(self, listener: ChangeListener) -> None:
        """
        Call C{listener} whenever any relay changes from now on, whoever
        changed it, after the state file has been given the new states.
        """
        for relay in self.relays:
            relay.changeListeners.append(listener)

    def _record(self, relay: RelayState, old: bool, new: bool) -> None:
        """
        A relay changed: record the states in the state file.
        """
        assert self.stateFile is not None
        self.stateFile.save(self.commandedStates())


def _allSucceeded(results: Sequence[tuple[bool, object]], on: bool) -> bool:
    """
    C{on} once every relay has switched, or the first failure, as a
    L{HardwareFailure}.
    """
    for succeeded, result in results:
        if not succeeded:
            assert isinstance(result, Failure)
            raise HardwareFailure(result.getErrorMessage())
    return on


def _sharedSequencers(
    names: list[str], groups: list[list[str]]
) -> Mapping[str, Sequencer]:
    """
    One L{Sequencer} for each set of relays connected through interlocks,
    so that changes within an interlock never overlap (and cannot wait on
    each other in a cycle).
    """
    component = {name: name for name in names}

    def root(name: str) -> str:
        while component[name] != name:
            name = component[name]
        return name

    for group in groups:
        for name in group[1:]:
            component[root(name)] = root(group[0])
    sequencers: dict[str, Sequencer] = {}
    shared: dict[str, Sequencer] = {}
    for name in names:
        if any(name in group for group in groups):
            shared[name] = sequencers.setdefault(root(name), Sequencer())
    return shared
