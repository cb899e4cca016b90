"""The default plugins, with upstream kube-scheduler's names and semantics."""
