# -*- test-case-name: tests.test_http_service -*-
"""
The HTTP front end as a service: the site of C{--http} on each of its
endpoints, each listener with its own connection limit and idle timeout,
and peers outside C{--allow} refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, Optional

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress, IReactorTime, IStreamServerEndpoint
from twisted.internet.protocol import Protocol
from twisted.protocols.policies import ProtocolWrapper

from eofrelay.commands.access import Network, isAllowed
from eofrelay.commands.interpreter import CommandInterpreter
from eofrelay.core.logs import REFUSALS, NamedLogger
from eofrelay.http.api import RelayAPI
from eofrelay.http.events import EventHub
from eofrelay.http.page import Page
from eofrelay.http.site import HTTPSite, Root
from eofrelay.web.limits import IDLE_TIMEOUT, LimitedSite
from eofrelay.wire.addresses import describePeer

#: The most connections one HTTP listener keeps open at once: a browser
#: keeps up to six to one server, one of them the page's event stream.
MAX_CONNECTIONS: Final = 64

#: The reasons counted for a connection refused by an HTTP listener.
NOT_ALLOWED: Final = "not allowed"
TOO_MANY: Final = "too many http connections"


class _Refused(Protocol):
    """
    Closes the connection at once, reading nothing and sending nothing (a
    protocol rather than C{None}, so that TLS closes it too).
    """

    def connectionMade(self) -> None:
        assert self.transport is not None
        # Every transport of a stream socket can abort (ITCPTransport).
        self.transport.abortConnection()  # type: ignore[attr-defined]


class HTTPListenerFactory(LimitedSite):
    """
    The factory of one HTTP listener: a L{LimitedSite} that also refuses
    peers outside C{--allow}, as the relay port does.
    """

    log = NamedLogger(REFUSALS)

    def __init__(
        self,
        site: HTTPSite,
        maxConnections: int,
        allow: Optional[list[Network]],
        refused: Callable[[str], object],
    ) -> None:
        super().__init__(site, maxConnections)
        self.allow = allow
        self.refused = refused

    # See LimitedSite.buildProtocol.
    def buildProtocol(  # type: ignore[override]
        self, addr: Optional[IAddress]
    ) -> Optional[ProtocolWrapper | Protocol]:
        """
        A channel of the site; or, for a peer outside C{--allow} (logged) or
        past the connection limit (not logged: any peer could grow the log
        so), a protocol that closes the connection at once.
        """
        assert addr is not None
        if self.allow is not None and not isAllowed(addr, self.allow):
            self.log.warn(
                "refused HTTP connection from {peer}: not in --allow",
                peer=describePeer(addr),
            )
            self.refused(NOT_ALLOWED)
            return _Refused()
        if len(self.protocols) >= self.maxConnections:
            self.refused(TOO_MANY)
            return _Refused()
        return super().buildProtocol(addr)

    def closeAll(self) -> None:
        """
        Close every connection open.
        """
        for protocol in list(self.protocols):
            if protocol.transport is not None:
                protocol.transport.loseConnection()


class HTTPService(MultiService):
    """
    Serves the site of C{--http} on its endpoints; at stop, ends the event
    streams and closes the connections.

    @ivar events: The event streams.
    @ivar listeners: The factory of each listener.
    """

    def __init__(self, events: EventHub) -> None:
        super().__init__()
        self.events = events
        self.listeners: list[HTTPListenerFactory] = []

    def stopService(self) -> Deferred[object]:
        """
        Stop listening, end the event streams, close the connections.
        """
        stopped: Deferred[object] = super().stopService()
        self.events.finishAll()
        for listener in self.listeners:
            listener.closeAll()
        return stopped


def httpSite(
    commands: CommandInterpreter, events: EventHub, clock: IReactorTime
) -> HTTPSite:
    """
    The site of the page and the API of C{commands}, with the event streams
    of C{events}, its idle connections timed by C{clock}.
    """
    site = HTTPSite(
        Root(RelayAPI(commands, events), Page()), timeout=IDLE_TIMEOUT, reactor=clock
    )
    site.noisy = False
    return site


def httpService(
    commands: CommandInterpreter,
    endpoints: Iterable[IStreamServerEndpoint],
    allow: Optional[Iterable[Network]] = None,
    refused: Optional[Callable[[str], object]] = None,
    clock: Optional[IReactorTime] = None,
) -> HTTPService:
    """
    The HTTP front end of C{commands}'s bank on C{endpoints}: the page and
    the API, each listener with at most L{MAX_CONNECTIONS} connections
    open (an event stream is one) and an idle timeout of L{IDLE_TIMEOUT
    <eofrelay.web.limits.IDLE_TIMEOUT>} seconds between requests.

    @param allow: The networks peers may connect from; C{None}: any.
    @param refused: Called with the reason (L{NOT_ALLOWED}, L{TOO_MANY})
        of each connection refused, for the metrics.
    @param clock: What times idle connections and the event streams'
        keep-alive comments; the bank's clock by default.
    """
    clock = clock if clock is not None else commands.bank.clock
    events = EventHub(commands.bank, clock)
    site = httpSite(commands, events, clock)
    service = HTTPService(events)
    networks = None if allow is None else list(allow)
    for endpoint in endpoints:
        factory = HTTPListenerFactory(
            site, MAX_CONNECTIONS, networks, refused or (lambda reason: None)
        )
        service.listeners.append(factory)
        listener = StreamServerEndpointService(endpoint, factory)
        listener._raiseSynchronously = True
        listener.setServiceParent(service)
    return service
