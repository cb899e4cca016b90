"""The fake's state: one record per sandbox and container; their CRI views come from ``cri.views``."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from cri import domain as d
from cri.records import ContainerRecordBase, SandboxRecordBase


@dataclass(frozen=True, kw_only=True, slots=True)
class SandboxRecord(SandboxRecordBase):
    listed: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerRecord(ContainerRecordBase):
    @property
    def image_id(self) -> str:
        return self.image_ref

    @property
    def mounts(self) -> tuple[d.Mount, ...]:
        return self.config.mounts

    def exited(self, *, at: int, exit_code: int, reason: str) -> ContainerRecord:
        return dataclasses.replace(self, finished_at=at, exit_code=exit_code, reason=reason)


def verbose_info(record: SandboxRecord | ContainerRecord) -> dict[str, str]:
    """crictl parses every ``info`` value as JSON."""
    return {"info": json.dumps({"id": record.id, "runtime": "fake", "createdAt": record.created_at})}
