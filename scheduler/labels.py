"""Label selectors (meta/v1 LabelSelector) and node selector requirements (core/v1), compiled once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

LabelMatcher = Callable[[Mapping[str, str]], bool]


def _always(labels: Mapping[str, str]) -> bool:
    return True


def _never(labels: Mapping[str, str]) -> bool:
    return False


def _requirement(key: str, operator: str, values: tuple[str, ...]) -> LabelMatcher:
    wanted = frozenset(values)
    if operator == "In":
        return lambda labels: labels.get(key) in wanted
    if operator == "NotIn":
        return lambda labels: labels.get(key) not in wanted
    if operator == "Exists":
        return lambda labels: key in labels
    if operator == "DoesNotExist":
        return lambda labels: key not in labels
    if operator in ("Gt", "Lt"):
        return _numeric(key, operator, values)
    return _never


def _numeric(key: str, operator: str, values: tuple[str, ...]) -> LabelMatcher:
    try:
        bound = int(values[0])
    except (IndexError, ValueError):
        return _never

    def match(labels: Mapping[str, str]) -> bool:
        try:
            value = int(labels[key])
        except (KeyError, ValueError):
            return False
        return value > bound if operator == "Gt" else value < bound

    return match


def _all_of(matchers: list[LabelMatcher]) -> LabelMatcher:
    if not matchers:
        return _always
    if len(matchers) == 1:
        return matchers[0]
    return lambda labels: all(match(labels) for match in matchers)


def label_selector(selector: Mapping[str, Any] | None) -> LabelMatcher:
    """meta/v1 LabelSelector: None selects nothing, {} selects everything."""
    if selector is None:
        return _never
    matchers: list[LabelMatcher] = [
        _requirement(key, "In", (value,)) for key, value in (selector.get("matchLabels") or {}).items()
    ]
    for expression in selector.get("matchExpressions") or ():
        values = tuple(expression.get("values") or ())
        matchers.append(_requirement(expression["key"], expression["operator"], values))
    return _all_of(matchers)


def node_selector_term(term: Mapping[str, Any]) -> Callable[[Mapping[str, str], str], bool]:
    """core/v1 NodeSelectorTerm over (labels, node name); an empty term matches no node."""
    expressions = [
        _requirement(e["key"], e["operator"], tuple(e.get("values") or ()))
        for e in term.get("matchExpressions") or ()
    ]
    fields = [
        _requirement("metadata.name", e["operator"], tuple(e.get("values") or ()))
        for e in term.get("matchFields") or ()
        if e.get("key") == "metadata.name"
    ]
    if not expressions and not fields:
        return lambda labels, name: False
    by_labels = _all_of(expressions)
    by_fields = _all_of(fields)
    if not fields:
        return lambda labels, name: by_labels(labels)
    return lambda labels, name: by_labels(labels) and by_fields({"metadata.name": name})


def node_selector(terms: list[Mapping[str, Any]]) -> Callable[[Mapping[str, str], str], bool]:
    """Terms are ORed."""
    compiled = [node_selector_term(term) for term in terms]
    return lambda labels, name: any(match(labels, name) for match in compiled)
