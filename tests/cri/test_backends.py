"""Which backends `tinykube shim` can run: absent from the build is a clear refusal, broken is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from shims import backends


@pytest.fixture
def packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package ``tkbuild`` on sys.path holding backends, registered as ``broken`` and ``absent``."""
    root = tmp_path / "tkbuild"
    (root / "broken").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "broken" / "__init__.py").write_text("")
    (root / "broken" / "daemon.py").write_text("import tinykube_dependency_nobody_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(backends.REGISTRY, "broken", "tkbuild.broken.daemon:open_backends")
    monkeypatch.setitem(backends.REGISTRY, "absent", "tkbuild.absent.daemon:open_backends")
    return root


def test_a_backend_in_the_build_that_fails_to_import_raises_its_import_error(packages: Path) -> None:
    with pytest.raises(ModuleNotFoundError) as raised:
        backends.load("broken")
    assert raised.value.name == "tinykube_dependency_nobody_installed"


def test_a_backend_whose_package_is_absent_is_refused_by_name(packages: Path) -> None:
    with pytest.raises(KeyError, match=r"backend 'absent' is not available in this build \(tkbuild.absent"):
        backends.load("absent")


def test_available_lists_backends_in_the_build_even_when_broken(packages: Path) -> None:
    found = backends.available()
    assert "broken" in found and "absent" not in found
    assert {"fake", "runc"} <= set(found)


def test_every_backend_in_the_build_imports() -> None:
    for name in backends.available():
        assert callable(backends.load(name))
