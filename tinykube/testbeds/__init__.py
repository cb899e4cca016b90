"""Harnesses that start real components (runc shim, kubelet, apiserver) for tests and benchmarks."""
