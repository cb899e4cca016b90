"""tinykube api."""
