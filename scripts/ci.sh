#!/usr/bin/env bash
# `make ci`: every check CI runs, timed per stage, in two lanes so that a 2-core machine is kept busy:
#   - the Kubernetes lane, in the background: the Go-built tools (control plane, helm, collector,
#     Jaeger, BuildKit's Dockerfile linter) at the lowest CPU priority, then `chart`, then `k8s-e2e`.
#     On a fresh machine the build is most of the wall time (~20 min on 2 cores); once the tools are
#     in $TOOLS_CACHE it is a no-op, and k8s-e2e spends its time waiting on the HPA controller;
#   - the Node lane, in the foreground: lint, types and unused code at once, then the test suite.
# Then, with the tools built: observe-check, and load-smoke last and alone (it measures latency).
set -euo pipefail
cd "$(dirname "$0")/.."

declare -a summary=()
timed() { # <name> <command...>: run, and add the wall time to the summary (also on failure)
  local name=$1 t0=$SECONDS status=0
  shift
  echo "=== $name"
  "$@" || status=$?
  summary+=("$(printf '%-14s %4d s%s' "$name" $((SECONDS - t0)) "$([ $status -eq 0 ] || echo ' FAILED')")")
  echo "=== $name: $((SECONDS - t0)) s"
  return $status
}
report() {
  echo "=== make ci stages (wall time; the Kubernetes lane ran beside lint and tests)"
  printf '  %s\n' "${summary[@]}"
  echo "  total          $SECONDS s"
}

kube_log=$(mktemp)
kube_times=$(mktemp)
kube_lane() {
  local t0
  for step in tools chart k8s-e2e; do
    t0=$SECONDS
    if [ "$step" = tools ]; then nice -n 19 make tools || return 1; else make "$step" || return 1; fi
    printf 'kube lane: %-9s %4d s\n' "$step" $((SECONDS - t0)) >>"$kube_times"
  done
}
# Own process group, so a failed run stops the whole lane (go, the control plane, vitest) with it.
setsid bash -c "$(declare -f kube_lane); kube_times='$kube_times'; kube_lane" >"$kube_log" 2>&1 &
kube_pid=$!
trap 'status=$?; kill -- -$kube_pid 2>/dev/null || true; rm -f "$kube_log" "$kube_times"; report; exit $status' EXIT

wait_for_kube_lane() {
  local status=0
  wait "$kube_pid" || status=$?
  cat "$kube_log"
  while read -r line; do summary+=("  ${line#kube lane: }"); done <"$kube_times"
  if [ $status -ne 0 ]; then echo "the Kubernetes lane failed (tools, chart or k8s-e2e; its output is above)" >&2; fi
  return $status
}

# Lint, type-check and unused-code analysis read the same sources and share nothing: run them at once.
timed static make -j3 --output-sync=target lint typecheck unused
timed test make test
timed kube-lane wait_for_kube_lane
timed observe-check make observe-check
timed load-smoke make load-smoke
