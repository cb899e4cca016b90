"""Call recording and per-method error injection, shared by the fake runtime and image backends."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from cri.errors import CRIError


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    args: tuple[object, ...]


@dataclass
class Faults:
    """What the fake was asked, and the errors it must answer with instead of doing the work."""

    calls: list[Call] = field(default_factory=list)
    _errors: dict[str, list[CRIError]] = field(default_factory=dict)
    _permanent: dict[str, CRIError] = field(default_factory=dict)

    def fail_next(self, method: str, error: CRIError, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``error``."""
        self._errors.setdefault(method, []).extend([error] * times)

    def fail_always(self, method: str, error: CRIError) -> None:
        self._permanent[method] = error

    def clear(self, method: str) -> None:
        self._errors.pop(method, None)
        self._permanent.pop(method, None)

    def enter(self, method: str, *args: object) -> None:
        """Record a call and raise the error injected for it, if any."""
        self.calls.append(Call(method, args))
        pending = self._errors.get(method)
        if pending:
            raise pending.pop(0)
        if method in self._permanent:
            raise self._permanent[method]

    def count(self) -> Counter[str]:
        return Counter(call.method for call in self.calls)
