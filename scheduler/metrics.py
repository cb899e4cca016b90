"""Scheduler metrics with upstream's names: attempts and their latency by result, pending pods by queue."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        self.pending = Gauge(
            "scheduler_pending_pods", "Pending pods, by queue", ["queue"], registry=self.registry
        )

    def observe_attempt(self, result: str, seconds: float) -> None:
        self.attempts.labels(result).inc()
        self.latency.labels(result).observe(seconds)

    def set_pending(self, sizes: dict[str, int]) -> None:
        for queue, size in sizes.items():
            self.pending.labels(queue).set(size)
