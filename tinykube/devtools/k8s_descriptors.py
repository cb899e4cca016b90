"""Extract the k8s.io API protobuf descriptors from a kubectl binary into the packaged descriptor set.

Usage: python -m tinykube.devtools.k8s_descriptors [--kubectl /usr/bin/kubectl] [--out FILE]

kubectl 1.32 sends typed objects (``kubectl create namespace``, ``create deployment``...) as
``application/vnd.kubernetes.protobuf``. The k8s.io/api ``generated.proto`` files are not in
../shared/specs, but every Go binary built with them embeds each file's gzipped FileDescriptorProto
(gogo-protobuf's ``proto.RegisterFile``). This tool finds them, keeps the API groups the apiserver
serves with their imports, and writes one FileDescriptorSet (Apache-2.0, Kubernetes v1.32).
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.message import DecodeError

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "api" / "machinery" / "protobuf" / "k8s-v1.32.binpb"
GZIP_MAGIC = b"\x1f\x8b\x08\x00\x00\x00\x00\x00"
WANTED = tuple(f"k8s.io/api/{group}/generated.proto" for group in (
    "core/v1", "apps/v1", "coordination/v1", "discovery/v1", "events/v1", "policy/v1", "autoscaling/v1",
    "authentication/v1",
))


def embedded_descriptors(binary: bytes) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    found: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    position = 0
    while (start := binary.find(GZIP_MAGIC, position)) >= 0:
        position = start + 1
        try:
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(binary[start:start + 4_000_000])
            descriptor = descriptor_pb2.FileDescriptorProto.FromString(raw)
        except (zlib.error, DecodeError):
            continue
        if descriptor.name.startswith("k8s.io/") and descriptor.name.endswith(".proto"):
            found[descriptor.name] = descriptor
    return found


def closure(found: dict[str, descriptor_pb2.FileDescriptorProto], roots: tuple[str, ...]) -> list[str]:
    """The roots and their imports, dependencies first."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered or name not in found:
            return
        for dependency in found[name].dependency:
            visit(dependency)
        ordered.append(name)

    for root in roots:
        if root not in found:
            raise SystemExit(f"{root} is not embedded in the binary")
        visit(root)
    return ordered


def _without_gogo(descriptor: descriptor_pb2.FileDescriptorProto) -> descriptor_pb2.FileDescriptorProto:
    """Drops the gogoproto import: its options change Go code generation, not the wire format."""
    kept = [d for d in descriptor.dependency if not d.startswith("github.com/gogo/")]
    del descriptor.dependency[:]
    descriptor.dependency.extend(kept)
    del descriptor.public_dependency[:]
    del descriptor.weak_dependency[:]
    return descriptor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kubectl", type=Path, default=Path("/usr/bin/kubectl"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    found = embedded_descriptors(args.kubectl.read_bytes())
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    for name in closure(found, WANTED):
        descriptor_set.file.append(_without_gogo(found[name]))
    args.out.write_bytes(descriptor_set.SerializeToString(deterministic=True))
    print(f"wrote {len(descriptor_set.file)} files to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
