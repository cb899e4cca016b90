"""Create, get, update, list and delete through the REST API, with kube-apiserver's errors."""

from __future__ import annotations

from tests.apiserver.conftest import Client, pod

PODS = "/api/v1/namespaces/default/pods"


async def test_created_pod_is_defaulted_and_read_back(client: Client) -> None:
    created = await client.post(PODS, pod("web"))
    assert created.status == 201
    metadata = created.body["metadata"]
    assert metadata["uid"] and metadata["creationTimestamp"] and metadata["resourceVersion"]
    assert created.body["spec"]["restartPolicy"] == "Always"
    assert created.body["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert created.body["status"]["phase"] == "Pending"
    read = await client.get(f"{PODS}/web")
    assert read.status == 200
    assert read.body == created.body


async def test_duplicate_create_is_409_already_exists(client: Client) -> None:
    await client.post(PODS, pod("web"))
    again = await client.post(PODS, pod("web"))
    assert again.status == 409
    assert again.body["reason"] == "AlreadyExists"
    assert again.body["message"] == 'pods "web" already exists'


async def test_missing_object_is_404_not_found(client: Client) -> None:
    reply = await client.get(f"{PODS}/nothing")
    assert reply.status == 404
    assert reply.body["reason"] == "NotFound"
    assert reply.body["message"] == 'pods "nothing" not found'
    assert reply.body["details"] == {"name": "nothing", "kind": "pods"}


async def test_stale_update_is_409_conflict_and_changes_nothing(client: Client) -> None:
    created = (await client.post(PODS, pod("web"))).body
    fresh = dict(created, metadata=dict(created["metadata"], labels={"v": "2"}))
    assert (await client.put(f"{PODS}/web", fresh)).status == 200
    stale = dict(created, metadata=dict(created["metadata"], labels={"v": "stale"}))
    reply = await client.put(f"{PODS}/web", stale)
    assert reply.status == 409
    assert reply.body["reason"] == "Conflict"
    assert reply.body["message"] == (
        'Operation cannot be fulfilled on pods "web": the object has been modified; please apply your '
        "changes to the latest version and try again"
    )
    assert (await client.get(f"{PODS}/web")).body["metadata"]["labels"] == {"v": "2"}


async def test_invalid_pod_is_422_with_causes_and_not_stored(client: Client) -> None:
    bad = pod("Bad_Name")
    bad["spec"]["containers"][0]["image"] = ""
    reply = await client.post(PODS, bad)
    assert reply.status == 422
    assert reply.body["reason"] == "Invalid"
    fields = {cause["field"] for cause in reply.body["details"]["causes"]}
    assert {"metadata.name", "spec.containers[0].image"} <= fields
    assert reply.body["message"].startswith('Pod "Bad_Name" is invalid: ')
    listed = await client.get(PODS)
    assert listed.body["items"] == []


async def test_generate_name_makes_a_unique_name(client: Client) -> None:
    body = pod("")
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = "job-"
    first = (await client.post(PODS, body)).body["metadata"]["name"]
    second = (await client.post(PODS, body)).body["metadata"]["name"]
    assert first.startswith("job-") and len(first) == len("job-") + 5
    assert first != second


async def test_create_in_missing_namespace_is_404(client: Client) -> None:
    reply = await client.post("/api/v1/namespaces/nowhere/pods", pod("web"))
    assert reply.status == 404
    assert reply.body["message"] == 'namespaces "nowhere" not found'


async def test_wrong_kind_or_version_for_the_url_is_400(client: Client) -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {}}
    reply = await client.post(PODS, service)
    assert reply.status == 400
    assert "the kind in the data (Service) does not match the expected kind (Pod)" in reply.body["message"]
    wrong_version = pod("web") | {"apiVersion": "apps/v1"}
    reply = await client.post(PODS, wrong_version)
    assert reply.status == 400
    assert "API version in the data (apps/v1)" in reply.body["message"]


async def test_malformed_json_and_yaml_are_400(client: Client) -> None:
    reply = await client.request("POST", PODS, raw=b'{"kind": "Pod",')
    assert reply.status == 400 and reply.body["reason"] == "BadRequest"
    reply = await client.request("POST", PODS, raw=b"kind: [Pod", content_type="application/yaml")
    assert reply.status == 400 and reply.body["reason"] == "BadRequest"


async def test_unknown_media_type_is_415(client: Client) -> None:
    reply = await client.request("POST", PODS, raw=b"<pod/>", content_type="application/xml")
    assert reply.status == 415
    assert reply.body["reason"] == "UnsupportedMediaType"


async def test_oversized_body_is_413(client: Client) -> None:
    huge = pod("web")
    huge["metadata"]["annotations"] = {"a": "x" * (4 * 1024 * 1024)}
    reply = await client.post(PODS, huge)
    assert reply.status == 413
    assert reply.body["reason"] == "RequestEntityTooLarge"


async def test_strict_field_validation_rejects_unknown_fields(client: Client) -> None:
    body = pod("web")
    body["spec"]["containers"][0]["imagee"] = "typo"
    reply = await client.post(f"{PODS}?fieldValidation=Strict", body)
    assert reply.status == 400
    assert reply.body["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
        'unknown field "spec.containers[0].imagee"'
    )
    warned = await client.post(f"{PODS}?fieldValidation=Warn", body)
    assert warned.status == 201
    assert 'unknown field \\"spec.containers[0].imagee\\"' in warned.headers["Warning"] or (
        'unknown field "spec.containers[0].imagee"' in warned.headers["Warning"]
    )
    assert "imagee" not in warned.body["spec"]["containers"][0]


async def test_dry_run_stores_nothing(client: Client) -> None:
    reply = await client.post(f"{PODS}?dryRun=All", pod("web"))
    assert reply.status == 201
    assert (await client.get(f"{PODS}/web")).status == 404


async def test_delete_returns_the_object_and_removes_it(client: Client) -> None:
    await client.post(PODS, pod("web"))
    reply = await client.delete(f"{PODS}/web")
    assert reply.status == 200
    assert reply.body["metadata"]["name"] == "web"
    assert (await client.get(f"{PODS}/web")).status == 404


async def test_scheduled_pod_deletion_is_graceful(client: Client) -> None:
    body = pod("web")
    body["spec"]["nodeName"] = "node-1"
    await client.post(PODS, body)
    marked = await client.delete(f"{PODS}/web")
    assert marked.body["metadata"]["deletionGracePeriodSeconds"] == 30
    assert marked.body["metadata"]["deletionTimestamp"]
    assert (await client.get(f"{PODS}/web")).status == 200
    await client.delete(f"{PODS}/web", {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0})
    assert (await client.get(f"{PODS}/web")).status == 404


async def test_finalizers_hold_an_object_until_removed(client: Client) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["x/y"]}}
    path = "/api/v1/namespaces/default/configmaps"
    await client.post(path, cm)
    held = (await client.delete(f"{path}/c")).body
    assert held["metadata"]["deletionTimestamp"]
    held["metadata"]["finalizers"] = []
    assert (await client.put(f"{path}/c", held)).status == 200
    assert (await client.get(f"{path}/c")).status == 404


async def test_status_and_spec_are_split(client: Client) -> None:
    created = (await client.post(PODS, pod("web"))).body
    created["status"] = {"phase": "Running"}
    updated = (await client.put(f"{PODS}/web", created)).body
    assert updated["status"]["phase"] == "Pending"
    updated["status"] = {"phase": "Running"}
    updated["spec"]["nodeName"] = "sneaky"
    status = (await client.put(f"{PODS}/web/status", updated)).body
    assert status["status"]["phase"] == "Running"
    assert "nodeName" not in status["spec"]


async def test_deployment_generation_follows_spec_changes(client: Client) -> None:
    path = "/apis/apps/v1/namespaces/default/deployments"
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    created = (await client.post(path, deployment)).body
    assert created["metadata"]["generation"] == 1
    created["metadata"]["labels"] = {"only": "labels"}
    assert (await client.put(f"{path}/d", created)).body["metadata"]["generation"] == 1
    created = (await client.get(f"{path}/d")).body
    created["spec"]["replicas"] = 3
    assert (await client.put(f"{path}/d", created)).body["metadata"]["generation"] == 2


async def test_anonymous_requests_are_401_except_health_and_version(apiserver: object) -> None:
    import aiohttp

    from tinykube.testbeds.apiserver import RunningApiServer

    assert isinstance(apiserver, RunningApiServer)
    import ssl

    context = ssl.create_default_context(cafile=str(apiserver.pki.ca_cert))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
        async with session.get(apiserver.url + "/api/v1/pods") as response:
            assert response.status == 401
            assert (await response.json())["reason"] == "Unauthorized"
        for path in ("/healthz", "/readyz", "/livez", "/version"):
            async with session.get(apiserver.url + path) as response:
                assert response.status == 200, path


async def test_scale_subresource_reads_and_sets_replicas(client: Client) -> None:
    path = "/apis/apps/v1/namespaces/default/deployments"
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    await client.post(path, deployment)
    scale = (await client.get(f"{path}/d/scale")).body
    assert scale["kind"] == "Scale" and scale["spec"] == {"replicas": 1}
    assert scale["status"]["selector"] == "app=d"
    scale["spec"]["replicas"] = 5
    assert (await client.put(f"{path}/d/scale", scale)).body["spec"]["replicas"] == 5
    patched = await client.patch(f"{path}/d/scale", {"spec": {"replicas": 2}}, "application/merge-patch+json")
    assert patched.body["spec"]["replicas"] == 2
    assert (await client.get(f"{path}/d")).body["spec"]["replicas"] == 2
    negative = await client.patch(
        f"{path}/d/scale", {"spec": {"replicas": -1}}, "application/merge-patch+json"
    )
    assert negative.status == 422
