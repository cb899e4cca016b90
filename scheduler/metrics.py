"""Scheduler metrics with upstream's names: attempts and their latency by result, pending pods by queue."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class SchedulerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.attempts = Counter(
            "scheduler_schedule_attempts",
            "Number of attempts to schedule pods, by result",
            ["result"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "scheduler_scheduling_attempt_duration_seconds",
            "Scheduling attempt latency, by result",
            ["result"],
            buckets=(0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0),
            registry=self.registry,
        )

    def report_pending(self, sizes: Callable[[], dict[str, int]]) -> None:
        """scheduler_pending_pods{queue} read from the queue at each scrape."""
        self.registry.register(_PendingPods(sizes))

    def observe_attempt(self, result: str, seconds: float) -> None:
        self.attempts.labels(result).inc()
        self.latency.labels(result).observe(seconds)


class _PendingPods(Collector):
    def __init__(self, sizes: Callable[[], dict[str, int]]) -> None:
        self.sizes = sizes

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("scheduler_pending_pods", "Pending pods, by queue", labels=["queue"])
        for queue, size in self.sizes().items():
            family.add_metric([queue], size)
        yield family
