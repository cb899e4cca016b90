"""What a run must show for a known runtime: the capabilities it must have and the skips reviewed for it.

A check is skipped for two reasons only: the runtime lacks a capability its profile says it lacks
(``runtime cannot serve: ...``), or the host lacks something, named in the profile's allow-list
with the reason. Any other skip, a required capability the probe finds missing, or (for a profile
that pins it) a different number of skips fails the run, so a regression cannot hide as a skip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from conformance.capabilities import NAMES

CAPABILITIES = NAMES

CANNOT_SERVE = "runtime cannot serve: "


@dataclass(frozen=True, kw_only=True, slots=True)
class AllowedSkip:
    """Checks (an id regex) that may skip on this host, with a reason the skip must contain."""

    checks: str
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Profile:
    name: str
    required: frozenset[str]
    lacks: Mapping[str, str]  # capability the runtime is known not to have -> why
    allowed_skips: tuple[AllowedSkip, ...] = ()
    skip_count: int | None = None  # the exact number of skips, pinned when the runtime lacks a lot

    def allows(self, nodeid: str, reason: str) -> bool:
        if reason.startswith(CANNOT_SERVE):
            missing = reason.removeprefix(CANNOT_SERVE).split(", ")
            return all(name in self.lacks for name in missing)
        return any(re.search(a.checks, nodeid) and a.reason in reason for a in self.allowed_skips)

    def describe(self) -> list[str]:
        lines = [f"profile {self.name}: requires {', '.join(sorted(self.required)) or 'nothing'}"]
        lines += [f"  lacks {name}: {why}" for name, why in sorted(self.lacks.items())]
        lines += [f"  allowed skip {a.checks}: {a.reason}" for a in self.allowed_skips]
        if self.skip_count is not None:
            lines.append(f"  skips pinned at {self.skip_count}")
        return lines


def requiring(capabilities: frozenset[str]) -> Profile:
    """The profile ``--require-capabilities`` makes: those capabilities, no other skip allowed."""
    unknown = sorted(capabilities - set(CAPABILITIES))
    if unknown:
        raise ValueError(f"unknown capabilities {', '.join(unknown)}; known: {', '.join(CAPABILITIES)}")
    lacks = {name: "not required" for name in CAPABILITIES if name not in capabilities}
    return Profile(name="--require-capabilities", required=capabilities, lacks=lacks)


PROFILES: dict[str, Profile] = {
    "runc": Profile(
        name="runc",
        required=frozenset(CAPABILITIES) - {"recursive_read_only_mounts"},
        lacks={"recursive_read_only_mounts": "the runc shim does not implement them yet (runc here has rro)"},
    ),
    "containerd": Profile(
        name="containerd",
        required=frozenset(CAPABILITIES) - {"recursive_read_only_mounts"},
        lacks={"recursive_read_only_mounts": "containerd 1.6 predates them (they came with 2.0)"},
    ),
    "containerd-shim": Profile(
        name="containerd-shim",
        required=frozenset(CAPABILITIES) - {"streaming", "recursive_read_only_mounts"},
        lacks={
            "streaming": "the containerd shim has no streaming server yet: Exec/Attach/PortForward answer "
            "UNIMPLEMENTED",
            "recursive_read_only_mounts": "containerd 1.6 predates them (they came with 2.0)",
        },
        allowed_skips=(
            # CreateContainer with an image mount answers UNIMPLEMENTED: the shim does not yet mount an
            # image's snapshot as a volume (containerd 1.6's own CRI lacks them too)
            AllowedSkip(checks=r"test_image_volume$", reason="image volumes are UNIMPLEMENTED"),
        ),
    ),
    "fake": Profile(
        name="fake",
        required=frozenset({"network"}),
        lacks={
            "processes": "the fake runs no processes: ExecSync answers UNIMPLEMENTED",
            "logs": "no process, so no container output in a log file",
            "streaming": "Exec/Attach/PortForward answer UNIMPLEMENTED",
            "registry": "PullImage records any reference without a registry",
            "recursive_read_only_mounts": "no mounts: nothing runs",
        },
        skip_count=256,
    ),
}


def verdict(
    profile: Profile, present: frozenset[str], skips: Mapping[str, str], *, whole_suite: bool
) -> list[str]:
    """Why this run breaks the profile (nothing when it does not): missing capabilities, stray skips.

    The pinned skip count holds for the whole suite only, not for a ``--focus``/``--skip`` selection.
    """
    problems = [
        f"required capability missing: {name} (profile {profile.name})"
        for name in sorted(profile.required - present)
    ]
    problems += [
        f"skip not allowed by profile {profile.name}: {nodeid}: {reason}"
        for nodeid, reason in sorted(skips.items())
        if not profile.allows(nodeid, reason)
    ]
    if whole_suite and profile.skip_count is not None and len(skips) != profile.skip_count:
        problems.append(f"{len(skips)} checks skipped, profile {profile.name} pins {profile.skip_count}")
    return problems
