"""A deviation marker covers only the error it names: another failure, or a pass (stale), fails."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from cri import domain as d
from cri.errors import CRIError, Internal, Unimplemented
from shims.fake import FakeImages, FakeRuntime
from tests.conformance.harness import ServedFake, run_suite

CHECK = "check_runtime.py::test_runtime_config_cgroup_driver"
CONTAINERD_SAYS = "unknown method RuntimeConfig for service runtime.v1.RuntimeService"


class ContainerdNamed(FakeRuntime):
    """Calls itself containerd 1.6.20, so the suite applies containerd 1.6's deviation markers."""

    answer: CRIError | None = None

    async def version(self) -> d.RuntimeVersion:
        named = dataclasses.replace(await super().version(), runtime_name="containerd")
        return dataclasses.replace(named, runtime_version="1.6.20~ds1")

    async def runtime_config(self) -> d.RuntimeConfigInfo:
        if self.answer is not None:
            raise self.answer
        return await super().runtime_config()


def answering(error: CRIError | None) -> Callable[[], tuple[FakeRuntime, FakeImages]]:
    def factory() -> tuple[FakeRuntime, FakeImages]:
        images = FakeImages()
        runtime = ContainerdNamed(images, images.faults)
        runtime.answer = error
        return runtime, images

    return factory


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        pytest.param(Unimplemented(CONTAINERD_SAYS), "deviation", id="the known deviation"),
        pytest.param(Unimplemented("method RuntimeConfig is gone"), "failed", id="same code, other cause"),
        pytest.param(Internal(CONTAINERD_SAYS), "failed", id="other code"),
        pytest.param(None, "failed", id="stale: the deviation no longer happens"),
    ],
)
def test_a_deviation_counts_only_for_its_pinned_error(
    serve: Callable[..., ServedFake], error: CRIError | None, outcome: str
) -> None:
    fake = serve(answering(error))
    result = run_suite(fake.endpoint, focus=f"{CHECK}$")
    assert result.of("test_runtime_config_cgroup_driver") == outcome
    assert result.exit_code == (0 if outcome == "deviation" else 1)
