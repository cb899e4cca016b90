"""Exponential back-off per key, as the kubelet's flowcontrol.Backoff (CrashLoopBackOff, image pulls)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class BackoffPolicy:
    initial_s: float = 10.0
    max_s: float = 300.0
    reset_after_s: float = 600.0


@dataclass(frozen=True, kw_only=True)
class _Entry:
    delay_s: float
    updated_at: float


class Backoff:
    def __init__(self, policy: BackoffPolicy | None = None) -> None:
        self.policy = policy or BackoffPolicy()
        self._entries: dict[str, _Entry] = {}

    def delay(self, key: str) -> float:
        entry = self._entries.get(key)
        return 0.0 if entry is None else entry.delay_s

    def in_backoff_since(self, key: str, event_time: float, *, now: float) -> bool:
        """True while less than the current delay has passed since ``event_time`` (e.g. the exit)."""
        entry = self._entries.get(key)
        if entry is None or now - entry.updated_at > self.policy.reset_after_s:
            return False
        return now - event_time < entry.delay_s

    def next(self, key: str, *, now: float) -> None:
        """Records one more attempt: the delay starts at ``initial_s`` and doubles up to ``max_s``.

        After ``reset_after_s`` without attempts (good running), it starts over.
        """
        entry = self._entries.get(key)
        if entry is None or now - entry.updated_at > self.policy.reset_after_s:
            delay = self.policy.initial_s
        else:
            delay = min(entry.delay_s * 2, self.policy.max_s)
        self._entries[key] = _Entry(delay_s=delay, updated_at=now)

    def forget(self, prefix: str) -> None:
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]
