"""
TLS through C{--listen ssl:...}, with a key and certificate the test makes.
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl as stdssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import reactor, ssl
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import SSL4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from eofrelay.core.bank import RelayBank
from eofrelay.tap import Options
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay
from tests.sockets import sendsAtOnce


def selfSignedCertificate(name: str) -> tuple[bytes, bytes]:
    """
    A new self-signed certificate for C{name} and its key, in PEM.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    keyPEM = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), keyPEM


def writeSecret(path: str, data: bytes) -> None:
    """
    Write a private key to C{path} as it should be kept: readable by its
    owner only (eofrelay refuses a key other users may read).
    """
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        file.write(data)


def _readRecord(sock: socket.socket, incoming: stdssl.MemoryBIO) -> bool:
    """
    Feed what the server sends next to a TLS object's C{incoming} buffer.

    @return: Whether the server has closed the connection.
    """
    data = sock.recv(65536)
    if not data:
        incoming.write_eof()
        return True
    incoming.write(data)
    return False


def sendThenClose(port: int, certificatePEM: bytes, message: bytes, how: str) -> bytes:
    """
    A TLS client that sends C{message} and closes at once, without waiting
    for the replies, then reads everything the server sends until it
    closes.

    @param how: C{"alert"}: the client's last handshake message, C{message}
        and the TLS close alert leave in one packet; C{"shutdown"}: the
        handshake message and C{message} in one packet, then a TCP
        half-close.
    @return: The plain text received, followed by C{b"|closed"} when the
        server ended TLS with its close alert.
    """
    context = stdssl.create_default_context(cadata=certificatePEM.decode("ascii"))
    incoming, outgoing = stdssl.MemoryBIO(), stdssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        for _step in range(20):
            try:
                tls.do_handshake()
                break
            except stdssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                if _readRecord(sock, incoming):
                    raise AssertionError("closed during the handshake") from None
        else:
            raise AssertionError("no handshake")
        tls.write(message)
        if how == "alert":
            try:
                tls.unwrap()
            except stdssl.SSLWantReadError:
                pass
            sock.sendall(outgoing.read())
        else:
            sock.sendall(outgoing.read())
            sock.shutdown(socket.SHUT_WR)
        received = b""
        closed = False
        for _read in range(1000):
            try:
                received += tls.read(65536)
                continue
            except stdssl.SSLWantReadError:
                pass
            except stdssl.SSLZeroReturnError:
                received += b"|closed"
                break
            except stdssl.SSLEOFError:
                break
            if closed:
                break
            closed = _readRecord(sock, incoming)
        return received
    finally:
        sock.close()


class Replies(Protocol):
    """
    Collects C{count} replies.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.data = b""
        self.done: Deferred[bytes] = Deferred()
        self.lost: Deferred[None] = Deferred()

    def connectionLost(self, reason: object = None) -> None:
        self.reason = reason
        self.lost.callback(None)

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        if self.data.count(b"<EOF>") >= self.count and not self.done.called:
            self.done.callback(self.data)


class TLSTests(TestCase):
    """
    The protocol over TLS.
    """

    timeout = 60

    @inlineCallbacks
    def listenTLS(self, factory: RelayFactory):
        """
        Listen with C{factory} through a C{--listen ssl:...} description,
        with a certificate made here (kept as C{certificatePEM}), until
        the end of the test, on a port kept as C{tlsPort}.

        @return: A Deferred firing with a client endpoint that trusts that
            certificate.
        """
        certificatePEM, keyPEM = selfSignedCertificate("localhost")
        pem = self.mktemp()
        writeSecret(pem, keyPEM + certificatePEM)
        options = Options()
        options.parseOptions(
            [
                "--gpio",
                "memory",
                "--listen",
                f"ssl:0:interface=127.0.0.1:privateKey={pem}",
            ]
        )
        [endpoint] = options["endpoints"]
        port = yield endpoint.listen(factory)
        self.addCleanup(port.stopListening)
        self.certificatePEM = certificatePEM
        self.tlsPort = port.getHost().port
        trust = ssl.Certificate.loadPEM(certificatePEM)
        return SSL4ClientEndpoint(
            reactor,
            "127.0.0.1",
            port.getHost().port,
            ssl.optionsForClientTLS("localhost", trustRoot=trust),
        )

    @inlineCallbacks
    def test_sslListen(self):
        """
        A C{--listen ssl:...} description with a key and certificate serves
        the protocol to a client that verifies the certificate, with
        Nagle's algorithm off on the TCP connection under TLS.
        """
        relay = MemoryRelay("a")
        factory = RelayFactory(RelayBank([relay], clock=Clock()))
        client = yield self.listenTLS(factory)
        replies = Replies(2)
        yield connectProtocol(client, replies)
        replies.transport.write(b"on<EOF>status<EOF>")  # type: ignore[union-attr]
        self.assertEqual((yield replies.done), b"success<EOF>on<EOF>")
        self.assertEqual(relay.history, [True])
        [server] = factory.connections
        self.assertTrue(sendsAtOnce(server.transport))
        replies.transport.loseConnection()  # type: ignore[union-attr]
        yield replies.lost

    @inlineCallbacks
    def test_eventsOverTLS(self):
        """
        A watcher over TLS gets every event, in order, after the reply
        to its C{watch}; events written together may be gathered into one
        TLS record, but are never held back behind a later reply.
        """
        factory = RelayFactory(
            RelayBank([MemoryRelay("a"), MemoryRelay("b")], clock=Clock())
        )
        client = yield self.listenTLS(factory)
        watcher = Replies(1)
        yield connectProtocol(client, watcher)
        watcher.transport.write(b"watch<EOF>")  # type: ignore[union-attr]
        yield watcher.done
        watcher.count, watcher.done = 5, Deferred()
        commander = Replies(2)
        yield connectProtocol(client, commander)
        commander.transport.write(b"on all<EOF>off a<EOF>")  # type: ignore[union-attr]
        self.assertEqual((yield commander.done), b"success<EOF>success<EOF>")
        watcher.transport.write(b"ping<EOF>")  # type: ignore[union-attr]
        self.assertEqual(
            (yield watcher.done),
            b"success<EOF>event: a on<EOF>event: b on<EOF>event: a off<EOF>pong<EOF>",
        )
        for each in (watcher, commander):
            each.transport.loseConnection()  # type: ignore[union-attr]
            yield each.lost

    @inlineCallbacks
    def test_quitClosesTLS(self):
        """
        After C{quit}, the server ends TLS with its close alert before
        closing, so the client sees a clean close (not a truncated
        stream), and the server's side is closed too.
        """
        from twisted.internet.error import ConnectionDone

        from tests.sockets import closed

        factory = RelayFactory(RelayBank([MemoryRelay("a")], clock=Clock()))
        client = yield self.listenTLS(factory)
        replies = Replies(2)
        yield connectProtocol(client, replies)
        replies.transport.write(b"on<EOF>quit<EOF>")  # type: ignore[union-attr]
        self.assertEqual((yield replies.done), b"success<EOF>bye<EOF>")
        yield replies.lost
        self.assertTrue(replies.reason.check(ConnectionDone), replies.reason)  # type: ignore[attr-defined]
        yield closed(factory)

    @inlineCallbacks
    def sendThenClose(self, how: str, expected: bytes):
        """
        Run L{sendThenClose} against a TLS listener five times, with
        three commands, and check that every try received C{expected}.
        """
        from twisted.internet.threads import deferToThread

        from tests.sockets import closed

        relay = MemoryRelay("a")
        factory = RelayFactory(RelayBank([relay], clock=Clock()))
        yield self.listenTLS(factory)
        for _attempt in range(5):
            received = yield deferToThread(
                sendThenClose,
                self.tlsPort,
                self.certificatePEM,
                b"on<EOF>status<EOF>ping<EOF>",
                how,
            )
            self.assertEqual(received, expected)
        yield closed(factory)
        self.assertEqual(relay.history, [True] * 5)

    def test_closeAlertWithCommands(self):
        """
        A client whose commands and TLS close alert arrive in one packet
        (with its last handshake message) gets every reply, then the
        server's close alert.
        """
        return self.sendThenClose("alert", b"success<EOF>on<EOF>pong<EOF>|closed")

    def test_halfCloseAfterCommands(self):
        """
        A client that half-closes TCP right after its commands gets every
        reply.  The connection then ends without the server's close alert:
        Twisted's TLS layer closes as soon as TCP's end of stream arrives.
        """
        return self.sendThenClose("shutdown", b"success<EOF>on<EOF>pong<EOF>")

    @inlineCallbacks
    def test_allowListOverTLS(self):
        """
        A peer outside C{--allow} is cut off at once over TLS too, without
        a handshake, and nothing stays open.
        """
        from eofrelay.commands.access import parseNetwork
        from tests.sockets import closed

        factory = RelayFactory(
            RelayBank([MemoryRelay("a")], clock=Clock()),
            allow=[parseNetwork("10.0.0.0/8")],
        )
        client = yield self.listenTLS(factory)
        replies = Replies(1)
        yield connectProtocol(client, replies)
        replies.transport.write(b"on<EOF>")  # type: ignore[union-attr]
        yield replies.lost
        self.assertEqual(replies.data, b"")
        yield closed(factory)
        self.assertEqual(factory.refusedCounts["not allowed"], 1)

    @inlineCallbacks
    def test_failureLogged(self):
        """
        A peer that speaks plain text to a TLS port is logged once, with
        OpenSSL's reason in words, and counted.
        """
        from typing import cast

        from twisted.internet.threads import deferToThread
        from twisted.logger import ILogObserver, globalLogPublisher

        from tests.sockets import closed

        events: list[dict[str, object]] = []
        observer = cast(ILogObserver, events.append)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        factory = RelayFactory(RelayBank([MemoryRelay("a")], clock=Clock()))
        yield self.listenTLS(factory)

        def plainText() -> bytes:
            with socket.create_connection(
                ("127.0.0.1", self.tlsPort), timeout=10
            ) as sock:
                sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
                return sock.recv(4096)

        yield deferToThread(plainText)
        yield closed(factory)
        self.assertEqual(factory.tlsFailures.count, 1)
        [line] = [
            event for event in events
            if str(event.get("log_format", "")).startswith("TLS failed")
        ]  # fmt: skip
        self.assertIn("127.0.0.1", str(line["peer"]))
        self.assertNotIn("(", str(line["reason"]))
