"""
Tests for L{eofrelay.web.limits}.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from eofrelay.web.limits import IDLE_TIMEOUT, LimitedSite

PEER = IPv4Address("TCP", "127.0.0.1", 40000)


class LimitedSiteTests(SynchronousTestCase):
    """
    Tests for L{LimitedSite}.
    """

    def site(self, root: Resource | None = None) -> Site:
        """
        A site whose idle timeouts are timed by C{self.clock}.
        """
        self.clock = Clock()
        return Site(root or Resource(), timeout=IDLE_TIMEOUT, reactor=self.clock)

    def connect(self, limited: LimitedSite) -> StringTransport | None:
        protocol = limited.buildProtocol(PEER)
        if protocol is None:
            return None
        transport = StringTransport(peerAddress=PEER)
        transport.protocol = protocol  # type: ignore[attr-defined]
        protocol.makeConnection(transport)
        return transport

    def test_limit(self) -> None:
        """
        Past C{maxConnections} open connections, the next is refused
        (C{None}: closed at once) and counted; once one closes, a new one
        is served again.
        """
        refused: list[None] = []
        limited = LimitedSite(self.site(), 2, lambda: refused.append(None))
        first = self.connect(limited)
        self.assertIsNotNone(self.connect(limited))
        self.assertIsNone(self.connect(limited))
        self.assertEqual(len(refused), 1)
        assert first is not None
        first.protocol.connectionLost(None)  # type: ignore[attr-defined]
        self.assertIsNotNone(self.connect(limited))
        self.assertEqual(len(refused), 1)

    def test_serves(self) -> None:
        """
        A connection within the limit is the site's: a request is answered.
        """
        root = Resource()
        root.putChild(b"", Resource())
        transport = self.connect(LimitedSite(self.site(root), 1))
        assert transport is not None
        transport.protocol.dataReceived(  # type: ignore[attr-defined]
            b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 404 "))

    def test_idleTimeout(self) -> None:
        """
        A site built with C{timeout=IDLE_TIMEOUT} closes a connection that
        sends no request for that long, in place of twisted.web's twelve
        hours.
        """
        transport = self.connect(LimitedSite(self.site(), 4))
        assert transport is not None
        self.clock.advance(IDLE_TIMEOUT - 1)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(transport.disconnecting)

    def test_logPrefix(self) -> None:
        """
        The listener is logged as the site's (C{Site starting on PORT}).
        """
        site = Site(Resource())
        self.assertEqual(LimitedSite(site, 1).logPrefix(), site.logPrefix())

    def test_badLimit(self) -> None:
        """
        A limit below 1 is refused.
        """
        self.assertRaises(ValueError, LimitedSite, Site(Resource()), 0)
