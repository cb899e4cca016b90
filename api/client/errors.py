"""One error tree for everything the apiserver answers with a ``Status``, mapped once from the response.

The classes follow apimachinery's ``StatusReason`` (k8s.io/apimachinery/pkg/api/errors): callers test
``except NotFound`` where Go code tests ``errors.IsNotFound``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Cause:
    reason: str
    message: str
    field: str


class ApiError(Exception):
    """A request the apiserver refused; ``status`` is its ``Status`` body."""

    code: int = 0

    def __init__(self, status: Mapping[str, Any]) -> None:
        self.status: Mapping[str, Any] = status
        self.code = int(status.get("code") or type(self).code)
        self.reason: str = str(status.get("reason", ""))
        self.message: str = str(status.get("message", ""))
        super().__init__(f"{self.code} {self.reason}: {self.message}")

    @property
    def details(self) -> Mapping[str, Any]:
        details = self.status.get("details")
        return details if isinstance(details, Mapping) else {}

    @property
    def causes(self) -> tuple[Cause, ...]:
        return tuple(
            Cause(reason=c.get("reason", ""), message=c.get("message", ""), field=c.get("field", ""))
            for c in self.details.get("causes", ())
        )


class BadRequest(ApiError):
    code = 400


class Unauthorized(ApiError):
    code = 401


class Forbidden(ApiError):
    code = 403


class NotFound(ApiError):
    code = 404


class MethodNotAllowed(ApiError):
    code = 405


class NotAcceptable(ApiError):
    code = 406


class Conflict(ApiError):
    """409 reason Conflict: a stale resourceVersion (optimistic concurrency lost)."""

    code = 409


class AlreadyExists(Conflict):
    """409 reason AlreadyExists: create of a name already taken."""


class Gone(ApiError):
    """410: the resourceVersion asked for is compacted away (reason Expired or Gone); relist."""

    code = 410


class Expired(Gone):
    pass


class RequestEntityTooLarge(ApiError):
    code = 413


class UnsupportedMediaType(ApiError):
    code = 415


class Invalid(ApiError):
    """422: the object failed validation; ``causes`` name the fields."""

    code = 422


class TooManyRequests(ApiError):
    code = 429


class InternalError(ApiError):
    code = 500


class ServiceUnavailable(ApiError):
    code = 503


class ServerTimeout(ApiError):
    code = 504


class ApiUnreachable(Exception):
    """The apiserver could not be reached or the connection broke: no Status to report."""


_BY_REASON: dict[str, type[ApiError]] = {
    "BadRequest": BadRequest,
    "Unauthorized": Unauthorized,
    "Forbidden": Forbidden,
    "NotFound": NotFound,
    "MethodNotAllowed": MethodNotAllowed,
    "NotAcceptable": NotAcceptable,
    "Conflict": Conflict,
    "AlreadyExists": AlreadyExists,
    "Gone": Gone,
    "Expired": Expired,
    "RequestEntityTooLarge": RequestEntityTooLarge,
    "UnsupportedMediaType": UnsupportedMediaType,
    "Invalid": Invalid,
    "TooManyRequests": TooManyRequests,
    "InternalError": InternalError,
    "ServiceUnavailable": ServiceUnavailable,
    "Timeout": ServerTimeout,
    "ServerTimeout": ServerTimeout,
}

_BY_CODE: dict[int, type[ApiError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        NotAcceptable,
        Conflict,
        Gone,
        RequestEntityTooLarge,
        UnsupportedMediaType,
        Invalid,
        TooManyRequests,
        InternalError,
        ServiceUnavailable,
        ServerTimeout,
    )
}


def error_from_status(status: Mapping[str, Any], http_code: int | None = None) -> ApiError:
    """The exception for a ``Status``: by reason, else by code (apimachinery's ``ReasonForError``)."""
    code = int(status.get("code") or http_code or 0)
    cls = _BY_REASON.get(str(status.get("reason", "")))
    if cls is None:
        cls = _BY_CODE.get(code, ApiError)
    return cls({**status, "code": code})


def status_for(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    """A ``Status`` body as kube-apiserver writes one (used by the fake API)."""
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        status["details"] = details
    return status
