"""Field errors reported the way the apiserver's 422 Invalid Status reports them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any


class ErrorType(Enum):
    """Mirrors k8s.io/apimachinery/pkg/util/validation/field.ErrorType (cause reason, message)."""

    REQUIRED = ("FieldValueRequired", "Required value")
    INVALID = ("FieldValueInvalid", "Invalid value")
    NOT_SUPPORTED = ("FieldValueNotSupported", "Unsupported value")
    DUPLICATE = ("FieldValueDuplicate", "Duplicate value")
    FORBIDDEN = ("FieldValueForbidden", "Forbidden")
    TOO_LONG = ("FieldValueTooLong", "Too long")
    NOT_FOUND = ("FieldValueNotFound", "Not found")
    TYPE_INVALID = ("FieldValueTypeInvalid", "Invalid value")
    UNKNOWN = ("FieldValueUnknown", "Unknown field")

    @property
    def reason(self) -> str:
        return self.value[0]

    @property
    def phrase(self) -> str:
        return self.value[1]


_OMIT = object()


@dataclass(frozen=True, kw_only=True)
class FieldError:
    type: ErrorType
    field: str
    detail: str = ""
    bad_value: Any = _OMIT

    def message(self) -> str:
        """The text after ``<field>: `` in the apiserver's message."""
        text = self.type.phrase
        if self.bad_value is not _OMIT and self.type not in (ErrorType.REQUIRED, ErrorType.FORBIDDEN):
            text += f": {json.dumps(self.bad_value, default=str)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.message()}"


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(type=ErrorType.REQUIRED, field=field, detail=detail)


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(type=ErrorType.INVALID, field=field, bad_value=value, detail=detail)


def not_supported(field: str, value: Any, supported: Sequence[str]) -> FieldError:
    allowed = ", ".join(json.dumps(s) for s in sorted(supported))
    return FieldError(
        type=ErrorType.NOT_SUPPORTED, field=field, bad_value=value, detail=f"supported values: {allowed}"
    )


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(type=ErrorType.DUPLICATE, field=field, bad_value=value)


def not_found(field: str, value: Any) -> FieldError:
    return FieldError(type=ErrorType.NOT_FOUND, field=field, bad_value=value)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(type=ErrorType.FORBIDDEN, field=field, detail=detail)


def type_invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(type=ErrorType.TYPE_INVALID, field=field, bad_value=value, detail=detail)


class InvalidObjectError(Exception):
    """An object failed decoding or validation; ``status()`` is the apiserver's 422 body."""

    def __init__(self, *, kind: str, name: str, errors: Sequence[FieldError]) -> None:
        self.kind = kind
        self.name = name
        self.errors = tuple(errors)
        super().__init__(self.summary())

    def summary(self) -> str:
        listed = ", ".join(str(e) for e in self.errors)
        body = f"[{listed}]" if len(self.errors) > 1 else listed
        return f'{self.kind} "{self.name}" is invalid: {body}'

    def status(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.summary(),
            "reason": "Invalid",
            "details": {
                "name": self.name,
                "kind": self.kind.lower(),
                "causes": [
                    {"reason": e.type.reason, "message": e.message(), "field": e.field} for e in self.errors
                ],
            },
            "code": 422,
        }
