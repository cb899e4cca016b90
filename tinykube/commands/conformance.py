"""`tinykube conformance --endpoint URL`: the CRI conformance suite (see ``conformance.runner``).

The suite itself speaks only CRI; this composition root lends it the project's image tools for
``--seed``, which pushes the test images into the local registry the runtime mirrors.
"""

from __future__ import annotations

from conformance.runner import main as run_main


def _seed(registry: str) -> int:
    from tinykube.commands import images

    return images.main(["seed", "--registry", registry, "--no-big"])


def main(argv: list[str]) -> int:
    return run_main(argv, seeder=_seed)
