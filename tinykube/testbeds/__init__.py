"""Harnesses that start real components (a runc shim, a kubelet) for the tests and the benchmarks."""
