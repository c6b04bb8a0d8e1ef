"""
Tests for C{--http}: its option, and the HTTP front end of C{twistd
eofrelay}'s service on real sockets, beside the relay port.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Generator
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.threads import deferToThread
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase, TestCase

from eofrelay.client import connect
from eofrelay.http.service import MAX_CONNECTIONS, HTTPService
from eofrelay.wiring.build import descriptorBudget, makeService
from eofrelay.wiring.options import Options
from eofrelay.wiring.service import RelayService


def parsed(*arguments: str) -> Options:
    options = Options()
    options.parseOptions(["--gpio", "memory", *arguments])
    return options


class OptionTests(SynchronousTestCase):
    """
    C{--http ENDPOINT}.
    """

    def test_repeatable(self) -> None:
        """
        C{--http} may be given several times, each an endpoint; without it
        there is none.
        """
        options = parsed("--http", "tcp:8080", "--http", "tcp6:8081")
        self.assertEqual(options["http"], ["tcp:8080", "tcp6:8081"])
        self.assertEqual(len(options["http-endpoints"]), 2)
        self.assertEqual(parsed()["http-endpoints"], [])

    def test_refusedInWords(self) -> None:
        """
        A description that is no endpoint is refused at option parsing, in
        words, naming C{--http}.
        """
        error = self.assertRaises(usage.UsageError, parsed, "--http", "tcp:http")
        self.assertEqual(
            str(error), "--http 'tcp:http': the port must be a number from 0 to 65535"
        )

    def test_configFile(self) -> None:
        """
        A config file gives C{http} as an array of endpoints.
        """
        path = self.mktemp()
        with open(path, "w") as file:
            file.write('http = ["tcp:8080:interface=127.0.0.1"]\n')
        options = parsed("--config", path)
        self.assertEqual(options["http"], ["tcp:8080:interface=127.0.0.1"])

    def test_budget(self) -> None:
        """
        Each HTTP listener's connection limit is in the descriptor budget.
        """
        base = descriptorBudget(parsed("--max-connections", "100"))
        self.assertEqual(base, 100)
        self.assertEqual(
            descriptorBudget(
                parsed("--max-connections", "100", "--http", "tcp:1", "--http", "tcp:2")
            ),
            100 + 2 * MAX_CONNECTIONS,
        )


def _ports(service: RelayService) -> tuple[int, int]:
    """
    The relay port and the HTTP port of a started service.
    """
    children = list(service)
    [http] = [child for child in children if isinstance(child, HTTPService)]
    [relay] = [child for child in children if child is not http][:1]
    [listener] = list(http)

    def port(child: Any) -> int:
        return int(child._waitingForPort.result.getHost().port)

    return port(relay), port(listener)


def _get(port: int, path: str, **headers: str) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _post(port: int, path: str, **headers: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=b"", headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _openEvents(port: int) -> socket.socket:
    stream = socket.create_connection(("127.0.0.1", port), timeout=10)
    stream.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return stream


def _readUntil(stream: socket.socket, needle: bytes) -> bytes:
    """
    Read from C{stream} until C{needle} has come (or the peer closed, or
    10 seconds passed).
    """
    data = b""
    while needle not in data:
        try:
            chunk = stream.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


class ServiceTests(TestCase):
    """
    C{twistd eofrelay --http} on real sockets.
    """

    timeout = 30

    def start(self, *arguments: str) -> tuple[RelayService, int, int]:
        options = parsed(
            "--listen",
            "tcp:0:interface=127.0.0.1",
            "--http",
            "tcp:0:interface=127.0.0.1",
            "--relay",
            "pump:17",
            "--relay",
            "lamp:27",
            *arguments,
        )
        service = makeService(options)
        service.startService()
        self.addCleanup(lambda: service.running and service.stopService())
        relayPort, httpPort = _ports(service)
        return service, relayPort, httpPort

    @inlineCallbacks
    def test_api(self) -> Generator[Deferred[Any], Any, None]:
        """
        The API switches the relays of the service that TCP clients see.
        """
        _service, relayPort, httpPort = self.start()
        status, body = yield deferToThread(_post, httpPort, "/api/relays/lamp/on")
        self.assertEqual((status, body), (200, {"name": "lamp", "state": "on"}))
        client = yield connect(reactor, f"tcp:127.0.0.1:{relayPort}")
        self.addCleanup(client.disconnect)
        self.assertEqual((yield client.relays()), {"pump": False, "lamp": True})
        yield client.on("pump")
        status, body = yield deferToThread(_get, httpPort, "/api/relays")
        self.assertEqual(
            body,
            {
                "relays": [
                    {"name": "pump", "state": "on"},
                    {"name": "lamp", "state": "on"},
                ]
            },
        )

    @inlineCallbacks
    def test_token(self) -> Generator[Deferred[Any], Any, None]:
        """
        With C{--token-file}, the API needs its token as a bearer token.
        """
        path = self.mktemp()
        with open(path, "w") as file:
            file.write("s3cret\n")
        os.chmod(path, 0o600)
        _, _, httpPort = self.start("--token-file", path)
        status, body = yield deferToThread(_get, httpPort, "/api/relays")
        self.assertEqual((status, body), (401, {"error": "authentication required"}))
        status, body = yield deferToThread(
            _get, httpPort, "/api/relays/pump", Authorization="Bearer s3cret"
        )
        self.assertEqual((status, body), (200, {"name": "pump", "state": "off"}))

    @inlineCallbacks
    def test_allow(self) -> Generator[Deferred[Any], Any, None]:
        """
        With C{--allow}, an HTTP peer outside it is closed at once and
        counted with the relay port's refusals.
        """
        service, _, httpPort = self.start("--allow", "192.0.2.0/24")

        def attempt() -> bytes:
            try:
                with socket.create_connection(("127.0.0.1", httpPort), timeout=10) as s:
                    s.sendall(b"GET /api/relays HTTP/1.1\r\nHost: x\r\n\r\n")
                    return s.recv(100)
            except ConnectionError:
                return b""

        self.assertEqual((yield deferToThread(attempt)), b"")
        self.assertEqual(service.factory.refusedCounts["not allowed"], 1)

    @inlineCallbacks
    def test_events(self) -> Generator[Deferred[Any], Any, None]:
        """
        An event stream over a real socket has the snapshot, then a change
        made over TCP; stopping the service ends it.
        """
        service, relayPort, httpPort = self.start()
        stream = yield deferToThread(_openEvents, httpPort)
        self.addCleanup(stream.close)
        data = yield deferToThread(_readUntil, stream, b'"lamp", "state": "off"}')
        self.assertIn(b"text/event-stream", data)
        client = yield connect(reactor, f"tcp:127.0.0.1:{relayPort}")
        self.addCleanup(client.disconnect)
        yield client.on("lamp")
        data = yield deferToThread(_readUntil, stream, b'"lamp", "state": "on"}')
        self.assertIn(b'event: relay\ndata: {"name": "lamp", "state": "on"}\n\n', data)
        yield client.disconnect()
        yield service.stopService()
        rest = yield deferToThread(_readUntil, stream, b"never")
        self.assertTrue(rest.endswith(b"0\r\n\r\n"), rest[-40:])

    @inlineCallbacks
    def test_streamsCount(self) -> Generator[Deferred[Any], Any, None]:
        """
        Event streams count in the listener's connection limit: past it,
        the next connection is closed at once.
        """
        service, _, httpPort = self.start()
        [http] = [child for child in service if isinstance(child, HTTPService)]
        [listener] = http.listeners
        listener.maxConnections = 2
        streams = []
        for _ in range(2):
            stream = yield deferToThread(_openEvents, httpPort)
            self.addCleanup(stream.close)
            yield deferToThread(_readUntil, stream, b'"lamp"')
            streams.append(stream)

        def attempt() -> bytes:
            try:
                extra = _openEvents(httpPort)
            except ConnectionError:
                return b""
            with extra:
                return _readUntil(extra, b"HTTP")

        self.assertEqual((yield deferToThread(attempt)), b"")
        self.assertEqual(service.factory.refusedCounts["too many http connections"], 1)


class TLSTests(TestCase):
    """
    C{--http ssl:...}: the API over TLS, whose own origin is C{https}.
    """

    timeout = 30

    @inlineCallbacks
    def test_https(self) -> Generator[Deferred[Any], Any, None]:
        """
        Over TLS the page and the API are served, and a C{POST} from the
        server's C{https} origin is accepted while the C{http} one is
        refused.
        """
        import ssl

        from tests.test_tls import selfSignedCertificate, writeSecret

        certificatePEM, keyPEM = selfSignedCertificate("localhost")
        pem = self.mktemp()
        writeSecret(pem, keyPEM + certificatePEM)
        options = parsed(
            "--listen",
            "tcp:0:interface=127.0.0.1",
            "--http",
            f"ssl:0:interface=127.0.0.1:privateKey={pem}",
            "--relay",
            "pump:17",
        )
        service = makeService(options)
        service.startService()
        self.addCleanup(service.stopService)
        _, port = _ports(service)
        context = ssl.create_default_context(cadata=certificatePEM.decode("ascii"))

        def post(origin: str) -> tuple[int, Any]:
            request = urllib.request.Request(
                f"https://localhost:{port}/api/relays/pump/on",
                data=b"",
                headers={"Origin": origin},
                method="POST",
            )
            try:
                with urllib.request.urlopen(
                    request, timeout=10, context=context
                ) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        status, body = yield deferToThread(post, f"http://localhost:{port}")
        self.assertEqual(status, 403)
        status, body = yield deferToThread(post, f"https://localhost:{port}")
        self.assertEqual((status, body), (200, {"name": "pump", "state": "on"}))


class SlowReaderTests(TestCase):
    """
    An event stream whose client reads nothing, over a real socket.
    """

    timeout = 60

    @inlineCallbacks
    def test_dropped(self) -> Generator[Deferred[Any], Any, None]:
        """
        Under a flood of changes, a client that reads nothing is dropped
        once its buffers have been full for L{EventStream.DROP_AFTER}
        seconds, and eofrelay's memory for it stays bounded meanwhile.
        """
        from twisted.internet.task import deferLater

        from eofrelay.http.events import EventStream

        self.patch(EventStream, "DROP_AFTER", 0.5)
        options = parsed(
            "--listen", "tcp:0:interface=127.0.0.1",
            "--http", "tcp:0:interface=127.0.0.1",
            "--relay", "pump:17",
        )  # fmt: skip
        service = makeService(options)
        service.startService()
        self.addCleanup(service.stopService)
        _, port = _ports(service)
        [http] = [child for child in service if isinstance(child, HTTPService)]
        stream = socket.socket()
        stream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stream.settimeout(10)
        self.addCleanup(stream.close)
        yield deferToThread(stream.connect, ("127.0.0.1", port))
        stream.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        yield deferToThread(_readUntil, stream, b'"pump", "state": "off"}')
        pump = service.factory.bank.relay("pump")
        for _ in range(2000):
            if not http.events.streams:
                break
            for _ in range(1000):
                pump.toggle()
            [only] = http.events.streams
            self.assertLessEqual(len(only._pending), 1)
            yield deferLater(reactor, 0.005, lambda: None)
        self.assertEqual(http.events.streams, set())
