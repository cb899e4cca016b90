"""Server-side printing: ``meta.k8s.io/v1`` Table and PartialObjectMetadata forms of objects."""

from __future__ import annotations

from typing import Any

from api.registry.printing import DEFAULT_COLUMNS
from api.registry.strategy import Object, Strategy


def metadata_only(obj: Object) -> Object:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {})}


def _row(strategy: Strategy, obj: Object, include_object: str) -> dict[str, Any]:
    columns = strategy.columns or DEFAULT_COLUMNS
    row: dict[str, Any] = {"cells": [column.cell(obj) for column in columns]}
    if include_object == "Object":
        row["object"] = obj
    elif include_object != "None":
        row["object"] = metadata_only(obj)
    return row


def table(strategy: Strategy, items: list[Object], *, include_object: str, revision: str,
          continue_token: str = "", headers: bool = True) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    if revision:
        metadata["resourceVersion"] = revision
    if continue_token:
        metadata["continue"] = continue_token
    body: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}
    if headers:
        body["columnDefinitions"] = [c.definition() for c in strategy.columns or DEFAULT_COLUMNS]
    body["rows"] = [_row(strategy, item, include_object) for item in items]
    return body
