"""The explicit plugin registry: name -> factory(args, handle)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scheduler.framework.interfaces import Handle

PluginFactory = Callable[[Mapping[str, Any], Handle], Any]


class Registry:
    def __init__(self, factories: Mapping[str, PluginFactory] | None = None) -> None:
        self._factories: dict[str, PluginFactory] = dict(factories or {})

    def register(self, name: str, factory: PluginFactory) -> None:
        if name in self._factories:
            raise ValueError(f"a plugin named {name} already exists")
        self._factories[name] = factory

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def names(self) -> list[str]:
        return sorted(self._factories)

    def create(self, name: str, args: Mapping[str, Any], handle: Handle) -> Any:
        return self._factories[name](args, handle)
