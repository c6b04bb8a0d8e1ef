"""
Tests for L{eofrelay.mqtt.client}: paho-mqtt driven by the reactor,
against a real mosquitto (see L{tests.mosquitto}).
"""

from __future__ import annotations

import datetime
import os
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import TestCase

from eofrelay.mqtt.connection import ConnectFailed, IMQTTConnection
from tests.mosquitto import Mosquitto, client, freePort


class ClientTests(TestCase):
    """
    L{eofrelay.mqtt.client.PahoConnection} against a real broker.
    """

    timeout = 60

    def setUp(self):
        self.broker = Mosquitto(self)
        return self.broker.start()

    @inlineCallbacks
    def test_publishAndSubscribe(self):
        """
        A QoS 1 publish fires once the broker acknowledged it; a subscriber
        gets it without the retain flag, a later one with it (a replay); the
        messages reach the receiver on the reactor thread.
        """
        subscriber, received = client(self, self.broker.url, "a", ("t/#",))
        yield subscriber.accepted
        publisher, _ = client(self, self.broker.url, "b")
        connection = yield publisher.accepted
        self.assertTrue(IMQTTConnection.providedBy(connection))
        self.assertEqual(connection.broker, f"127.0.0.1:{self.broker.port}")
        yield publisher.publish("t/x", b"hello", True)
        yield received.waitFor(lambda: received.messages == [("t/x", b"hello", False)])
        late, replayed = client(self, self.broker.url, "c", ("t/#",))
        yield late.accepted
        yield replayed.waitFor(lambda: replayed.messages == [("t/x", b"hello", True)])
        self.assertEqual(received.threads, [True])

    @inlineCallbacks
    def test_refused(self):
        """
        Nothing listening: the attempt fails with L{ConnectFailed} saying
        why, and is over, nothing left in the reactor.
        """
        connection, _ = client(self, f"mqtt://127.0.0.1:{freePort()}", "a")
        failure = yield self.assertFailure(connection.accepted, ConnectFailed)
        self.assertEqual(str(failure), "Connection refused")
        yield connection.whenClosed()

    @inlineCallbacks
    def test_abortPublishesWill(self):
        """
        L{abort} ends the connection without a goodbye: the broker publishes
        its last will; L{disconnect} says goodbye.
        """
        watcher, received = client(self, self.broker.url, "w", ("test/+/will",))
        yield watcher.accepted
        first, _ = client(self, self.broker.url, "a")
        yield first.accepted
        first.abort()
        yield first.whenClosed()
        yield received.waitForPayload("test/a/will", b"gone")
        second, _ = client(self, self.broker.url, "b")
        yield second.accepted
        yield second.disconnect()
        yield watcher.publish("test/marker", b"", False)
        self.assertEqual(received.payloads("test/b/will"), [], self.broker.output)

    @inlineCallbacks
    def test_brokerGone(self):
        """
        When the broker dies the receiver hears that the connection is lost,
        and the connection is over; a publish meanwhile fails.
        """
        connection, received = client(self, self.broker.url, "a")
        yield connection.accepted
        yield self.broker.kill()
        yield received.waitFor(lambda: bool(received.lost), "the loss")
        yield connection.whenClosed()
        self.assertEqual(received.lost, ["the connection was closed"])

    @inlineCallbacks
    def test_abortWhileConnecting(self):
        """
        An attempt given up while its thread connects is over once that
        thread is done, accepted or not.
        """
        connection, _ = client(self, self.broker.url, "a")
        connection.abort()
        connection.accepted.addErrback(lambda failure: None)
        yield connection.whenClosed()


class PasswordTests(TestCase):
    """
    A broker that wants a user name and password.
    """

    timeout = 60

    @inlineCallbacks
    def test_password(self):
        """
        The right password gets in; a wrong one is refused by the broker,
        which the failure says.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        passwords = os.path.join(directory, "passwords")
        subprocess.run(
            ["mosquitto_passwd", "-b", "-c", passwords, "pi", "s3cret"],
            check=True,
            capture_output=True,
        )
        os.chmod(passwords, 0o600)
        broker = Mosquitto(
            self,
            extra=f"allow_anonymous false\npassword_file {passwords}\n",
        )
        broker.config.write_text(
            broker.config.read_text().replace("allow_anonymous true\n", "")
        )
        yield broker.start()
        url = f"mqtt://pi@127.0.0.1:{broker.port}"
        good, _ = client(self, url, "good", password="s3cret")
        yield good.accepted
        bad, _ = client(self, url, "bad", password="wrong")
        failure = yield self.assertFailure(bad.accepted, ConnectFailed)
        self.assertEqual(str(failure), "refused by the broker: not authorized")
        yield bad.whenClosed()


def certificates(directory: str) -> tuple[str, str, str]:
    """
    A new CA, and a certificate for C{localhost} it signed with its key, in
    PEM files in C{directory}.

    @return: The paths of the CA's certificate, the server's certificate
        and the server's key.
    """
    now = datetime.datetime.now(datetime.UTC)
    caKey = ec.generate_private_key(ec.SECP256R1())
    caName = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eofrelay test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(caName)
        .issuer_name(caName)
        .public_key(caKey.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(caKey, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(caName)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
        .sign(caKey, hashes.SHA256())
    )
    paths = [
        os.path.join(directory, name) for name in ("ca.pem", "cert.pem", "key.pem")
    ]
    pem = serialization.Encoding.PEM
    contents = [
        ca.public_bytes(pem),
        server.public_bytes(pem),
        key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    ]
    for path, content in zip(paths, contents, strict=True):
        with open(path, "wb") as file:
            file.write(content)
    return paths[0], paths[1], paths[2]


class TLSTests(TestCase):
    """
    C{mqtts://}: the broker's certificate is verified.
    """

    timeout = 60

    def setUp(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.ca, cert, key = certificates(directory)
        self.broker = Mosquitto(
            self, extra=f"certfile {cert}\nkeyfile {key}\n", tls=True
        )
        self.url = f"mqtts://localhost:{self.broker.port}"
        return self.broker.start()

    @inlineCallbacks
    def test_trusted(self):
        """
        With the CA that signed the broker's certificate, the connection is
        made, and carries messages.
        """
        connection, received = client(self, self.url, "a", ("t",), caFile=self.ca)
        yield connection.accepted
        yield connection.publish("t", b"over TLS", False)
        yield received.waitForPayload("t", b"over TLS")

    @inlineCallbacks
    def test_untrusted(self):
        """
        Without it (the system's CAs), the broker's certificate is refused,
        and the failure says so.
        """
        connection, _ = client(self, self.url, "a")
        failure = yield self.assertFailure(connection.accepted, ConnectFailed)
        self.assertIn("TLS: unable to get local issuer certificate", str(failure))
        yield connection.whenClosed()

    @inlineCallbacks
    def test_wrongName(self):
        """
        A certificate for another name than the broker's is refused.
        """
        url = f"mqtts://127.0.0.1:{self.broker.port}"
        connection, _ = client(self, url, "a", caFile=self.ca)
        failure = yield self.assertFailure(connection.accepted, ConnectFailed)
        self.assertIn("TLS: ", str(failure))
        self.assertIn("127.0.0.1", str(failure))
        yield connection.whenClosed()
