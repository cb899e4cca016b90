"""Start-up time of `tinykube crictl` commands, against references measured in the same run.

Starts `tinykube shim --backend fake` on a private socket, then runs each command N times and
prints the median wall time, the ratio to a bare interpreter start, and the 300 ms budget for
`tinykube crictl version`.

    .venv/bin/python bench/crictl/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_MS = 300.0


def _tinykube() -> list[str]:
    found = shutil.which("tinykube", path=str(Path(sys.executable).parent)) or shutil.which("tinykube")
    return [found] if found else [sys.executable, "-m", "tinykube.main"]


def _median_ms(argv: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _wait_for_shim(crictl: list[str], deadline_s: float = 20.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if subprocess.run([*crictl, "version"], capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.1)
    raise SystemExit("the fake shim did not answer within 20 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    tinykube = _tinykube()
    with tempfile.TemporaryDirectory() as tmp:
        socket = Path(tmp) / "run" / "fake.sock"
        shim = subprocess.Popen(
            [*tinykube, "shim", "--backend", "fake", "--socket", str(socket), "--log-level", "error"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            env_config = ["--config", os.path.join(tmp, "crictl.yaml")]
            crictl = [*tinykube, "crictl", *env_config, "-r", f"unix://{socket}"]
            _wait_for_shim(crictl)
            cases = {
                "python -c pass (reference)": [sys.executable, "-c", "pass"],
                "python -c 'import grpc' (reference)": [sys.executable, "-c", "import grpc"],
                "tinykube version (reference)": [*tinykube, "version"],
                "tinykube crictl config --list": [*crictl, "config", "--list"],
                "tinykube crictl version": [*crictl, "version"],
                "tinykube crictl ps -a": [*crictl, "ps", "-a"],
                "tinykube crictl images -o json": [*crictl, "images", "-o", "json"],
            }
            results = {name: _median_ms(argv, runs) for name, argv in cases.items()}
        finally:
            shim.terminate()
            shim.wait(timeout=20)
    base = results["python -c pass (reference)"]
    print(f"median of {runs} runs each (ms), ratio to a bare interpreter start")
    for name, ms in results.items():
        print(f"  {name:<38} {ms:8.1f} ms  x{ms / base:5.2f}")
    version_ms = results["tinykube crictl version"]
    verdict = "within" if version_ms <= BUDGET_MS else "OVER"
    print(f"tinykube crictl version: {version_ms:.1f} ms, {verdict} the {BUDGET_MS:.0f} ms budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
