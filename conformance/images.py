"""The test images the suite uses, under the names users type.

They are the images `tinykube images seed --registry 127.0.0.1:5000` pushes (`shims.oci.catalog`),
reached through the runtime's registry mirrors.
"""

from __future__ import annotations

BUSYBOX = "docker.io/library/busybox:1.36"
BUSYBOX_LATEST = "docker.io/library/busybox:latest"
PAUSE = "registry.k8s.io/pause:3.10"
WEB = "docker.io/tinykube/web:latest"
WEB_PORT = 80
WEB_BODY = "tinykube web"  # in the page the web image serves at /
USER_UID = "docker.io/tinykube/user-uid:latest"  # USER 1234
USER_NAME = "docker.io/tinykube/user-name:latest"  # USER app (uid 1234, gid 5678, also in extra 4321)
USER_UID_GID = "docker.io/tinykube/user-uid-gid:latest"  # USER 1234:5678
USER_NAME_GROUP = "docker.io/tinykube/user-name-group:latest"  # USER app:appgroup
MULTI_TAGS = (
    "docker.io/tinykube/multitag:one",
    "docker.io/tinykube/multitag:two",
    "docker.io/tinykube/multitag:three",
)
# critest's own references, seeded as aliases: its default container image and web server
E2E_BUSYBOX = "registry.k8s.io/e2e-test-images/busybox:1.29-2"  # the web image (busybox + httpd)
E2E_NGINX = "registry.k8s.io/e2e-test-images/nginx:1.14-2"  # the web image: httpd -f -p 80, not nginx
BUSYBOX_TAGS = (  # one busybox image under four references, two registries
    BUSYBOX,
    BUSYBOX_LATEST,
    "docker.io/library/busybox:1.28",
    "registry.k8s.io/busybox:1.27.2",
)
MULTIARCH = "docker.io/tinykube/multiarch:latest"  # an image index (linux/amd64 + linux/arm64)
IN_USE = "docker.io/tinykube/in-use:latest"  # busybox + /etc/tinykube-in-use; one check removes it
DISTINCT = (
    "docker.io/tinykube/distinct-1:latest",
    "docker.io/tinykube/distinct-2:latest",
    "docker.io/tinykube/distinct-3:latest",
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
    E2E_BUSYBOX,
    E2E_NGINX,
    *BUSYBOX_TAGS[2:],
    MULTIARCH,
    IN_USE,
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
