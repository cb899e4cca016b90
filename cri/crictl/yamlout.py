"""YAML the way sigs.k8s.io/yaml prints JSON: sorted keys, block style, Go-style quoting."""

from __future__ import annotations

from typing import Any

import yaml


class _GoStyleDumper(yaml.SafeDumper):
    """Quotes with double quotes where PyYAML would choose single ones, as go-yaml does."""

    def choose_scalar_style(self) -> Any:
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def dump_yaml(data: Any) -> str:
    text: str = yaml.dump(
        data,
        Dumper=_GoStyleDumper,
        default_flow_style=False,
        sort_keys=True,
        allow_unicode=True,
        width=2**31 - 1,
    )
    return text
