"""`tinykube crictl`: a crictl-compatible CLI for any CRI endpoint.

``cri.crictl.app.main(argv)`` is the entry point. Only ``argparse`` is imported up front; each
subcommand's module (and gRPC with it) is imported when that subcommand runs.
"""
