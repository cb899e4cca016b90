#!/usr/bin/env bash
# The conformance reference run without the CI services: a private containerd 1.6 (own root, state,
# socket, CNI config on bridge tkconf0 / 10.213.0.0/24, no masquerade) and a private registry on
# 127.0.0.1:5124 seeded with the images the suite uses (conformance/images.py), built from
# busybox-static and catatonit with umoci. Until `tinykube images seed` lands this is the seed.
#
#   bash tests/conformance/reference_containerd.sh start
#   .venv/bin/python -m tinykube.main conformance --endpoint unix:///tmp/conf-int/containerd.sock
#   bash tests/conformance/reference_containerd.sh stop
set -euo pipefail
W=${CONF_INT_DIR:-/tmp/conf-int}
PORT=${CONF_INT_REGISTRY_PORT:-5124}

wait_for() {  # wait_for <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "timed out waiting for: $*" >&2; return 1; }
    sleep 0.2
  done
}

busybox_rootfs() {
  mkdir -p "$1/bin" "$1/etc" "$1/tmp" "$1/www"
  cp /bin/busybox "$1/bin/busybox"
  for applet in $(/bin/busybox --list); do [[ $applet == busybox ]] || ln -sf busybox "$1/bin/$applet"; done
  printf 'root:x:0:0:root:/root:/bin/sh\ntkuser:x:1002:1005::/tmp:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n' >"$1/etc/passwd"
  printf 'root:x:0:\ntkgroup:x:1005:\ntkextra:x:2001:tkuser\nnogroup:x:65534:\n' >"$1/etc/group"
  echo "<html><body><h1>tinykube web</h1></body></html>" >"$1/www/index.html"
}

pause_rootfs() { cp /usr/bin/catatonit "$1/catatonit"; }

build() {  # build <layout> <rootfs fn> <umoci config args...>
  local layout=$1 fn=$2; shift 2
  umoci init --layout "$W/images/$layout"
  umoci new --image "$W/images/$layout:t"
  umoci unpack --rootless --image "$W/images/$layout:t" "$W/bundle-$layout" >/dev/null
  "$fn" "$W/bundle-$layout/rootfs"
  [[ $layout == distinct-* ]] && echo "$layout" >"$W/bundle-$layout/rootfs/etc/distinct"
  umoci repack --image "$W/images/$layout:t" "$W/bundle-$layout"
  umoci config --image "$W/images/$layout:t" "$@"
}

push() {  # push <layout> <repository:tag>...
  local layout=$1; shift
  for dest in "$@"; do
    skopeo copy -q --dest-tls-verify=false "oci:$W/images/$layout:t" "docker://127.0.0.1:$PORT/$dest"
  done
}

start() {
  rm -rf "$W" && mkdir -p "$W/registry" "$W/images" "$W/cni/net.d"
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s/registry\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$W" "$PORT" >"$W/registry.yml"
  docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
  echo $! >"$W/registry.pid"
  local sh=(--config.env PATH=/bin --config.cmd sh)
  build busybox busybox_rootfs "${sh[@]}"
  build pause pause_rootfs --config.entrypoint /catatonit --config.entrypoint -P
  build httpd busybox_rootfs --config.env PATH=/bin --config.entrypoint httpd --config.cmd -f \
    --config.cmd -p --config.cmd 80 --config.cmd -h --config.cmd /www --config.exposedports 80/tcp
  build user-uid busybox_rootfs "${sh[@]}" --config.user 1001
  build user-name busybox_rootfs "${sh[@]}" --config.user tkuser
  build user-uidgid busybox_rootfs "${sh[@]}" --config.user 1003:1004
  build user-namegroup busybox_rootfs "${sh[@]}" --config.user tkuser:tkgroup
  for i in 1 2 3; do build "distinct-$i" busybox_rootfs "${sh[@]}"; done
  wait_for 20 curl -fsS "http://127.0.0.1:$PORT/v2/"
  push busybox library/busybox:1.36 library/busybox:latest
  push pause pause:3.10
  push httpd tinykube/httpd:1
  for u in uid name uidgid namegroup; do push "user-$u" "tinykube/user-$u:1"; done
  push distinct-1 tinykube/multi:a tinykube/multi:b tinykube/multi:c tinykube/distinct-1:1
  push distinct-2 tinykube/distinct-2:1
  push distinct-3 tinykube/distinct-3:1
  for host in docker.io registry.k8s.io; do
    mkdir -p "$W/certs.d/$host"
    printf 'server = "https://%s"\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull", "resolve"]\n' \
      "$host" "$PORT" >"$W/certs.d/$host/hosts.toml"
  done
  cat >"$W/cni/net.d/10-tkconf.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "tkconf", "plugins": [
  {"type": "bridge", "bridge": "tkconf0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.213.0.0/24"}]], "routes": [{"dst": "10.213.0.0/24"}],
            "dataDir": "$W/cni/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "loopback"}]}
JSON
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
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$W/cni/net.d"
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
