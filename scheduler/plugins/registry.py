"""The in-tree registry: every default plugin by its upstream name."""

from __future__ import annotations

from scheduler.framework.registry import Registry
from scheduler.plugins.default_binder import DefaultBinder
from scheduler.plugins.image_locality import ImageLocality
from scheduler.plugins.inter_pod_affinity import InterPodAffinity
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.node_basic import NodeName, NodePorts, NodeUnschedulable, TaintToleration
from scheduler.plugins.node_resources import NodeResourcesBalancedAllocation, NodeResourcesFit
from scheduler.plugins.pod_topology_spread import PodTopologySpread
from scheduler.plugins.preemption import DefaultPreemption
from scheduler.plugins.queue import PrioritySort, SchedulingGates


def in_tree_registry() -> Registry:
    return Registry(
        {
            "SchedulingGates": lambda args, handle: SchedulingGates(),
            "PrioritySort": lambda args, handle: PrioritySort(),
            "NodeUnschedulable": lambda args, handle: NodeUnschedulable(),
            "NodeName": lambda args, handle: NodeName(),
            "TaintToleration": lambda args, handle: TaintToleration(),
            "NodeAffinity": lambda args, handle: NodeAffinity(args),
            "NodePorts": lambda args, handle: NodePorts(),
            "NodeResourcesFit": lambda args, handle: NodeResourcesFit(args),
            "PodTopologySpread": lambda args, handle: PodTopologySpread(args, handle),
            "InterPodAffinity": lambda args, handle: InterPodAffinity(args, handle),
            "DefaultPreemption": lambda args, handle: DefaultPreemption(args, handle),
            "NodeResourcesBalancedAllocation": lambda args, handle: NodeResourcesBalancedAllocation(args),
            "ImageLocality": lambda args, handle: ImageLocality(handle),
            "DefaultBinder": lambda args, handle: DefaultBinder(handle.cluster),
        }
    )
