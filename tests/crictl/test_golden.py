"""Every output format of every listing and inspect command, against reviewed golden files.

The fake runtime runs with fixed ids and a clock one hour behind crictl's, so relative times and
ids are stable. Regenerate with CRICTL_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from tests.crictl import scenario
from tests.crictl.conftest import Crictl, golden

TEMPLATE_PS = (
    '{{range .containers}}{{.metadata.name}} {{.state}} {{index .labels "io.kubernetes.pod.name"}}\n{{end}}'
)
TEMPLATE_INSPECT = (
    "{{.status.metadata.name}}: {{.status.state}} exit={{.status.exitCode}} {{json .status.labels}}"
)

CASES = {
    "version.txt": ["version"],
    "version.json": ["version", "-o", "json"],
    "version.yaml": ["version", "-o", "yaml"],
    "version.tmpl.txt": [
        "version",
        "-o",
        "go-template",
        "--template",
        "{{.runtimeName}} {{.runtimeApiVersion}}",
    ],
    "ps.txt": ["ps"],
    "ps-a.txt": ["ps", "-a"],
    "ps-a-no-trunc.txt": ["ps", "-a", "--no-trunc"],
    "ps-a-q.txt": ["ps", "-aq"],
    "ps-a.json": ["ps", "-a", "-o", "json"],
    "ps-a.yaml": ["ps", "-a", "-o", "yaml"],
    "ps-a.tmpl.txt": ["ps", "-a", "-o", "go-template", "--template", TEMPLATE_PS],
    "ps-a-v.txt": ["ps", "-a", "-v"],
    "ps-resolve.txt": ["ps", "-a", "-r"],
    "pods.txt": ["pods"],
    "pods-no-trunc.txt": ["pods", "--no-trunc"],
    "pods-v.txt": ["pods", "-v"],
    "images-v.txt": ["images", "-v"],
    "pods.json": ["pods", "-o", "json"],
    "pods.yaml": ["pods", "-o", "yaml"],
    "images.txt": ["images"],
    "images-digests.txt": ["images", "--digests", "--pinned"],
    "images-no-trunc.txt": ["images", "--no-trunc"],
    "images-q.txt": ["images", "-q"],
    "images.json": ["img", "-o", "json"],
    "images.yaml": ["image", "-o", "yaml"],
    "inspect-exited.json": ["inspect", "@job"],
    "inspect-created.json": ["inspect", "@sidecar"],
    "inspect-running.yaml": ["inspect", "-o", "yaml", "@server"],
    "inspect.tmpl.txt": ["inspect", "-o", "go-template", "--template", TEMPLATE_INSPECT, "@job"],
    "inspect-table.txt": ["inspect", "-o", "table", "@job"],
    "inspect-quiet.json": ["inspect", "-q", "@server"],
    "inspectp.json": ["inspectp", "@web"],
    "inspectp.yaml": ["inspectp", "-o", "yaml", "@web"],
    "inspectp-table.txt": ["inspectp", "-o", "table", "@web"],
    "inspecti.json": ["inspecti", "busybox:1.36"],
    "inspecti.yaml": ["inspecti", "-o", "yaml", "registry.k8s.io/pause:3.10"],
    "inspecti-table.txt": ["inspecti", "-o", "table", "busybox"],
    "info.json": ["info"],
    "info.yaml": ["info", "-o", "yaml"],
    "imagefsinfo.json": ["imagefsinfo"],
    "runtime-config.json": ["runtime-config"],
    "stats.json": ["stats", "-o", "json"],
    "stats-a.txt": ["stats", "-a", "-s", "0"],
    "statsp.json": ["statsp", "-o", "json"],
    "metricdescs.json": ["metricdescs"],
    "metricsp.yaml": ["metricsp", "-o", "yaml"],
}


@pytest.mark.parametrize("name", sorted(CASES))
async def test_output_matches_golden(crictl: Crictl, tmp_path: Path, name: str) -> None:
    state = scenario.build(crictl, tmp_path)
    ids = asdict(await state)
    argv = [ids[arg[1:]] if arg.startswith("@") else arg for arg in CASES[name]]
    result = await crictl(*argv)
    assert result.code == 0, result.err
    golden(name, result.out.replace(str(tmp_path), "$TMP"))
