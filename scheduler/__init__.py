"""tinykube scheduler."""
