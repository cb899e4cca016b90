"""KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1): YAML loading, defaults and validation.

Errors are worded as upstream's field errors (`profiles[0].schedulerName: Required value`), all of
them reported at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from scheduler.objects import DEFAULT_SCHEDULER_NAME

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"
EXTENSION_POINTS = (
    "preEnqueue",
    "queueSort",
    "preFilter",
    "filter",
    "postFilter",
    "preScore",
    "score",
    "reserve",
    "permit",
    "preBind",
    "bind",
    "postBind",
)
DEFAULT_MULTI_POINT: tuple[tuple[str, int], ...] = (
    ("SchedulingGates", 0),
    ("PrioritySort", 0),
    ("NodeUnschedulable", 0),
    ("NodeName", 0),
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodePorts", 0),
    ("NodeResourcesFit", 1),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("DefaultPreemption", 0),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
    ("DefaultBinder", 0),
)
# Upstream defaults this project has no volumes for: accepted in configurations, never run.
NOT_IMPLEMENTED = frozenset(
    {"VolumeRestrictions", "NodeVolumeLimits", "VolumeBinding", "VolumeZone", "DynamicResources"}
)
_TOP_FIELDS = frozenset(
    {
        "apiVersion",
        "kind",
        "parallelism",
        "leaderElection",
        "clientConnection",
        "healthzBindAddress",
        "metricsBindAddress",
        "enableProfiling",
        "enableContentionProfiling",
        "percentageOfNodesToScore",
        "podInitialBackoffSeconds",
        "podMaxBackoffSeconds",
        "profiles",
        "extenders",
        "delayCacheUntilActive",
    }
)
_PROFILE_FIELDS = frozenset({"schedulerName", "percentageOfNodesToScore", "plugins", "pluginConfig"})


class ConfigError(ValueError):
    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__(self.errors[0] if len(self.errors) == 1 else "[" + ", ".join(self.errors) + "]")


@dataclass(frozen=True)
class ProfileConfig:
    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    percentage_of_nodes_to_score: int | None = None
    # extension point -> enabled plugin names in order; score weights by plugin name
    enabled: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    multi_point: tuple[str, ...] = tuple(name for name, _ in DEFAULT_MULTI_POINT)
    weights: Mapping[str, int] = field(default_factory=lambda: {n: w for n, w in DEFAULT_MULTI_POINT if w})
    disabled: Mapping[str, frozenset[str]] = field(default_factory=dict)
    plugin_args: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class SchedulerConfig:
    profiles: tuple[ProfileConfig, ...] = (ProfileConfig(),)
    percentage_of_nodes_to_score: int | None = None
    pod_initial_backoff_seconds: float = 1.0
    pod_max_backoff_seconds: float = 10.0
    leader_elect: bool = True
    lease_name: str = "kube-scheduler"
    lease_namespace: str = "kube-system"


def load_config(text: str, known_plugins: Iterable[str]) -> SchedulerConfig:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"couldn't decode as KubeSchedulerConfiguration: {exc}"]) from exc
    if not isinstance(document, Mapping):
        raise ConfigError(["couldn't decode as KubeSchedulerConfiguration: not a YAML mapping"])
    return parse_config(document, frozenset(known_plugins) | NOT_IMPLEMENTED)


def parse_config(document: Mapping[str, Any], known: frozenset[str]) -> SchedulerConfig:
    if document.get("kind") != KIND or document.get("apiVersion") != API_VERSION:
        raise ConfigError(
            [f'no kind "{document.get("kind")}" is registered for version "{document.get("apiVersion")}"']
        )
    errors: list[str] = [
        f'strict decoding error: unknown field "{k}"' for k in document if k not in _TOP_FIELDS
    ]
    percentage = _percentage(document, "percentageOfNodesToScore", "", errors)
    initial = _positive(document, "podInitialBackoffSeconds", 1, errors)
    maximum = _positive(document, "podMaxBackoffSeconds", 10, errors)
    if maximum < initial:
        errors.append(
            f"podMaxBackoffSeconds: Invalid value: {maximum}: "
            "must be greater than or equal to PodInitialBackoffSeconds"
        )
    raw_profiles = document.get("profiles") or [{}]
    profiles = [_profile(raw, f"profiles[{i}]", known, errors) for i, raw in enumerate(raw_profiles)]
    _check_profiles(profiles, errors)
    election = document.get("leaderElection") or {}
    if errors:
        raise ConfigError(errors)
    return SchedulerConfig(
        profiles=tuple(profiles),
        percentage_of_nodes_to_score=percentage,
        pod_initial_backoff_seconds=float(initial),
        pod_max_backoff_seconds=float(maximum),
        leader_elect=bool(election.get("leaderElect", True)),
        lease_name=election.get("resourceName") or "kube-scheduler",
        lease_namespace=election.get("resourceNamespace") or "kube-system",
    )


def _percentage(raw: Mapping[str, Any], key: str, path: str, errors: list[str]) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or not 0 <= value <= 100:
        errors.append(f"{path}{key}: Invalid value: {value}: not in valid range [0-100]")
        return None
    return value


def _positive(raw: Mapping[str, Any], key: str, default: int, errors: list[str]) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or value <= 0:
        errors.append(f"{key}: Invalid value: {value}: must be greater than 0")
        return default
    return value


def _profile(raw: Mapping[str, Any], path: str, known: frozenset[str], errors: list[str]) -> ProfileConfig:
    errors.extend(
        f'strict decoding error: unknown field "{path}.{k}"' for k in raw if k not in _PROFILE_FIELDS
    )
    name = raw.get("schedulerName", DEFAULT_SCHEDULER_NAME if path == "profiles[0]" else None)
    if not name:
        errors.append(f"{path}.schedulerName: Required value")
    plugins = raw.get("plugins") or {}
    multi_point = _plugin_set(plugins.get("multiPoint") or {}, f"{path}.plugins.multiPoint", known, errors)
    points = {
        point: _plugin_set(plugins.get(point) or {}, f"{path}.plugins.{point}", known, errors)
        for point in EXTENSION_POINTS
    }
    defaults = [(n, w) for n, w in DEFAULT_MULTI_POINT if not _disables(multi_point[1], n)]
    merged = _merge(defaults, multi_point[0])
    weights = {n: w for n, w in merged if w}
    weights.update({n: w for n, w in points["score"][0] if w})
    return ProfileConfig(
        scheduler_name=name or "",
        percentage_of_nodes_to_score=_percentage(raw, "percentageOfNodesToScore", f"{path}.", errors),
        enabled={point: tuple(n for n, _ in enabled) for point, (enabled, _) in points.items()},
        multi_point=tuple(n for n, _ in merged),
        weights=weights,
        disabled={point: disabled for point, (_, disabled) in points.items()},
        plugin_args=_plugin_args(raw.get("pluginConfig") or (), f"{path}.pluginConfig", errors),
    )


def _disables(disabled: frozenset[str], name: str) -> bool:
    return "*" in disabled or name in disabled


def _merge(defaults: list[tuple[str, int]], enabled: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """User-enabled plugins override a default of the same name in place, others are appended."""
    merged = dict(defaults)
    for name, weight in enabled:
        merged[name] = weight or merged.get(name, 0) or 1
    return list(merged.items())


def _plugin_set(
    raw: Mapping[str, Any], path: str, known: frozenset[str], errors: list[str]
) -> tuple[list[tuple[str, int]], frozenset[str]]:
    enabled: list[tuple[str, int]] = []
    for i, plugin in enumerate(raw.get("enabled") or ()):
        name, weight = plugin.get("name"), plugin.get("weight", 0)
        if name not in known:
            errors.append(
                f'{path}.enabled[{i}].name: Invalid value: "{name}": plugin "{name}" does not exist'
            )
        elif not isinstance(weight, int) or weight < 0:
            errors.append(
                f"{path}.enabled[{i}].weight: Invalid value: {weight}: must be a non-negative integer"
            )
        else:
            enabled.append((name, weight))
    disabled = frozenset(p.get("name", "") for p in raw.get("disabled") or ())
    for name in sorted(disabled - known - {"*"}):
        errors.append(f'{path}.disabled: Invalid value: "{name}": plugin "{name}" does not exist')
    return enabled, disabled


def _plugin_args(
    raw: Sequence[Mapping[str, Any]], path: str, errors: list[str]
) -> dict[str, Mapping[str, Any]]:
    args: dict[str, Mapping[str, Any]] = {}
    for i, entry in enumerate(raw):
        name = entry.get("name", "")
        if name in args:
            errors.append(f'{path}[{i}].name: Duplicate value: "{name}"')
        value = entry.get("args") or {}
        errors.extend(validate_args(name, value, f"{path}[{i}].args"))
        args[name] = value
    return args


_STRATEGIES = ("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio")


def validate_args(name: str, args: Mapping[str, Any], path: str) -> list[str]:
    errors: list[str] = []
    if name == "NodeResourcesFit":
        strategy = args.get("scoringStrategy") or {}
        kind = strategy.get("type", "LeastAllocated")
        if kind not in _STRATEGIES:
            supported = ", ".join(f'"{s}"' for s in _STRATEGIES)
            errors.append(
                f'{path}.scoringStrategy.type: Unsupported value: "{kind}": supported values: {supported}'
            )
        for j, resource in enumerate(strategy.get("resources") or ()):
            weight = resource.get("weight", 1)
            if not isinstance(weight, int) or not 1 <= weight <= 100:
                errors.append(
                    f"{path}.scoringStrategy.resources[{j}].weight: Invalid value: {weight}: "
                    f"resource weight of {resource.get('name')} should be in a range of [1-100]"
                )
        if kind == "RequestedToCapacityRatio":
            errors.extend(_validate_shape(strategy, f"{path}.scoringStrategy.requestedToCapacityRatio.shape"))
    elif name == "InterPodAffinity":
        weight = args.get("hardPodAffinityWeight", 1)
        if not isinstance(weight, int) or not 0 <= weight <= 100:
            errors.append(
                f"{path}.hardPodAffinityWeight: Invalid value: {weight}: not in valid range [0-100]"
            )
    elif name == "PodTopologySpread":
        defaulting = args.get("defaultingType", "System")
        if defaulting not in ("System", "List"):
            errors.append(
                f'{path}.defaultingType: Unsupported value: "{defaulting}": '
                'supported values: "List", "System"'
            )
        if defaulting == "System" and args.get("defaultConstraints"):
            errors.append(
                f'{path}.defaultConstraints: Invalid value: "...": '
                'when .defaultingType is "System", .defaultConstraints must be empty'
            )
    elif name == "DefaultPreemption":
        percentage = args.get("minCandidateNodesPercentage", 10)
        if not isinstance(percentage, int) or not 0 <= percentage <= 100:
            errors.append(
                f"{path}.minCandidateNodesPercentage: Invalid value: {percentage}: "
                "not in valid range [0, 100]"
            )
    return errors


def _validate_shape(strategy: Mapping[str, Any], path: str) -> list[str]:
    shape = (strategy.get("requestedToCapacityRatio") or {}).get("shape") or ()
    if not shape:
        return [f"{path}: Required value: at least one point must be specified"]
    errors = []
    previous = -1
    for i, point in enumerate(shape):
        utilization, score = point.get("utilization"), point.get("score")
        if not isinstance(utilization, int) or not 0 <= utilization <= 100:
            errors.append(
                f"{path}[{i}].utilization: Invalid value: {utilization}: not in valid range [0-100]"
            )
        elif utilization <= previous:
            errors.append(
                f"{path}[{i}].utilization: Invalid value: {utilization}: "
                "utilization values must be sorted in increasing order"
            )
        else:
            previous = utilization
        if not isinstance(score, int) or not 0 <= score <= 10:
            errors.append(f"{path}[{i}].score: Invalid value: {score}: not in valid range [0-10]")
    return errors


def _check_profiles(profiles: list[ProfileConfig], errors: list[str]) -> None:
    seen: set[str] = set()
    for i, profile in enumerate(profiles):
        if profile.scheduler_name in seen:
            errors.append(f'profiles[{i}].schedulerName: Duplicate value: "{profile.scheduler_name}"')
        seen.add(profile.scheduler_name)
    sorts = {_queue_sort(p) for p in profiles}
    if len(sorts) > 1:
        errors.append(
            f"profiles[{len(profiles) - 1}].plugins.queueSort: Invalid value: {sorted(sorts)}: "
            "queueSort must be the same for all profiles"
        )


def _queue_sort(profile: ProfileConfig) -> str:
    explicit = profile.enabled.get("queueSort") or ()
    if explicit:
        return explicit[0]
    disabled = profile.disabled.get("queueSort", frozenset())
    return "" if "*" in disabled or "PrioritySort" in disabled else "PrioritySort"
