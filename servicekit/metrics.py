"""Prometheus metrics: one registry per app (so apps in one process — the demo, the tests — never collide).

Every service exposes, at ``GET /metrics`` (Prometheus text format):

- ``zkcred_http_requests_total{method, route, status}`` — ``route`` is the route
  *template* (``/requests/{request_id}``), ``<unmatched>`` for unknown paths, so ids never
  become label values;
- ``zkcred_http_request_duration_seconds{method, route}`` — a latency histogram;
- plus each service's own (``ServiceMetrics.counter`` / ``gauge``): verifications by
  result and reason (verifier), issuances and revocations (issuer), the ledger's size
  (ledger).

No ``service`` label: each app has its own registry and endpoint (Prometheus adds ``job`` and
``instance``). Labels never carry a secret or an attribute value: only route templates, statuses and the
services' stable reason codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "ServiceMetrics"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _CallbackGauge(Collector):
    """A gauge read at scrape time; a failing read drops the sample (the scrape still succeeds)."""

    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self.name, self.documentation, self.read = name, documentation, read

    def describe(self):  # type: ignore[no-untyped-def]
        yield GaugeMetricFamily(self.name, self.documentation)

    def collect(self):  # type: ignore[no-untyped-def]
        family = GaugeMetricFamily(self.name, self.documentation, labels=[])
        try:
            family.add_metric([], float(self.read()))
        except Exception:  # the database is down: /health/ready says so; /metrics keeps answering
            pass
        yield family


class ServiceMetrics:
    """The metrics of one app: its own ``CollectorRegistry`` and the HTTP request metrics."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "zkcred_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "zkcred_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """A service counter (``zkcred_<name>_total``) with ``labels``."""
        return Counter(f"zkcred_{name}", documentation, list(labels), registry=self.registry)

    def gauge_callback(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge ``zkcred_<name>`` whose value ``read()`` gives at scrape time."""
        self.registry.register(_CallbackGauge(f"zkcred_{name}", documentation, read))

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(f"zkcred_{name}", documentation, list(labels), registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
