"""A known deviation of a runtime version, pinned to the error it causes.

``@pytest.mark.deviation("containerd", "1.6", reason=..., raises=Unknown, match=r"failed to mkdir")``
turns the check into an expected failure on that runtime only when it fails with ``raises`` and a
message matching ``match``: a failure for another reason fails the check, and so does a pass (the
marker is stale). A race that happens only sometimes says ``intermittent=True``: its pass is listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

INTERMITTENT = "intermittent "


@dataclass(frozen=True, kw_only=True, slots=True)
class Deviation:
    runtime: str
    version: str
    reason: str
    raises: type[BaseException]
    match: str
    intermittent: bool = False

    @classmethod
    def of(cls, mark: pytest.Mark) -> Deviation:
        missing = sorted({"reason", "raises", "match"} - set(mark.kwargs))
        if missing:
            raise pytest.UsageError(f"deviation marker {mark.args} needs {', '.join(missing)}")
        runtime, version = mark.args
        return cls(runtime=runtime, version=version, **mark.kwargs)

    def describe(self) -> str:
        kind = INTERMITTENT if self.intermittent else ""
        return f"known {kind}{self.runtime} {self.version} deviation: {self.reason}"

    def expectation(self) -> pytest.MarkDecorator:
        return pytest.mark.xfail(reason=self.describe(), strict=not self.intermittent, raises=self.raises)

    def mismatch(self, error: BaseException) -> str | None:
        """Why ``error`` (already of the expected type) is not this deviation, or None when it is."""
        if re.search(self.match, str(error)):
            return None
        return (
            f"not the known deviation ({self.reason}): expected {self.raises.__name__} matching "
            f"/{self.match}/, got {type(error).__name__}: {error}"
        )
