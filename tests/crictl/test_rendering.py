"""The Go behaviours crictl's output is made of: tabwriter, go-units, text/template."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cri.crictl.gotemplate import TemplateError, render
from cri.crictl.images import repo_digest_parts, repo_tag_pairs
from cri.crictl.tables import Table, human_duration, human_size, truncate_image

DATA = {
    "items": [
        {"id": "a1", "labels": {"z": "1", "a": "2"}, "n": 3, "ok": True},
        {"id": "b2", "labels": {}, "n": 0, "ok": False},
    ],
    "name": "x",
}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (3599, "59 minutes"),
        (3600, "About an hour"),
        (5400, "2 hours"),
        (47 * 3600, "47 hours"),
        (48 * 3600, "2 days"),
        (15 * 86400, "2 weeks"),
        (61 * 86400, "2 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_human_duration_matches_go_units(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    ("size", "precision", "text"),
    [
        (0, 3, "0B"),
        (999, 3, "999B"),
        (321_520, 3, "322kB"),
        (4_270_000, 3, "4.27MB"),
        (999_999, 3, "1e+03kB"),
        (1_500_000_000, 4, "1.5GB"),
        (123_456_789, 4, "123.5MB"),
    ],
)
def test_human_size_matches_go_units(size: int, precision: int, text: str) -> None:
    assert human_size(size, precision) == text


def test_table_pads_every_column_but_the_last() -> None:
    table = Table()
    table.add_row(["A", "LONGER HEADER", "LAST"])
    table.add_row(["a-very-long-cell", "b", ""])
    widths = (max(20, len("a-very-long-cell") + 3), max(20, len("LONGER HEADER") + 3))
    expected = [
        "A".ljust(widths[0]) + "LONGER HEADER".ljust(widths[1]) + "LAST",
        "a-very-long-cell".ljust(widths[0]) + "b".ljust(widths[1]),
    ]
    assert table.render().splitlines() == expected


def test_image_column_truncates_digests_only() -> None:
    assert truncate_image("sha256:" + "ab" * 32) == "abababababababa"[:13]
    assert truncate_image("docker.io/library/busybox:1.36") == "docker.io/library/busybox:1.36"


def test_repo_tags_split_at_the_last_colon_and_untagged_images_show_none() -> None:
    assert repo_tag_pairs(("localhost:5000/app:v1",), "x") == [("localhost:5000/app", "v1")]
    name, digest = repo_digest_parts(("quay.io/app@sha256:abc",))
    assert (name, digest) == ("quay.io/app", "sha256:abc")
    assert repo_tag_pairs((), name) == [("quay.io/app", "<none>")]
    assert repo_digest_parts(()) == ("<none>", "<none>")


def test_template_range_if_and_variables() -> None:
    template = "{{range $i, $e := .items}}{{$i}}:{{$e.id}}{{if $e.ok}}+{{else}}-{{end}} {{end}}{{$.name}}"
    assert render(template, DATA) == "0:a1+ 1:b2- x"


def test_template_functions() -> None:
    assert render('{{json (index .items 0).labels}}|{{len .items}}|{{printf "%s=%d" .name 7}}', DATA) == (
        '{"a":"2","z":"1"}|2|x=7'
    )
    assert (
        render("{{(index .items 0).labels}} {{.missing}} {{.name | upper}}", DATA)
        == "map[a:2 z:1] <no value> X"
    )
    assert render('{{with .items}}{{len .}}{{end}}{{if and .name (eq .name "x")}}!{{end}}', DATA) == "2!"
    assert render("{{range .empty}}x{{else}}none{{end}}", DATA) == "none"
    assert render("a  {{- .name -}}  b {{/* c */}}", DATA) == "axb "


@pytest.mark.parametrize("template", ["{{.name", "{{if .name}}x", "{{nofunc .name}}", "{{.items.id.x}}"])
def test_template_errors_are_reported(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, DATA)


async def test_completion_scripts_list_commands_and_flags(tmp_path: object) -> None:
    import io

    from cri.crictl.app import run

    scripts = {}
    for shell in ("bash", "zsh", "fish"):
        out = io.StringIO()
        assert await run(["completion", shell], out=out, err=io.StringIO(), environ={}) == 0
        scripts[shell] = out.getvalue()
    assert "inspectp" in scripts["bash"] and "--no-trunc" in scripts["bash"]
    assert "complete -F _tinykube_crictl crictl" in scripts["bash"].replace("-o default ", "")
    assert scripts["zsh"].startswith("#compdef crictl tinykube")
    assert "complete -c crictl -f -n '__fish_use_subcommand' -a ps -d 'List containers'" in scripts["fish"]
    checker = await asyncio.create_subprocess_exec(
        "bash", "-n", stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, errors = await checker.communicate(scripts["bash"].encode())
    assert checker.returncode == 0, errors.decode()


async def test_bash_completion_completes_commands_and_flags(tmp_path: Path) -> None:
    import io

    from cri.crictl.app import run

    out = io.StringIO()
    assert await run(["completion"], out=out, err=io.StringIO(), environ={}) == 0
    script = tmp_path / "crictl.bash"
    script.write_text(out.getvalue())
    probe = (
        f"source {script}; "
        'COMP_WORDS=(tinykube crictl ins); COMP_CWORD=2; _tinykube_crictl; echo "${COMPREPLY[@]}"; '
        'COMP_WORDS=(crictl ps --no); COMP_CWORD=2; _tinykube_crictl; echo "${COMPREPLY[@]}"'
    )
    shell = await asyncio.create_subprocess_exec("bash", "-c", probe, stdout=asyncio.subprocess.PIPE)
    completions, _ = await shell.communicate()
    assert completions.decode().splitlines() == ["inspect inspectp inspecti", "--no-trunc"]


def test_runtime_handlers_are_marshalled_as_go_structs() -> None:
    from cri import domain as d
    from cri.crictl.formats import go_struct_data

    handlers = (
        d.RuntimeHandler(name="", features=d.RuntimeHandlerFeatures(recursive_read_only_mounts=True)),
        d.RuntimeHandler(name="runc", features=d.RuntimeHandlerFeatures(user_namespaces=True)),
        d.RuntimeHandler(name="bare"),
    )
    assert [go_struct_data(h) for h in handlers] == [
        {"features": {"recursive_read_only_mounts": True}},
        {"name": "runc", "features": {"user_namespaces": True}},
        {"name": "bare"},
    ]
