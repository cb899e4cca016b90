"""fieldValidation (Strict, Warn, Ignore) and type errors of a request body, per kind's schema."""

from __future__ import annotations

import json

from aiohttp import web

from api.machinery import status as errors
from api.machinery.schema import check
from api.registry.strategy import Object, Strategy

DIRECTIVES = ("Strict", "Warn", "Ignore")
_GO_TYPES = {"integer": "int", "string": "string", "boolean": "bool", "number": "float64",
             "array": "array", "object": "object"}


def directive(request: web.Request) -> str:
    value = request.query.get("fieldValidation", "Warn")
    if value not in DIRECTIVES:
        raise errors.bad_request(f'fieldValidation: Unsupported value: "{value}": supported values: '
                                 '"Ignore", "Strict", "Warn"')
    return value


def check_fields(request: web.Request, strategy: Strategy, obj: Object) -> list[str]:
    """Warnings to return; raises 400 for Strict unknown fields and for values of the wrong type."""
    mode = directive(request)
    if not strategy.definition:
        return []
    problems = check(strategy.definition, obj, prune=mode != "Strict")
    if problems.mistyped:
        path, wanted, value = problems.mistyped[0]
        raise errors.bad_request(
            f'{strategy.kind} in version "{strategy.version}" cannot be handled as a {strategy.kind}: '
            f"json: cannot unmarshal {_json_type(value)} into Go struct field {path} of type "
            f"{_GO_TYPES.get(wanted, wanted)}"
        )
    unknown = [f'unknown field "{path}"' for path in problems.unknown]
    if mode == "Strict" and unknown:
        raise errors.bad_request(f'{strategy.kind} in version "{strategy.version}" cannot be handled as a '
                                 f"{strategy.kind}: strict decoding error: {', '.join(unknown)}")
    return unknown if mode == "Warn" else []


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else json.dumps(value)
