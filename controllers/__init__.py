"""The controllers of kube-controller-manager, each a reconcile loop on api.client's informers and queues."""
