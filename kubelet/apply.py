"""The step that applies computed pod actions over CRI: sandboxes, images, containers, hooks, kills."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from api.core.v1.pods import all_containers, pod_name, pod_namespace, pod_spec
from api.model.core_v1 import Container, Pod
from cri import domain as d
from cri.client import CRIClient
from cri.errors import CRIError, NotFound
from kubelet.actions import KillContainer, PodActions, Waiting, backoff_key
from kubelet.backoff import Backoff
from kubelet.container_config import container_config
from kubelet.env import EnvError, PodFacts
from kubelet.hooks import run_hook
from kubelet.images import ImagePuller, ImagePullError
from kubelet.qos import qos_class
from kubelet.runtime_view import RuntimeContainer, RuntimePod
from kubelet.sandbox_config import NodeSettings, sandbox_config
from kubelet.volumes import VolumeError, VolumeManager

log = logging.getLogger(__name__)
CALL_TIMEOUT_S = 30.0
MIN_GRACE_S = 2
# Pods that create sandboxes and start containers at the same time. A burst of pods (30 static
# manifests written at once) otherwise has every pod's RunPodSandbox contend for the same cores, and
# each pod waits for nearly the whole burst; with a few at a time, pods finish in arrival order.
MAX_PARALLEL_STARTS = 4


@dataclass(frozen=True, kw_only=True)
class ApplyResult:
    waiting: Mapping[str, Waiting] = field(default_factory=dict)
    started: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class _Sandbox:
    id: str
    attempt: int
    ip: str


@dataclass(frozen=True, kw_only=True)
class PodContext:
    """What the container starts of one pod in one sync share: its sandbox, facts and volumes."""

    pod: Pod
    runtime: RuntimePod
    sandbox_id: str
    sandbox_config: d.PodSandboxConfig
    facts: PodFacts
    volume_paths: Mapping[str, Path]


@dataclass(frozen=True, kw_only=True)
class _Started:
    """A container that started and whose postStart hook (if any) is still to run."""

    spec: Container
    container_id: str


@dataclass(frozen=True, kw_only=True)
class _Launch:
    pod_ip: str
    started: tuple[_Started, ...] = ()
    waiting: Mapping[str, Waiting] = field(default_factory=dict)


class PodApplier:
    def __init__(
        self,
        client: CRIClient,
        *,
        settings: NodeSettings,
        volumes: VolumeManager,
        images: ImagePuller,
        backoff: Backoff,
        clock: Callable[[], float] = time.time,
        max_parallel_starts: int = MAX_PARALLEL_STARTS,
    ) -> None:
        self.client = client
        self.settings = settings
        self.volumes = volumes
        self.images = images
        self.backoff = backoff
        self.clock = clock
        self.node_memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        self._starts = asyncio.Semaphore(max_parallel_starts)

    async def apply(self, pod: Pod, actions: PodActions, runtime: RuntimePod) -> ApplyResult:
        if actions.kill_pod:
            await self.kill_pod(pod, runtime, remove=False)
        await asyncio.gather(*(self._kill(pod, kill, runtime) for kill in actions.containers_to_kill))
        if not (actions.create_sandbox or actions.init_containers_to_start or actions.containers_to_start):
            return ApplyResult(waiting=actions.waiting)
        async with self._starts:
            launch = await self._launch(pod, actions, runtime)
        await asyncio.gather(
            *(self._post_start(pod, c.spec, c.container_id, launch.pod_ip) for c in launch.started)
        )
        return ApplyResult(
            waiting={**actions.waiting, **launch.waiting}, started=tuple(c.spec.name for c in launch.started)
        )

    async def _launch(self, pod: Pod, actions: PodActions, runtime: RuntimePod) -> _Launch:
        """Sandbox, volumes, containers created and started: the part that loads the runtime, done a
        few pods at a time. postStart hooks run after it, outside that limit."""
        sandbox = await self._sandbox(pod, actions, runtime)
        if isinstance(sandbox, Waiting):
            return _Launch(pod_ip="", waiting={c.name: sandbox for c in all_containers(pod)})
        pod_ip = self.settings.host_ip if pod_spec(pod).host_network else sandbox.ip
        facts = PodFacts(node_name=self.settings.node_name, host_ip=self.settings.host_ip, pod_ip=pod_ip)
        names = (*actions.init_containers_to_start, *actions.containers_to_start)
        try:
            volume_paths = await self.volumes.prepare(pod, facts)
        except VolumeError as exc:
            creating = Waiting(reason="ContainerCreating", message=str(exc))
            return _Launch(pod_ip=pod_ip, waiting=dict.fromkeys(names, creating))
        context = PodContext(
            pod=pod,
            runtime=runtime,
            sandbox_id=sandbox.id,
            sandbox_config=sandbox_config(pod, self.settings, attempt=sandbox.attempt, qos=qos_class(pod)),
            facts=facts,
            volume_paths=volume_paths,
        )
        outcomes = [await self._start(context, _spec(pod, name)) for name in actions.init_containers_to_start]
        outcomes += await asyncio.gather(
            *(self._start(context, _spec(pod, name)) for name in actions.containers_to_start)
        )
        return _Launch(
            pod_ip=pod_ip,
            started=tuple(o for o in outcomes if isinstance(o, _Started)),
            waiting={n: o for n, o in zip(names, outcomes, strict=True) if isinstance(o, Waiting)},
        )

    async def _sandbox(self, pod: Pod, actions: PodActions, runtime: RuntimePod) -> _Sandbox | Waiting:
        """The pod's sandbox, created if the actions say so; why its containers wait if it failed."""
        if not actions.create_sandbox:
            current = next(s for s in runtime.sandboxes if s.id == actions.sandbox_id)
            return _Sandbox(id=current.id, attempt=current.attempt, ip=current.ip)
        config = sandbox_config(pod, self.settings, attempt=actions.attempt, qos=qos_class(pod))
        try:
            await asyncio.to_thread(Path(config.log_directory).mkdir, mode=0o755, parents=True, exist_ok=True)
            sandbox_id = await self.client.run_pod_sandbox(config, timeout=120)
            status = await self.client.pod_sandbox_status(sandbox_id, timeout=CALL_TIMEOUT_S)
        except (CRIError, OSError) as exc:
            log.warning("pod %s/%s: sandbox: %s", pod_namespace(pod), pod_name(pod), exc)
            return Waiting(reason="ContainerCreating", message=f"CreatePodSandbox: {exc}")
        network = status.status.network if status.status else None
        return _Sandbox(id=sandbox_id, attempt=actions.attempt, ip=network.ip if network else "")

    async def _start(self, context: PodContext, container: Container) -> _Started | Waiting:
        pod = context.pod
        history = context.runtime.history(container.name)
        restart_count = max((c.restart_count for c in history), default=-1) + 1
        try:
            await self.images.ensure(
                container.image or "", container.image_pull_policy or "IfNotPresent", context.sandbox_config
            )
        except ImagePullError as exc:
            return Waiting(reason=exc.reason, message=exc.message)
        try:
            spec = container_config(
                pod,
                container,
                restart_count=restart_count,
                facts=context.facts,
                volume_paths=context.volume_paths,
                extra_mounts=(),
                qos=qos_class(pod),
                node_memory=self.node_memory,
            )
        except (EnvError, VolumeError, OSError) as exc:
            return Waiting(reason="CreateContainerConfigError", message=str(exc))
        if any(c.exited for c in history):
            self.backoff.next(backoff_key(pod, container.name), now=self.clock())
        try:
            container_id = await self.client.create_container(
                context.sandbox_id, spec, context.sandbox_config, timeout=120
            )
        except CRIError as exc:
            return Waiting(reason="CreateContainerError", message=exc.message)
        try:
            await self.client.start_container(container_id, timeout=120)
        except CRIError as exc:
            return Waiting(reason="RunContainerError", message=exc.message)
        await self._remove_old(history)
        return _Started(spec=container, container_id=container_id)

    async def _post_start(self, pod: Pod, container: Container, container_id: str, pod_ip: str) -> None:
        hook = container.lifecycle.post_start if container.lifecycle else None
        if hook is None:
            return
        outcome = await run_hook(
            self.client,
            hook,
            container=container,
            container_id=container_id,
            pod_ip=pod_ip,
            timeout_s=pod_spec(pod).termination_grace_period_seconds or 30,
        )
        if not outcome.ok:
            log.warning(
                "pod %s: postStart hook of %s failed: %s", pod_name(pod), container.name, outcome.message
            )
            await self._stop(container_id, grace=pod_spec(pod).termination_grace_period_seconds or 30)

    async def _remove_old(self, history: list[RuntimeContainer]) -> None:
        """Keeps the newest exited instance of a container (for lastState and logs), removes older ones."""
        for old in [c for c in history if c.exited][1:]:
            try:
                await self.client.remove_container(old.id, timeout=CALL_TIMEOUT_S)
            except CRIError as exc:
                log.debug("removing old container: %s", exc)

    async def _kill(self, pod: Pod, kill: KillContainer, runtime: RuntimePod) -> None:
        spec = _maybe_spec(pod, kill.name)
        log.info("pod %s/%s: killing %s: %s", pod_namespace(pod), pod_name(pod), kill.name, kill.reason)
        await self.kill_container(pod, kill.container_id, spec, pod_ip=self._pod_ip(pod, runtime))

    async def kill_container(
        self, pod: Pod, container_id: str, spec: Container | None, *, pod_ip: str, grace: int | None = None
    ) -> None:
        grace_s = pod_spec(pod).termination_grace_period_seconds if grace is None else grace
        grace_s = grace_s or 0
        hook = spec.lifecycle.pre_stop if spec and spec.lifecycle else None
        if spec is not None and hook is not None and grace_s > 0:
            started = self.clock()
            try:
                await asyncio.wait_for(
                    run_hook(
                        self.client,
                        hook,
                        container=spec,
                        container_id=container_id,
                        pod_ip=pod_ip,
                        timeout_s=grace_s,
                    ),
                    grace_s,
                )
            except TimeoutError:
                log.info("preStop hook of %s ran out of its grace period", container_id)
            grace_s = max(MIN_GRACE_S, int(grace_s - (self.clock() - started)))
        await self._stop(container_id, grace=grace_s)

    def _pod_ip(self, pod: Pod, runtime: RuntimePod) -> str:
        if pod_spec(pod).host_network:
            return self.settings.host_ip
        sandbox = runtime.ready_sandbox()
        return sandbox.ip if sandbox else ""

    async def _stop(self, container_id: str, *, grace: int) -> None:
        try:
            await self.client.stop_container(container_id, grace_seconds=grace)
        except NotFound:
            return
        except CRIError as exc:
            log.warning("stopping container %s: %s", container_id, exc)

    async def kill_pod(
        self, pod: Pod, runtime: RuntimePod, *, remove: bool, grace: int | None = None
    ) -> None:
        """Stops every running container (preStop hooks, grace period), then the sandboxes."""
        pod_ip = self._pod_ip(pod, runtime)
        await asyncio.gather(
            *(
                self.kill_container(pod, c.id, _maybe_spec(pod, c.name), pod_ip=pod_ip, grace=grace)
                for c in runtime.running_containers()
            )
        )
        for old in runtime.sandboxes:
            try:
                await self.client.stop_pod_sandbox(old.id, timeout=CALL_TIMEOUT_S)
                if remove:
                    await self.client.remove_pod_sandbox(old.id, timeout=CALL_TIMEOUT_S)
            except NotFound:
                continue
            except CRIError as exc:
                log.warning("pod %s: stopping sandbox %s: %s", pod_name(pod), old.id, exc)


def _maybe_spec(pod: Pod, name: str) -> Container | None:
    return next((c for c in all_containers(pod) if c.name == name), None)


def _spec(pod: Pod, name: str) -> Container:
    spec = _maybe_spec(pod, name)
    assert spec is not None, name
    return spec
