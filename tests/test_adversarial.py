"""
Adversarial clients on real sockets (127.0.0.1, port 0), each bounded in
bytes, connections and time.  After each attack a fresh client is served
correctly and the relays are in the state the attack should have left.
"""

from __future__ import annotations

import random
import socket
import struct

from twisted.internet import reactor, tcp
from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import Clock, deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from eofrelay.core.bank import RelayBank
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay
from tests.sockets import closed, listen

TIMEOUT = 10.0


def exchange(port: int, data: bytes, limit: int = 10_000_000) -> bytes:
    """
    Send C{data}, half-close, read until the server closes.
    """
    client = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        try:
            client.sendall(data)
            client.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        chunks = []
        received = 0
        while received < limit:
            try:
                chunk = client.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
        return b"".join(chunks)
    finally:
        client.close()


def readUntilClosed(client: socket.socket) -> bytes:
    """
    Read until the server closes the connection; a reset fails.
    """
    chunks: list[bytes] = []
    while True:
        chunk = client.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


class AdversarialTests(TestCase):
    """
    Attacks against a listening factory.
    """

    timeout = 120

    def setUp(self) -> None:
        self.a = MemoryRelay("a")
        self.b = MemoryRelay("b")
        self.factory = RelayFactory(
            RelayBank([self.a, self.b], clock=Clock()), maxConnections=20
        )
        self.port = self.listen(self.factory)

    def listen(self, factory: RelayFactory) -> int:
        return listen(self, factory)

    @inlineCallbacks
    def assertServed(self, states: bytes = b"a=off b=off"):
        """
        A fresh client is served, and the relays are in C{states}.
        """
        reply = yield deferToThread(exchange, self.port, b"ping<EOF>relays<EOF>")
        self.assertEqual(reply, b"pong<EOF>" + states + b"<EOF>")

    @inlineCallbacks
    def test_megabyteWithoutDelimiter(self):
        """
        1 MiB without a delimiter gets C{error: line too long} and the
        connection is closed.
        """
        reply = yield deferToThread(exchange, self.port, b"on b<EOF>" + b"x" * 2**20)
        self.assertEqual(reply, b"success<EOF>error: line too long<EOF>")
        yield self.assertServed(b"a=off b=on")

    @inlineCallbacks
    def test_closingReplyNotDestroyed(self):
        """
        When the server closes after C{bye} or C{error: line too long}
        while the client is still sending, the client still reads that
        reply and a clean end of stream, not a reset.
        """

        def strict(data: bytes) -> bytes:
            client = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
            try:
                client.sendall(data)
                return readUntilClosed(client)
            finally:
                client.close()

        for _ in range(5):
            reply = yield deferToThread(strict, b"quit<EOF>" + b"ping<EOF>" * 20_000)
            self.assertEqual(reply, b"bye<EOF>")
            reply = yield deferToThread(strict, b"x" * 300_000)
            self.assertEqual(reply, b"error: line too long<EOF>")
        yield self.assertServed()

    @inlineCallbacks
    def test_longMessages(self):
        """
        64 KiB messages are refused with the default limit and accepted
        with C{maxLine} raised to 64 KiB.
        """
        message = b" " * (2**16 - 4) + b"on b"
        reply = yield deferToThread(exchange, self.port, message + b"<EOF>")
        self.assertEqual(reply, b"error: line too long<EOF>")
        self.port = self.listen(
            RelayFactory(RelayBank([self.a, self.b], clock=Clock()), maxLine=2**16)
        )
        reply = yield deferToThread(exchange, self.port, (message + b"<EOF>") * 8)
        self.assertEqual(reply, b"success<EOF>" * 8)
        yield self.assertServed(b"a=off b=on")

    @inlineCallbacks
    def test_binaryGarbage(self):
        """
        Random bytes, NULs and invalid UTF-8 get error replies only, one per
        message, and switch nothing.
        """
        generator = random.Random(4)
        messages = [
            bytes(generator.randrange(256) for _ in range(40)) for _ in range(200)
        ]
        messages = [m.replace(b"<EOF>", b"") for m in messages]
        messages += [
            b"\x00",
            b"on\x00",
            b"\x00on",
            b"\xc3\x28",
            b"on \xed\xa0\x80",
            b"\xff",
        ]
        reply = yield deferToThread(
            exchange, self.port, b"<EOF>".join(messages) + b"<EOF>"
        )
        replies = reply.split(b"<EOF>")[:-1]
        self.assertEqual(len(replies), len(messages))
        self.assertTrue(all(r.startswith(b"error: ") for r in replies), replies)
        self.assertEqual(
            replies[-6:], [b"error: unknown command"] * 3 + [b"error: bad encoding"] * 3
        )
        self.assertEqual(self.a.history + self.b.history, [])
        yield self.assertServed()

    @inlineCallbacks
    def test_resetMidMessage(self):
        """
        A connection reset (SO_LINGER 0) in the middle of a message leaves
        the state as it was and the server serving.  (The limit is raised
        above the number of resets: reset connections still waiting to be
        accepted when the last client connects would otherwise count
        against it, which is the limit at work, not what is tested here.)
        """
        self.factory.maxConnections = 100

        def reset() -> None:
            for _ in range(50):
                client = socket.create_connection(
                    ("127.0.0.1", self.port), timeout=TIMEOUT
                )
                client.sendall(b"on b<EOF>status<EOF>of")
                client.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                client.close()

        yield deferToThread(reset)
        yield closed(self.factory)
        yield self.assertServed(b"a=off b=on")

    @inlineCallbacks
    def test_connectionFlood(self):
        """
        Past the connection limit, connections get C{error: too many
        connections} and are closed; established ones keep working.
        """

        def flood() -> tuple[list[bytes], bytes]:
            clients = []
            try:
                for _ in range(20):
                    client = socket.create_connection(
                        ("127.0.0.1", self.port), timeout=TIMEOUT
                    )
                    client.sendall(b"ping<EOF>")
                    self.assertEqual(client.recv(100), b"pong<EOF>")
                    clients.append(client)
                refused = []
                for _ in range(30):
                    extra = socket.create_connection(
                        ("127.0.0.1", self.port), timeout=TIMEOUT
                    )
                    refused.append(extra.recv(100))
                    extra.close()
                clients[0].sendall(b"on<EOF>")
                return refused, clients[0].recv(100)
            finally:
                for client in clients:
                    client.close()

        refused, reply = yield deferToThread(flood)
        self.assertEqual(refused, [b"error: too many connections<EOF>"] * 30)
        self.assertEqual(reply, b"success<EOF>")
        yield closed(self.factory)
        yield self.assertServed(b"a=on b=off")

    @inlineCallbacks
    def test_slowReaderPipelining(self):
        """
        A client that pipelines twenty thousand commands and reads none
        of its replies makes the server stop reading, not buffer without
        bound; once it reads, it gets every reply, in order.
        """
        client = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        self.addCleanup(client.close)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.sendall(b"ping<EOF>")
        self.assertEqual((yield deferToThread(client.recv, 100)), b"pong<EOF>")
        [protocol] = self.factory.connections
        transport = protocol.transport
        assert isinstance(transport, tcp.Server)
        # A small kernel send buffer on the server side, so that unread
        # replies pile up in the server process, where the test sees them.
        transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        pairs = 10_000
        data = b"toggle<EOF>status<EOF>" * pairs

        def send() -> None:
            client.sendall(data)
            client.shutdown(socket.SHUT_WR)

        sending = deferToThread(send)
        largest = 0
        for _ in range(100_000):
            buffered = len(transport.dataBuffer) + transport._tempDataLen
            largest = max(largest, buffered)
            if protocol._paused:
                break
            yield deferLater(reactor, 0, lambda: None)
        self.assertTrue(protocol._paused, "the server never stopped reading")
        self.assertLess(largest, 128 * 1024)

        received = yield deferToThread(readUntilClosed, client)
        yield sending
        self.assertEqual(
            received, b"success<EOF>on<EOF>success<EOF>off<EOF>" * (pairs // 2)
        )
        yield self.assertServed()
