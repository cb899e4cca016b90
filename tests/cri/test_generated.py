"""The committed CRI modules are exactly what the generator makes from ../shared/specs."""

from __future__ import annotations

import pytest

from tinykube.devtools import protos


def test_committed_cri_modules_match_a_fresh_generation() -> None:
    if not (protos.DEFAULT_SPECS / "cri-api" / "api.proto").exists():
        pytest.skip(f"{protos.DEFAULT_SPECS} is absent: the upstream specs are not beside this checkout")
    assert protos.check(protos.TARGETS["cri"], protos.DEFAULT_SPECS) == []
