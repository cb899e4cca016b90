"""Fast checks of the runc shim's pure parts: config validation, pod files, records."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from cri import domain as d
from shims.node.podfiles import hosts_file, resolv_conf
from shims.node.recordstore import RecordStore
from shims.runc.config import ConfigError, load_config
from shims.runc.execsync import OUTPUT_CAP, split_output
from shims.runc.images import normalize
from shims.runc.records import ContainerRecord, SandboxRecord
from shims.runc.runtime import RuncRuntime


def test_config_file_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "runc.yaml"
    path.write_text("root_dir: /tmp/r\ncni_bin_dirs: [/a, /b]\nlog_level: debug\ncni_plugin_timeout: 5\n")
    config = load_config(path)
    assert (config.root_dir, config.cni_bin_dirs, config.log_level, config.cni_plugin_timeout) == (
        Path("/tmp/r"),
        (Path("/a"), Path("/b")),
        "debug",
        5.0,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour: blue\n", "unknown setting"),
        ("log_level: loud\n", "log_level"),
        ("runc: /nonexistent/runc\n", "runc"),
        ("cni_bin_dirs: /usr/lib/cni\n", "cni_bin_dirs"),
        ("streaming_address: nowhere\n", "streaming_address"),
        ("cgroup_parent: relative\n", "cgroup_parent"),
        ("cni_plugin_timeout: 0\n", "cni_plugin_timeout: expected a positive number of seconds"),
        ("- a list\n", "mapping"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "runc.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_resolv_conf_from_dns_config_or_the_host() -> None:
    dns = d.DNSConfig(servers=("10.0.0.10",), searches=("svc.local", "local"), options=("ndots:5",))
    assert resolv_conf(dns, host_text="nameserver 1.1.1.1\n") == (
        "search svc.local local\nnameserver 10.0.0.10\noptions ndots:5\n"
    )
    assert resolv_conf(d.DNSConfig(), host_text="nameserver 1.1.1.1\n") == "nameserver 1.1.1.1\n"


def test_hosts_file_names_the_pod() -> None:
    assert "10.211.0.5\tweb" in hosts_file("web", ("10.211.0.5",)).splitlines()


def test_image_references_normalise_like_docker() -> None:
    assert normalize("busybox") == "docker.io/library/busybox:latest"
    assert normalize("registry.k8s.io/pause:3.10") == "registry.k8s.io/pause:3.10"
    assert normalize("localhost:5000/x") == "localhost:5000/x:latest"


def _records() -> tuple[SandboxRecord, ContainerRecord]:
    sandbox = SandboxRecord(
        id="s" * 64,
        config=d.PodSandboxConfig(metadata=d.PodSandboxMetadata(name="p"), labels={"a": "b"}),
        runtime_handler="",
        created_at=1,
        cgroup_parent="/x",
        ips=("10.211.0.2",),
        cni_result={"ips": []},
    )
    container = ContainerRecord(
        id="c" * 64,
        sandbox_id=sandbox.id,
        image_ref="sha256:1",
        image_id="sha256:1",
        log_path="/l",
        cgroups_path="/x/c",
        created_at=2,
        started_at=3,
        finished_at=4,
        exit_code=137,
        reason="OOMKilled",
        config=d.ContainerConfig(
            metadata=d.ContainerMetadata(name="c"), envs=(d.KeyValue(key="k", value=b"\xff"),)
        ),
        resources=d.LinuxContainerResources(cpu_shares=2),
        user=d.LinuxContainerUser(uid=5, supplemental_groups=(5,)),
        mounts=(d.Mount(container_path="/a", host_path="/b", readonly=True),),
    )
    return sandbox, container


def _store(state_dir: Path) -> RecordStore[SandboxRecord, ContainerRecord]:
    return RecordStore(state_dir, sandbox_type=SandboxRecord, container_type=ContainerRecord)


def test_records_survive_a_round_trip_through_disk_format(tmp_path: Path) -> None:
    sandbox, container = _records()
    _store(tmp_path).save(sandbox)
    _store(tmp_path).save(container)
    loaded = _store(tmp_path).load()
    assert (loaded.sandboxes, loaded.containers) == ((sandbox,), (container,))
    assert container.state == d.ContainerState.CONTAINER_EXITED


def test_record_store_keeps_the_latest_save_across_reopening(tmp_path: Path) -> None:
    sandbox, container = _records()
    store = _store(tmp_path)
    store.save(sandbox)
    store.save(container)
    store.save(dataclasses.replace(container, exit_code=0))
    store.delete(sandbox)
    (store.container_dir / "half-written.tmp").write_bytes(b"{")  # a save the shim died in
    loaded = _store(tmp_path).load()
    assert loaded.sandboxes == ()
    assert loaded.containers == (dataclasses.replace(container, exit_code=0),)
    assert not (store.container_dir / "half-written.tmp").exists()


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b'{"version": 1, "record": {"id": "s',
        b'{"version": 99, "record": {}}',
        b'{"version": 1, "record": 7}',
    ],
    ids=["emptied", "truncated", "unknown version", "not a record"],
)
def test_an_unreadable_record_is_quarantined_and_the_others_load(
    tmp_path: Path, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox, container = _records()
    other = dataclasses.replace(sandbox, id="t" * 64)
    store = _store(tmp_path)
    for record in (sandbox, other, container):
        store.save(record)
    damaged = store.sandbox_dir / f"{sandbox.id}.json"
    damaged.write_bytes(damage)
    loaded = _store(tmp_path).load()
    assert (loaded.sandboxes, loaded.containers) == ((other,), (container,))
    [moved] = loaded.quarantined
    assert moved.parent == store.quarantine_dir and moved.read_bytes() == damage and not damaged.exists()
    assert str(damaged) in caplog.text and str(moved) in caplog.text


def test_a_record_is_on_disk_under_its_own_id_only(tmp_path: Path) -> None:
    sandbox, _ = _records()
    store = _store(tmp_path)
    store.save(sandbox)
    (store.sandbox_dir / f"{sandbox.id}.json").rename(store.sandbox_dir / f"{'u' * 64}.json")
    assert _store(tmp_path).load().sandboxes == ()


async def test_pod_stats_read_the_container_table_on_the_event_loop_only(tmp_path: Path) -> None:
    """An exit or removal during stats would otherwise fail them: dictionary changed size during iteration."""
    path = tmp_path / "runc.yaml"
    path.write_text(f"root_dir: {tmp_path / 'root'}\nstate_dir: {tmp_path / 'state'}\n")
    runtime = RuncRuntime(load_config(path), images=None)  # type: ignore[arg-type]
    sandbox = SandboxRecord(
        id="s" * 64,
        config=d.PodSandboxConfig(metadata=d.PodSandboxMetadata(name="p")),
        runtime_handler="",
        created_at=1,
        cgroup_parent=f"/tinykube-unit-{tmp_path.name}",
    )
    runtime.table.adopt(sandbox)
    running_in = runtime.table.running_in

    def on_the_loop_only(sandbox_id: str) -> list[ContainerRecord]:
        assert threading.current_thread() is threading.main_thread(), "container table read off the loop"
        return running_in(sandbox_id)

    runtime.table.running_in = on_the_loop_only  # type: ignore[method-assign]
    assert (await runtime.pod_sandbox_stats(sandbox.id)).attributes is not None
    assert len(await runtime.list_pod_sandbox_stats(None)) == 1


def test_exec_output_is_rebuilt_from_conmons_log_records(tmp_path: Path) -> None:
    log = tmp_path / "output.log"
    log.write_bytes(
        b"2026-11-29T09:09:03.455976268+00:00 stdout F out\n"
        b"2026-11-29T09:09:03.455976268+00:00 stdout P part\n"
        b"2026-11-29T09:09:03.455976268+00:00 stdout P ial\n"
        b"2026-11-29T09:09:03.456022976+00:00 stderr F err  with  spaces\n"
        b"2026-11-29T09:09:03.456022976+00:00 stdout F \n"
    )
    assert split_output(log) == (b"out\npartial\n", b"err  with  spaces\n")
    assert split_output(tmp_path / "never-written.log") == (b"", b"")


def test_exec_output_keeps_the_first_16_mib_of_each_stream(tmp_path: Path) -> None:
    line = b"x" * (1 << 20)
    record = b"2026-11-29T09:09:03Z %s F %s\n"
    log = tmp_path / "output.log"
    log.write_bytes(record % (b"stdout", line) * 17 + record % (b"stderr", b"tail"))
    stdout, stderr = split_output(log)
    assert (len(stdout), stdout[:3], stderr) == (OUTPUT_CAP, b"xxx", b"tail\n")
