"""Pod and container security contexts turned into their CRI Linux forms."""

from __future__ import annotations

from api.core.v1.pods import all_containers, pod_spec
from api.model.core_v1 import Container, Pod, SeccompProfile, SELinuxOptions
from cri import domain as d
from cri.linux_defaults import DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS

_PROFILE = d.SecurityProfileProfileType


def namespace_options(pod: Pod) -> d.NamespaceOption:
    node, pod_ns, container_ns = d.NamespaceMode.NODE, d.NamespaceMode.POD, d.NamespaceMode.CONTAINER
    return d.NamespaceOption(
        network=node if pod_spec(pod).host_network else pod_ns,
        pid=node
        if pod_spec(pod).host_pid
        else (pod_ns if pod_spec(pod).share_process_namespace else container_ns),
        ipc=node if pod_spec(pod).host_ipc else pod_ns,
    )


def _selinux(options: SELinuxOptions | None) -> d.SELinuxOption | None:
    if options is None:
        return None
    return d.SELinuxOption(
        user=options.user or "", role=options.role or "", type=options.type or "", level=options.level or ""
    )


def _seccomp(profile: SeccompProfile | None) -> d.SecurityProfile | None:
    if profile is None:
        return None
    if profile.type == "Unconfined":
        return d.SecurityProfile(profile_type=_PROFILE.Unconfined)
    if profile.type == "Localhost":
        return d.SecurityProfile(
            profile_type=_PROFILE.Localhost, localhost_ref=profile.localhost_profile or ""
        )
    return d.SecurityProfile(profile_type=_PROFILE.RuntimeDefault)


def sandbox_security_context(pod: Pod) -> d.LinuxSandboxSecurityContext:
    context = pod_spec(pod).security_context
    groups: tuple[int, ...] = ()
    if context is not None:
        groups = tuple(context.supplemental_groups or ()) + (
            (context.fs_group,) if context.fs_group is not None else ()
        )
    return d.LinuxSandboxSecurityContext(
        namespace_options=namespace_options(pod),
        selinux_options=_selinux(context.se_linux_options) if context else None,
        run_as_user=context.run_as_user if context else None,
        run_as_group=context.run_as_group if context else None,
        supplemental_groups=groups,
        seccomp=_seccomp(context.seccomp_profile) if context else None,
        privileged=any(
            c.security_context is not None and bool(c.security_context.privileged)
            for c in all_containers(pod)
        ),
    )


def container_security_context(pod: Pod, container: Container) -> d.LinuxContainerSecurityContext:
    pod_context = pod_spec(pod).security_context
    own = container.security_context
    run_as_user = (
        own.run_as_user
        if own and own.run_as_user is not None
        else (pod_context.run_as_user if pod_context else None)
    )
    run_as_group = (
        own.run_as_group
        if own and own.run_as_group is not None
        else (pod_context.run_as_group if pod_context else None)
    )
    sandbox = sandbox_security_context(pod)
    seccomp = _seccomp(own.seccomp_profile) if own and own.seccomp_profile else sandbox.seccomp
    capabilities = own.capabilities if own else None
    return d.LinuxContainerSecurityContext(
        capabilities=d.Capability(
            add_capabilities=tuple(capabilities.add or ()), drop_capabilities=tuple(capabilities.drop or ())
        )
        if capabilities
        else None,
        privileged=bool(own and own.privileged),
        namespace_options=namespace_options(pod),
        selinux_options=_selinux(own.se_linux_options)
        if own and own.se_linux_options
        else sandbox.selinux_options,
        run_as_user=run_as_user,
        run_as_group=run_as_group,
        readonly_rootfs=bool(own and own.read_only_root_filesystem),
        supplemental_groups=sandbox.supplemental_groups,
        no_new_privs=bool(own and own.allow_privilege_escalation is False),
        seccomp=seccomp,
        masked_paths=() if own and own.privileged else DEFAULT_MASKED_PATHS,
        readonly_paths=() if own and own.privileged else DEFAULT_READONLY_PATHS,
    )
