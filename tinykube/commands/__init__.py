"""Subcommands of the `tinykube` command, one module each."""
