"""Pods and nodes as the scheduler reads them: frozen views parsed once from the Kubernetes JSON form.

The JSON object stays available as `raw` (binding, events and status updates send it back)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scheduler.labels import LabelMatcher, label_selector, node_selector
from scheduler.resources import NON_ZERO_DEFAULTS, PODS, Resources, pod_requests, resource_list

DEFAULT_SCHEDULER_NAME = "default-scheduler"
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_REGION = "topology.kubernetes.io/region"

Json = Mapping[str, Any]


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str


@dataclass(frozen=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.operator in ("", "Equal") and self.value == taint.value


def untolerated(
    taints: tuple[Taint, ...], tolerations: tuple[Toleration, ...], effects: frozenset[str]
) -> Taint | None:
    """The first taint with one of `effects` that no toleration tolerates."""
    for taint in taints:
        if taint.effect in effects and not any(t.tolerates(taint) for t in tolerations):
            return taint
    return None


@dataclass(frozen=True)
class AffinityTerm:
    """A pod (anti-)affinity term; namespaces None with no namespace selector means every namespace."""

    selector: LabelMatcher
    topology_key: str
    namespaces: frozenset[str] | None
    namespace_selector: LabelMatcher | None = None
    weight: int = 0
    key: str = ""  # the term's JSON and the pod's namespace: equal keys, equal terms

    def matches(self, pod: Pod, namespace_labels: Mapping[str, Mapping[str, str]]) -> bool:
        if not self.selector(pod.labels):
            return False
        if self.namespaces is not None and pod.namespace in self.namespaces:
            return True
        if self.namespace_selector is not None:
            return self.namespace_selector(namespace_labels.get(pod.namespace, {}))
        return self.namespaces is None


def _affinity_term(term: Json, namespace: str, weight: int = 0) -> AffinityTerm:
    names = term.get("namespaces") or ()
    ns_selector = term.get("namespaceSelector")
    namespaces: frozenset[str] | None = frozenset(names)
    if not names and ns_selector is None:
        namespaces = frozenset({namespace})
    elif (
        ns_selector is not None
        and not ns_selector.get("matchLabels")
        and not ns_selector.get("matchExpressions")
    ):
        namespaces = None
        ns_selector = None
    return AffinityTerm(
        selector=label_selector(term.get("labelSelector")),
        topology_key=term.get("topologyKey", ""),
        namespaces=namespaces,
        namespace_selector=label_selector(ns_selector) if ns_selector is not None else None,
        weight=weight,
        key=namespace + "|" + json.dumps(term, sort_keys=True),
    )


def _terms(
    affinity: Json, kind: str, namespace: str
) -> tuple[tuple[AffinityTerm, ...], tuple[AffinityTerm, ...]]:
    section = affinity.get(kind) or {}
    required = tuple(
        _affinity_term(t, namespace)
        for t in section.get("requiredDuringSchedulingIgnoredDuringExecution") or ()
    )
    preferred = tuple(
        _affinity_term(w.get("podAffinityTerm") or {}, namespace, int(w.get("weight", 0)))
        for w in section.get("preferredDuringSchedulingIgnoredDuringExecution") or ()
    )
    return required, preferred


def normalized_image(name: str) -> str:
    """ImageLocality's name form: a tag-less name gets `:latest`."""
    return name + ":latest" if name.rfind(":") <= name.rfind("/") else name


@dataclass(frozen=True)
class HostPort:
    ip: str
    protocol: str
    port: int

    def conflicts(self, other: HostPort) -> bool:
        if self.port != other.port or self.protocol != other.protocol:
            return False
        return self.ip == "0.0.0.0" or other.ip == "0.0.0.0" or self.ip == other.ip


@dataclass(frozen=True, eq=False)
class Pod:
    raw: Json = field(repr=False)
    namespace: str
    name: str
    uid: str
    labels: Mapping[str, str]
    priority: int
    scheduler_name: str
    node_name: str
    nominated_node_name: str
    creation_timestamp: str
    start_time: str
    terminating: bool
    requests: Resources
    non_zero_requests: Resources
    host_ports: tuple[HostPort, ...]
    tolerations: tuple[Toleration, ...]
    node_selector: Mapping[str, str]
    required_node_affinity: tuple[Json, ...] | None
    node_affinity_key: str  # nodeSelector and required terms as JSON: equal keys, equal constraints
    preferred_node_affinity: tuple[Json, ...]
    required_affinity: tuple[AffinityTerm, ...]
    preferred_affinity: tuple[AffinityTerm, ...]
    required_anti_affinity: tuple[AffinityTerm, ...]
    preferred_anti_affinity: tuple[AffinityTerm, ...]
    spread_constraints: tuple[Json, ...]
    scheduling_gates: tuple[str, ...]
    images: tuple[str, ...]
    preemption_policy: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def has_affinity(self) -> bool:
        return bool(
            self.required_affinity
            or self.preferred_affinity
            or self.required_anti_affinity
            or self.preferred_anti_affinity
        )

    @classmethod
    def parse(cls, raw: Json) -> Pod:
        meta, spec, status = raw.get("metadata") or {}, raw.get("spec") or {}, raw.get("status") or {}
        namespace = meta.get("namespace") or "default"
        affinity = spec.get("affinity") or {}
        node_affinity = affinity.get("nodeAffinity") or {}
        required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
        required_affinity, preferred_affinity = _terms(affinity, "podAffinity", namespace)
        required_anti, preferred_anti = _terms(affinity, "podAntiAffinity", namespace)
        all_containers = [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
        return cls(
            raw=raw,
            namespace=namespace,
            name=meta.get("name", ""),
            uid=meta.get("uid", ""),
            labels=meta.get("labels") or {},
            priority=int(spec.get("priority") or 0),
            scheduler_name=spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME,
            node_name=spec.get("nodeName") or "",
            nominated_node_name=status.get("nominatedNodeName") or "",
            creation_timestamp=meta.get("creationTimestamp") or "",
            start_time=status.get("startTime") or meta.get("creationTimestamp") or "",
            terminating=meta.get("deletionTimestamp") is not None,
            requests=pod_requests(spec),
            non_zero_requests=pod_requests(spec, NON_ZERO_DEFAULTS),
            host_ports=tuple(
                HostPort(p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", int(p["hostPort"]))
                for c in all_containers
                for p in c.get("ports") or ()
                if p.get("hostPort")
            ),
            tolerations=tuple(
                Toleration(
                    t.get("key", ""), t.get("operator") or "Equal", t.get("value", ""), t.get("effect", "")
                )
                for t in spec.get("tolerations") or ()
            ),
            node_selector=spec.get("nodeSelector") or {},
            required_node_affinity=tuple(required.get("nodeSelectorTerms") or ()) if required else None,
            node_affinity_key=json.dumps([spec.get("nodeSelector"), required], sort_keys=True)
            if required or spec.get("nodeSelector")
            else "",
            preferred_node_affinity=tuple(
                node_affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or ()
            ),
            required_affinity=required_affinity,
            preferred_affinity=preferred_affinity,
            required_anti_affinity=required_anti,
            preferred_anti_affinity=preferred_anti,
            spread_constraints=tuple(spec.get("topologySpreadConstraints") or ()),
            scheduling_gates=tuple(g.get("name", "") for g in spec.get("schedulingGates") or ()),
            images=tuple(normalized_image(c.get("image", "")) for c in all_containers),
            preemption_policy=spec.get("preemptionPolicy") or "PreemptLowerPriority",
        )


@dataclass(frozen=True, eq=False)
class Node:
    raw: Json = field(repr=False)
    name: str
    labels: Mapping[str, str]
    taints: tuple[Taint, ...]
    unschedulable: bool
    allocatable: Resources
    allowed_pods: int
    images: Mapping[str, int]

    def same_for_scheduling(self, other: Node) -> bool:
        """Equal in everything the plugins read (a kubelet's heartbeat changes none of it)."""
        return (
            self.labels == other.labels
            and self.taints == other.taints
            and self.unschedulable == other.unschedulable
            and self.allocatable == other.allocatable
            and self.allowed_pods == other.allowed_pods
            and self.images == other.images
        )

    @classmethod
    def parse(cls, raw: Json) -> Node:
        meta, spec, status = raw.get("metadata") or {}, raw.get("spec") or {}, raw.get("status") or {}
        allocatable = status.get("allocatable") or status.get("capacity") or {}
        return cls(
            raw=raw,
            name=meta.get("name", ""),
            labels=meta.get("labels") or {},
            taints=tuple(
                Taint(t.get("key", ""), t.get("value", ""), t.get("effect", ""))
                for t in spec.get("taints") or ()
            ),
            unschedulable=bool(spec.get("unschedulable")),
            allocatable=resource_list(allocatable),
            allowed_pods=int(allocatable.get(PODS, 0) or 0),
            images={
                normalized_image(name): int(image.get("sizeBytes", 0))
                for image in status.get("images") or ()
                for name in image.get("names") or ()
            },
        )


def required_node_affinity_matcher(pod: Pod) -> Callable[[Node], bool]:
    """nodeSelector AND required node affinity as one predicate (upstream's RequiredNodeAffinity)."""
    selector = dict(pod.node_selector)
    terms = (
        node_selector(list(pod.required_node_affinity)) if pod.required_node_affinity is not None else None
    )

    def match(node: Node) -> bool:
        labels = node.labels
        for key, value in selector.items():
            if labels.get(key) != value:
                return False
        return terms is None or terms(labels, node.name)

    return match
