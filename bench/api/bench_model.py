"""Object model benchmark: decoding and encoding a Pod against the official `kubernetes` client.

    python -m bench.api.bench_model [--rounds 2000]

Both sides start from the JSON text the apiserver sends: ours is `json.loads` + `Pod.from_dict`,
the reference is `ApiClient().deserialize(text, "V1Pod")`; encoding is `Pod.to_dict` against
`ApiClient().sanitize_for_serialization`. The Pod is a running Deployment replica as
`kubectl get pod -o json` shows it (two containers, probes, resources, projected token volume,
status with conditions). Prints microseconds per Pod and the ratio reference/ours.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from kubernetes.client import ApiClient

from api.model import core_v1

_META = {
    "name": "web-7d4b9c8f6-x2x9q",
    "generateName": "web-7d4b9c8f6-",
    "namespace": "default",
    "uid": "0d3c5b9e-1c1e-4a53-9a53-2b7f6f0c9a11",
    "resourceVersion": "48213",
    "creationTimestamp": "2026-12-07T12:00:00Z",
    "labels": {"app": "web", "pod-template-hash": "7d4b9c8f6"},
    "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-12-07T11:59:58Z"},
    "ownerReferences": [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "web-7d4b9c8f6",
            "uid": "5f0c2d7e-8a1b-4c3d-9e2f-1a2b3c4d5e6f",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ],
}


def _container(name: str, port: int) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/healthz", "port": port, "scheme": "HTTP"}, "periodSeconds": 10}
    return {
        "name": name,
        "image": f"registry.example/{name}:1.2.3",
        "args": ["--port", str(port)],
        "ports": [{"containerPort": port, "name": "http", "protocol": "TCP"}],
        "env": [
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}}
        ],
        "resources": {
            "limits": {"cpu": "500m", "memory": "256Mi"},
            "requests": {"cpu": "100m", "memory": "64Mi"},
        },
        "livenessProbe": probe,
        "readinessProbe": probe,
        "volumeMounts": [
            {
                "name": "kube-api-access",
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "readOnly": True,
            }
        ],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }


def _status(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "state": {"running": {"startedAt": "2026-12-07T12:00:03Z"}},
        "lastState": {},
        "ready": True,
        "restartCount": 0,
        "image": f"registry.example/{name}:1.2.3",
        "imageID": f"registry.example/{name}@sha256:" + "ab" * 32,
        "containerID": "containerd://" + "cd" * 32,
        "started": True,
    }


POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": _META,
    "spec": {
        "containers": [_container("web", 8080), _container("metrics", 9090)],
        "volumes": [
            {
                "name": "kube-api-access",
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {
                            "configMap": {
                                "name": "kube-root-ca.crt",
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                            }
                        },
                    ],
                },
            }
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default",
        "nodeName": "node-1",
        "securityContext": {},
        "schedulerName": "default-scheduler",
        "tolerations": [
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            }
        ],
        "priority": 0,
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
    },
    "status": {
        "phase": "Running",
        "conditions": [
            {"type": kind, "status": "True", "lastTransitionTime": "2026-12-07T12:00:04Z"}
            for kind in (
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled",
            )
        ],
        "hostIP": "10.0.0.5",
        "hostIPs": [{"ip": "10.0.0.5"}],
        "podIP": "10.244.1.7",
        "podIPs": [{"ip": "10.244.1.7"}],
        "startTime": "2026-12-07T12:00:00Z",
        "containerStatuses": [_status("web"), _status("metrics")],
        "qosClass": "Burstable",
    },
}


def _per_call_us(action: Callable[[], object], rounds: int) -> float:
    action()
    started = time.perf_counter()
    for _ in range(rounds):
        action()
    return (time.perf_counter() - started) / rounds * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args(argv).rounds
    text = json.dumps(POD)
    client = ApiClient()
    ours = core_v1.Pod.from_dict(json.loads(text))
    official = client.deserialize(text, "V1Pod", "application/json")
    assert ours.to_dict() == POD  # the client rewrites times (`Z` -> `+00:00`), so only ours is compared
    rows = [
        (
            "decode Pod (JSON text -> typed)",
            _per_call_us(lambda: core_v1.Pod.from_dict(json.loads(text)), rounds),
            _per_call_us(lambda: client.deserialize(text, "V1Pod", "application/json"), rounds // 10 or 1),
        ),
        (
            "encode Pod (typed -> JSON dict)",
            _per_call_us(ours.to_dict, rounds),
            _per_call_us(lambda: client.sanitize_for_serialization(official), rounds // 10 or 1),
        ),
    ]
    print(f"{'':34} {'ours µs':>10} {'kubernetes µs':>14} {'ratio':>7}")
    for name, mine, reference in rows:
        print(f"{name:34} {mine:10.1f} {reference:14.1f} {reference / mine:6.1f}x")


if __name__ == "__main__":
    main()
