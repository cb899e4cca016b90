"""Label and field selectors: the string syntax of ``?labelSelector=`` and the ``LabelSelector`` of specs."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from api.client.types import meta

LabelMatcher = Callable[[Mapping[str, str]], bool]
_SET_TERM = re.compile(r"^\s*(?P<key>[^\s!=()]+)\s+(?P<op>in|notin)\s+\((?P<values>[^)]*)\)\s*$")


class SelectorError(ValueError):
    pass


def _split_terms(selector: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def _label_term(term: str) -> LabelMatcher:
    if found := _SET_TERM.match(term):
        key, values = found["key"], {v.strip() for v in found["values"].split(",") if v.strip()}
        if found["op"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in term:
            key, value = (part.strip() for part in term.split(op, 1))
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels: key not in labels
    if re.fullmatch(r"[^\s!=(),]+", term):
        return lambda labels: term in labels
    raise SelectorError(f"unable to parse requirement: found {term!r}, expected a label selector term")


def parse_label_selector(selector: str | None) -> LabelMatcher:
    matchers = [_label_term(term) for term in _split_terms(selector or "")]
    return lambda labels: all(match(labels) for match in matchers)


def label_selector_matcher(selector: Mapping[str, Any] | None) -> LabelMatcher:
    """A spec's ``LabelSelector`` (matchLabels, matchExpressions); an empty one matches everything."""
    selector = selector or {}
    checks: list[LabelMatcher] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        checks.append(_expression(key, "In", {value}))
    for expression in selector.get("matchExpressions") or ():
        key, op, values = expression["key"], expression["operator"], set(expression.get("values") or ())
        checks.append(_expression(key, op, values))
    return lambda labels: all(check(labels) for check in checks)


def _expression(key: str, op: str, values: set[str]) -> LabelMatcher:
    if op == "In":
        return lambda labels: labels.get(key) in values
    if op == "NotIn":
        return lambda labels: labels.get(key) not in values
    if op == "Exists":
        return lambda labels: key in labels
    if op == "DoesNotExist":
        return lambda labels: key not in labels
    raise SelectorError(f'"{op}" is not a valid label selector operator')


def field_value(obj: Mapping[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)


def parse_field_selector(selector: str | None) -> Callable[[Mapping[str, Any]], bool]:
    checks: list[Callable[[Mapping[str, Any]], bool]] = []
    for term in _split_terms(selector or ""):
        path, value = (part.strip() for part in re.split(r"!=|==|=", term, maxsplit=1))
        checks.append(_field_term(path, value, negate="!=" in term))
    return lambda obj: all(check(obj) for check in checks)


def _field_term(path: str, value: str, *, negate: bool) -> Callable[[Mapping[str, Any]], bool]:
    return lambda obj: (field_value(obj, path) == value) != negate


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    labels = meta(obj).get("labels")
    return labels if isinstance(labels, Mapping) else {}
