# Shared helpers for the .ci scripts (sourced, not run).
# shellcheck shell=bash

# shellcheck disable=SC2034  # the paths are used by the scripts that source this file
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CI_DIR="$REPO/.ci"
CONFIG_DIR="$CI_DIR/config"
VENV="$REPO/.venv"
LOG_DIR=/var/log/tinykube
PID_DIR=/run/tinykube-services

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; exit 1; }

section() {
  printf '\n==================== %s ====================\n' "$*"
}

require_root() {
  [[ $(id -u) == 0 ]] || die "$(basename "$0") must run as root (it installs packages and starts daemons)"
}

# wait_until <seconds> <description> <command...>: poll the command until it succeeds, bounded.
wait_until() {
  local seconds=$1 what=$2
  local deadline=$((SECONDS + seconds))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      warn "timed out after $seconds s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# install_file <source> <destination> [mode]: copy only when the content differs; say whether it changed.
install_file() {
  local source=$1 destination=$2 mode=${3:-0644}
  if cmp -s "$source" "$destination"; then
    return 1
  fi
  install -D -m "$mode" "$source" "$destination"
  log "wrote $destination"
}
