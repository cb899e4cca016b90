"""An etcd v3 endpoint (KV, Watch, Lease, Maintenance.Status) over any store, for etcdctl."""

from api.storage.etcdserver.server import EtcdEndpoint

__all__ = ["EtcdEndpoint"]
