"""The test images the suite uses, under the names users type.

They are seeded into a local registry (``tinykube images seed --registry 127.0.0.1:5000``, or
``tests/conformance/reference_containerd.sh``) and reached through the runtime's registry mirrors.
"""

from __future__ import annotations

BUSYBOX = "docker.io/library/busybox:1.36"
BUSYBOX_LATEST = "docker.io/library/busybox:latest"
PAUSE = "registry.k8s.io/pause:3.10"
WEB = "docker.io/tinykube/httpd:1"
WEB_PORT = 80
USER_UID = "docker.io/tinykube/user-uid:1"  # USER 1001
USER_NAME = "docker.io/tinykube/user-name:1"  # USER tkuser (uid 1002, gid 1005, also in tkextra 2001)
USER_UID_GID = "docker.io/tinykube/user-uidgid:1"  # USER 1003:1004
USER_NAME_GROUP = "docker.io/tinykube/user-namegroup:1"  # USER tkuser:tkgroup
MULTI_TAGS = ("docker.io/tinykube/multi:a", "docker.io/tinykube/multi:b", "docker.io/tinykube/multi:c")
DISTINCT = (
    "docker.io/tinykube/distinct-1:1",
    "docker.io/tinykube/distinct-2:1",
    "docker.io/tinykube/distinct-3:1",
)

ALL = (
    BUSYBOX,
    BUSYBOX_LATEST,
    PAUSE,
    WEB,
    USER_UID,
    USER_NAME,
    USER_UID_GID,
    USER_NAME_GROUP,
    *MULTI_TAGS,
    *DISTINCT,
)
REGISTRY_HOSTS = ("docker.io", "registry.k8s.io")


def mirror_instructions(registry: str) -> str:
    """How to point a runtime's mirrors for the seeded hosts at ``registry`` (host:port)."""
    lines = [f"The suite pulls {len(ALL)} test images through registry mirrors pointing at {registry}:"]
    for host in REGISTRY_HOSTS:
        lines.append(f"  containerd: <config_path>/{host}/hosts.toml:")
        lines.append(f'    server = "https://{host}"')
        lines.append(f'    [host."http://{registry}"]')
        lines.append('      capabilities = ["pull", "resolve"]')
    lines.append("  CRI-O/Podman: /etc/containers/registries.conf:")
    for host in REGISTRY_HOSTS:
        lines.append(f'    [[registry]]\n    location = "{host}"\n    [[registry.mirror]]')
        lines.append(f'    location = "{registry}"\n    insecure = true')
    lines.append(
        f"  tinykube shims: registry mirrors {', '.join(h + '=' + registry for h in REGISTRY_HOSTS)}"
    )
    return "\n".join(lines)
