"""Failpoints stay off unless named in the environment, and a misspelt name is refused."""

from __future__ import annotations

import pytest

from cri.errors import Internal
from shims import failpoints


def test_a_failpoint_is_off_without_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(failpoints.ENV, raising=False)
    failpoints.hit("runc.exec_sync")


def test_an_enabled_failpoint_raises_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(failpoints.ENV, "runc.exec_sync")
    with pytest.raises(Internal, match=r"failpoint runc.exec_sync is enabled \(TINYKUBE_FAILPOINTS\)"):
        failpoints.hit("runc.exec_sync")


def test_an_unknown_failpoint_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(failpoints.ENV, "runc.exec_synk")
    with pytest.raises(ValueError, match=r"unknown failpoints runc\.exec_synk; known: runc\.exec_sync"):
        failpoints.hit("runc.exec_sync")
