"""The real kubectl 1.32 against the apiserver, asserting on its real output."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.apiserver.kubectl import Kubectl
from tinykube.testbeds.apiserver import running_apiserver

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("kubectl")]


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    async with running_apiserver(tmp_path, storage="sqlite:") as server:
        home = tmp_path / "home"
        home.mkdir()
        yield Kubectl(server.kubeconfig, home)


def _rows(table: str) -> list[list[str]]:
    return [line.split() for line in table.strip().splitlines()]


async def test_version_discovery_and_identity(kubectl: Kubectl) -> None:
    version = json.loads(await kubectl.ok("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"].startswith("v1.32.0")
    resources = _rows(await kubectl.ok("api-resources"))
    assert resources[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["pods", "po", "v1", "true", "Pod"] in resources
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in resources
    assert ["leases", "coordination.k8s.io/v1", "true", "Lease"] in resources
    versions = (await kubectl.ok("api-versions")).split()
    assert {"v1", "apps/v1", "events.k8s.io/v1", "discovery.k8s.io/v1"} <= set(versions)
    whoami = await kubectl.ok("auth", "whoami")
    assert "kubernetes-admin" in whoami and "system:masters" in whoami
    assert (await kubectl.ok("get", "--raw", "/readyz")) == "ok"


async def test_namespaces_exist_and_get_prints_tables(kubectl: Kubectl) -> None:
    namespaces = _rows(await kubectl.ok("get", "namespaces"))
    assert namespaces[0] == ["NAME", "STATUS", "AGE"]
    assert {row[0] for row in namespaces[1:]} == {"default", "kube-system", "kube-public", "kube-node-lease"}
    await kubectl.ok("run", "web", "--image=nginx:1.25", "--labels=app=web")
    await kubectl.ok("run", "db", "--image=postgres:16", "--labels=app=db")
    pods = _rows(await kubectl.ok("get", "pods"))
    assert pods[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [row[:4] for row in pods[1:]] == [["db", "0/1", "Pending", "0"], ["web", "0/1", "Pending", "0"]]
    wide = _rows(await kubectl.ok("get", "pods", "-o", "wide", "-l", "app=web"))
    assert wide[0] == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ]
    assert wide[1][0] == "web" and wide[1][5:] == ["<none>"] * 4
    every = _rows(await kubectl.ok("get", "pods", "-A", "--field-selector", "metadata.name=db"))
    assert every[0][:2] == ["NAMESPACE", "NAME"] and every[1][:2] == ["default", "db"]
    document = json.loads(await kubectl.ok("get", "pod", "web", "-o", "json"))
    assert document["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert "uid: " in await kubectl.ok("get", "pod", "web", "-o", "yaml")
    assert await kubectl.ok("get", "pod", "web", "-o", "jsonpath={.metadata.labels.app}") == "web"
    custom = _rows(
        await kubectl.ok("get", "pods", "-o", "custom-columns=N:.metadata.name,I:.spec.containers[0].image")
    )
    assert custom == [["N", "I"], ["db", "postgres:16"], ["web", "nginx:1.25"]]


async def test_delete_by_name_label_and_all(kubectl: Kubectl) -> None:
    for name in ("a", "b", "c"):
        await kubectl.ok("run", name, "--image=busybox", f"--labels=group={'x' if name != 'c' else 'y'}")
    assert 'pod "c" deleted' in await kubectl.ok("delete", "pod", "c", "--wait")
    deleted = await kubectl.ok("delete", "pods", "-l", "group=x")
    assert 'pod "a" deleted' in deleted and 'pod "b" deleted' in deleted
    result = await kubectl.run("get", "pods")
    assert "No resources found in default namespace." in result.err
    missing = await kubectl.run("get", "pod", "nothing")
    assert missing.code == 1
    assert 'Error from server (NotFound): pods "nothing" not found' in missing.err
