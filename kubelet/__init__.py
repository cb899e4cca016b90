"""tinykube kubelet: static pods on any CRI runtime.

Level-triggered loops, wired by ``node.build_kubelet`` and supervised under one TaskGroup by
``Kubelet.run()`` (a loop that fails ends it):

- ``static_source``: the manifest directory, rescanned; pods renamed ``<name>-<node>`` with a
  config-hash UID.
- ``pod_workers``: one task per pod, latest desired state wins; removal terminates the pod.
- ``pleg``: relists the runtime (sooner on GetContainerEvents) into a ``runtime_view`` snapshot.
- ``actions`` (pure): desired pod + runtime view + probe verdicts -> what to do;
  ``apply``: does it over CRI (``sandbox_config``, ``container_config``, ``images``, ``hooks``,
  ``volumes``).
- ``status`` (pure): phase, conditions and container statuses; ``status_store`` keeps them on disk
  so a restarted kubelet reports the same.
- ``probes``: liveness, readiness and startup probes; ``log_files``: /var/log/containers links and
  rotation; ``server``: the HTTP API (aiohttp, ``http_server``); ``config``: KubeletConfiguration.
"""
