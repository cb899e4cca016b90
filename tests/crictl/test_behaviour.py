"""What crictl users rely on beyond the output format: filters, prefixes, removal, errors."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

from cri import domain as d
from cri.crictl.app import run
from tests.crictl import scenario
from tests.crictl.conftest import Crictl, WatchedOutput


async def test_ids_may_be_unique_prefixes(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    document = json.loads(await crictl.ok("inspect", state.server[:13]))
    assert document["status"]["id"] == state.server
    assert json.loads(await crictl.ok("inspectp", state.web[:5]))["status"]["id"] == state.web


async def test_ps_lists_running_containers_unless_asked_for_all(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    assert (await crictl.ok("ps", "-q")).split() == [state.server]
    assert set((await crictl.ok("ps", "-aq")).split()) == {state.server, state.sidecar, state.job}
    assert (await crictl.ok("ps", "-q", "--state", "exited")).split() == [state.job]
    assert (await crictl.ok("ps", "-q", "--state", "Created")).split() == [state.sidecar]


async def test_ps_filters_combine(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    assert (await crictl.ok("ps", "-aq", "--pod", state.batch[:8])).split() == [state.job]
    assert (await crictl.ok("ps", "-aq", "--name", "^s.*car$")).split() == [state.sidecar]
    assert (await crictl.ok("ps", "-aq", "--namespace", "jobs")).split() == [state.job]
    assert (await crictl.ok("ps", "-aq", "--label", "io.kubernetes.pod.name=web", "--last", "1")).split() == [
        state.sidecar
    ]
    assert set((await crictl.ok("ps", "-aq", "--image", "busybox:1.36")).split()) == {state.server, state.job}
    assert (await crictl.ok("ps", "-aq", "--latest")).split() == [state.job]


async def test_a_bad_state_filter_is_refused(crictl: Crictl) -> None:
    result = await crictl("ps", "--state", "sleeping")
    assert result.code == 1
    assert "--state should be one of created, running, exited or unknown" in result.err


async def test_pods_filter_by_state_name_and_namespace(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    assert (await crictl.ok("stopp", state.batch)) == f"Stopped sandbox {state.batch}\n"
    assert (await crictl.ok("pods", "-q", "--state", "NotReady")).split() == [state.batch]
    assert (await crictl.ok("pods", "-q", "--state", "ready")).split() == [state.web]
    assert (await crictl.ok("pods", "-q", "--name", "we")).split() == [state.web]
    assert (await crictl.ok("pods", "-q", "--namespace", "^jobs$")).split() == [state.batch]
    assert (await crictl.ok("pods", "-q", "--label", "app=batch")).split() == [state.batch]


async def test_rm_refuses_a_running_container_and_deletes_log_files(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    log = tmp_path / "logs" / "web" / "server" / "0.log"
    log.parent.mkdir(parents=True)
    log.write_text("2025-11-24T16:00:00Z stdout F hello\n")
    rotated = log.with_name("0.log.20251124-160000")
    rotated.write_text("")
    refused = await crictl("rm", state.server)
    assert refused.code == 1
    assert f'container \\"{state.server}\\" is running, please stop it first' in refused.err
    assert log.exists()
    assert await crictl.ok("rm", "-f", state.server) == f"{state.server}\n"
    assert not log.exists() and not rotated.exists()
    assert state.server not in await crictl.ok("ps", "-aq")


async def test_rm_keep_logs_keeps_them(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    log = tmp_path / "logs" / "batch" / "job" / "0.log"
    log.parent.mkdir(parents=True)
    log.write_text("")
    assert await crictl.ok("rm", "--keep-logs", state.job) == f"{state.job}\n"
    assert log.exists()


async def test_rmp_needs_a_stopped_pod_or_force(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    refused = await crictl("rmp", state.web)
    assert refused.code == 1 and "please stop it first" in refused.err
    assert await crictl.ok("rmp", "-f", state.web) == f"Removed sandbox {state.web}\n"
    assert (await crictl.ok("pods", "-q")).split() == [state.batch]
    assert set((await crictl.ok("ps", "-aq")).split()) == {state.job}


async def test_stop_start_and_rmi(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    assert await crictl.ok("stop", "-t", "5", state.server) == f"{state.server}\n"
    assert ("stop_container", (state.server, 5)) in [(c.method, c.args) for c in crictl.runtime.faults.calls]
    assert json.loads(await crictl.ok("inspect", state.server))["status"]["state"] == "CONTAINER_EXITED"
    assert await crictl.ok("rmi", "registry.k8s.io/pause:3.10") == "Deleted: registry.k8s.io/pause:3.10\n"
    missing = await crictl("rmi", "registry.k8s.io/pause:3.10")
    assert missing.code == 1 and "no such image registry.k8s.io/pause:3.10" in missing.err


async def test_pull_prints_the_image_reference(crictl: Crictl) -> None:
    out = await crictl.ok("pull", "--creds", "user:secret", "quay.io/org/app:v1")
    image = crictl.images.find("quay.io/org/app:v1")
    assert image is not None
    assert out == f"Image is up to date for {image.id}\n"
    assert json.loads(await crictl.ok("inspecti", "quay.io/org/app:v1"))["status"]["id"] == image.id


async def test_both_creds_and_auth_are_refused(crictl: Crictl) -> None:
    result = await crictl("pull", "--creds", "a:b", "--auth", "YTpi", "busybox")
    assert result.code == 1 and "both `--creds` and `--auth` are specified" in result.err


async def test_exec_sync_prints_output_and_propagates_the_exit_code(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    crictl.runtime.exec_handler = lambda cid, cmd: d.ExecSyncResult(
        stdout=f"ran {' '.join(cmd)}\n".encode(), stderr=b"warn\n", exit_code=3
    )
    result = await crictl("exec", "-s", state.server, "sh", "-c", "exit 3")
    assert result.code == 3
    assert result.out == "ran sh -c exit 3\n"
    assert result.err == "warn\nnon-zero exit code\n"
    crictl.runtime.exec_handler = lambda cid, cmd: d.ExecSyncResult(stdout=b"ok\n", exit_code=0)
    assert await crictl.ok("exec", "-s", "--timeout", "5", state.server[:13], "true") == "ok\n"


async def test_exec_sync_on_a_stopped_container_reports_the_rpc_error(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    result = await crictl("exec", "-s", state.job, "true")
    assert result.code == 1
    assert "execing command in container synchronously: rpc error: code = FailedPrecondition" in result.err


async def test_update_sends_the_resources(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    await crictl.ok("update", "--memory", "512m", "--cpu-quota", "50000", "--cpuset-cpus", "0", state.server)
    resources = crictl.runtime.containers[state.server].resources
    assert resources is not None
    assert (resources.memory_limit_in_bytes, resources.cpu_quota, resources.cpuset_cpus) == (
        512 << 20,
        50000,
        "0",
    )


async def test_run_creates_a_pod_and_starts_its_container(crictl: Crictl, tmp_path: Path) -> None:
    crictl.images.add_image("docker.io/library/busybox:1.36")
    pod = scenario.pod_config(tmp_path, "solo", "default", tmp_path / "logs")
    container = scenario.container_config(tmp_path, "main", "solo", "default", "busybox:1.36")
    container_id = (await crictl.ok("run", str(container), str(pod))).strip()
    status = json.loads(await crictl.ok("inspect", container_id))["status"]
    assert status["state"] == "CONTAINER_RUNNING"
    assert any(call.method == "pull_image" for call in crictl.runtime.faults.calls)


async def test_runp_reports_a_config_with_an_unknown_field(crictl: Crictl, tmp_path: Path) -> None:
    bad = tmp_path / "pod.yaml"
    bad.write_text("metadata:\n  name: x\n  namspace: typo\n")
    result = await crictl("runp", str(bad))
    assert result.code == 1
    assert "namspace" in result.err and "Traceback" not in result.err


async def test_update_and_read_runtime_config(crictl: Crictl) -> None:
    out = await crictl.ok("update-runtime-config", "--pod-cidr", "10.123.0.0/16")
    assert out == "Runtime config successfully updated\n"
    assert crictl.runtime.pod_cidr == "10.123.0.0/16"


async def test_events_stream_one_document_per_event(crictl: Crictl, tmp_path: Path) -> None:
    import asyncio
    import io

    from cri.crictl.app import run

    subscribed = asyncio.Event()
    subscribe = crictl.runtime.container_events

    def container_events() -> AsyncIterator[d.ContainerEvent]:
        events = subscribe()
        subscribed.set()
        return events

    crictl.runtime.container_events = container_events  # type: ignore[method-assign]
    out = WatchedOutput()
    template = "{{.containerEventType}} {{.containerId}}"
    argv = ["-r", f"unix://{crictl.socket}", "events", "-o", "go-template", "--template", template]
    watcher = asyncio.create_task(run(argv, out=out, err=io.StringIO(), environ={}))
    await asyncio.wait_for(subscribed.wait(), 10)
    pod = scenario.pod_config(tmp_path, "evt", "default", tmp_path / "logs")
    pod_id = (await crictl.ok("runp", str(pod))).strip()
    await out.wait_until(lambda text: text.count("\n") >= 2)
    watcher.cancel()
    assert out.getvalue().splitlines()[:2] == [
        f"CONTAINER_CREATED_EVENT {pod_id}",
        f"CONTAINER_STARTED_EVENT {pod_id}",
    ]


async def test_image_commands_use_the_image_endpoint(crictl: Crictl, tmp_path: Path) -> None:
    crictl.images.add_image("docker.io/library/busybox:1.36")
    environ = {"CRI_CONFIG_FILE": str(tmp_path / "none.yaml")}
    out = io.StringIO()
    argv = ["-r", f"unix://{tmp_path}/absent.sock", "-i", f"unix://{crictl.socket}", "images", "-q"]
    assert await run(argv, out=out, err=io.StringIO(), environ=environ) == 0
    assert out.getvalue().startswith("sha256:")


async def test_rmi_prune_keeps_images_in_use(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    await crictl.ok("rm", "-f", state.sidecar)
    crictl.images.add_image("quay.io/unused/app:1")
    deleted = await crictl.ok("rmi", "--prune")
    assert sorted(deleted.splitlines()) == [
        "Deleted: quay.io/unused/app:1",
        "Deleted: registry.k8s.io/pause:3.10",
    ]
    assert (await crictl.ok("images", "-q")).count("sha256:") == 1
    assert "Deleted: docker.io/library/busybox:1.36" in await crictl.ok("rmi", "-a")


async def test_images_filters(crictl: Crictl, tmp_path: Path) -> None:
    await scenario.build(crictl, tmp_path)
    assert (await crictl.ok("images", "-f", "reference=busybox")).count("\n") == 3
    assert (await crictl.ok("images", "--filter", "dangling=true")).count("\n") == 1
    assert "registry.k8s.io/pause" in await crictl.ok("images", "registry.k8s.io/pause:3.10")
    refused = await crictl("images", "-f", "before=busybox")
    assert refused.code == 1 and "unsupported filter" in refused.err


async def test_stats_watch_refreshes_until_interrupted(crictl: Crictl, tmp_path: Path) -> None:
    await scenario.build(crictl, tmp_path)
    out = WatchedOutput()
    argv = ["-r", f"unix://{crictl.socket}", "stats", "-w", "-a", "-s", "0"]
    watcher = asyncio.create_task(run(argv, out=out, err=io.StringIO(), environ={}))
    await out.wait_until(lambda text: text.count("\x1b[2J") >= 3)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    screens = out.getvalue().split("\x1b[2J\x1b[H")[1:3]
    assert screens[0] == screens[1] and screens[0].startswith("CONTAINER")


class _Terminal(WatchedOutput):
    def isatty(self) -> bool:
        return True


async def test_pull_shows_progress_on_a_terminal_while_it_runs(crictl: Crictl) -> None:
    release = asyncio.Event()
    pull = crictl.images.pull_image

    async def slow_pull(image: d.ImageSpec, auth: object, sandbox_config: object) -> str:
        await release.wait()
        return await pull(image, None, None)

    crictl.images.pull_image = slow_pull  # type: ignore[method-assign]
    out, err = io.StringIO(), _Terminal()
    argv = ["-r", f"unix://{crictl.socket}", "pull", "busybox:1.36"]
    pulling = asyncio.create_task(run(argv, out=out, err=err, environ={}))
    await err.wait_until(lambda text: "Pulling image busybox:1.36 (" in text)
    assert out.getvalue() == ""
    release.set()
    assert await asyncio.wait_for(pulling, 10) == 0
    assert out.getvalue().startswith("Image is up to date for sha256:")
    assert err.getvalue().endswith("\r\x1b[2K")  # the progress line is cleared at the end


async def test_checkpoint_reports_a_runtime_that_cannot(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    result = await crictl("checkpoint", "--export", str(tmp_path / "ckpt.tar"), state.server)
    assert result.code == 1
    assert (
        f'checkpointing the container \\"{state.server}\\" failed: rpc error: code = Unimplemented'
        in result.err
    )


async def test_subcommand_help_exits_0(crictl: Crictl) -> None:
    result = await crictl("ps", "--help")
    assert result.code == 0
