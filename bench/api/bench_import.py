"""Import cost of the object model: CPU and RSS of `import api.model.core_v1` in a fresh interpreter.

    python -m bench.api.bench_import [--runs 5] [--reference 7ffff92]

Measures this checkout and, in the same run, the model of the `--reference` commit (default: the
last one whose classes were `@dataclass(frozen=True, slots=True, kw_only=True)`, extracted with
`git archive`). Each side is imported from cached bytecode (`.pyc`, as an installed package runs)
and compiled from source (PYTHONDONTWRITEBYTECODE with an empty cache, as a dev checkout runs).
RSS is the import's VmRSS increase over the bare interpreter, before and after malloc_trim.
Prints medians and the ratio reference/ours.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import ctypes, json, time
def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
base = rss()
start = time.process_time()
import api.model.core_v1
cpu = time.process_time() - start
grown = rss() - base
ctypes.CDLL("libc.so.6").malloc_trim(0)
print(json.dumps({"cpu": cpu, "rss": grown, "trimmed": rss() - base}))
"""


def measure(source: Path, *, cached: bool, cache: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(source), "PYTHONPYCACHEPREFIX": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not cached:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=source, check=True, capture_output=True)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def medians(source: Path, runs: int, *, cached: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as cache:
        if cached:
            measure(source, cached=True, cache=Path(cache))  # writes the .pyc files
        samples = [
            measure(source, cached=cached, cache=Path(cache) if cached else Path(cache) / str(i))
            for i in range(runs)
        ]
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def extract(commit: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", commit, "api"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reference", default="7ffff92", help="commit with the dataclass model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reference = extract(args.reference, Path(tmp))
        print(f"{'import api.model.core_v1':<28}{'ours':>10}{'reference':>11}{'ratio':>8}")
        for cached in (True, False):
            ours = medians(ROOT, args.runs, cached=cached)
            theirs = medians(reference, args.runs, cached=cached)
            mode = "from .pyc" if cached else "from source"
            for key, unit in (("cpu", "s"), ("rss", "MiB"), ("trimmed", "MiB")):
                ratio = theirs[key] / ours[key] if ours[key] > 0 else float("inf")
                label = f"{mode} {key} {unit}"
                print(f"{label:<28}{ours[key]:>10.3f}{theirs[key]:>11.3f}{ratio:>7.1f}x")


if __name__ == "__main__":
    main()
