"""Regenerate the committed protobuf/gRPC modules from ../shared/specs.

Usage: python -m tinykube.devtools.protos [--specs DIR] [--out DIR] [--check]

Each target copies its .proto files into a temporary tree whose paths give the Python module
paths, compiles them with grpcio-tools and writes the modules under the repository. The .proto
text itself is never committed.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib
import re
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SPECS = REPO.parent / "shared" / "specs"


@dataclass(frozen=True)
class Target:
    """One generated package: where its protos come from and which module path they get."""

    name: str
    header: str
    stage: Callable[[Path, Path], list[str]]
    outputs: tuple[str, ...]


def _stage_cri(specs: Path, tree: Path) -> list[str]:
    dest = tree / "cri" / "v1" / "api.proto"
    dest.parent.mkdir(parents=True)
    shutil.copy(specs / "cri-api" / "api.proto", dest)
    return ["cri/v1/api.proto"]


CONTAINERD_PREFIX = "shims/containerd/_gen"
CONTAINERD_PROTOS = (
    *(f"types/{name}.proto" for name in ("descriptor", "event", "fieldpath", "metrics", "mount", "platform")),
    "types/task/task.proto",
    "types/runc/options/oci.proto",
    *(
        f"services/{service}/v1/{name}.proto"
        for service, name in (
            ("containers", "containers"),
            ("content", "content"),
            ("diff", "diff"),
            ("events", "events"),
            ("images", "images"),
            ("leases", "leases"),
            ("namespaces", "namespace"),
            ("snapshots", "snapshots"),
            ("tasks", "tasks"),
            ("version", "version"),
        )
    ),
    *(f"events/{name}.proto" for name in ("container", "content", "image", "namespace", "snapshot", "task")),
)


def _stage_containerd(specs: Path, tree: Path) -> list[str]:
    """containerd's protos import each other as ``types/...``: staged under a package prefix, so the
    generated ``types`` package does not shadow the stdlib one (proto packages, and so the wire, stay)."""
    staged = []
    for rel in CONTAINERD_PROTOS:
        dest = tree / CONTAINERD_PREFIX / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = (specs / "containerd-api" / rel).read_text()
        for top in ("types", "services", "events"):
            text = text.replace(f'import "{top}/', f'import "{CONTAINERD_PREFIX}/{top}/')
        dest.write_text(text)
        staged.append(f"{CONTAINERD_PREFIX}/{rel}")
    return staged


def _containerd_outputs() -> tuple[str, ...]:
    modules = [f"{CONTAINERD_PREFIX}/{rel.removesuffix('.proto')}" for rel in CONTAINERD_PROTOS]
    generated = [f"{module}{suffix}" for module in modules for suffix in ("_pb2.py", "_pb2.pyi")]
    services = [f"{module}_pb2_grpc.py" for module in modules if module.split("/")[3] == "services"]
    packages = {str(Path(module).parent) for module in modules}
    packages |= {str(parent) for package in packages for parent in Path(package).parents}
    inits = [f"{package}/__init__.py" for package in packages if package.startswith(CONTAINERD_PREFIX)]
    return tuple(sorted(generated + services + inits))


TARGETS: dict[str, Target] = {
    "cri": Target(
        name="cri",
        header="k8s.io/cri-api v0.36.3 (runtime.v1), from ../shared/specs/cri-api/api.proto",
        stage=_stage_cri,
        outputs=("cri/v1/api_pb2.py", "cri/v1/api_pb2.pyi", "cri/v1/api_pb2_grpc.py"),
    ),
    "containerd": Target(
        name="containerd",
        header="containerd api/v1.11.1, from ../shared/specs/containerd-api",
        stage=_stage_containerd,
        outputs=_containerd_outputs(),
    ),
}


def _compile(sources: list[str], protos: list[str], out: Path) -> None:
    """Run protoc; ``sources`` are its ``-I`` and ``--descriptor_set_in`` arguments."""
    from grpc_tools import protoc  # dev dependency, imported only when generating

    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        *sources,
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit(f"protoc failed for {protos}")


def _grpc_floor() -> str:
    """The grpcio version pyproject.toml pins as the minimum."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pin = next(dep for dep in project["dependencies"] if re.match(r"grpcio\b(?!-)", dep))
    floor = re.search(r">=\s*([\d.]+)", pin)
    assert floor is not None, pin
    return floor.group(1)


def _finish(text: str, header: str) -> str:
    """Header naming the spec; the generated gRPC runtime check asks for the pinned grpcio floor, not
    for whichever grpcio-tools patch release generated the code (the code is the same)."""
    stamp = f"GRPC_GENERATED_VERSION = '{_grpc_floor()}'"
    text = re.sub(r"^GRPC_GENERATED_VERSION = '[^']*'$", stamp, text, flags=re.M)
    return f"# Generated by tinykube.devtools.protos from {header}. DO NOT EDIT.\n{text}"


def generate(target: Target, specs: Path, out: Path) -> list[Path]:
    """Generate one target's modules under ``out`` from the specs; returns the written files."""
    with tempfile.TemporaryDirectory() as tmp:
        tree, compiled = Path(tmp) / "protos", Path(tmp) / "out"
        compiled.mkdir()
        protos = target.stage(specs, tree)
        _compile([f"-I{tree}"], protos, compiled)
        return _install(target, compiled, out)


def _install(target: Target, compiled: Path, out: Path) -> list[Path]:
    """Copy the target's outputs (packages get an ``__init__.py``) from ``compiled`` with the header."""
    written = []
    for rel in target.outputs:
        source, dest = compiled / rel, out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(_finish(source.read_text() if source.exists() else "", target.header))
        written.append(dest)
    return written


def _stale(target: Target, fresh: Path, same: Callable[[Path, Path], bool]) -> list[str]:
    return [rel for rel in target.outputs if not (REPO / rel).exists() or not same(fresh / rel, REPO / rel)]


def _identical(fresh: Path, committed: Path) -> bool:
    return filecmp.cmp(fresh, committed, shallow=False)


def _same_but_docstrings(fresh: Path, committed: Path) -> bool:
    """Embedded descriptors carry no comments, which the gRPC modules turn into docstrings."""

    def code(path: Path) -> str:
        return re.sub(r'"""(?:.|\n)*?"""', '""', path.read_text())

    return code(fresh) == code(committed)


def check(target: Target, specs: Path) -> list[str]:
    """Names of committed files that differ from a fresh generation from the specs."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(target, specs, Path(tmp))
        return _stale(target, Path(tmp), _identical)


def _embedded_descriptors(target: Target) -> tuple[descriptor_pb2.FileDescriptorSet, list[str]]:
    """The descriptors the committed ``_pb2`` modules carry (with every file they import), and the
    names of the target's own files among them."""
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    own = []

    def add(file: FileDescriptor) -> None:
        if file.name not in files:
            for dependency in file.dependencies:
                add(dependency)
            files[file.name] = descriptor_pb2.FileDescriptorProto.FromString(file.serialized_pb)

    for rel in target.outputs:
        if rel.endswith("_pb2.py"):
            module = importlib.import_module(rel.removesuffix(".py").replace("/", "."))
            add(module.DESCRIPTOR)
            own.append(module.DESCRIPTOR.name)
    return descriptor_pb2.FileDescriptorSet(file=list(files.values())), own


def check_embedded(target: Target) -> list[str]:
    """Names of committed files that differ from what the generator makes from the descriptors the
    committed modules embed: catches hand edits and partial regenerations without the specs."""
    descriptors, own = _embedded_descriptors(target)
    with tempfile.TemporaryDirectory() as tmp:
        descriptor_set, compiled, fresh = Path(tmp) / "set.pb", Path(tmp) / "out", Path(tmp) / "fresh"
        descriptor_set.write_bytes(descriptors.SerializeToString())
        compiled.mkdir()
        _compile([f"--descriptor_set_in={descriptor_set}"], own, compiled)
        _install(target, compiled, fresh)
        return _stale(target, fresh, _same_but_docstrings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--specs", type=Path, default=DEFAULT_SPECS)
    parser.add_argument("--check", action="store_true", help="only report files that are stale")
    parser.add_argument("targets", nargs="*", default=sorted(TARGETS))
    args = parser.parse_args(argv)
    stale: list[str] = []
    for name in args.targets:
        target = TARGETS[name]
        if args.check:
            stale += check(target, args.specs)
        else:
            for path in generate(target, args.specs, REPO):
                print(f"wrote {path.relative_to(REPO)}")
    if stale:
        print("stale generated files: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
