# -*- test-case-name: tests.test_web_limits -*-
"""
Limits of an HTTP listener, so that no HTTP peer can use up the
descriptors the relay port needs: a cap on open connections and an idle
timeout for each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from twisted.internet.interfaces import IAddress
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.web.server import Site

#: Seconds an HTTP connection may stay open without a request, in place of
#: twisted.web's twelve hours.
IDLE_TIMEOUT = 60.0


class LimitedSite(WrappingFactory):
    """
    Serves a L{Site} with at most C{maxConnections} connections open at
    once: one more is closed as soon as it is accepted, before any byte is
    read, and C{refused} is called (no log line: any peer could grow the
    log so).

    @ivar site: The site served.
    @ivar maxConnections: The most connections open at once.
    """

    noisy = False

    def __init__(
        self,
        site: Site,
        maxConnections: int,
        refused: Optional[Callable[[], object]] = None,
    ) -> None:
        """
        @param refused: Called for each connection refused, if given.
        @raise ValueError: if C{maxConnections} is below 1.
        """
        if maxConnections < 1:
            raise ValueError("maxConnections must be at least 1")
        super().__init__(site)
        self.site = site
        self.maxConnections = maxConnections
        self._refused = refused

    def logPrefix(self) -> str:
        """
        The site's, so that C{Site starting on PORT} reads as without the
        limit.
        """
        return str(self.site.logPrefix())

    # WrappingFactory is typed as always building one; IProtocolFactory
    # lets a factory refuse a connection with None, which is the point here.
    def buildProtocol(  # type: ignore[override]
        self, addr: Optional[IAddress]
    ) -> Optional[ProtocolWrapper]:
        """
        A channel of the site, or C{None} (the connection is closed) if
        C{maxConnections} are open.
        """
        if len(self.protocols) >= self.maxConnections:
            if self._refused is not None:
                self._refused()
            return None
        protocol: ProtocolWrapper = super().buildProtocol(addr)
        return protocol
