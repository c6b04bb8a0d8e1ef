"""
Tests for L{eofrelay.tcp.writethrough}.
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
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase

from eofrelay.tcp.writethrough import writeThrough
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
