#!/usr/bin/env bash
# Start or stop a three-member (or ETCD_MEMBERS=1: single) etcd 3.4 cluster on 127.0.0.1, for tests and benchmarks.
#
#   .ci/etcd-cluster.sh start DATA_DIR   # prints the client endpoints (comma separated) when healthy
#   .ci/etcd-cluster.sh stop DATA_DIR
#
# Ports: ETCD_CLIENT_PORTS / ETCD_PEER_PORTS (one per member, space separated), default 23790-23792 / 23800-23802.
# ETCD_EXTRA_FLAGS is passed to every member (e.g. "--unsafe-no-fsync" for throwaway test clusters).
set -euo pipefail

usage() { echo "usage: $0 start|stop DATA_DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
action=$1
data_dir=$2
members=${ETCD_MEMBERS:-3}
read -r -a client_ports <<<"${ETCD_CLIENT_PORTS:-23790 23791 23792}"
read -r -a peer_ports <<<"${ETCD_PEER_PORTS:-23800 23801 23802}"
client_ports=("${client_ports[@]:0:$members}")
peer_ports=("${peer_ports[@]:0:$members}")
[[ ${#client_ports[@]} -eq $members && ${#peer_ports[@]} -eq $members ]] || {
  echo "need ${members} client and ${members} peer ports" >&2; exit 2; }

endpoints() {
  local list=()
  for port in "${client_ports[@]}"; do list+=("127.0.0.1:${port}"); done
  (IFS=,; echo "${list[*]}")
}

start() {
  mkdir -p "$data_dir"
  chmod 0700 "$data_dir"
  local cluster=()
  for ((i = 0; i < members; i++)); do cluster+=("m${i}=http://127.0.0.1:${peer_ports[$i]}"); done
  local initial
  initial=$(IFS=,; echo "${cluster[*]}")
  for ((i = 0; i < members; i++)); do
    # shellcheck disable=SC2086
    etcd --name "m${i}" --data-dir "${data_dir}/m${i}" \
      --listen-client-urls "http://127.0.0.1:${client_ports[$i]}" \
      --advertise-client-urls "http://127.0.0.1:${client_ports[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${peer_ports[$i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${peer_ports[$i]}" \
      --initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token tinykube-test \
      --log-level error --logger zap ${ETCD_EXTRA_FLAGS:-} \
      >"${data_dir}/m${i}.log" 2>&1 &
    echo $! >"${data_dir}/m${i}.pid"
  done
  local eps
  eps=$(endpoints)
  for _ in $(seq 1 150); do
    if ETCDCTL_API=3 etcdctl --endpoints "$eps" --dial-timeout 1s --command-timeout 2s endpoint health >/dev/null 2>&1; then
      echo "$eps"
      return 0
    fi
    sleep 0.2
  done
  echo "etcd cluster did not become healthy; logs in ${data_dir}/m*.log" >&2
  stop
  return 1
}

stop() {
  for pidfile in "${data_dir}"/m*.pid; do
    [[ -f $pidfile ]] || continue
    local pid
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

case $action in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
