"""The shape ARCHITECTURE.md promises: dependencies point one way, cri/ knows no backend, bench/ no tests."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "tinykube",
    "cri",
    "shims",
    "kubelet",
    "api",
    "scheduler",
    "controllers",
    "conformance",
    "bench",
    "tests",
)
BACKEND_WORDS = re.compile(r"\b(conmon|runc|netns)\b", re.IGNORECASE)


def _sources(package: str) -> Iterator[Path]:
    yield from sorted((ROOT / package).rglob("*.py"))


def _imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
    return found & set(PACKAGES)


@functools.cache
def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for package in PACKAGES:
        edges = set().union(*(_imported_packages(path) for path in _sources(package)))
        graph[package] = edges - {package}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle between packages, as a path that ends where it started, or None."""
    done: set[str] = set()

    def visit(package: str, path: list[str]) -> list[str] | None:
        if package in path:
            return [*path[path.index(package) :], package]
        if package in done:
            return None
        for imported in sorted(graph.get(package, ())):
            cycle = visit(imported, [*path, package])
            if cycle:
                return cycle
        done.add(package)
        return None

    return next((c for p in sorted(graph) if (c := visit(p, [])) is not None), None)


def test_no_import_cycle_between_top_level_packages() -> None:
    assert _cycle(_graph()) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]


@pytest.mark.parametrize("package", [p for p in PACKAGES if p not in ("tinykube", "bench", "tests")])
def test_no_product_package_imports_the_entry_points_or_the_tests(package: str) -> None:
    assert not _graph()[package] & {"tinykube", "tests"}


def test_bench_imports_nothing_from_tests() -> None:
    """Harnesses both use live in tinykube.testbeds."""
    assert "tests" not in _graph()["bench"]


def test_cri_imports_no_shim() -> None:
    assert "shims" not in _graph()["cri"]


def test_no_module_in_cri_names_a_backend() -> None:
    naming = {
        str(path.relative_to(ROOT)): sorted(
            {m.group(0).lower() for m in BACKEND_WORDS.finditer(path.read_text())}
        )
        for path in _sources("cri")
        if BACKEND_WORDS.search(path.read_text())
    }
    assert naming == {}
