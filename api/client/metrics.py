"""Work queue and controller metrics under client-go's names (workqueue_depth, workqueue_adds_total, ...)."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

_DURATION_BUCKETS = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)


class QueueMetrics:
    """One set of metric families per registry; each queue reports under its ``name`` label."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.depth = Gauge("workqueue_depth", "Current depth of workqueue", ["name"], registry=registry)
        self.adds = Counter(
            "workqueue_adds", "Total number of adds handled by workqueue", ["name"], registry=registry
        )
        self.retries = Counter(
            "workqueue_retries", "Total number of retries handled by workqueue", ["name"], registry=registry
        )
        self.queue_duration = Histogram(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested.",
            ["name"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.work_duration = Histogram(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            ["name"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.reconcile_errors = Counter(
            "controller_reconcile_errors",
            "Reconciles that raised, by controller",
            ["name"],
            registry=registry,
        )
