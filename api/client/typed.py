"""A typed view of a resource through the generated object model (``api.model``): dataclasses in and out.

The wire stays JSON: each call converts with the model's ``from_dict``/``to_dict``, so fields the
model does not name are dropped on the way in (as the apiserver's decoder drops them).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, Generic, Protocol, Self, TypeVar

from api.client.protocol import Api
from api.client.resources import Resource
from api.client.types import NO_SELECTORS, EventType, Obj, PatchType, Selectors


class Model(Protocol):
    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self: ...


M = TypeVar("M", bound=Model)


class TypedResource(Generic[M]):
    def __init__(self, api: Api, resource: Resource, model: type[M]) -> None:
        self.api = api
        self.resource = resource
        self.model = model

    def _typed(self, obj: Obj) -> M:
        return self.model.from_dict(obj)

    def _wire(self, obj: M) -> Obj:
        return {"apiVersion": self.resource.api_version, "kind": self.resource.kind, **obj.to_dict()}

    async def get(self, name: str, *, namespace: str | None = None) -> M:
        return self._typed(await self.api.get(self.resource, name, namespace=namespace))

    async def list(
        self, *, namespace: str | None = None, selectors: Selectors = NO_SELECTORS
    ) -> tuple[M, ...]:
        listed = await self.api.list(self.resource, namespace=namespace, selectors=selectors)
        return tuple(self._typed(item) for item in listed.items)

    async def create(self, obj: M, *, namespace: str | None = None) -> M:
        return self._typed(await self.api.create(self.resource, self._wire(obj), namespace=namespace))

    async def update(self, obj: M, *, subresource: str | None = None) -> M:
        return self._typed(await self.api.update(self.resource, self._wire(obj), subresource=subresource))

    async def patch(
        self,
        name: str,
        patch: Any,
        *,
        patch_type: PatchType,
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> M:
        patched = await self.api.patch(
            self.resource, name, patch, patch_type=patch_type, namespace=namespace, subresource=subresource
        )
        return self._typed(patched)

    async def delete(self, name: str, *, namespace: str | None = None) -> None:
        await self.api.delete(self.resource, name, namespace=namespace)

    async def watch(
        self,
        *,
        namespace: str | None = None,
        selectors: Selectors = NO_SELECTORS,
        resource_version: str | None = None,
    ) -> AsyncGenerator[tuple[EventType, M], None]:
        """Changes as (type, object); bookmarks are left out (they carry no object)."""
        events = self.api.watch(
            self.resource, namespace=namespace, selectors=selectors, resource_version=resource_version
        )
        try:
            async for event in events:
                if event.type is not EventType.BOOKMARK:
                    yield event.type, self._typed(event.object)
        finally:
            await events.aclose()
