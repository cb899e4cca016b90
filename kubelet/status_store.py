"""Pod statuses kept in memory and on disk, so a restarted kubelet reports the same status
(start time, condition transition times, readiness) for the pods it adopts."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from api.model.core_v1 import PodStatus

log = logging.getLogger(__name__)


class StatusStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.statuses: dict[str, PodStatus] = {}

    def load(self) -> None:
        if not self.directory.is_dir():
            return
        for path in self.directory.glob("*.json"):
            try:
                status = PodStatus.from_dict(json.loads(path.read_text()))
            except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
                log.warning("ignoring saved status %s: %s", path, exc)
                continue
            self.statuses[path.stem] = status

    def get(self, uid: str) -> PodStatus | None:
        return self.statuses.get(uid)

    def set(self, uid: str, status: PodStatus) -> None:
        if self.statuses.get(uid) == status:
            return
        self.statuses[uid] = status
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.directory / f".{uid}.tmp"
        temporary.write_text(json.dumps(status.to_dict()))
        os.replace(temporary, self.directory / f"{uid}.json")

    def forget(self, uid: str) -> None:
        self.statuses.pop(uid, None)
        (self.directory / f"{uid}.json").unlink(missing_ok=True)
