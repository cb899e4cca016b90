"""Resolving the process user from the CRI security context and the image's passwd/group files."""

from __future__ import annotations

import pytest

from cri import domain as d
from cri.errors import InvalidArgument
from shims.node.identity import ProcessUser, resolve_user

PASSWD = "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:web:/var/www:/bin/false\nbroken line\n"
GROUP = "root:x:0:\nweb:x:33:\nextra:x:1234:web,other\naudio:x:29:web\n"


def resolve(image_user: str = "", **fields: object) -> ProcessUser:
    context = d.LinuxContainerSecurityContext(**fields)  # type: ignore[arg-type]
    return resolve_user(context, image_user=image_user, passwd_text=PASSWD, group_text=GROUP)


def test_image_user_name_gets_its_uid_gid_home_and_groups() -> None:
    assert resolve("web") == ProcessUser(uid=33, gid=33, additional_gids=(33, 1234, 29), home="/var/www")


def test_run_as_username_wins_over_image_user() -> None:
    assert resolve("web", run_as_username="root").uid == 0


def test_numeric_uid_not_in_passwd_runs_with_gid_0() -> None:
    assert resolve(run_as_user=4242) == ProcessUser(uid=4242, gid=0, additional_gids=(0,), home="/")


def test_run_as_group_and_supplemental_groups_merge_with_the_image_groups() -> None:
    user = resolve(run_as_user=33, run_as_group=7, supplemental_groups=(500, 29))
    assert (user.uid, user.gid, user.additional_gids) == (33, 7, (7, 1234, 29, 500))


def test_strict_policy_keeps_only_the_requested_groups() -> None:
    user = resolve(run_as_user=33, supplemental_groups=(500,),
                   supplemental_groups_policy=d.SupplementalGroupsPolicy.Strict)  # fmt: skip
    assert user.additional_gids == (33, 500)


def test_image_user_with_group_name() -> None:
    assert resolve("web:extra").gid == 1234


@pytest.mark.parametrize(
    ("image_user", "fields", "message"),
    [
        ("", {"run_as_group": 5}, "run_as_group"),
        ("nosuch", {}, "nosuch"),
        ("", {"run_as_username": "ghost"}, "ghost"),
        ("web:nogroup", {}, "nogroup"),
    ],
)
def test_bad_users_are_invalid_arguments_naming_the_problem(
    image_user: str, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        resolve(image_user, **fields)
