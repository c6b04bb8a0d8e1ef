# -*- test-case-name: tests.test_metrics -*-
"""
Prometheus metrics at C{/metrics}, served by twisted.web in the service's
own reactor (C{--metrics ENDPOINT}, the C{eofrelay[metrics]} extra).

The figures are read from the factory when Prometheus scrapes; nothing is
added to the path of a command beyond the counters the factory keeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.interfaces import IReactorTime, IStreamServerEndpoint
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from eofrelay.tcp.factory import RelayFactory
from eofrelay.web.bodies import CappedRequest
from eofrelay.web.limits import IDLE_TIMEOUT, LimitedSite

#: The classic text format, which every Prometheus version reads; the
#: metric names here need nothing newer.
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

#: The most connections the metrics listener keeps open at once: a
#: Prometheus server uses one, a person with curl another.
MAX_CONNECTIONS = 16

#: The reason counted in C{eofrelay_connections_refused_total} for a
#: metrics connection past L{MAX_CONNECTIONS}.
TOO_MANY = "too many metrics connections"


class RelayCollector(Collector):
    """
    The metrics of one L{RelayFactory}.
    """

    def __init__(self, factory: RelayFactory) -> None:
        self.factory = factory

    def collect(self) -> Iterator[Metric]:
        factory = self.factory
        on = GaugeMetricFamily(
            "eofrelay_relay_on", "1 if the relay is on, 0 if off.", labels=["relay"]
        )
        switches = CounterMetricFamily(
            "eofrelay_relay_switches", "Times the relay was driven.", labels=["relay"]
        )
        failures = CounterMetricFamily(
            "eofrelay_hardware_failures",
            "Times the relay's driver failed or timed out.",
            labels=["relay"],
        )
        for relay in factory.bank.relays:
            on.add_metric([relay.name], 1 if relay.isOn else 0)
            switches.add_metric([relay.name], relay.switches)
            failures.add_metric([relay.name], relay.failures)
        yield on
        yield switches
        yield failures
        yield GaugeMetricFamily(
            "eofrelay_pulses_pending",
            "Pulses whose switch-off is pending.",
            value=sum(1 for relay in factory.bank.relays if relay.pulsing),
        )
        commands = CounterMetricFamily(
            "eofrelay_commands",
            "Commands by verb and result (ok, or the error).",
            labels=["verb", "result"],
        )
        for (verb, result), count in sorted(factory.commands.commandCounts.items()):
            commands.add_metric([verb, result], count)
        yield commands
        yield GaugeMetricFamily(
            "eofrelay_connections_open",
            "Client connections open now.",
            value=len(factory.connections),
        )
        yield GaugeMetricFamily(
            "eofrelay_watchers",
            "Connections watching events.",
            value=len(factory.watchers),
        )
        refused = CounterMetricFamily(
            "eofrelay_connections_refused",
            "Connections refused, by reason.",
            labels=["reason"],
        )
        # And any other reason counted (out of file descriptors).
        reasons = {"not allowed", "too many connections", TOO_MANY}
        for reason in sorted(reasons | set(factory.refusedCounts)):
            refused.add_metric([reason], factory.refusedCounts[reason])
        yield refused


class MetricsPage(Resource):
    """
    The text exposition of a registry, generated in the reactor thread.
    """

    isLeaf = True

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self.registry = registry

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", CONTENT_TYPE)
        return generate_latest(self.registry)


def metricsRegistry(factory: RelayFactory) -> CollectorRegistry:
    """
    A registry with the factory's metrics and the process's own.
    """
    registry = CollectorRegistry()
    registry.register(RelayCollector(factory))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


class BodilessRequest(CappedRequest):
    """
    A request of a site whose routes take no body (C{/metrics}): one that
    comes with a body gets C{413} and the connection is closed, before any
    of the body is stored.
    """


class MetricsSite(Site):
    """
    The site of C{/metrics}: requests with a body are refused
    (L{BodilessRequest}), and it writes no access-log line: Prometheus
    scrapes every few seconds, and any peer that reaches the port could
    grow the service's log with requests of its own.
    """

    requestFactory = BodilessRequest

    def log(self, request: http.Request) -> None:
        """
        Log nothing.
        """


def metricsService(
    factory: RelayFactory,
    endpoint: IStreamServerEndpoint,
    reactor: Optional[IReactorTime] = None,
) -> StreamServerEndpointService:
    """
    A service serving the factory's metrics at C{/metrics} on C{endpoint},
    with at most L{MAX_CONNECTIONS} connections open at once (those past it
    are closed at once and counted as refused) and an idle timeout of
    L{IDLE_TIMEOUT <eofrelay.web.limits.IDLE_TIMEOUT>} seconds.

    @param reactor: What times idle connections; the global reactor by
        default.
    """
    root = Resource()
    root.putChild(b"metrics", MetricsPage(metricsRegistry(factory)))
    site = MetricsSite(root, timeout=IDLE_TIMEOUT, reactor=reactor)
    site.noisy = False

    def refused() -> None:
        factory.refusedCounts[TOO_MANY] += 1

    limited = LimitedSite(site, MAX_CONNECTIONS, refused)
    service = StreamServerEndpointService(endpoint, limited)
    service._raiseSynchronously = True
    return service
