"""The ``metav1.Status`` a streaming server sends on the error channel when a session ends.

Encoded like Go's encoding/json (compact, ``<``, ``>`` and ``&`` escaped), so our bytes match the
kubelet's and containerd's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionResult:
    """How an exec or attach ended: an exit code, or an error that stopped it."""

    exit_code: int | None = None
    error: str | None = None


def success_status() -> bytes:
    return _go_json({"metadata": {}, "status": "Success"})


def exit_code_status(cmd: tuple[str, ...], exit_code: int) -> bytes:
    message = (
        "command terminated with non-zero exit code: error executing command "
        f"[{' '.join(cmd)}], exit code {exit_code}"
    )
    return _go_json(
        {
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]},
        }
    )


def error_status(message: str) -> bytes:
    return _go_json(
        {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError", "code": 500}
    )


def status_for(cmd: tuple[str, ...], result: SessionResult) -> bytes:
    if result.error is not None:
        return error_status(result.error)
    if result.exit_code:
        return exit_code_status(cmd, result.exit_code)
    return success_status()


def legacy_error_text(cmd: tuple[str, ...], result: SessionResult) -> bytes:
    """Protocols before v4 carry a plain error message, and nothing on success."""
    if result.error is not None:
        return result.error.encode()
    if result.exit_code:
        return f"command terminated with non-zero exit code: exit code {result.exit_code}".encode()
    return b""


def _go_json(value: object) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()
