"""tinykube conformance."""
