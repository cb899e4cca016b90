"""The containerd shim: CRI served over containerd's native gRPC API (the cri-containerd way)."""
