"""/metrics: request counts and latencies by verb, resource and code (Prometheus text format)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class RequestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("apiserver_request", "Requests by verb, resource and HTTP code.",
                                ["verb", "resource", "code"], registry=self.registry)
        self.latency = Histogram("apiserver_request_duration_seconds",
                                 "Request latency by verb and resource.",
                                 ["verb", "resource"], registry=self.registry,
                                 buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 60))

    def observe(self, verb: str, resource: str, code: int, seconds: float) -> None:
        self.requests.labels(verb, resource, str(code)).inc()
        if verb != "WATCH":
            self.latency.labels(verb, resource).observe(seconds)

    def text(self) -> bytes:
        return generate_latest(self.registry)
