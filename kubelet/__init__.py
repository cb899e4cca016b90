"""tinykube kubelet."""
