"""CRI domain: metrics types (frozen mirrors of runtime.v1 messages; Windows-only parts left out)."""

from __future__ import annotations

from dataclasses import dataclass

from cri.domain.enums import MetricType


@dataclass(frozen=True, kw_only=True, slots=True)
class MetricDescriptor:
    name: str = ""
    help: str = ""
    label_keys: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Metric:
    name: str = ""
    timestamp: int = 0
    metric_type: MetricType = MetricType.COUNTER
    label_values: tuple[str, ...] = ()
    value: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerMetrics:
    container_id: str = ""
    metrics: tuple[Metric, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSandboxMetrics:
    pod_sandbox_id: str = ""
    metrics: tuple[Metric, ...] = ()
    container_metrics: tuple[ContainerMetrics, ...] = ()
