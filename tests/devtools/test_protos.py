"""The committed protobuf modules are what the generator makes, checked without ../shared/specs: the
descriptors the committed modules embed are compiled again and must give the committed files."""

from __future__ import annotations

import pytest

from tinykube.devtools import protos


@pytest.mark.parametrize("name", sorted(protos.TARGETS))
def test_committed_modules_are_the_generators_output_for_their_embedded_descriptors(name: str) -> None:
    assert protos.check_embedded(protos.TARGETS[name]) == []


def test_the_containerd_package_holds_only_generated_files() -> None:
    target = protos.TARGETS["containerd"]
    package = protos.REPO / protos.CONTAINERD_PREFIX
    present = {
        str(path.relative_to(protos.REPO))
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert present == set(target.outputs)


def test_the_package_prefix_leaves_containerds_wire_names_alone() -> None:
    from shims.containerd._gen.services.tasks.v1 import tasks_pb2

    service = tasks_pb2.DESCRIPTOR.services_by_name["Tasks"]
    assert service.full_name == "containerd.services.tasks.v1.Tasks"
    create = service.methods_by_name["Create"]
    assert create.input_type.full_name == "containerd.services.tasks.v1.CreateTaskRequest"
