#!/usr/bin/env bash
# `make k8s-down`: stop what `make k8s-up` started (by the pids it recorded) and delete its state.
set -euo pipefail
: "${K8S_STATE:?}"
if [ -f "$K8S_STATE/pids" ]; then
  # Reverse order: controller manager, API server, then etcd.
  for pid in $(tac "$K8S_STATE/pids"); do
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
fi
rm -rf "$K8S_STATE"
echo "control plane down"
