"""The pod-level cgroup (``/kubepods/<tier>/pod<uid>``, cgroupfs driver) once its pod has ended.

Runtimes create it as the parent of the sandbox's and containers' cgroups and remove only their
own; the kubelet named it, so the kubelet removes it, as upstream's pod container manager does.
Left behind, every pod that ever ran keeps an empty cgroup in each hierarchy.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from api.core.v1.pods import pod_name, pod_namespace
from api.model.core_v1 import Pod
from kubelet.sandbox_config import NodeSettings, cgroup_parent

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
QOS_TIERS = ("Guaranteed", "Burstable", "BestEffort")


def pod_cgroup_dirs(pod: Pod, settings: NodeSettings, *, root: Path = CGROUP_ROOT) -> list[Path]:
    """Blocking: the pod's cgroup directories that exist, in every hierarchy (v1) or the v2 tree.

    Every QoS tier is looked at: a pod adopted after a restart, or an orphan, may not say its own.
    """
    if settings.cgroup_driver != "cgroupfs" or not root.is_dir():
        return []
    relatives = {cgroup_parent(pod, settings, qos).lstrip("/") for qos in QOS_TIERS}
    hierarchies = [root, *(entry for entry in root.iterdir() if entry.is_dir())]
    return [h / relative for h in hierarchies for relative in relatives if (h / relative).is_dir()]


def remove_pod_cgroup(pod: Pod, settings: NodeSettings, *, root: Path = CGROUP_ROOT) -> None:
    """Blocking: rmdir the pod's cgroups; one still holding a process or a child cgroup stays."""
    for directory in pod_cgroup_dirs(pod, settings, root=root):
        try:
            os.rmdir(directory)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning(
                "pod %s/%s: cgroup %s not removed: %s", pod_namespace(pod), pod_name(pod), directory, exc
            )
