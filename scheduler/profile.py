"""A profile's Framework from its configuration: plugins created once, placed at the points they implement."""

from __future__ import annotations

from typing import Any

from scheduler.config import NOT_IMPLEMENTED, ProfileConfig
from scheduler.framework import interfaces as points
from scheduler.framework.interfaces import Handle
from scheduler.framework.registry import Registry
from scheduler.framework.runtime import Framework, Plugins

_PROTOCOLS: dict[str, type] = {
    "preEnqueue": points.PreEnqueuePlugin,
    "queueSort": points.QueueSortPlugin,
    "preFilter": points.PreFilterPlugin,
    "filter": points.FilterPlugin,
    "postFilter": points.PostFilterPlugin,
    "preScore": points.PreScorePlugin,
    "score": points.ScorePlugin,
    "reserve": points.ReservePlugin,
    "permit": points.PermitPlugin,
    "preBind": points.PreBindPlugin,
    "bind": points.BindPlugin,
    "postBind": points.PostBindPlugin,
}


def build_framework(
    profile: ProfileConfig, registry: Registry, handle: Handle, percentage_default: int | None = None
) -> Framework:
    instances: dict[str, Any] = {}

    def instance(name: str) -> Any:
        if name not in instances:
            instances[name] = registry.create(name, profile.plugin_args.get(name, {}), handle)
        return instances[name]

    by_point: dict[str, list[Any]] = {}
    for point, protocol in _PROTOCOLS.items():
        disabled = profile.disabled.get(point, frozenset())
        explicit = [n for n in profile.enabled.get(point, ()) if n not in NOT_IMPLEMENTED]
        names = list(explicit)
        if "*" not in disabled:
            names += [
                n
                for n in profile.multi_point
                if n not in disabled and n not in names and n not in NOT_IMPLEMENTED
            ]
        by_point[point] = [instance(n) for n in names if isinstance(instance(n), protocol)]
    plugins = Plugins(
        pre_enqueue=by_point["preEnqueue"],
        queue_sort=by_point["queueSort"][:1],
        pre_filter=by_point["preFilter"],
        filter=by_point["filter"],
        post_filter=by_point["postFilter"],
        pre_score=by_point["preScore"],
        score=[(p, profile.weights.get(p.name, 1)) for p in by_point["score"]],
        reserve=by_point["reserve"],
        permit=by_point["permit"],
        pre_bind=by_point["preBind"],
        bind=by_point["bind"],
        post_bind=by_point["postBind"],
    )
    percentage = profile.percentage_of_nodes_to_score
    framework = Framework(
        profile.scheduler_name, plugins, percentage if percentage is not None else percentage_default
    )
    framework.instances = instances
    return framework
