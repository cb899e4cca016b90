"""Checking a JSON document against a definition before the model decodes it.

The generated model trusts its input (`from_dict` neither checks types nor reports unknown
fields), as the apiserver's own storage does; documents users write are checked here first:
every value of the wrong JSON type and every missing required field is a FieldError with its
path (`spec.containers[0].ports[0].containerPort`), and every field the definitions do not name
is listed, for the caller to warn about (fieldValidation=Warn) or reject (Strict).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.meta.errors import FieldError, required, type_invalid
from api.openapi import JsonSchema, _load

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}
_TYPE_NAMES = {"string": "string", "integer": "int", "number": "number", "boolean": "bool"}


@dataclass
class CheckResult:
    errors: list[FieldError] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)


def check(definition: str, document: Any) -> CheckResult:
    """Type errors, missing required fields and unknown fields of a document of `definition`."""
    result = CheckResult()
    _Checker(result).value(_load()[definition], document, "")
    return result


class _Checker:
    def __init__(self, result: CheckResult) -> None:
        self.result = result

    def value(self, schema: JsonSchema, value: Any, path: str) -> None:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            schema = _load()[ref.removeprefix("#/$defs/")]
        if value is None:
            return
        if "oneOf" in schema:
            self.one_of(schema["oneOf"], value, path)
        elif "properties" in schema:
            self.object(schema, value, path)
        elif "type" in schema:
            self.typed(schema, value, path)

    def one_of(self, options: list[JsonSchema], value: Any, path: str) -> None:
        kinds = [_concrete(option["type"]) for option in options]
        if not any(_is(value, kind) for kind in kinds):
            names = " or ".join(_TYPE_NAMES.get(kind, kind) for kind in kinds)
            self.result.errors.append(type_invalid(path, value, f"must be of type {names}"))

    def object(self, schema: JsonSchema, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.result.errors.append(type_invalid(path or "<root>", value, "must be an object"))
            return
        prefix = f"{path}." if path else ""
        properties: dict[str, JsonSchema] = schema["properties"]
        for name in schema.get("required", []):
            if value.get(name) is None:
                self.result.errors.append(required(f"{prefix}{name}"))
        for name, item in value.items():
            if name in properties:
                self.value(properties[name], item, f"{prefix}{name}")
            else:
                self.result.unknown_fields.append(f"{prefix}{name}")

    def typed(self, schema: JsonSchema, value: Any, path: str) -> None:
        kind = _concrete(schema["type"])
        if not _is(value, kind):
            detail = {"object": "must be an object", "array": "must be a list"}.get(kind)
            self.result.errors.append(
                type_invalid(path, value, detail or f"must be of type {_TYPE_NAMES.get(kind, kind)}")
            )
        elif kind == "array":
            for index, item in enumerate(value):
                self.value(schema["items"], item, f"{path}[{index}]")
        elif kind == "object" and "additionalProperties" in schema:
            for key, item in value.items():
                self.value(schema["additionalProperties"], item, f"{path}[{key}]")


def _concrete(kind: str | list[str]) -> str:
    return kind if isinstance(kind, str) else next(k for k in kind if k != "null")


def _is(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind != "boolean":
        return False
    return isinstance(value, _PYTHON_TYPES.get(kind, (object,)))
