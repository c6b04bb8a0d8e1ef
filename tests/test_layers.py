"""
Tests for L{eofrelay.wire.layers}: how transports wrap each other, and
C{TCP_NODELAY}.
"""

from __future__ import annotations

import socket

from twisted.internet import tcp
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.internet.testing import StringTransport
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.wire.layers import isWrapper, noDelay, usesTLS


def wrap(transport: object, layers: int) -> object:
    """
    C{transport} under C{layers} protocol wrappers.
    """
    for _ in range(layers):
        wrapper = ProtocolWrapper(WrappingFactory(ServerFactory()), Protocol())
        wrapper.makeConnection(transport)
        transport = wrapper
    return transport


class IsWrapperTests(SynchronousTestCase):
    """
    Tests for L{isWrapper}.
    """

    def test_wrappers(self) -> None:
        """
        Protocol wrappers wrap; a transport of its own (here a test
        double) does not.
        """
        transport = StringTransport()
        self.assertFalse(isWrapper(transport))
        self.assertTrue(isWrapper(wrap(transport, 1)))

    def test_tcpWithoutItsDict(self) -> None:
        """
        Twisted's TCP transport is not a wrapper, and is recognised by its
        class, without its C{__dict__} being asked for (on CPython 3.11
        and later that would make a dict that stays with the connection):
        even with a C{transport} attribute it is not taken for a wrapper.
        """
        server = tcp.Server.__new__(tcp.Server)  # no socket needed
        self.assertFalse(isWrapper(server))
        server.transport = StringTransport()  # type: ignore[attr-defined]
        self.assertFalse(isWrapper(server))


class UsesTLSTests(SynchronousTestCase):
    """
    Tests for L{usesTLS}.
    """

    def test_plain(self) -> None:
        """
        A transport that is not TLS, wrapped or not, is not.
        """
        self.assertFalse(usesTLS(StringTransport()))
        self.assertFalse(usesTLS(wrap(StringTransport(), 3)))

    def test_startedTLS(self) -> None:
        """
        A transport that has started TLS is TLS, also under wrappers.
        """
        transport = StringTransport()
        transport.TLS = True  # type: ignore[attr-defined]
        self.assertTrue(usesTLS(transport))
        self.assertTrue(usesTLS(wrap(transport, 2)))

    def test_bounded(self) -> None:
        """
        Only a few layers are looked through, so that a transport that
        wraps itself cannot make it loop.
        """
        transport = StringTransport()
        transport.transport = transport  # type: ignore[attr-defined]
        self.assertFalse(usesTLS(transport))


class SocketLayer:
    """
    The innermost transport of a connection: a socket of C{family}, and
    Twisted's C{setTcpNoDelay}, recorded.
    """

    def __init__(self, family: int) -> None:
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.noDelay: list[bool] = []

    def getHandle(self) -> socket.socket:
        return self.socket

    def setTcpNoDelay(self, enabled: bool) -> None:
        self.noDelay.append(enabled)


class NoDelayTests(SynchronousTestCase):
    """
    Tests for L{noDelay}.
    """

    def layer(self, family: int) -> SocketLayer:
        layer = SocketLayer(family)
        self.addCleanup(layer.socket.close)
        return layer

    def test_tcp(self) -> None:
        """
        A TCP connection, IPv4 or IPv6, gets C{TCP_NODELAY}.
        """
        families = [socket.AF_INET] + ([socket.AF_INET6] if socket.has_ipv6 else [])
        for family in families:
            try:
                layer = self.layer(family)
            except OSError:
                continue  # IPv6 disabled
            self.assertTrue(noDelay(layer))
            self.assertEqual(layer.noDelay, [True])

    def test_wrapped(self) -> None:
        """
        Under wrappers (TLS, HAProxy, policies), the TCP connection
        underneath gets it, once.
        """
        layer = self.layer(socket.AF_INET)
        wrapped = wrap(layer, 3)
        self.assertTrue(noDelay(wrapped))
        self.assertEqual(layer.noDelay, [True])

    def test_notTCP(self) -> None:
        """
        A UNIX socket, also under a wrapper, and a transport without a
        socket are left alone.
        """
        layer = self.layer(socket.AF_UNIX)
        self.assertFalse(noDelay(layer))
        self.assertFalse(noDelay(wrap(layer, 1)))
        self.assertEqual(layer.noDelay, [])
        self.assertFalse(noDelay(StringTransport()))

    def test_unknownTransport(self) -> None:
        """
        A transport whose socket cannot be had, or that cannot set the
        option, is left alone.
        """

        class Closed(SocketLayer):
            def getHandle(self) -> socket.socket:
                raise RuntimeError("no socket any more")

        closed = Closed(socket.AF_INET)
        self.addCleanup(closed.socket.close)
        self.assertFalse(noDelay(closed))
        self.assertEqual(closed.noDelay, [])
        handleOnly = StringTransport()
        handle = self.layer(socket.AF_INET).socket
        handleOnly.getHandle = lambda: handle  # type: ignore[attr-defined]
        self.assertFalse(noDelay(handleOnly))
