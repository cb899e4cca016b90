"""The apiserver's error tree: every failure a client sees is one ``ApiError`` carrying a ``Status``.

Constructors mirror k8s.io/apimachinery/pkg/api/errors (reason, code and message wording).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.meta.errors import FieldError, InvalidObjectError

Status = dict[str, Any]


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.retry_after: int | None = (details or {}).get("retryAfterSeconds")

    def status(self) -> Status:
        body: Status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def success_status(details: dict[str, Any] | None = None) -> Status:
    body: Status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if details:
        body["details"] = details
    return body


def _details(name: str, group: str, plural: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    return details


def _qualified(group: str, plural: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> ApiError:
    message = f'{_qualified(group, plural)} "{name}" not found'
    return ApiError(404, "NotFound", message, _details(name, group, plural))


def already_exists(group: str, plural: str, name: str) -> ApiError:
    message = f'{_qualified(group, plural)} "{name}" already exists'
    return ApiError(409, "AlreadyExists", message, _details(name, group, plural))


def generate_name_conflict(group: str, plural: str, name: str) -> ApiError:
    message = (
        f'{_qualified(group, plural)} "{name}" already exists, the server was not able to generate '
        "a unique name for the object"
    )
    details = _details(name, group, plural) | {"retryAfterSeconds": 1}
    return ApiError(409, "AlreadyExists", message, details)


def conflict(group: str, plural: str, name: str, detail: str) -> ApiError:
    message = f'Operation cannot be fulfilled on {_qualified(group, plural)} "{name}": {detail}'
    return ApiError(409, "Conflict", message, _details(name, group, plural))


MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(group: str, kind: str, name: str, errors: Sequence[FieldError]) -> ApiError:
    status = InvalidObjectError(kind=kind, name=name, errors=errors).status()
    details = status["details"]
    details["kind"] = kind
    if group:
        details["group"] = group
    return ApiError(422, "Invalid", status["message"], details)


def from_invalid_object(group: str, error: InvalidObjectError) -> ApiError:
    return invalid(group, error.kind, error.name, error.errors)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def strict_decoding(kind: str, name: str, problems: Sequence[str]) -> ApiError:
    """fieldValidation=Strict with unknown or duplicate fields (upstream: a 400 BadRequest)."""
    listed = ", ".join(problems)
    return bad_request(f"strict decoding error: {listed}")


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - '
                    f'accepted media types include: application/json, application/yaml, '
                    f'application/vnd.kubernetes.protobuf; got "{content_type}"')


def not_acceptable(accept: str) -> ApiError:
    return ApiError(406, "NotAcceptable", f"only the following media types are accepted: "
                    f"application/json, application/yaml; got {accept}")


def method_not_allowed(verb: str, plural: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", f"{verb} is not supported on resources of kind \"{plural}\"")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def too_large_resource_version(requested: int, current: int) -> ApiError:
    message = f"Too large resource version: {requested}, current: {current}"
    details = {
        "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
        "retryAfterSeconds": 1,
    }
    return ApiError(504, "Timeout", message, details)


def entity_too_large(limit: int) -> ApiError:
    return ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")


def forbidden_namespace_terminating(group: str, plural: str, name: str, namespace: str) -> ApiError:
    message = (
        f'{_qualified(group, plural)} "{name}" is forbidden: unable to create new content in namespace '
        f"{namespace} because it is being terminated"
    )
    details = _details(name, group, plural)
    details["causes"] = [
        {"reason": "NamespaceTerminating", "message": f"namespace {namespace} is being terminated",
         "field": "metadata.namespace"}
    ]
    return ApiError(403, "Forbidden", message, details)


def namespace_not_found(namespace: str) -> ApiError:
    return ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                    {"name": namespace, "kind": "namespaces"})


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")


def unavailable(message: str) -> ApiError:
    return ApiError(503, "ServiceUnavailable", message)
