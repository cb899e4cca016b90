"""The /pods body: the same bytes as encoding the whole PodList, and never a stale pod or status."""

from __future__ import annotations

import json
from pathlib import Path

from api.core.v1.manifest import load_pod, pod_list_to_dict
from api.core.v1.pods import pod_name, pod_namespace, pod_uid
from api.model.core_v1 import Pod, PodList, PodStatus
from kubelet.pod_list import PodListBody
from kubelet.static_source import static_pod

MANIFEST = """apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  containers:
  - {{name: app, image: busybox, command: [sleep, "3600"]}}
"""


def _pod(name: str, namespace: str = "default") -> Pod:
    loaded = load_pod(MANIFEST.format(name=name, namespace=namespace).encode()).pod
    return static_pod(loaded, node_name="node", source=Path(f"/etc/pods/{name}.yaml"), seen=0.0)


def _uncached(pods: dict[str, Pod], statuses: dict[str, PodStatus]) -> bytes:
    ordered = sorted(pods.items(), key=lambda item: (pod_namespace(item[1]), pod_name(item[1])))
    pending = PodStatus(phase="Pending")
    items = tuple(pod.replace(status=statuses.get(uid) or pending) for uid, pod in ordered)
    return json.dumps(pod_list_to_dict(PodList(api_version="v1", kind="PodList", items=items))).encode()


def test_body_matches_the_whole_list_encoded_through_changes() -> None:
    web, db, job = _pod("web"), _pod("db", "storage"), _pod("job")
    pods = {pod_uid(web): web, pod_uid(db): db}
    statuses: dict[str, PodStatus] = {pod_uid(web): PodStatus(phase="Running", pod_ip="10.0.0.5")}
    body = PodListBody()
    assert body.render(pods, statuses.get) == _uncached(pods, statuses)

    statuses[pod_uid(web)] = PodStatus(phase="Failed", reason="DeadlineExceeded")
    statuses[pod_uid(db)] = PodStatus(phase="Running")
    pods[pod_uid(job)] = job
    rendered = body.render(pods, statuses.get)
    assert rendered == _uncached(pods, statuses)
    by_name = {p["metadata"]["name"]: p for p in json.loads(rendered)["items"]}
    assert by_name["web-node"]["status"]["reason"] == "DeadlineExceeded"
    assert by_name["job-node"]["status"] == {"phase": "Pending"}

    edited = web.replace(metadata=web.metadata.replace(labels={"tier": "front"}))
    pods[pod_uid(web)] = edited
    del pods[pod_uid(db)]
    rendered = body.render(pods, statuses.get)
    assert rendered == _uncached(pods, statuses)
    assert [p["metadata"]["name"] for p in json.loads(rendered)["items"]] == ["job-node", "web-node"]


def test_no_pods_is_an_empty_list() -> None:
    assert json.loads(PodListBody().render({}, {}.get)) == {
        "apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [],
    }  # fmt: skip
