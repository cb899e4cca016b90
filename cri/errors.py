"""The CRI error tree: every backend raises these, and the servicer maps them to gRPC codes once.

Clients get the same tree back from ``cri.client``: a gRPC status code is turned into the class
below that carries it, so a caller writes ``except NotFound`` on either side of the wire.
"""

from __future__ import annotations

from typing import ClassVar

import grpc


class CRIError(Exception):
    """Base of the tree. ``code`` is the gRPC status this error is answered with."""

    code: ClassVar[grpc.StatusCode] = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CRIError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(CRIError):
    code = grpc.StatusCode.ALREADY_EXISTS


class InvalidArgument(CRIError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class FailedPrecondition(CRIError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class DeadlineExceeded(CRIError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class ResourceExhausted(CRIError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unimplemented(CRIError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Unavailable(CRIError):
    code = grpc.StatusCode.UNAVAILABLE


class Internal(CRIError):
    code = grpc.StatusCode.INTERNAL


class Cancelled(CRIError):
    code = grpc.StatusCode.CANCELLED


class Unknown(CRIError):
    """Only on the client side: a peer answered UNKNOWN (or a code we do not map)."""

    code = grpc.StatusCode.UNKNOWN


_BY_CODE: dict[grpc.StatusCode, type[CRIError]] = {
    cls.code: cls
    for cls in (
        NotFound,
        AlreadyExists,
        InvalidArgument,
        FailedPrecondition,
        DeadlineExceeded,
        ResourceExhausted,
        Unimplemented,
        Unavailable,
        Internal,
        Cancelled,
    )
}


def error_for_code(code: grpc.StatusCode, message: str) -> CRIError:
    """The error a client raises for a status a server answered with."""
    return _BY_CODE.get(code, Unknown)(message)


def missing_field(name: str) -> InvalidArgument:
    """The answer to a request without a required field, naming the field."""
    return InvalidArgument(f"{name} is required")
