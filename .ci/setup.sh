#!/usr/bin/env bash
# Set up a Debian 12 machine for tinykube, as root: Debian packages, host networking settings,
# Podman's configuration and the project's virtual environment (.venv). Idempotent: every step
# checks first and is skipped when already done, so a re-run takes a second or two.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
  # engines and tools the shims, tests and benchmarks drive
  containerd runc conmon podman containernetworking-plugins etcd-server etcd-client
  docker-registry skopeo umoci busybox-static catatonit iptables
  # what the scripts and tests use around them
  python3 python3-venv iproute2 procps util-linux curl ca-certificates
  # CI's linter for the shell scripts
  shellcheck
)
MIN_PYTHON=3.11

missing_packages() {
  local package
  for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$' \
      || echo "$package"
  done
}

# Package installs must not start the daemons (docker-registry would take port 5000 on every
# interface): services.sh starts them with our configuration.
with_services_held() {
  local policy=/usr/sbin/policy-rc.d created=false
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && created=true
  fi
  local status=0
  "$@" || status=$?
  if $created; then rm -f "$policy"; fi
  return "$status"
}

install_packages() {
  local missing
  missing=$(missing_packages)
  if [[ -z $missing ]]; then
    log "Debian packages: all ${#PACKAGES[@]} installed"
    return
  fi
  log "Debian packages: installing $(echo "$missing" | tr '\n' ' ')"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086  # one package name per word
  with_services_held apt-get install -y -q --no-install-recommends $missing
}

prepare_network() {
  install_file "$CONFIG_DIR/sysctl.conf" /etc/sysctl.d/60-tinykube.conf || true
  if [[ $(sysctl -n net.ipv4.ip_forward) != 1 ]]; then
    sysctl -q -w net.ipv4.ip_forward=1
    log "enabled net.ipv4.ip_forward"
  fi
  if ! iptables -S FORWARD | grep -qx -- '-P FORWARD ACCEPT'; then
    iptables -P FORWARD ACCEPT
    log "set the iptables FORWARD policy to ACCEPT"
  fi
}

prepare_podman() {
  install_file "$CONFIG_DIR/containers.conf" /etc/containers/containers.conf || true
}

python_is_recent() {  # python_is_recent <interpreter>
  "$1" -c "import sys; sys.exit(sys.version_info < tuple(map(int, '$MIN_PYTHON'.split('.'))))" 2>/dev/null
}

find_python() {
  local candidate
  for candidate in python3 /usr/bin/python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null && python_is_recent "$candidate"; then
      command -v "$candidate"
      return
    fi
  done
  die "no python3 >= $MIN_PYTHON found (install Debian's python3 and python3-venv)"
}

# The stamp records which pyproject.toml the venv was installed from; a changed file reinstalls.
venv_stamp() { sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1; }

venv_is_current() {
  [[ -x $VENV/bin/python ]] && python_is_recent "$VENV/bin/python" \
    && [[ $(cat "$VENV/.tinykube-stamp" 2>/dev/null) == "$(venv_stamp)" ]] \
    && (cd / && "$VENV/bin/python" -c 'import tinykube, cri' 2>/dev/null) \
    && [[ $(cd / && "$VENV/bin/python" -c 'import tinykube, os; print(os.path.dirname(os.path.dirname(tinykube.__file__)))') == "$REPO" ]]
}

create_venv() {
  if venv_is_current; then
    log "Python venv: $VENV is current"
    return
  fi
  if [[ ! -x $VENV/bin/python ]] || ! python_is_recent "$VENV/bin/python"; then
    local python
    python=$(find_python)
    log "Python venv: creating $VENV with $python ($("$python" --version))"
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
  fi
  log "Python venv: pip install -e '.[dev]' (log: $LOG_DIR/pip.log)"
  install -d -m 0750 "$LOG_DIR"
  if ! "$VENV/bin/python" -m pip install -e "${REPO}[dev]" >"$LOG_DIR/pip.log" 2>&1; then
    tail -n 30 "$LOG_DIR/pip.log" >&2
    die "pip install failed"
  fi
  venv_stamp >"$VENV/.tinykube-stamp"
}

main() {
  require_root
  local started=$SECONDS
  install_packages
  prepare_network
  prepare_podman
  create_venv
  log "setup done in $((SECONDS - started)) s"
}

main "$@"
