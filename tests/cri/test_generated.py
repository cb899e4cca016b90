"""The committed CRI modules are what the generator makes from the committed descriptor set.

``cri/v1/api.binpb`` is protoc's compilation of the upstream api.proto (comments included), written by
``python -m tinykube.devtools.protos`` with the modules; ``--check`` compares against ../shared/specs.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2

from cri.v1 import api_pb2
from tinykube.devtools import protos

CRI = protos.TARGETS["cri"]


def test_committed_cri_modules_match_a_generation_from_the_committed_descriptors() -> None:
    assert protos.check_committed(CRI) == []


def test_the_committed_descriptors_are_the_ones_the_module_serves() -> None:
    files = descriptor_pb2.FileDescriptorSet.FromString((protos.REPO / CRI.descriptors).read_bytes())
    [committed] = files.file
    assert committed.source_code_info.location, "the descriptor set lost the .proto comments"
    committed.ClearField("source_code_info")
    assert committed == descriptor_pb2.FileDescriptorProto.FromString(api_pb2.DESCRIPTOR.serialized_pb)
    assert {service.name for service in committed.service} == {"RuntimeService", "ImageService"}
