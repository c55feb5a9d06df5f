#!/usr/bin/env bash
# `make k8s-up`: a real Kubernetes control plane on 127.0.0.1 — etcd, kube-apiserver (with the
# aggregation layer) and kube-controller-manager (HPA sync every 5 s) — with no kubelet, scheduler or
# container runtime: Pods stay Pending, which is enough for objects, admission, RBAC, the aggregation
# layer and the Deployment, ReplicaSet and HPA controllers. Follows shared/reference/kubernetes-here.md.
# State (certificates, etcd data, logs, kubeconfigs, pids) lives in $K8S_STATE; `make k8s-down` removes it.
# Prints `export KUBECONFIG=…` at the end.
set -euo pipefail
: "${K8S_STATE:?}" "${KUBE_APISERVER:?}" "${KUBE_CONTROLLER_MANAGER:?}" "${KUBECTL:?}" "${ETCD:?}"
: "${K8S_API_PORT:=6443}" "${K8S_ETCD_PORT:=2379}" "${K8S_ETCD_PEER_PORT:=2380}" "${K8S_KCM_PORT:=10257}"
S=$K8S_STATE
pki=$S/pki
if [ -f "$S/pids" ] && xargs -r kill -0 <"$S/pids" 2>/dev/null; then
  echo "the control plane is already up (state in $S); make k8s-down first" >&2
  exit 1
fi
rm -rf "$S" && mkdir -p "$pki" "$S/etcd" "$S/logs"
: >"$S/pids"

# --- certificates (openssl): cluster CA, front-proxy CA, service-account keys, serving and client certs
ca() { # <name> <CN>
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=$2" \
    -keyout "$pki/$1.key" -out "$pki/$1.crt" 2>/dev/null
}
cert() { # <name> <ca> <subject> [serverSANs]
  openssl req -newkey rsa:2048 -nodes -subj "$3" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
  local ext="$pki/$1.ext"
  if [ -n "${4:-}" ]; then
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$4" >"$ext"
  else
    printf 'extendedKeyUsage=clientAuth\n' >"$ext"
  fi
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.crt" -CAkey "$pki/$2.key" -CAcreateserial \
    -days 365 -extfile "$ext" -out "$pki/$1.crt" 2>/dev/null
}
ca ca kubernetes-ca
ca front-proxy-ca front-proxy-ca
cert apiserver ca "/CN=kube-apiserver" \
  "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert front-proxy-client front-proxy-ca "/CN=front-proxy-client"
cert admin ca "/O=system:masters/CN=kubernetes-admin"
cert controller-manager ca "/CN=system:kube-controller-manager"
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null

kubeconfig() { # <file> <cert name>
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
  - name: local
    cluster: { server: "https://127.0.0.1:$K8S_API_PORT", certificate-authority: "$pki/ca.crt" }
users:
  - name: user
    user: { client-certificate: "$pki/$2.crt", client-key: "$pki/$2.key" }
contexts:
  - name: local
    context: { cluster: local, user: user, namespace: default }
current-context: local
KC
}
kubeconfig "$S/admin.kubeconfig" admin
kubeconfig "$S/controller-manager.kubeconfig" controller-manager

start() { # <name> <command...>
  local name=$1
  shift
  nohup "$@" >"$S/logs/$name.log" 2>&1 &
  echo $! >>"$S/pids"
}
wait_until() { # <what> <seconds> <command...>
  local what=$1 limit=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$what did not come up within ${limit}s; see $S/logs" >&2
      tail -20 "$S"/logs/*.log >&2
      exit 1
    fi
    sleep 0.2
  done
}

start etcd "$ETCD" --name local --data-dir "$S/etcd" \
  --listen-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$K8S_ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$K8S_ETCD_PEER_PORT" \
  --initial-cluster "local=http://127.0.0.1:$K8S_ETCD_PEER_PORT" \
  --listen-metrics-urls "http://127.0.0.1:$((K8S_ETCD_PORT + 2))" --log-level warn
wait_until etcd 30 curl -fsS "http://127.0.0.1:$K8S_ETCD_PORT/health"

# --enable-aggregator-routing=false: the ClusterIP resolver accepts the test-only ExternalName
# Service to localhost (the endpoint resolver rejects it), see kubernetes-here.md.
start kube-apiserver "$KUBE_APISERVER" \
  --etcd-servers "http://127.0.0.1:$K8S_ETCD_PORT" \
  --bind-address 127.0.0.1 --secure-port "$K8S_API_PORT" --advertise-address 127.0.0.1 \
  --endpoint-reconciler-type none \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --service-account-issuer https://kubernetes.default.svc \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range 10.0.0.0/24 \
  --authorization-mode Node,RBAC \
  --requestheader-client-ca-file "$pki/front-proxy-ca.crt" \
  --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User \
  --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$pki/front-proxy-client.crt" --proxy-client-key-file "$pki/front-proxy-client.key" \
  --enable-aggregator-routing=false
export KUBECONFIG=$S/admin.kubeconfig
wait_until kube-apiserver 90 "$KUBECTL" get --raw /readyz

start kube-controller-manager "$KUBE_CONTROLLER_MANAGER" \
  --kubeconfig "$S/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$S/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$S/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$K8S_KCM_PORT" \
  --controllers '*' --use-service-account-credentials=true \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --leader-elect=false \
  --horizontal-pod-autoscaler-sync-period 5s
wait_until "the default ServiceAccount" 60 "$KUBECTL" get serviceaccount default -n default

echo "control plane up in ${SECONDS}s (state in $S)"
echo "export KUBECONFIG=$S/admin.kubeconfig"
