"""tinykube: a Kubernetes node stack in Python."""

__version__ = "0.1.0"
