#!/usr/bin/env bash
# The project's test job, as root on Debian 12 (the README's test command): set the machine up,
# start the services, then lint, type-check, and run the unit and integration tests.
# Every check runs even when an earlier one failed; the exit status is non-zero if any failed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RESULTS=()
FAILURES=0

# stage <title> <command...>: run one check under a header and record its outcome and duration.
stage() {
  local title=$1 started=$SECONDS status=0
  shift
  section "$title"
  "$@" || status=$?
  local outcome=passed
  if ((status != 0)); then
    outcome="FAILED (exit $status)"
    FAILURES=$((FAILURES + 1))
  fi
  RESULTS+=("$(printf '%-34s %5d s  %s' "$title" $((SECONDS - started)) "$outcome")")
}

# run_pytest <budget seconds> <empty-selection: fail|ok> <pytest arguments...>
# The budget keeps the whole job under CI's 30 minutes: past it pytest is interrupted (SIGINT, so it
# still reports what ran). pytest exits 5 when it selected no test; that passes only for a
# selection that may legitimately be empty.
run_pytest() {
  local budget=$1 on_empty=$2 status=0
  shift 2
  timeout -s INT -k 30 "$budget" "$VENV/bin/pytest" -q -rfEs --durations=5 "$@" || status=$?
  if ((status == 124)); then
    warn "pytest $*: interrupted after its budget of $budget s"
  elif ((status == 5)) && [[ $on_empty == ok ]]; then
    log "pytest $*: no test selected, which is fine for this selection"
    return 0
  fi
  return "$status"
}

# conformance_on_shim <backend> [config] [profile]: the CRI conformance suite against `tinykube shim
# --backend <backend>`, served from a private socket for the length of the run, held to its profile
# (conformance/policy.py; the backend's name unless given): a missing capability or a skip outside its
# allow-list fails the stage.
conformance_on_shim() {
  local backend=$1 config=${2:-} profile=${3:-$1} dir status=0 shim
  dir=$(mktemp -d "/tmp/tinykube-ci-$backend.XXXXXX")
  "$VENV/bin/tinykube" shim --backend "$backend" --socket "$dir/$backend.sock" ${config:+--config "$config"} \
    >"$LOG_DIR/ci-$backend-shim.log" 2>&1 &
  shim=$!
  if wait_until 30 "the $backend shim's socket" test -S "$dir/$backend.sock"; then
    timeout -s INT -k 30 300 "$VENV/bin/tinykube" conformance --endpoint "unix://$dir/$backend.sock" \
      --profile "$profile" --parallel 2 || status=$?
  else
    status=1
  fi
  kill -TERM "$shim" 2>/dev/null || true
  wait "$shim" || true
  rm -rf "$dir"
  return "$status"
}

# conformance_on_runc: the runc shim with the example config, its CNI network (bridge tkrunc0,
# 10.211.0.0/16, no NAT) installed where that config looks for it.
conformance_on_runc() {
  install -d -m 0755 /etc/tinykube/runc/net.d
  install -m 0644 "$REPO/shims/runc/examples/10-tinykube-runc.conflist" /etc/tinykube/runc/net.d/
  conformance_on_shim runc "$REPO/shims/runc/examples/runc.yaml"
}

# conformance_on_containerd_shim: our containerd shim over the containerd service (namespace tinykube)
# (not yet a CI stage: run before the reference run, containerd 1.6 then refused one RemoveContainer of
# that run with "container is still running", twice in a row; it joins main() once that is understood)
# with the example config, its CNI network (bridge tkctr0, 10.212.0.0/16, no NAT) installed where that
# config looks for it.
conformance_on_containerd_shim() {
  install -d -m 0755 /etc/tinykube/containerd/net.d
  install -m 0644 "$REPO/shims/containerd/examples/10-tinykube-containerd.conflist" /etc/tinykube/containerd/net.d/
  conformance_on_shim containerd "$REPO/shims/containerd/examples/containerd.yaml" containerd-shim
}

# conformance_on_containerd: the reference run against containerd's own CRI plugin (the service).
conformance_on_containerd() {
  timeout -s INT -k 30 600 "$VENV/bin/tinykube" conformance --endpoint "unix:///run/containerd/containerd.sock" \
    --profile containerd --parallel 2
}

shell_scripts() {
  git ls-files -z -- '*.sh' .ci/run | xargs -0 shellcheck -x -P .ci
}

prepare() {
  section "setup"
  bash "$CI_DIR/setup.sh" || die "setup failed"
  section "services"
  bash "$CI_DIR/services.sh" start || die "the services did not start"
  section "containerd CRI smoke check (pull through the mirror, run a pod)"
  bash "$CI_DIR/services.sh" smoke || die "containerd's CRI cannot pull the seeded images or run a pod"
}

summary() {
  section "summary"
  printf '%s\n' "${RESULTS[@]}"
  printf '%-34s %5d s  %s\n' "total" "$SECONDS" "$( ((FAILURES == 0)) && echo passed || echo "$FAILURES FAILED")"
}

main() {
  require_root
  cd "$REPO"
  export TINYKUBE_REQUIRE_SERVICES=1
  prepare
  stage "ruff check" "$VENV/bin/ruff" check .
  stage "shellcheck" shell_scripts
  stage "mypy --strict (packages)" "$VENV/bin/mypy"
  stage "unit tests" run_pytest 600 fail
  stage "integration tests (root, services)" run_pytest 1200 fail -m integration
  stage "conformance: fake shim" conformance_on_shim fake
  stage "conformance: runc shim" conformance_on_runc
  stage "conformance: containerd's CRI (reference)" conformance_on_containerd
  summary
  ((FAILURES == 0))
}

main "$@"
