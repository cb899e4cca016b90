"""The etcd v3 backend, and the wire conversions it shares with the etcd-compatible endpoint."""

from api.storage.etcd.store import EtcdOptions, EtcdStore

__all__ = ["EtcdOptions", "EtcdStore"]
