"""Who a container's process runs as: CRI security context + image USER + the image's passwd/group.

Pure functions over file texts; the caller reads ``/etc/passwd`` and ``/etc/group`` from the rootfs.
"""

from __future__ import annotations

from dataclasses import dataclass

from cri import domain as d
from cri.errors import InvalidArgument


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcessUser:
    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()
    home: str = "/"


@dataclass(frozen=True, kw_only=True, slots=True)
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True, kw_only=True, slots=True)
class GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


def parse_passwd(text: str) -> tuple[PasswdEntry, ...]:
    entries = []
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) < 7 or not fields[2].isdigit() or not fields[3].isdigit():
            continue
        entries.append(PasswdEntry(name=fields[0], uid=int(fields[2]), gid=int(fields[3]), home=fields[5]))
    return tuple(entries)


def parse_group(text: str) -> tuple[GroupEntry, ...]:
    entries = []
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) < 4 or not fields[2].isdigit():
            continue
        members = tuple(m for m in fields[3].split(",") if m)
        entries.append(GroupEntry(name=fields[0], gid=int(fields[2]), members=members))
    return tuple(entries)


def _lookup_user(spec: str, passwd: tuple[PasswdEntry, ...]) -> PasswdEntry | None:
    for entry in passwd:
        if entry.name == spec or (spec.isdigit() and entry.uid == int(spec)):
            return entry
    return None


def _lookup_gid(spec: str, groups: tuple[GroupEntry, ...]) -> int:
    if spec.isdigit():
        return int(spec)
    for group in groups:
        if group.name == spec:
            return group.gid
    raise InvalidArgument(f"group {spec!r} not found in the image's /etc/group")


def resolve_user(
    security: d.LinuxContainerSecurityContext | None,
    *,
    image_user: str,
    passwd_text: str,
    group_text: str,
) -> ProcessUser:
    """The uid/gid/groups to run as: the CRI fields win over the image's USER."""
    security = security or d.LinuxContainerSecurityContext()
    if security.run_as_group is not None and security.run_as_user is None and not security.run_as_username:
        raise InvalidArgument("run_as_group is set without run_as_user or run_as_username")
    passwd, groups = parse_passwd(passwd_text), parse_group(group_text)
    user_spec, _, group_spec = image_user.partition(":")
    if security.run_as_username:
        user_spec, group_spec = security.run_as_username, ""
    elif security.run_as_user is not None:
        user_spec, group_spec = str(security.run_as_user), ""
    entry = _lookup_user(user_spec or "0", passwd)
    if entry is None and not (user_spec or "0").isdigit():
        raise InvalidArgument(f"user {user_spec!r} not found in the image's /etc/passwd")
    uid = entry.uid if entry else int(user_spec or "0")
    gid = entry.gid if entry else 0
    if group_spec:
        gid = _lookup_gid(group_spec, groups)
    if security.run_as_group is not None:
        gid = security.run_as_group
    name = entry.name if entry else ""
    image_groups = tuple(g.gid for g in groups if name and name in g.members)
    # The primary group comes first, as containerd and CRI-O list it.
    extra = _unique((gid, *image_groups, *security.supplemental_groups))
    if security.supplemental_groups_policy == d.SupplementalGroupsPolicy.Strict:
        extra = _unique((gid, *security.supplemental_groups))
    return ProcessUser(uid=uid, gid=gid, additional_gids=extra, home=entry.home if entry else "/")


def _unique(values: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(values))
