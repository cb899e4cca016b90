#!/usr/bin/env bash
# The services integration tests need, as root: the local OCI registry with the seeded test
# images, containerd 1.6 with its CRI plugin, and the Podman API service. etcd is not here: the
# tests start their own etcd members.
#
#   .ci/services.sh start    start what is not running; a healthy daemon is reused, never restarted
#   .ci/services.sh stop [SERVICE...]   stop daemons this script started (containers keep running)
#   .ci/services.sh status   say what runs and whether it answers
#   .ci/services.sh smoke    pull the seeded images through containerd's CRI and run a pod in it
#
# Logs: /var/log/tinykube/<service>.log. Pid files: /run/tinykube-services/<service>.pid.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICES=(registry containerd podman)
START_TIMEOUT_S=60
STOP_TIMEOUT_S=20

REGISTRY_ADDRESS=127.0.0.1:5000
REGISTRY_CONFIG=/etc/tinykube/registry.yml
CERTS_D=/etc/containerd/certs.d
PODMAN_MIRRORS=/etc/containers/registries.conf.d/50-tinykube-mirrors.conf
SHIM_CERTS_D=/etc/tinykube/certs.d
CONTAINERD_CONFIG=/etc/containerd/config.toml
CONTAINERD_SOCKET=/run/containerd/containerd.sock
CONTAINERD_CNI_DIR=/etc/tinykube/containerd-cni
PODMAN_SOCKET=/run/podman/podman.sock

# ---- daemon bookkeeping -------------------------------------------------------------------

# pid_of <service>: the pid this script recorded, if that process still lives and still runs the
# program it started (a pid file can outlive its process, and pids are reused).
pid_of() {
  local pid program
  read -r pid program 2>/dev/null <"$PID_DIR/$1.pid" || return 1
  [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "${program:0:15}" ]] || return 1
  echo "$pid"
}

launch() {  # launch <service> <command...>: detached from this shell, logging to LOG_DIR
  local service=$1
  shift
  install -d -m 0750 "$LOG_DIR" "$PID_DIR"
  printf '\n---- %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$LOG_DIR/$service.log"
  setsid "$@" >>"$LOG_DIR/$service.log" 2>&1 </dev/null &
  echo "$! $(basename "$1")" >"$PID_DIR/$service.pid"
}

show_log_tail() {
  warn "last lines of $LOG_DIR/$1.log:"
  tail -n 20 "$LOG_DIR/$1.log" >&2 || true
}

socket_answers() {  # socket_answers <path>: something accepts connections on this unix socket
  python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$1" 2>/dev/null
}

# ensure_running <service>: reuse a healthy daemon, else start ours and wait until it answers.
ensure_running() {
  local service=$1
  if "${service}_healthy" >/dev/null 2>&1; then
    log "$service: running and healthy, reused"
    return
  fi
  if pid_of "$service" >/dev/null && wait_until 10 "$service (already starting)" "${service}_healthy"; then
    log "$service: running and healthy, reused"
    return
  fi
  "${service}_refuse_foreign"
  stop_service "$service"
  log "$service: starting"
  "${service}_start"
  if ! wait_until "$START_TIMEOUT_S" "$service to answer" "${service}_healthy"; then
    show_log_tail "$service"
    die "$service did not become healthy"
  fi
  log "$service: healthy (pid $(pid_of "$service"))"
}

stop_service() {
  local service=$1 pid
  pid=$(pid_of "$service") || { rm -f "$PID_DIR/$service.pid"; return 0; }
  log "$service: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$STOP_TIMEOUT_S" "$service to exit" test ! -d "/proc/$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_DIR/$service.pid"
}

# ---- registry -----------------------------------------------------------------------------

registry_healthy() { curl -fsS -o /dev/null --max-time 2 "http://$REGISTRY_ADDRESS/v2/"; }

registry_refuse_foreign() {
  if ! pid_of registry >/dev/null && ss -Hltn "sport = :${REGISTRY_ADDRESS##*:}" | grep -q .; then
    die "registry: port ${REGISTRY_ADDRESS##*:} is taken by a process that is not an OCI registry"
  fi
}

registry_start() {
  install_file "$CONFIG_DIR/registry.yml" "$REGISTRY_CONFIG" || true
  mkdir -p /var/lib/tinykube/registry
  launch registry docker-registry serve "$REGISTRY_CONFIG"
}

seed_images() {
  (cd / && "$VENV/bin/python" -c 'import tinykube.commands.images') || die "images: 'tinykube images' does not import"
  log "images: seeding $REGISTRY_ADDRESS (mirrors for containerd in $CERTS_D, for Podman in $PODMAN_MIRRORS)"
  if ! "$VENV/bin/tinykube" images seed --registry "$REGISTRY_ADDRESS" --certs-d "$CERTS_D" \
    --registries-conf "$PODMAN_MIRRORS" >>"$LOG_DIR/seed.log" 2>&1; then
    show_log_tail seed
    die "images: seeding failed"
  fi
  log "images: seeded"
  share_mirrors_with_shims
}

# Our shims read mirrors from /etc/tinykube/certs.d by default: the same directory as containerd's.
share_mirrors_with_shims() {
  if [[ ! -e $SHIM_CERTS_D && ! -L $SHIM_CERTS_D ]]; then
    install -d "$(dirname "$SHIM_CERTS_D")"
    ln -s "$CERTS_D" "$SHIM_CERTS_D"
    log "images: $SHIM_CERTS_D -> $CERTS_D"
  elif [[ $(readlink -f "$SHIM_CERTS_D") != "$(readlink -f "$CERTS_D")" ]]; then
    warn "images: $SHIM_CERTS_D is not $CERTS_D: the shims' default mirrors may differ from containerd's"
  fi
}

# ---- containerd ---------------------------------------------------------------------------

containerd_healthy() {
  [[ -S $CONTAINERD_SOCKET ]] && (cd / && "$VENV/bin/python" "$CI_DIR/cri_check.py" ready "unix://$CONTAINERD_SOCKET")
}

containerd_refuse_foreign() {
  if ! pid_of containerd >/dev/null && socket_answers "$CONTAINERD_SOCKET"; then
    (cd / && "$VENV/bin/python" "$CI_DIR/cri_check.py" ready "unix://$CONTAINERD_SOCKET") || true
    die "containerd: a containerd not started by this script serves $CONTAINERD_SOCKET without a ready CRI" \
      "(see above); stop it or give it $CONTAINERD_CONFIG"
  fi
}

containerd_configure() {
  local changed=false
  install_file "$CONFIG_DIR/containerd.toml" "$CONTAINERD_CONFIG" && changed=true
  install_file "$CONFIG_DIR/containerd-cni.conflist" "$CONTAINERD_CNI_DIR/10-tinykube.conflist" && changed=true
  mkdir -p "$CERTS_D"
  if $changed && pid_of containerd >/dev/null; then
    warn "containerd: its configuration changed; '.ci/services.sh stop && .ci/services.sh start' applies it"
  fi
}

containerd_start() { launch containerd containerd --config "$CONTAINERD_CONFIG"; }

# ---- podman -------------------------------------------------------------------------------

podman_healthy() {
  curl -fsS -o /dev/null --max-time 2 --unix-socket "$PODMAN_SOCKET" http://podman/_ping
}

podman_refuse_foreign() {
  if ! pid_of podman >/dev/null && socket_answers "$PODMAN_SOCKET"; then
    die "podman: a process not started by this script serves $PODMAN_SOCKET without answering /_ping"
  fi
}

podman_start() {
  install -d -m 0750 "$(dirname "$PODMAN_SOCKET")"
  launch podman podman system service --time=0 "unix://$PODMAN_SOCKET"
}

# ---- actions ------------------------------------------------------------------------------

start() {
  require_root
  [[ -x $VENV/bin/python ]] || die "no virtual environment at $VENV: run .ci/setup.sh first"
  ensure_running registry
  seed_images
  containerd_configure
  ensure_running containerd
  ensure_running podman
}

stop() {  # stop [SERVICE...]: the named services, or all in reverse start order
  require_root
  local index chosen=("$@")
  if ((${#chosen[@]} == 0)); then
    for ((index = ${#SERVICES[@]} - 1; index >= 0; index--)); do chosen+=("${SERVICES[index]}"); done
  fi
  for service in "${chosen[@]}"; do
    [[ " ${SERVICES[*]} " == *" $service "* ]] || die "unknown service $service (one of: ${SERVICES[*]})"
    stop_service "$service"
  done
}

status() {
  local service pid health failed=0
  for service in "${SERVICES[@]}"; do
    pid=$(pid_of "$service") || pid="-"
    if "${service}_healthy" >/dev/null 2>&1; then health=healthy; else health="NOT answering" failed=1; fi
    printf '%-11s pid %-8s %s\n' "$service" "$pid" "$health"
  done
  return "$failed"
}

smoke() {
  (cd / && "$VENV/bin/python" "$CI_DIR/cri_check.py" smoke "unix://$CONTAINERD_SOCKET")
}

case "${1:-}" in
  start | status | smoke) "$1" ;;
  stop) shift && stop "$@" ;;
  *) die "usage: $0 start | stop [SERVICE...] | status | smoke" ;;
esac
