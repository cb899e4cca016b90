"""tinykube shims."""
