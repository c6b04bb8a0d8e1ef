"""
Tests for L{eofrelay.writethrough}.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, Optional

from twisted.internet import reactor, tcp
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.internet.ssl import PrivateCertificate
from twisted.internet.testing import StringTransport
from twisted.internet.threads import deferToThread
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase

from eofrelay.tcp.writethrough import writeThrough
from eofrelay.wire.layers import isWrapper, noDelay, usesTLS
from tests.sockets import listen

TIMEOUT = 10.0
#: Enough to fill the socket buffers of a peer that does not read yet.
BIG = 16 * 1024 * 1024


class OtherTransportTests(SynchronousTestCase):
    """
    Transports other than Twisted's TCP server get a plain C{write}.
    """

    def test_stringTransport(self) -> None:
        """
        A L{StringTransport} gets the data through C{write}.
        """
        transport = StringTransport()
        writeThrough(transport, b"success<EOF>")
        writeThrough(transport, b"pong<EOF>")
        self.assertEqual(transport.value(), b"success<EOF>pong<EOF>")


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


class Writer(Protocol):
    """
    Writes what the test asks for as soon as it is connected, and records
    whether the transport had to register for writability after each
    write.
    """

    def __init__(
        self, chunks: list[bytes], before: Callable[[Any], object] = lambda t: None
    ) -> None:
        self.chunks = chunks
        self.before = before
        self.registered: list[bool] = []
        self.transportClass: Optional[type] = None
        self.done: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        self.transportClass = self.transport.__class__
        self.before(self.transport)
        for chunk in self.chunks:
            writeThrough(self.transport, chunk)  # type: ignore[arg-type]
            writers = reactor.getWriters()
            self.registered.append(self.transport in writers)  # type: ignore[comparison-overlap]
        if self.transport.connected:  # type: ignore[union-attr]
            self.transport.loseConnection()  # type: ignore[union-attr]

    def connectionLost(self, reason: object = None) -> None:
        self.done.callback(None)


class WriterFactory(ServerFactory):
    """
    Gives its one L{Writer} to the first connection.
    """

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    def buildProtocol(self, addr: Optional[IAddress]) -> Writer:
        return self.writer


def readAll(port: int, greeting: bytes = b"") -> bytes:
    """
    Connect, send C{greeting}, read until the server closes or resets the
    connection (at any point, connecting included), return what was read.
    """
    received = bytearray()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            sock.sendall(greeting)
            for _ in range(BIG):
                data = sock.recv(1 << 20)
                if not data:
                    return bytes(received)
                received += data
    except (ConnectionResetError, BrokenPipeError):
        return bytes(received)
    raise AssertionError("the server never closed")


class TCPTests(TestCase):
    """
    Twisted's own TCP server transport, on a real socket.
    """

    timeout = 60

    @inlineCallbacks
    def serve(self, chunks, before=lambda transport: None, greeting=b""):
        """
        Accept one connection whose protocol calls C{before} with its
        transport, writes C{chunks} and closes, while the peer sends
        C{greeting}; return what the peer read and the protocol.
        """
        writer = Writer(chunks, before)
        port = listen(self, WriterFactory(writer))
        received = yield deferToThread(readAll, port, greeting)
        yield writer.done
        return received, writer

    @inlineCallbacks
    def test_sentAtOnce(self):
        """
        With nothing buffered, a reply is sent at once: the transport does
        not wait for the reactor to find the socket writable.
        """
        received, writer = yield self.serve([b"success<EOF>", b"pong<EOF>"])
        self.assertIs(writer.transportClass, tcp.Server)
        self.assertEqual(writer.registered, [False, False])
        self.assertEqual(received, b"success<EOF>pong<EOF>")

    @inlineCallbacks
    def test_orderKeptWhenBuffered(self):
        """
        What the socket does not take is buffered, and later writes go
        behind it, so the peer gets every byte in order.
        """
        big = bytes(range(256)) * (BIG // 256)
        received, writer = yield self.serve([big, b"after<EOF>", b"last<EOF>"])
        self.assertEqual(writer.registered, [True, True, True])
        self.assertEqual(len(received), len(big) + len(b"after<EOF>last<EOF>"))
        self.assertTrue(received == big + b"after<EOF>last<EOF>")

    @inlineCallbacks
    def test_notAfterStartTLS(self):
        """
        Once the transport has started TLS, what is written goes through
        TLS: the peer never sees it in clear.
        """
        import twisted.test

        certificate = PrivateCertificate.loadPEM(
            FilePath(twisted.test.__file__).sibling("server.pem").getContent()
        )
        received, writer = yield self.serve(
            [b"secret-reply<EOF>"],
            lambda transport: transport.startTLS(certificate.options()),
            greeting=b"not a TLS handshake<EOF>",
        )
        self.assertIs(writer.transportClass, tcp.Server)
        self.assertNotIn(b"secret-reply", received)

    @inlineCallbacks
    def test_notAfterAbort(self):
        """
        Once the transport is being aborted, nothing more is sent.
        """
        received, _writer = yield self.serve(
            [b"secret-reply<EOF>"], lambda transport: transport.abortConnection()
        )
        self.assertEqual(received, b"")
