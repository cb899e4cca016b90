"""One-time tokens that stand for a prepared streaming request: random, single-use, short-lived."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from cri.errors import ResourceExhausted
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec

TOKEN_BYTES = 16
TOKEN_TTL_SECONDS = 60.0
MAX_OUTSTANDING = 1000

StreamRequest = ExecSpec | AttachSpec | PortForwardSpec


@dataclass(frozen=True, kw_only=True, slots=True)
class _Pending:
    request: StreamRequest
    expires_at: float


class TokenStore:
    """Tokens by insertion order, so expiry sweeps stop at the first live one."""

    def __init__(
        self,
        *,
        ttl_seconds: float = TOKEN_TTL_SECONDS,
        max_outstanding: int = MAX_OUTSTANDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_outstanding
        self._clock = clock
        self._pending: OrderedDict[str, _Pending] = OrderedDict()

    def __len__(self) -> int:
        self._expire()
        return len(self._pending)

    def issue(self, request: StreamRequest) -> str:
        self._expire()
        if len(self._pending) >= self._max:
            raise ResourceExhausted(
                f"too many outstanding streaming requests: at most {self._max} may wait to be used"
            )
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self._pending[token] = _Pending(request=request, expires_at=self._clock() + self._ttl)
        return token

    def redeem(self, token: str) -> StreamRequest | None:
        """The request the token stands for, once; None if unknown, used or expired."""
        self._expire()
        pending = self._pending.pop(token, None)
        return None if pending is None else pending.request

    def _expire(self) -> None:
        now = self._clock()
        while self._pending:
            token, pending = next(iter(self._pending.items()))
            if pending.expires_at > now:
                return
            del self._pending[token]
