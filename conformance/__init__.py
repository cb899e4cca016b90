"""tinykube conformance: checks that a CRI runtime behaves as the kubelet expects.

``tinykube conformance --endpoint unix:///run/containerd/containerd.sock`` runs every check in
``conformance/checks`` (pytest modules ``check_<area>.py``) through ``conformance.plugin`` and ends
with a table by area and the line ``N passed, N failed, N skipped``. Checks a runtime cannot serve
(probed in ``conformance.capabilities``) are skipped with a reason, unless ``--profile NAME`` or
``--require-capabilities`` (``conformance.policy``) requires them: then they fail, and so does any
skip outside the profile's reviewed allow-list. Known deviations of a runtime
version are marked ``@pytest.mark.deviation(runtime, version, reason=...)``. Everything a check
creates carries the labels ``tinykube.conformance=1`` and ``tinykube.conformance.run=<run id>`` and
is removed by the check's fixture, then swept by label when the session ends.
``--compare URL2`` runs the lifecycle scenarios of ``conformance.compare`` on two runtimes instead.
"""
