# -*- test-case-name: tests.test_factory -*-
"""
The factory of the TCP front end: the connections to one relay bank.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network
from typing import TYPE_CHECKING, Optional, Union, cast

from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.internet.protocol import Protocol, ServerFactory

from eofrelay._deprecated import warnMoved
from eofrelay.commands.access import FailedAuthentications, Network, isAllowed
from eofrelay.commands.counts import CommandCounts
from eofrelay.commands.interpreter import CommandInterpreter
from eofrelay.core.bank import RelayBank
from eofrelay.core.clocks import clockOrReactor
from eofrelay.core.logs import REFUSALS, NamedLogger
from eofrelay.core.relay import RelayState
from eofrelay.interfaces import IRelay
from eofrelay.tcp.protocol import RelayProtocol
from eofrelay.tcp.tlsfailures import TLSFailureLog
from eofrelay.wire import replies
from eofrelay.wire.addresses import describePeer
from eofrelay.wire.framing import StreamProtocol
from eofrelay.wire.replies import watchEvent

if TYPE_CHECKING:
    from eofrelay.core.statefile import StateFile


class RelayFactory(ServerFactory):
    """
    Builds a L{RelayProtocol} for each connection to a L{RelayBank} and
    holds what the connections share: the L{CommandInterpreter} that
    executes their messages, the connections watching the relays, and the
    limits of every connection.

    @ivar bank: The relays served.
    @ivar commands: What executes the connections' messages.
    @ivar clock: What times idle connections and closing ones.
    @ivar reactor: What runs the connections, whose turns they take (see
        L{RelayProtocol.MESSAGES_PER_TURN}).
    @ivar maxLine: The longest message accepted, in bytes.
    @ivar closeAfterReply: Whether connections are closed after their first
        reply.
    @ivar watchers: The connections that asked for events.
    @ivar connections: Every open connection.
    @ivar refusedCounts: Refused connections by reason, for the metrics.
    @ivar tlsFailures: The log of connections whose TLS failed.
    """

    log = NamedLogger(REFUSALS)
    # Twisted's own "Starting factory" line would be logged in the
    # namespace of this module; startFactory logs it in 0.1's.
    noisy = False
    # Twisted types it as making protocols whose factory is exactly
    # Factory[Self]: a factory that also makes Refused cannot be that.
    protocol = RelayProtocol  # type: ignore[assignment]

    def __init__(
        self,
        bank: Union[RelayBank, Iterable[IRelay]],
        *,
        maxLine: int = 1024,
        closeAfterReply: bool = False,
        maxConnections: int = 1024,
        idleTimeout: float = 600.0,
        allow: Optional[Iterable[Network]] = None,
        token: Optional[bytes] = None,
        clock: Optional[IReactorTime] = None,
        commands: Optional[CommandInterpreter] = None,
        reactor: Optional[IReactorTime] = None,
        interlocks: Optional[Iterable[Iterable[str]]] = None,
        stateFile: Optional[StateFile] = None,
        hardwareTimeout: Optional[float] = None,
    ) -> None:
        """
        @param bank: The relays to serve.  (Deprecated since 0.2: the
            relays' drivers, in order, with C{interlocks}, C{stateFile} and
            C{hardwareTimeout} for the L{RelayBank} built of them.)
        @param maxConnections: How many connections may be open at once;
            the next one gets C{error: too many connections} and is closed.
        @param idleTimeout: Seconds without a complete message after which a
            connection (other than a watcher) is closed; C{0}: never.
        @param allow: The networks peers may connect from; C{None}: any.
        @param token: The token C{auth} must give before other commands;
            C{None}: no authentication.  Ignored if C{commands} is given.
        @param clock: What times connections and the C{auth} throttle; the
            bank's clock by default.
        @param commands: What executes the messages, if several front ends
            share one; a L{CommandInterpreter} of the bank with C{token} by
            default.
        @param reactor: The reactor that runs the connections, in whose
            later turns a connection executes what it cannot in one; the
            global reactor by default (not C{clock}: a test that times
            connections with a L{Clock <twisted.internet.task.Clock>} still
            runs them on the reactor).
        @raise ValueError: for a token that C{auth} could not carry, an
            C{allow} entry that is not an C{ipaddress} network, or a limit
            out of range (C{maxLine}, C{maxConnections} below 1,
            C{idleTimeout} below 0); and as L{RelayBank} does.
        """
        bank = _bankOf(bank, interlocks, clock, stateFile, hardwareTimeout)
        networks = None if allow is None else list(allow)
        for network in networks or ():
            if not isinstance(network, (IPv4Network, IPv6Network)):
                raise ValueError(
                    f"allow: {network!r} is not a network "
                    "(see eofrelay.commands.access.parseNetwork)"
                )
        if not (maxLine >= 1 and maxConnections >= 1):
            raise ValueError("maxLine and maxConnections must be at least 1")
        if not 0 <= idleTimeout < math.inf:
            raise ValueError("idleTimeout must be 0 or more seconds")
        self.bank = bank
        self.clock = clock if clock is not None else bank.clock
        self.reactor = clockOrReactor(reactor)
        self.commands = commands or CommandInterpreter(bank, token, self.clock)
        self.maxLine = maxLine
        self.closeAfterReply = closeAfterReply
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.allow = networks
        self.watchers: set[RelayProtocol] = set()
        self.connections: set[RelayProtocol] = set()
        self.refusedCounts: Counter[str] = Counter()
        self.tlsFailures = TLSFailureLog(self.clock)
        bank.addListener(self._relayChanged)

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
        makeProtocol = self.protocol
        assert makeProtocol is not None
        protocol = makeProtocol()
        protocol.factory = self
        return cast(Protocol, protocol)

    def startFactory(self) -> None:
        """
        Log that the factory starts, as Twisted's factories do.
        """
        self.log.info("Starting factory {factory!r}", factory=self)

    def stopFactory(self) -> None:
        """
        Log the TLS failures not logged yet, and that the factory stops, as
        Twisted's factories do.
        """
        self.tlsFailures.stop()
        self.log.info("Stopping factory {factory!r}", factory=self)

    def disconnectAll(self) -> None:
        """
        Close every open connection, after the replies already written.
        """
        for connection in list(self.connections):
            connection.disconnect()

    def _relayChanged(self, relay: RelayState, old: bool, new: bool) -> None:
        """
        A relay changed: tell the watchers, if any.
        """
        if not self.watchers:
            return
        event = watchEvent(relay.name, new)
        for watcher in list(self.watchers):
            watcher.sendEvent(event)

    # Deprecated since 0.2: what moved to the bank and the command layer.

    @property
    def relays(self) -> list[RelayState]:
        """
        Deprecated: C{bank.relays}.
        """
        warnMoved("RelayFactory.relays", "RelayFactory.bank.relays")
        return self.bank.relays

    @property
    def interlocks(self) -> list[list[RelayState]]:
        """
        Deprecated: C{bank.interlocks}.
        """
        warnMoved("RelayFactory.interlocks", "RelayFactory.bank.interlocks")
        return self.bank.interlocks

    @property
    def stateFile(self) -> Optional[StateFile]:
        """
        Deprecated: C{bank.stateFile}.
        """
        warnMoved("RelayFactory.stateFile", "RelayFactory.bank.stateFile")
        return self.bank.stateFile

    @property
    def token(self) -> Optional[bytes]:
        """
        Deprecated: C{commands.token}.
        """
        warnMoved("RelayFactory.token", "RelayFactory.commands.token")
        return self.commands.token

    @property
    def commandCounts(self) -> CommandCounts:
        """
        Deprecated: C{commands.commandCounts}.
        """
        warnMoved("RelayFactory.commandCounts", "RelayFactory.commands.commandCounts")
        return self.commands.commandCounts

    @property
    def failedAuthentications(self) -> FailedAuthentications:
        """
        Deprecated: C{commands.failedAuthentications}.
        """
        warnMoved(
            "RelayFactory.failedAuthentications",
            "RelayFactory.commands.failedAuthentications",
        )
        return self.commands.failedAuthentications

    def countCommand(self, verb: str, reply: bytes) -> None:
        """
        Deprecated: C{commands.countCommand(verb, reply)}.
        """
        warnMoved("RelayFactory.countCommand", "RelayFactory.commands.countCommand")
        self.commands.countCommand(verb, reply)

    def relay(self, name: Optional[str] = None) -> RelayState:
        """
        Deprecated: C{bank.relay(name)}.
        """
        warnMoved("RelayFactory.relay", "RelayFactory.bank.relay(name)")
        return self.bank.relay(name)

    def commandedStates(self) -> dict[str, bool]:
        """
        Deprecated: C{bank.commandedStates()}.
        """
        warnMoved("RelayFactory.commandedStates", "RelayFactory.bank.commandedStates()")
        return self.bank.commandedStates()


def _bankOf(
    bank: Union[RelayBank, Iterable[IRelay]],
    interlocks: Optional[Iterable[Iterable[str]]],
    clock: Optional[IReactorTime],
    stateFile: Optional[StateFile],
    hardwareTimeout: Optional[float],
) -> RelayBank:
    """
    C{bank}, or, as eofrelay 0.1's C{RelayFactory} took them, a bank of
    the relays' drivers C{bank}, with a C{DeprecationWarning}.
    """
    if isinstance(bank, RelayBank):
        if (interlocks, stateFile, hardwareTimeout) != (None, None, None):
            raise TypeError(
                "interlocks, stateFile and hardwareTimeout belong to the RelayBank"
            )
        return bank
    warnings.warn(
        "RelayFactory(relays, ...) is deprecated since eofrelay 0.2: "
        "pass RelayFactory(RelayBank(relays, interlocks=..., clock=..., "
        "stateFile=..., hardwareTimeout=...), ...)",
        DeprecationWarning,
        stacklevel=3,
    )
    return RelayBank(
        bank,
        interlocks or (),
        clock,
        stateFile,
        10.0 if hardwareTimeout is None else hardwareTimeout,
    )


class Refused(StreamProtocol):
    """
    Closes the connection at once, reading nothing and sending nothing.

    A protocol rather than C{None} from C{buildProtocol}, so that wrapping
    factories (TLS) close the connection too instead of keeping it open.
    """

    def connectionMade(self) -> None:
        self.transport.abortConnection()


class TooManyConnections(StreamProtocol):
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
        self.transport.write(replies.TOO_MANY_CONNECTIONS + b"<EOF>")
        self.transport.loseConnection()
        self._abort = self.clock.callLater(self.GRACE, self.transport.abortConnection)

    def connectionLost(self, reason: object = None) -> None:
        if self._abort is not None and self._abort.active():
            self._abort.cancel()
