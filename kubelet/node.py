"""The kubelet's composition: pod source -> pod workers -> compute/apply over CRI, PLEG, probes, statuses."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from api.client.clock import Clock, MonotonicClock
from api.client.protocol import Api
from api.core.v1.pods import all_containers, pod_name, pod_namespace, pod_spec, pod_uid
from api.model.core_v1 import Pod, PodSpec, PodStatus
from api.model.meta_v1 import ObjectMeta
from cri.client import CRIClient
from cri.errors import CRIError, Unimplemented
from kubelet.actions import Waiting, compute_pod_actions
from kubelet.apply import PodApplier
from kubelet.backoff import Backoff
from kubelet.cluster import ClusterNode
from kubelet.config import KubeletConfiguration
from kubelet.gc import GC_PERIOD_S, ContainerGC, GCPolicy
from kubelet.images import ImagePuller
from kubelet.log_files import LogManager
from kubelet.pleg import PLEG
from kubelet.pod_cgroups import remove_pod_cgroup
from kubelet.pod_list import PodListBody
from kubelet.pod_workers import PodWorkers
from kubelet.prober import OnDemandProbeRunner
from kubelet.probes.manager import ProbeManager
from kubelet.probes.types import ProbeTarget
from kubelet.probes.worker import ResultChange
from kubelet.runtime_view import RuntimePod
from kubelet.sandbox_config import NodeSettings
from kubelet.static_source import StaticPodSource
from kubelet.status import StatusInputs, pod_status
from kubelet.status_store import StatusStore
from kubelet.volumes import VolumeManager

log = logging.getLogger(__name__)
TERMINAL = ("Succeeded", "Failed")
BUSY_RESYNC_S = 1.0


def default_host_ip() -> str:
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))
        return str(probe.getsockname()[0])
    return "127.0.0.1"


def _parse_time(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def node_settings(config: KubeletConfiguration) -> NodeSettings:
    return NodeSettings(
        node_name=config.node_name or socket.gethostname().lower(),
        pod_logs_dir=config.pod_logs_dir,
        cluster_dns=config.cluster_dns,
        cluster_domain=config.cluster_domain,
        cgroup_driver=config.cgroup_driver,
        host_ip=config.node_ip or default_host_ip(),
    )


def build_kubelet(
    config: KubeletConfiguration,
    client: CRIClient,
    *,
    clock: Callable[[], float] = time.time,
    api: Api | None = None,
    node_clock: Clock | None = None,
) -> Kubelet:
    """The kubelet and its collaborators, wired: the pod source hands pods to the kubelet, which
    drives one worker per pod; PLEG changes and probe results wake those workers; the container GC
    asks the kubelet which pods are gone. Those callbacks reach the kubelet made last. With ``api``
    the kubelet is a node of that apiserver's cluster."""
    kubelet: Kubelet
    settings = node_settings(config)
    cluster = None
    if api is not None:
        cluster = ClusterNode(
            api,
            client,
            config,
            node_name=settings.node_name,
            host_ip=settings.host_ip,
            clock=node_clock or MonotonicClock(),
            on_pods=lambda pods: kubelet.on_source("api", pods),
        )
    root = Path(config.root_dir)
    backoff = Backoff()
    volumes = VolumeManager(root)
    probe_runner = OnDemandProbeRunner(client)
    workers = PodWorkers(
        sync=lambda pod: kubelet.sync_pod(pod), terminate=lambda pod: kubelet.terminate_pod(pod)
    )
    kubelet = Kubelet(
        config,
        client,
        clock=clock,
        settings=settings,
        backoff=backoff,
        volumes=volumes,
        statuses=StatusStore(root / "pod-status"),
        workers=workers,
        pleg=PLEG(client, on_change=workers.wake),
        probe_runner=probe_runner,
        probes=ProbeManager(probe_runner, on_change=lambda change: kubelet.on_probe_change(change)),
        applier=PodApplier(
            client,
            settings=settings,
            volumes=volumes,
            images=ImagePuller(client, clock=clock),
            backoff=backoff,
            clock=clock,
        ),
        logs=LogManager(
            client,
            containers_dir=Path(config.container_logs_dir),
            max_bytes=config.container_log_max_bytes,
            max_files=config.container_log_max_files,
        ),
        source=StaticPodSource(
            Path(config.static_pod_path),
            node_name=settings.node_name,
            on_update=lambda pods: kubelet.on_source("file", pods),
            period_s=config.file_check_frequency_s,
        ),
        gc=ContainerGC(
            client,
            policy=GCPolicy(
                min_age_s=config.minimum_container_ttl_s,
                max_per_pod_container=config.maximum_dead_containers_per_container,
                max_containers=config.maximum_dead_containers,
            ),
            pod_logs_dir=Path(config.pod_logs_dir),
            containers_log_dir=Path(config.container_logs_dir),
            removed=lambda uid: kubelet.pod_removed(uid),
        ),
        cluster=cluster,
    )
    return kubelet


@contextlib.asynccontextmanager
async def running(kubelet: Kubelet) -> AsyncIterator[Kubelet]:
    """``kubelet.run()`` as a task for the block: started when the block begins, cancelled at its end;
    a failure of ``run()``, at start or later, is raised here rather than lost."""
    task = asyncio.create_task(kubelet.run(), name="kubelet")
    started = asyncio.create_task(kubelet.started.wait())
    await asyncio.wait((task, started), return_when=asyncio.FIRST_COMPLETED)
    started.cancel()
    if task.done():
        task.result()
    try:
        yield kubelet
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Kubelet:
    """Pods from the source, each synced by its worker: compute actions, apply them over CRI, write
    its status. ``run()`` supervises every loop under one TaskGroup: a loop that fails ends ``run()``."""

    def __init__(
        self,
        config: KubeletConfiguration,
        client: CRIClient,
        *,
        clock: Callable[[], float],
        settings: NodeSettings,
        backoff: Backoff,
        volumes: VolumeManager,
        statuses: StatusStore,
        workers: PodWorkers,
        pleg: PLEG,
        probe_runner: OnDemandProbeRunner,
        probes: ProbeManager,
        applier: PodApplier,
        logs: LogManager,
        source: StaticPodSource,
        gc: ContainerGC,
        cluster: ClusterNode | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.clock = clock
        self.settings = settings
        self.backoff = backoff
        self.volumes = volumes
        self.statuses = statuses
        self.workers = workers
        self.pleg = pleg
        self.probe_runner = probe_runner
        self.probes = probes
        self.applier = applier
        self.logs = logs
        self.source = source
        self.gc = gc
        self.cluster = cluster
        self.runtime_name = "cri"
        self.pods: dict[str, Pod] = {}
        self.synced = asyncio.Event()
        self.started = asyncio.Event()
        self.sync_count = 0
        self._pod_list_body = PodListBody()
        self._probe_owner: dict[str, str] = {}
        self._seeded_ready: set[str] = set()
        self._orphans: set[str] = set()
        self._terminating: dict[tuple[str, str], str] = {}
        self._waiting_to_start: dict[tuple[str, str], Pod] = {}
        self._sources: dict[str, dict[str, Pod]] = {}
        self._expected_sources = {"file", "api"} if cluster is not None else {"file"}

    async def run(self) -> None:
        """Adopts what the runtime holds, then runs every loop until cancelled or one fails."""
        try:
            await self._prepare()
            async with asyncio.TaskGroup() as loops:
                loops.create_task(self.workers.run(), name="pod-workers")
                loops.create_task(self.pleg.run(), name="pleg")
                loops.create_task(self.source.run(), name="static-pod-source")
                loops.create_task(self.logs.run(self._log_targets), name="log-rotation")
                loops.create_task(self._collect_garbage(GC_PERIOD_S), name="container-gc")
                if self.cluster is not None:
                    loops.create_task(self.cluster.run(), name="cluster-node")
                self.started.set()
        finally:
            await self.probes.close()
            await self.probe_runner.close()

    async def _prepare(self) -> None:
        version = await self.client.version(timeout=30)
        self.runtime_name = version.runtime_name or "cri"
        await self._cgroup_driver()
        await asyncio.to_thread(self.statuses.load)
        snapshot = await self.pleg.relist()
        self._seed_probes(snapshot.pods)

    def pod_removed(self, uid: str) -> bool:
        """The pod's content may go: its source dropped it and no worker is terminating it."""
        return self.synced.is_set() and uid not in self.pods and uid not in self.workers.known()

    async def collect_garbage(self) -> None:
        await self.gc.collect(await self.pleg.relist(), now_ns=int(self.clock() * 1e9))
        await self.pleg.relist()

    async def _collect_garbage(self, period_s: float) -> None:
        await self.synced.wait()
        while True:
            await asyncio.sleep(period_s)
            try:
                await self.collect_garbage()
            except CRIError as exc:
                log.warning("container garbage collection: %s", exc)

    async def _cgroup_driver(self) -> None:
        try:
            info = await self.client.runtime_config(timeout=10)
        except Unimplemented:
            return
        except CRIError as exc:
            log.warning("RuntimeConfig: %s; keeping cgroupDriver %s", exc, self.settings.cgroup_driver)
            return
        if info.linux is not None:
            driver = "systemd" if info.linux.cgroup_driver.name == "SYSTEMD" else "cgroupfs"
            self.settings = dataclasses.replace(self.settings, cgroup_driver=driver)
            self.applier.settings = self.settings

    def _seed_probes(self, pods: Mapping[str, RuntimePod]) -> None:
        """Readiness carries over a kubelet restart until the container's probes report again."""
        for uid in pods:
            status = self.statuses.get(uid)
            for container in (status.container_statuses if status else None) or ():
                if container.ready and container.container_id:
                    self._seeded_ready.add(container.container_id.partition("://")[2])

    def on_probe_change(self, change: ResultChange) -> None:
        self._seeded_ready.discard(change.container_id)
        uid = self._probe_owner.get(change.container_id)
        if uid is not None:
            self.workers.wake(uid)

    def _sync_probes(self, pod: Pod, runtime: RuntimePod, pod_ip: str) -> None:
        specs = {c.name: c for c in all_containers(pod)}
        for container in runtime.running_containers():
            spec = specs.get(container.name)
            if spec is None or self.probes.probes(container.id) is not None:
                continue
            self._probe_owner[container.id] = pod_uid(pod)
            ports = tuple((p.name, p.container_port) for p in spec.ports or () if p.name)
            target = ProbeTarget(container_id=container.id, pod_ip=pod_ip, named_ports=ports)
            self.probes.add_container(pod_uid(pod), spec, target)

    def _probe_sets(self, runtime: RuntimePod) -> tuple[frozenset[str], frozenset[str]]:
        running = [c.id for c in runtime.running_containers()]
        ready = self.probes.ready_ids(running) | (self._seeded_ready & set(running))
        return frozenset(ready), self.probes.started_ids(running)

    def on_pods(self, pods: Mapping[str, Pod]) -> None:
        """Every pod the kubelet should run, from all its sources at once."""
        self._apply_pods(pods, all_sources=True)

    def on_source(self, source: str, pods: Mapping[str, Pod]) -> None:
        """One source's complete set of pods. Pods found only in the runtime are terminated, and their
        content collected, only once every source has reported (an API pod is no orphan meanwhile)."""
        self._sources[source] = dict(pods)
        merged = {uid: pod for each in self._sources.values() for uid, pod in each.items()}
        self._apply_pods(merged, all_sources=self._sources.keys() >= self._expected_sources)

    def _apply_pods(self, pods: Mapping[str, Pod], *, all_sources: bool) -> None:
        """A pod's worker hears only of pods that changed; a pod being deleted through the API is
        terminated with its deletion's grace; a replaced pod starts only once its predecessor of the
        same name has terminated."""
        previous, self.pods = self.pods, dict(pods)
        for uid in set(previous) - set(pods):
            if uid not in self.workers.known():
                continue
            old = previous[uid]
            log.info("pod %s removed from its source: terminating", pod_name(old))
            self._terminating[(pod_namespace(old), pod_name(old))] = uid
            self.workers.remove(uid)
        for uid, pod in pods.items():
            if previous.get(uid) is pod:
                continue
            full_name = (pod_namespace(pod), pod_name(pod))
            if pod.metadata is not None and pod.metadata.deletion_timestamp:
                log.info("pod %s/%s is being deleted: terminating", *full_name)
                self._terminating[full_name] = uid
                self.workers.update(pod)
                self.workers.remove(uid)
            elif self._terminating.get(full_name, uid) != uid:
                self._waiting_to_start[full_name] = pod
            else:
                self.workers.update(pod)
        if all_sources:
            self._terminate_orphans(pods)
            self.synced.set()

    def _terminate_orphans(self, pods: Mapping[str, Pod]) -> None:
        for uid, runtime in self.pleg.snapshot.pods.items():
            if uid not in pods and uid not in self.workers.known() and uid not in self._orphans:
                self._orphans.add(uid)
                orphan = Pod(
                    metadata=ObjectMeta(name=runtime.name or uid, namespace=runtime.namespace, uid=uid),
                    spec=PodSpec(containers=[]),
                )
                self.workers.update(orphan)
                self.workers.remove(uid)

    async def sync_pod(self, pod: Pod) -> float:
        runtime = self.pleg.snapshot.pod(pod_uid(pod))
        previous = self.statuses.get(pod_uid(pod))
        now = self.clock()
        if previous is not None and previous.phase in TERMINAL:
            if runtime.running_containers() or runtime.ready_sandbox():
                await self.applier.kill_pod(pod, runtime, remove=False)
                await self.pleg.relist_pod(pod_uid(pod))
            return self.config.sync_frequency_s
        start_time = _parse_time(previous.start_time if previous else None) or now
        deadline = pod_spec(pod).active_deadline_seconds
        if deadline is not None and now - start_time >= deadline:
            return await self._deadline_exceeded(pod, runtime, previous, start_time)
        actions = compute_pod_actions(
            pod,
            runtime,
            probes=self.probes.verdicts(c.id for c in runtime.containers),
            backoff=self.backoff,
            now=now,
        )
        result = await self.applier.apply(pod, actions, runtime)
        if not actions.nothing_to_do:
            runtime = await self.pleg.relist_pod(pod_uid(pod))
            await self.logs.link(pod, runtime)
        sandbox = runtime.ready_sandbox()
        pod_ip = self.settings.host_ip if pod_spec(pod).host_network else (sandbox.ip if sandbox else "")
        await self.probes.retain(pod_uid(pod), [c.id for c in runtime.running_containers()])
        self._sync_probes(pod, runtime, pod_ip)
        status = pod_status(
            pod, runtime, self._inputs(now, start_time, result.waiting, runtime), previous=previous
        )
        await self._set_status(pod, status)
        self.sync_count += 1
        if status.phase in TERMINAL:
            await self.applier.kill_pod(pod, runtime, remove=False)
            return self.config.sync_frequency_s
        _, started = self._probe_sets(runtime)
        busy = bool(result.waiting or status.phase == "Pending" or actions.containers_to_kill)
        busy = busy or any(c.id not in started for c in runtime.running_containers())
        next_in = BUSY_RESYNC_S if busy else min(self.config.sync_frequency_s, 10.0)
        if deadline is not None:
            next_in = min(next_in, max(0.0, start_time + deadline - now))
        return next_in

    def _inputs(
        self,
        now: float,
        start_time: float,
        waiting: Mapping[str, Waiting],
        runtime: RuntimePod,
        *,
        terminal_reason: str | None = None,
        terminal_message: str | None = None,
    ) -> StatusInputs:
        ready, started = self._probe_sets(runtime)
        return StatusInputs(
            runtime_name=self.runtime_name,
            host_ip=self.settings.host_ip,
            now=now,
            ready=ready,
            started=started,
            waiting=waiting,
            start_time=start_time,
            terminal_reason=terminal_reason,
            terminal_message=terminal_message,
        )

    async def _deadline_exceeded(
        self, pod: Pod, runtime: RuntimePod, previous: PodStatus | None, start_time: float
    ) -> float:
        await self.applier.kill_pod(pod, runtime, remove=False)
        runtime = await self.pleg.relist_pod(pod_uid(pod))
        inputs = self._inputs(
            self.clock(),
            start_time,
            {},
            runtime,
            terminal_reason="DeadlineExceeded",
            terminal_message="Pod was active on the node longer than the specified deadline",
        )
        await self._set_status(pod, pod_status(pod, runtime, inputs, previous=previous))
        return self.config.sync_frequency_s

    async def _set_status(self, pod: Pod, status: PodStatus) -> None:
        await asyncio.to_thread(self.statuses.set, pod_uid(pod), status)
        if self.cluster is not None:
            self.cluster.statuses.set(pod, status)

    async def terminate_pod(self, pod: Pod) -> None:
        runtime = self.pleg.snapshot.pod(pod_uid(pod))
        await self.probes.remove_pod(pod_uid(pod))
        deletion = pod.metadata.deletion_grace_period_seconds if pod.metadata else None
        await self.applier.kill_pod(pod, runtime, remove=True, grace=deletion)
        await asyncio.to_thread(remove_pod_cgroup, pod, self.settings)
        await self.volumes.cleanup(pod_uid(pod))
        await self.logs.unlink(runtime)
        await asyncio.to_thread(self.statuses.forget, pod_uid(pod))
        self.backoff.forget(f"{pod_uid(pod)}/")
        self._orphans.discard(pod_uid(pod))
        await self.pleg.relist_pod(pod_uid(pod))
        full_name = (pod_namespace(pod), pod_name(pod))
        if self._terminating.get(full_name) == pod_uid(pod):
            del self._terminating[full_name]
            successor = self._waiting_to_start.pop(full_name, None)
            if successor is not None and pod_uid(successor) in self.pods:
                self.workers.update(successor)
        if self.cluster is not None:
            self.cluster.statuses.terminated(pod)
        log.info("pod %s/%s terminated", pod_namespace(pod), pod_name(pod))

    def _log_targets(self) -> list[tuple[str, str]]:
        return [
            (c.id, c.log_path)
            for p in self.pleg.snapshot.pods.values()
            for c in p.running_containers()
            if c.log_path
        ]

    def pod_list_body(self) -> bytes:
        """``/pods``: a PodList of every pod with its current status, as JSON."""
        return self._pod_list_body.render(self.pods, self.statuses.get)

    def find_pod(self, namespace: str, name: str) -> Pod | None:
        return next(
            (p for p in self.pods.values() if pod_namespace(p) == namespace and pod_name(p) == name), None
        )
