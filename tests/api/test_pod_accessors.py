"""The accessors the node reads defaulted pods through."""

from __future__ import annotations

import pytest

from api.core.v1.pods import (
    UndefaultedPodError,
    all_containers,
    labels_of,
    pod_name,
    pod_spec,
    volume_sources,
)
from api.model.core_v1 import Container, EmptyDirVolumeSource, HostPathVolumeSource, Pod, PodSpec, Volume
from api.model.meta_v1 import ObjectMeta


def test_containers_are_init_then_regular_in_spec_order() -> None:
    spec = PodSpec(
        init_containers=[Container(name="i")], containers=[Container(name="a"), Container(name="b")]
    )
    assert [c.name for c in all_containers(Pod(spec=spec))] == ["i", "a", "b"]


def test_absent_metadata_reads_as_empty_values() -> None:
    pod = Pod(spec=PodSpec(containers=[]))
    assert (pod_name(pod), labels_of(pod)) == ("", {})
    assert labels_of(Pod(metadata=ObjectMeta(labels={"app": "web"}))) == {"app": "web"}


def test_a_pod_without_spec_is_not_defaulted() -> None:
    with pytest.raises(UndefaultedPodError):
        pod_spec(Pod())


def test_volume_sources_are_the_json_names_set() -> None:
    volume = Volume(name="v", empty_dir=EmptyDirVolumeSource(), host_path=HostPathVolumeSource(path="/x"))
    assert sorted(volume_sources(volume)) == ["emptyDir", "hostPath"]
    assert volume_sources(Volume(name="v")) == []
