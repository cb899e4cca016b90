"""CRI list filters, applied the same way by every shim that answers List* from its own state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cri import domain as d


def labels_match(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def sandbox_matches(sandbox: d.PodSandbox, filter_: d.PodSandboxFilter | None) -> bool:
    if filter_ is None:
        return True
    if filter_.id and not sandbox.id.startswith(filter_.id):
        return False
    if filter_.state is not None and sandbox.state != filter_.state.state:
        return False
    return labels_match(filter_.label_selector, sandbox.labels)


def container_matches(container: d.Container, filter_: d.ContainerFilter | None) -> bool:
    if filter_ is None:
        return True
    if filter_.id and not container.id.startswith(filter_.id):
        return False
    if filter_.pod_sandbox_id and not container.pod_sandbox_id.startswith(filter_.pod_sandbox_id):
        return False
    if filter_.state is not None and container.state != filter_.state.state:
        return False
    return labels_match(filter_.label_selector, container.labels)


def filter_sandboxes(items: Iterable[d.PodSandbox], filter_: d.PodSandboxFilter | None) -> list[d.PodSandbox]:
    return [item for item in items if sandbox_matches(item, filter_)]


def filter_containers(items: Iterable[d.Container], filter_: d.ContainerFilter | None) -> list[d.Container]:
    return [item for item in items if container_matches(item, filter_)]
