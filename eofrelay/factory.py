# -*- test-case-name: tests.test_factory -*-
"""
The factory that holds the shared state of all configured relays.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from ipaddress import IPv4Network, IPv6Network
from typing import TYPE_CHECKING, Any, Optional

from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.logger import Logger

from eofrelay import commands
from eofrelay.access import FailedAuthentications, Network, isAllowed, isToken
from eofrelay.commands import resultOf
from eofrelay.interfaces import IRelay
from eofrelay.names import checkRelayName
from eofrelay.protocol import RelayProtocol, describePeer
from eofrelay.sequencer import Sequencer
from eofrelay.state import RelayState, stateName

if TYPE_CHECKING:
    from eofrelay.statefile import StateFile


class RelayFactory(ServerFactory):
    """
    Builds a L{RelayProtocol} for each connection and holds what they all
    share: the configured relays, their states and pulse timers, the
    interlocks between them, the connections watching them, and the state
    file that records them.

    @ivar relays: The relays, in configured order; the first one is the
        default relay.
    @ivar interlocks: The interlock groups, as lists of relays.
    @ivar maxLine: The longest message accepted, in bytes.
    @ivar closeAfterReply: Whether connections are closed after their first
        reply.
    @ivar watchers: The connections that asked for events.
    @ivar connections: Every open connection.
    @ivar stateFile: Where the commanded states are recorded, if anywhere.
    @ivar shortcuts: The commonest messages, as sent, with the relay, state
        and verb they mean, so that connections need not parse them.
    @ivar commandCounts: Commands by verb and result, for the metrics.
    @ivar refusedCounts: Refused connections by reason, for the metrics.
    """

    protocol = RelayProtocol  # type: ignore[assignment]
    log = Logger()

    def __init__(
        self,
        relays: Iterable[IRelay],
        maxLine: int = 1024,
        closeAfterReply: bool = False,
        interlocks: Iterable[Iterable[str]] = (),
        clock: Optional[IReactorTime] = None,
        stateFile: Optional[StateFile] = None,
        maxConnections: int = 1024,
        idleTimeout: float = 600.0,
        allow: Optional[Iterable[Network]] = None,
        token: Optional[bytes] = None,
        hardwareTimeout: float = 10.0,
    ) -> None:
        """
        @param relays: The relays' drivers, in order, each an L{IRelay}
            provider.  A driver's C{state()} at this moment, when it answers
            with a plain boolean, is taken as the relay's current state;
            otherwise the relay is taken to be off.
        @param interlocks: Groups of relay names of which at most one relay
            may be on at any instant.
        @param clock: What times pulses, idle connections and hardware; the
            global reactor by default.
        @param stateFile: Where to record the commanded states.
        @param maxConnections: How many connections may be open at once;
            the next one gets C{error: too many connections} and is closed.
        @param idleTimeout: Seconds without a complete message after which a
            connection (other than a watcher) is closed; C{0}: never.
        @param allow: The networks peers may connect from; C{None}: any.
        @param token: The token C{auth} must give before other commands;
            C{None}: no authentication.
        @param hardwareTimeout: Seconds after which a relay driver that has
            not answered counts as failed.
        @raise ValueError: for no relays, a bad name, a name given twice,
            an interlock naming an unknown relay or fewer than two, a
            token that C{auth} could not carry (see L{isToken}), an
            C{allow} entry that is not an C{ipaddress} network, or a limit
            out of range (C{maxLine}, C{maxConnections} below 1,
            C{idleTimeout} below 0, C{hardwareTimeout} not above 0).
        """
        drivers = list(relays)
        if not drivers:
            raise ValueError("at least one relay is needed")
        names: dict[str, IRelay] = {}
        for driver in drivers:
            key = checkRelayName(driver.name).lower()
            if key in names:
                raise ValueError(f"relay {driver.name!r} is configured twice")
            names[key] = driver
        interlocks = list(interlocks)
        if any(isinstance(group, str) for group in interlocks):
            raise ValueError("an interlock is a list of relay names, not a string")
        groups = [[name.lower() for name in group] for group in interlocks]
        for group in groups:
            if len(set(group)) < 2:
                raise ValueError("an interlock needs at least two different relays")
            for name in group:
                if name not in names:
                    raise ValueError(f"interlock names unknown relay {name!r}")
        if token is not None and not isToken(token):
            raise ValueError(
                "token: bytes, one word of 1 to 256 printable ASCII "
                "characters, without <EOF>"
            )
        networks = None if allow is None else list(allow)
        for network in networks or ():
            if not isinstance(network, (IPv4Network, IPv6Network)):
                raise ValueError(
                    f"allow: {network!r} is not a network "
                    "(see eofrelay.access.parseNetwork)"
                )
        if not (maxLine >= 1 and maxConnections >= 1):
            raise ValueError("maxLine and maxConnections must be at least 1")
        if not (0 <= idleTimeout < math.inf and 0 < hardwareTimeout < math.inf):
            raise ValueError(
                "idleTimeout must be 0 or more, hardwareTimeout more than 0, in seconds"
            )
        if clock is None:
            from twisted.internet import reactor

            clock = reactor  # type: ignore[assignment]
        self.clock: IReactorTime = clock  # type: ignore[assignment]
        sequencers = _sharedSequencers(list(names), groups)
        self.relays: list[RelayState] = []
        for driver in drivers:
            reported: Any = driver.state()
            relay = RelayState(
                driver,
                reported if isinstance(reported, bool) else False,
                self.clock,
                sequencers.get(driver.name.lower()),
                hardwareTimeout,
            )
            relay.uncertain = not isinstance(reported, bool)
            relay.listeners.append(self._relayChanged)
            self.relays.append(relay)
        self._byName = {relay.name.lower(): relay for relay in self.relays}
        self.shortcuts = _shortcuts(self.relays)
        self.interlocks = [[self._byName[name] for name in group] for group in groups]
        for members in self.interlocks:
            for member in members:
                member.partners.extend(
                    other
                    for other in members
                    if other is not member and other not in member.partners
                )
        self.maxLine = maxLine
        self.closeAfterReply = closeAfterReply
        self.stateFile = stateFile
        self.watchers: set[RelayProtocol] = set()
        self.connections: set[RelayProtocol] = set()
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.allow = networks
        self.token = token
        self.failedAuthentications = FailedAuthentications(self.clock)
        # A defaultdict rather than a Counter: counting is on every
        # command's path, and a Counter's item access costs twice as much.
        self.commandCounts: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.refusedCounts: Counter[str] = Counter()

    def buildProtocol(self, addr: Optional[IAddress]) -> Optional[Protocol]:
        """
        Refuse peers outside the allow-list (closed before any byte is
        read, also over TLS) and connections past the limit (told so, then
        closed).
        """
        assert addr is not None
        if self.allow is not None and not isAllowed(addr, self.allow):
            self.log.warn(
                "refused connection from {peer}: not in --allow",
                peer=describePeer(addr),
            )
            self.refusedCounts["not allowed"] += 1
            return Refused()
        if len(self.connections) >= self.maxConnections:
            self.log.warn(
                "refused connection from {peer}: {limit} connections already open",
                peer=describePeer(addr),
                limit=self.maxConnections,
            )
            self.refusedCounts["too many connections"] += 1
            return TooManyConnections(self.clock)
        return super().buildProtocol(addr)  # type: ignore[return-value]

    def countCommand(self, verb: str, reply: bytes) -> None:
        """
        Count a command by verb and result (L{resultOf} its reply), for the
        metrics.

        @param verb: A verb the server knows, or C{"invalid"}: never a
            string of the client's own.
        """
        self.commandCounts[verb, resultOf(reply)] += 1

    def relay(self, name: Optional[str] = None) -> RelayState:
        """
        Find a relay by name, case-insensitively.

        @param name: The name, or C{None} for the default (first) relay.
        @raise KeyError: if no relay has that name.
        """
        if name is None:
            return self.relays[0]
        return self._byName[name.lower()]

    def commandedStates(self) -> dict[str, bool]:
        """
        The state of each relay as last commanded, a relay in the middle of
        a pulse counting as off (the state its pulse ends in).
        """
        return {relay.name: relay.commanded for relay in self.relays}

    def _relayChanged(self, relay: RelayState, old: bool, new: bool) -> None:
        """
        A relay changed: tell the watchers and record the states.
        """
        if old != new:
            event = f"event: {relay.name} {stateName(new)}".encode("ascii")
            for watcher in list(self.watchers):
                watcher.sendEvent(event)
        if self.stateFile is not None:
            self.stateFile.save(self.commandedStates())

    def disconnectAll(self) -> None:
        """
        Close every open connection, after the replies already written.
        """
        for connection in list(self.connections):
            connection.disconnect()


class Refused(Protocol):
    """
    Closes the connection at once, reading nothing and sending nothing.

    A protocol rather than C{None} from C{buildProtocol}, so that wrapping
    factories (TLS) close the connection too instead of keeping it open.
    """

    def connectionMade(self) -> None:
        self.transport.abortConnection()  # type: ignore[union-attr]


class TooManyConnections(Protocol):
    """
    Says C{error: too many connections} and closes; a peer that does not
    let that happen within L{GRACE} seconds (e.g. one that never completes
    a TLS handshake) is cut off.
    """

    GRACE = 10.0

    def __init__(self, clock: IReactorTime) -> None:
        self.clock = clock
        self._abort: Optional[IDelayedCall] = None

    def connectionMade(self) -> None:
        self.transport.write(commands.TOO_MANY_CONNECTIONS + b"<EOF>")  # type: ignore[union-attr]
        self.transport.loseConnection()  # type: ignore[union-attr]
        self._abort = self.clock.callLater(
            self.GRACE,
            self.transport.abortConnection,  # type: ignore[union-attr]
        )

    def connectionLost(self, reason: object = None) -> None:
        if self._abort is not None and self._abort.active():
            self._abort.cancel()


def _shortcuts(relays: list[RelayState]) -> dict[bytes, tuple[RelayState, bool, str]]:
    """
    The commonest messages, exactly as clients send them, with what they
    mean: C{on}, C{off}, and C{on NAME} and C{off NAME} for each relay's
    name as configured and in lower case, each to the relay, the state and
    the verb.  Any other spelling (upper case, more spaces) is parsed.
    """
    shortcuts = {b"on": (relays[0], True, "on"), b"off": (relays[0], False, "off")}
    for relay in relays:
        for name in {relay.name, relay.name.lower()}:
            for verb, on in (("on", True), ("off", False)):
                shortcuts[f"{verb} {name}".encode("ascii")] = (relay, on, verb)
    return shortcuts


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
