"""The `tinykube` command: a thin composition root that dispatches to subcommand modules.

Each subcommand lives in ``tinykube.commands.<name>`` and exposes ``main(argv) -> int``. Modules are
imported only when their subcommand runs, so ``tinykube crictl version`` pays for nothing else.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "version": ("tinykube.commands.version", "print the tinykube version"),
    "shim": ("tinykube.commands.shim", "run a CRI shim (fake, runc, containerd, podman)"),
    "images": ("tinykube.commands.images", "OCI image tools: build, push, seed a local registry"),
    "store": ("tinykube.commands.store", "the etcd-like store: serve an etcd v3 endpoint"),
    "apiserver": ("tinykube.commands.apiserver", "serve the Kubernetes API over the store"),
    "kubelet": ("tinykube.commands.kubelet", "run the kubelet"),
    "scheduler": ("tinykube.commands.scheduler", "run the scheduler against an apiserver (--kubeconfig)"),
    "controller-manager": (
        "tinykube.commands.controller_manager",
        "run the controllers (Deployment, ReplicaSet, garbage collector)",
    ),
    "crictl": ("tinykube.commands.crictl", "a crictl-compatible CLI for any CRI endpoint"),
    "conformance": ("tinykube.commands.conformance", "run the CRI conformance suite against an endpoint"),
}


def _usage() -> str:
    lines = ["usage: tinykube <command> [args...]", "", "commands:"]
    lines += [f"  {name:<12} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    entry = COMMANDS.get(args[0])
    if entry is None:
        print(f"tinykube: unknown command {args[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 1
    module = importlib.import_module(entry[0])
    result: int = module.main(args[1:])
    return result


if __name__ == "__main__":
    raise SystemExit(main())
