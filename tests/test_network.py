"""
Real-socket tests on 127.0.0.1: the article's clients and others, against a
listening L{RelayFactory}.

The clients are plain blocking sockets, as the article's are, run in a
thread so that the reactor keeps serving; every socket has a timeout.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TypeVar

from twisted.internet import reactor, tcp
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.task import Clock, deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from eofrelay.core.bank import RelayBank
from eofrelay.interfaces import IRelay
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay
from tests.sockets import listen

T = TypeVar("T")
TIMEOUT = 10.0


def articleClient(port: int, message: bytes) -> bytes:
    """
    The article's C{tcp_client}: connect, send, one C{recv(1024)}, close.
    """
    client = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        client.sendall(message)
        return client.recv(1024)
    finally:
        client.close()


def readAll(client: socket.socket, limit: int = 10_000_000) -> bytes:
    """
    Read until the server closes the connection (at most C{limit} bytes).
    """
    chunks = []
    received = 0
    while received < limit:
        chunk = client.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def halfCloseClient(port: int, message: bytes) -> bytes:
    """
    A netcat-style client: send everything, half-close, read until the
    server closes.
    """
    client = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        client.sendall(message)
        client.shutdown(socket.SHUT_WR)
        return readAll(client)
    finally:
        client.close()


def readReplies(client: socket.socket, count: int) -> bytes:
    """
    Read until C{count} replies have arrived.
    """
    data = b""
    while data.count(b"<EOF>") < count:
        chunk = client.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


class NetworkTests(TestCase):
    """
    Clients on real sockets.
    """

    timeout = 60

    def setUp(self) -> None:
        self.a = MemoryRelay("a")
        self.b = MemoryRelay("b")
        self.factory = RelayFactory(RelayBank([self.a, self.b], clock=Clock()))
        self.port = self.listen(self.factory)

    def listen(self, factory: RelayFactory) -> int:
        return listen(self, factory)

    def inThread(self, function: Callable[..., T], *args: object) -> Deferred[T]:
        return deferToThread(function, *args)

    @inlineCallbacks
    def test_articleClient(self):
        """
        The article's client gets the article's replies for C{on}, C{off}
        and an unknown command.
        """
        self.assertEqual(
            (yield self.inThread(articleClient, self.port, b"on<EOF>")), b"success<EOF>"
        )
        self.assertEqual(self.a.history, [True])
        self.assertEqual(
            (yield self.inThread(articleClient, self.port, b"off<EOF>")),
            b"success<EOF>",
        )
        self.assertEqual(
            (yield self.inThread(articleClient, self.port, b"invalid<EOF>")),
            b"error: unknown command<EOF>",
        )
        self.assertEqual(self.a.history, [True, False])

    @inlineCallbacks
    def test_telnetStyle(self):
        """
        A telnet-style client's trailing CR LF is ignored.
        """
        self.assertEqual(
            (yield self.inThread(articleClient, self.port, b"on<EOF>\r\n")),
            b"success<EOF>",
        )

    @inlineCallbacks
    def test_halfClose(self):
        """
        A netcat-style client that half-closes gets every reply, then the
        server closes.
        """
        reply = yield self.inThread(
            halfCloseClient, self.port, b"on b<EOF>status b<EOF>relays<EOF>ping"
        )
        self.assertEqual(reply, b"success<EOF>on<EOF>a=off b=on<EOF>")

    @inlineCallbacks
    def test_halfCloseThroughHAProxy(self):
        """
        Through the PROXY protocol's wrapper (C{--listen haproxy:...}),
        which Twisted cannot half-close, a client that half-closes right
        after its commands still gets every reply: they are sent before the
        peer's close is read.
        """
        from twisted.internet.endpoints import TCP4ServerEndpoint
        from twisted.protocols.haproxy import proxyEndpoint

        from tests.sockets import closed

        endpoint = proxyEndpoint(TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"))
        port = yield endpoint.listen(self.factory)
        self.addCleanup(port.stopListening)
        for _attempt in range(5):
            reply = yield self.inThread(
                halfCloseClient,
                port.getHost().port,
                b"PROXY TCP4 10.0.0.1 127.0.0.1 1234 1100\r\n"
                b"on b<EOF>status b<EOF>ping",
            )
            self.assertEqual(reply, b"success<EOF>on<EOF>")
        yield closed(self.factory)

    @inlineCallbacks
    def test_sharedState(self):
        """
        Two clients see one state.
        """
        first = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        second = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        self.addCleanup(first.close)
        self.addCleanup(second.close)
        first.sendall(b"on b<EOF>")
        self.assertEqual((yield self.inThread(readReplies, first, 1)), b"success<EOF>")
        second.sendall(b"status b<EOF>toggle b<EOF>")
        self.assertEqual(
            (yield self.inThread(readReplies, second, 2)), b"on<EOF>success<EOF>"
        )
        first.sendall(b"relays<EOF>")
        self.assertEqual(
            (yield self.inThread(readReplies, first, 1)), b"a=off b=off<EOF>"
        )

    @inlineCallbacks
    def test_pipelined(self):
        """
        Thousands of pipelined messages get one reply each, in order.
        """
        count = 3000
        reply = yield self.inThread(
            halfCloseClient, self.port, b"toggle<EOF>status<EOF>" * count
        )
        self.assertEqual(
            reply, b"success<EOF>on<EOF>success<EOF>off<EOF>" * (count // 2)
        )

    @inlineCallbacks
    def test_lineTooLong(self):
        """
        An over-long message gets C{error: line too long} and the server
        closes; other clients are still served.
        """
        reply = yield self.inThread(
            halfCloseClient, self.port, b"ping<EOF>" + b"x" * 100_000
        )
        self.assertEqual(reply, b"pong<EOF>error: line too long<EOF>")
        self.assertEqual(
            (yield self.inThread(articleClient, self.port, b"ping<EOF>")), b"pong<EOF>"
        )

    @inlineCallbacks
    def test_closeAfterReply(self):
        """
        With C{closeAfterReply}, a client that reads until the server
        closes gets exactly one reply.
        """
        port = self.listen(
            RelayFactory(
                RelayBank([MemoryRelay("c")], clock=Clock()), closeAfterReply=True
            )
        )

        def readUntilClosed() -> bytes:
            client = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            try:
                client.sendall(b"on<EOF>ping<EOF>")
                return readAll(client)
            finally:
                client.close()

        self.assertEqual((yield self.inThread(readUntilClosed)), b"success<EOF>")


class SlowWatcherTests(TestCase):
    """
    A watcher that never reads cannot make the server buffer without bound.
    """

    timeout = 60

    @inlineCallbacks
    def test_slowWatcher(self):
        """
        While 10,000 changes happen and a watcher reads none of its events,
        the server's buffer for it stays bounded, the watcher is
        disconnected, and other clients are still served.
        """
        from twisted.internet.task import deferLater

        factory = RelayFactory(RelayBank([MemoryRelay("a")], clock=Clock()))
        port = listen(self, factory)
        watcher = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.addCleanup(watcher.close)
        watcher.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        watcher.sendall(b"watch<EOF>")
        reply = yield deferToThread(readReplies, watcher, 1)
        self.assertEqual(reply, b"success<EOF>")
        [protocol] = factory.watchers
        transport = protocol.transport
        assert isinstance(transport, tcp.Server)
        # Small kernel buffers, so that what the watcher does not read piles
        # up in the server process, where the test can see it.
        transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        largest = 0
        relay = factory.bank.relay()
        for _ in range(100):
            for _ in range(100):
                relay.toggle()
                buffered = len(transport.dataBuffer) + transport._tempDataLen
                largest = max(largest, buffered)
            yield deferLater(reactor, 0, lambda: None)
        self.assertEqual(factory.watchers, set())
        self.assertLess(largest, 256 * 1024)
        reply = yield deferToThread(articleClient, port, b"status<EOF>")
        self.assertEqual(reply, b"off<EOF>")


@implementer(IRelay)
class NextTurnRelay:
    """
    A relay whose driver answers on the reactor's next turn.
    """

    name = "slow"

    def __init__(self) -> None:
        self.on = False

    def switch(self, on: bool) -> Deferred[None]:
        def done() -> None:
            self.on = on

        return deferLater(reactor, 0, done)

    def state(self) -> bool:
        return self.on


class HalfCloseTests(TestCase):
    """
    A peer's half-close on a real TCP connection.
    """

    timeout = 60

    def setUp(self) -> None:
        self.factory = RelayFactory(RelayBank([NextTurnRelay()], clock=Clock()))
        self.port = listen(self, self.factory)

    @inlineCallbacks
    def test_pendingRepliesDelivered(self):
        """
        A peer that half-closes while its replies wait for the relay gets
        them all, then the server closes.
        """
        reply = yield deferToThread(
            halfCloseClient, self.port, b"on<EOF>ping<EOF>off<EOF>status<EOF>"
        )
        self.assertEqual(reply, b"success<EOF>pong<EOF>success<EOF>off<EOF>")

    @inlineCallbacks
    def test_halfCloseableOnlyWhenNeeded(self):
        """
        The server's protocol is an L{IHalfCloseableProtocol} while a reply
        is pending, and not once everything is sent, so that a peer's close
        then closes the connection at once.
        """
        client = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        self.addCleanup(client.close)
        client.sendall(b"ping<EOF>")
        self.assertEqual((yield deferToThread(readReplies, client, 1)), b"pong<EOF>")
        [protocol] = self.factory.connections
        self.assertIsNone(IHalfCloseableProtocol(protocol, None))
        client.sendall(b"on<EOF>")
        for _ in range(10_000):
            if protocol._pending:
                break
            yield deferLater(reactor, 0, lambda: None)
        self.assertIs(IHalfCloseableProtocol(protocol, None), protocol)
        self.assertEqual((yield deferToThread(readReplies, client, 1)), b"success<EOF>")
        self.assertIsNone(IHalfCloseableProtocol(protocol, None))
