"""
Tests for L{eofrelay.metrics}: scraped over loopback and parsed with
prometheus_client's own parser.
"""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.internet.defer import inlineCallbacks
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.task import Clock
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource

from eofrelay.commands.access import parseNetwork
from eofrelay.core.bank import RelayBank
from eofrelay.metrics import metricsService
from eofrelay.tap import Options, makeService
from eofrelay.tcp.factory import RelayFactory
from eofrelay.testing import MemoryRelay, connect


def scrape(
    port: int,
) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """
    Fetch C{/metrics} and parse it into (content type, samples).
    """
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as page:
        contentType = page.headers["Content-Type"]
        text = page.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return contentType, samples


class MetricsTests(TestCase):
    """
    C{/metrics}.
    """

    timeout = 30

    @inlineCallbacks
    def test_scrape(self):
        """
        The exposition has per-relay state, switches and failures, commands
        by verb and result, connections open and refused, pulses pending
        and the process's own metrics.
        """
        clock = Clock()
        failing = MemoryRelay("b")
        factory = RelayFactory(
            RelayBank([MemoryRelay("a"), failing], clock=clock),
            maxConnections=2,
            allow=[parseNetwork("127.0.0.0/8")],
        )
        service = metricsService(
            factory, TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        )
        service.startService()
        self.addCleanup(service.stopService)
        port = service._waitingForPort.result.getHost().port  # type: ignore[union-attr]

        protocol, _ = connect(factory)
        protocol.dataReceived(
            b"on a<EOF>pulse b 100<EOF>status<EOF>bogus<EOF>on zz<EOF>"
        )
        failing.failWith = OSError("stuck")
        protocol.dataReceived(b"off b<EOF>")
        self.flushLoggedErrors(OSError)
        connect(factory, port=40001)
        factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 3))
        factory.buildProtocol(IPv4Address("TCP", "10.0.0.1", 3))

        contentType, samples = yield deferToThread(scrape, port)
        self.assertTrue(contentType.startswith("text/plain; version=0.0.4"))
        expected = {
            ("eofrelay_relay_on", (("relay", "a"),)): 1.0,
            ("eofrelay_relay_on", (("relay", "b"),)): 1.0,
            ("eofrelay_relay_switches_total", (("relay", "a"),)): 1.0,
            ("eofrelay_hardware_failures_total", (("relay", "b"),)): 1.0,
            ("eofrelay_pulses_pending", ()): 1.0,
            ("eofrelay_commands_total", (("result", "ok"), ("verb", "on"))): 1.0,
            ("eofrelay_commands_total", (("result", "ok"), ("verb", "pulse"))): 1.0,
            ("eofrelay_commands_total", (("result", "ok"), ("verb", "status"))): 1.0,
            (
                "eofrelay_commands_total",
                (("result", "unknown command"), ("verb", "invalid")),
            ): 1.0,
            (
                "eofrelay_commands_total",
                (("result", "unknown relay"), ("verb", "on")),
            ): 1.0,
            (
                "eofrelay_commands_total",
                (("result", "hardware failure"), ("verb", "off")),
            ): 1.0,
            ("eofrelay_connections_open", ()): 2.0,
            ("eofrelay_connections_refused_total", (("reason", "not allowed"),)): 1.0,
            (
                "eofrelay_connections_refused_total",
                (("reason", "too many connections"),),
            ): 1.0,
        }
        for key, value in expected.items():
            self.assertEqual(samples.get(key), value, key)
        self.assertIn(("process_resident_memory_bytes", ()), samples)

    def test_option(self) -> None:
        """
        C{--metrics ENDPOINT} adds the metrics service to eofrelay's.
        """
        options = Options()
        options.parseOptions(
            [
                "--gpio", "memory", "--listen", "tcp:0:interface=127.0.0.1",
                "--metrics", "tcp:0:interface=127.0.0.1",
            ]
        )  # fmt: skip
        service = makeService(options)
        self.assertEqual(len(list(service)), 2)

    def test_noAccessLog(self) -> None:
        """
        A scrape writes no access-log line (a plain twisted.web site writes
        one per request to the service's log).
        """
        import io

        from twisted.web.test.requesthelper import DummyRequest

        from eofrelay.metrics import MetricsSite

        site = MetricsSite(Resource())
        written = io.StringIO()
        site._logFile = written
        site._logDateTime = "-"
        request = DummyRequest([b"metrics"])
        request.method = b"GET"
        request.uri = b"/metrics"
        request.clientproto = b"HTTP/1.1"
        # What a served request has, and DummyRequest lacks.
        vars(request).update(code=200, sentLength=10)
        site.log(request)  # type: ignore[arg-type]
        self.assertEqual(written.getvalue(), "")

    def test_countsBounded(self) -> None:
        """
        Commands are counted by verb and result (C{ok} or the error), not by
        the reply they got: C{relays} in every combination of states, and
        C{help}, make one count each, so the counts cannot grow without
        bound however long the service runs.
        """
        relays = [MemoryRelay(name) for name in "abcdef"]
        factory = RelayFactory(RelayBank(relays, clock=Clock()))
        protocol, _transport = connect(factory)
        for states in range(64):
            for index, relay in enumerate(relays):
                verb = "on" if states >> index & 1 else "off"
                protocol.dataReceived(f"{verb} {relay.name}<EOF>".encode())
            protocol.dataReceived(b"relays<EOF>help<EOF>on zz<EOF>")
        self.assertEqual(
            factory.commands.commandCounts,
            {
                ("on", "ok"): 192,
                ("off", "ok"): 192,
                ("relays", "ok"): 64,
                ("help", "ok"): 64,
                ("on", "unknown relay"): 64,
            },
        )


class BodyTests(TestCase):
    """
    C{/metrics} takes no request body: one is refused before it is read.
    """

    timeout = 30

    @inlineCallbacks
    def test_bodyRefused(self):
        """
        A request announcing a large body gets C{413} and a closed
        connection after the first bytes of it, and nothing is stored; a
        body sent in chunks too.
        """
        factory = RelayFactory(RelayBank([MemoryRelay("a")], clock=Clock()))
        service = metricsService(
            factory, TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        )
        service.startService()
        self.addCleanup(service.stopService)
        port = service._waitingForPort.result.getHost().port  # type: ignore[union-attr]
        for head, chunk in (
            (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n",
             b"x" * 65536),
            (b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
             b"10000\r\n" + b"x" * 65536 + b"\r\n"),
        ):  # fmt: skip
            reply = yield deferToThread(_sendAndRead, port, head + chunk)
            self.assertTrue(reply.startswith(b"HTTP/1.1 413 "), reply[:80])


class ConnectionLimitTests(TestCase):
    """
    The metrics listener cannot use up the descriptors the relay port
    needs.
    """

    timeout = 30

    @inlineCallbacks
    def test_connectionLimit(self):
        """
        Past C{MAX_CONNECTIONS} idle connections, the next one is closed at
        once and counted as refused; the ones open are still served.
        """
        import socket

        from eofrelay.metrics import MAX_CONNECTIONS, TOO_MANY

        factory = RelayFactory(RelayBank([MemoryRelay("a")], clock=Clock()))
        service = metricsService(
            factory, TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        )
        service.startService()
        self.addCleanup(service.stopService)
        port = service._waitingForPort.result.getHost().port  # type: ignore[union-attr]
        idle = []
        for _ in range(MAX_CONNECTIONS - 1):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))

        def closeAll() -> None:
            for each in idle:
                each.close()

        self.addCleanup(closeAll)
        # The last one the limit allows: a scrape.
        _, samples = yield deferToThread(scrape, port)
        self.assertEqual(
            samples["eofrelay_connections_refused_total", (("reason", TOO_MANY),)], 0
        )
        idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        # One past the limit: closed before it can send anything.
        reply = yield deferToThread(_sendAndRead, port, b"")
        self.assertEqual(reply, b"")
        self.assertEqual(factory.refusedCounts[TOO_MANY], 1)


def _sendAndRead(port: int, request: bytes) -> bytes:
    """
    Send C{request} on a new connection and read until the server closes
    it (at most 10 seconds).
    """
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(request)
        reply = b""
        while len(reply) < 65536:
            data = client.recv(4096)
            if not data:
                break
            reply += data
        return reply
