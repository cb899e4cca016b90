"""Kubernetes protobuf request bodies, as kubectl's typed commands send them."""

from __future__ import annotations

from google.protobuf import message_factory

from api.machinery import protobuf
from tests.apiserver.conftest import Client


def _body(api_version: str, kind: str, full_name: str, fill: dict[str, object]) -> bytes:
    pool = protobuf._pool()
    message = message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))()
    metadata = message.metadata  # type: ignore[attr-defined]
    metadata.name = fill["name"]
    metadata.labels["team"] = "a"
    metadata.creationTimestamp.seconds = 0
    for key, value in dict(fill.get("data", {})).items():  # type: ignore[call-overload]
        message.data[key] = value  # type: ignore[attr-defined]
    envelope = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("k8s.io.apimachinery.pkg.runtime.Unknown")
    )()
    envelope.typeMeta.apiVersion = api_version  # type: ignore[attr-defined]
    envelope.typeMeta.kind = kind  # type: ignore[attr-defined]
    envelope.raw = message.SerializeToString()  # type: ignore[attr-defined]
    envelope.contentType = protobuf.MEDIA_TYPE  # type: ignore[attr-defined]
    return protobuf.MAGIC + envelope.SerializeToString()


def test_decoding_gives_the_json_form() -> None:
    body = _body("v1", "Secret", "k8s.io.api.core.v1.Secret", {"name": "s", "data": {"p": b"q"}})
    assert protobuf.decode(body) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "labels": {"team": "a"}},
        "data": {"p": "cQ=="},
    }


async def test_protobuf_create_is_stored_like_json(client: Client) -> None:
    body = _body("v1", "ConfigMap", "k8s.io.api.core.v1.ConfigMap", {"name": "c", "data": {"k": "v"}})
    reply = await client.request(
        "POST", "/api/v1/namespaces/default/configmaps", raw=body, content_type=protobuf.MEDIA_TYPE
    )
    assert reply.status == 201, reply.body
    assert reply.body["data"] == {"k": "v"}


async def test_corrupt_protobuf_is_400(client: Client) -> None:
    reply = await client.request(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        raw=b"k8s\x00\xff\xff",
        content_type=protobuf.MEDIA_TYPE,
    )
    assert reply.status == 400
    assert reply.body["reason"] == "BadRequest"
