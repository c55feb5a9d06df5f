#!/usr/bin/env bash
# `make ci`: every check CI runs, timed per stage. The Go-built tools (the control plane, helm, the
# collector, Jaeger, BuildKit's Dockerfile linter) build in the background at the lowest CPU priority
# while the Node checks run: on a fresh machine that build is most of the wall time (~20 min on 2
# cores), and the tests leave idle CPU while they wait on processes; once the tools are in
# $TOOLS_CACHE it is a no-op. The checks that need the tools wait for it, then run.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -a summary=()
stage() { # <name> <command...>
  local name=$1 t0=$SECONDS
  shift
  echo "=== $name"
  "$@"
  summary+=("$(printf '%-14s %4d s' "$name" $((SECONDS - t0)))")
  echo "=== $name: $((SECONDS - t0)) s"
}
report() {
  echo "=== make ci stages (wall time)"
  printf '  %s\n' "${summary[@]}"
  echo "  total          $SECONDS s"
}

wait_for_tools() {
  if ! wait "$tools_pid"; then
    echo "building the Go tools failed (make tools):" >&2
    tail -50 "$tools_log" >&2
    return 1
  fi
}

tools_log=$(mktemp)
# Own process group, so a failed run stops the whole build (go and its compilers) with it.
setsid nice -n 19 make tools >"$tools_log" 2>&1 &
tools_pid=$!
trap 'status=$?; kill -- -$tools_pid 2>/dev/null || true; rm -f "$tools_log"; report; exit $status' EXIT

# Lint, type-check and unused-code analysis read the same sources and share nothing: run them at once.
stage static make -j3 --output-sync=target lint typecheck unused
stage test make test
stage tools wait_for_tools
stage chart make chart
stage k8s-e2e make k8s-e2e
stage observe-check make observe-check
stage load-smoke make load-smoke
