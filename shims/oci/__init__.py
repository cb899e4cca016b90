"""The shared OCI image toolkit every shim uses.

- ``reference``: parse/normalise image references (``busybox`` -> ``docker.io/library/busybox:latest``).
- ``registry``: async OCI distribution client (mirrors from ``certs.d/<host>/hosts.toml``, Basic/Bearer auth).
- ``store`` + ``pull``: content store, layer store (one overlayfs lowerdir per layer), image records.
- ``service.OciImages``: the CRI ``ImageBackend`` over the store, plus ``resolve(ref)`` for runtimes
  (image config, lower dirs top first, ``/etc/passwd`` and ``/etc/group`` texts).
- ``builder`` + ``push``: reproducible images; ``seed`` + ``catalog``: the local test registry.
"""
