#!/usr/bin/env bash
# A private containerd (own root, state and socket) with a private registry on 127.0.0.1:5123 that
# serves docker.io/library/busybox:1.36 and registry.k8s.io/pause:3.10, built locally from
# busybox-static and catatonit. For running the crictl session against containerd's CRI without
# the CI services:
#
#   bash tests/crictl/private_containerd.sh start
#   CRICTL_CONTAINERD_ENDPOINT=unix:///tmp/crictl-int/containerd.sock \
#       .venv/bin/pytest tests/crictl/test_session.py -m integration -k containerd
#   bash tests/crictl/private_containerd.sh stop
#
# Needs root, containerd, docker-registry, umoci, skopeo, busybox-static and catatonit (Debian 12).
set -euo pipefail
W=${CRICTL_INT_DIR:-/tmp/crictl-int}
PORT=${CRICTL_INT_REGISTRY_PORT:-5123}

wait_for() {  # wait_for <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "timed out waiting for: $*" >&2; return 1; }
    sleep 0.2
  done
}

build_image() {  # build_image <layout> <tag> <setup function>
  umoci init --layout "$W/images/$1"
  umoci new --image "$W/images/$1:$2"
  umoci unpack --rootless --image "$W/images/$1:$2" "$W/bundle-$1" >/dev/null
  "$3" "$W/bundle-$1/rootfs"
  umoci repack --image "$W/images/$1:$2" "$W/bundle-$1"
}

busybox_rootfs() {
  mkdir -p "$1/bin"
  cp /bin/busybox "$1/bin/busybox"
  for applet in sh echo sleep cat ls true id stty env; do ln -sf busybox "$1/bin/$applet"; done
}

pause_rootfs() { cp /usr/bin/catatonit "$1/catatonit"; }

start() {
  rm -rf "$W" && mkdir -p "$W/registry" "$W/images"
  cat >"$W/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $W/registry
http:
  addr: 127.0.0.1:$PORT
YAML
  docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
  echo $! >"$W/registry.pid"
  build_image busybox 1.36 busybox_rootfs
  umoci config --image "$W/images/busybox:1.36" --config.cmd sh --config.env PATH=/bin
  build_image pause 3.10 pause_rootfs
  umoci config --image "$W/images/pause:3.10" --config.entrypoint /catatonit --config.entrypoint -P
  wait_for 20 curl -fsS "http://127.0.0.1:$PORT/v2/"
  skopeo copy -q --dest-tls-verify=false "oci:$W/images/busybox:1.36" "docker://127.0.0.1:$PORT/library/busybox:1.36"
  skopeo copy -q --dest-tls-verify=false "oci:$W/images/pause:3.10" "docker://127.0.0.1:$PORT/pause:3.10"
  for host in docker.io registry.k8s.io; do
    mkdir -p "$W/certs.d/$host"
    printf 'server = "https://%s"\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull", "resolve"]\n' \
      "$host" "$PORT" >"$W/certs.d/$host/hosts.toml"
  done
  cat >"$W/config.toml" <<TOML
version = 2
root = "$W/root"
state = "$W/state"
[grpc]
  address = "$W/containerd.sock"
[ttrpc]
  address = "$W/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$W/certs.d"
TOML
  containerd --config "$W/config.toml" >"$W/containerd.log" 2>&1 &
  echo $! >"$W/containerd.pid"
  wait_for 30 test -S "$W/containerd.sock"
  echo "containerd CRI at unix://$W/containerd.sock"
}

stop() {
  # the runc shims of this containerd only: they name its private socket
  pgrep -f -- "-address $W/containerd.sock" | xargs -r kill 2>/dev/null || true
  for name in containerd registry; do
    if [[ -f "$W/$name.pid" ]]; then
      kill "$(cat "$W/$name.pid")" 2>/dev/null || true
      rm -f "$W/$name.pid"
    fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
