"""Node plumbing shared by the shims that drive a host directly: OCI runtime specs, CNI, namespaces,
conmon + runc, cgroup v1 stats and mounts."""
