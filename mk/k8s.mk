# The Helm chart and the real Kubernetes control plane it is proven on (issue 9). Go-built tools are
# pinned (scripts/k8s/versions.env), built once into $(TOOLS_CACHE)/<name>-<version>/ outside the work
# tree, and rebuilt only when missing. Included by the Makefile.
TOOLS_CACHE ?= $(HOME)/.cache/telegram-receiver/tools
include scripts/k8s/versions.env
export TOOLS_CACHE K8S_VERSION ETCD_VERSION HELM_VERSION KEDA_VERSION CERT_MANAGER_VERSION PROMETHEUS_OPERATOR_VERSION BUILDKIT_VERSION

KUBE_APISERVER          := $(TOOLS_CACHE)/kube-apiserver-$(K8S_VERSION)/kube-apiserver
KUBE_CONTROLLER_MANAGER := $(TOOLS_CACHE)/kube-controller-manager-$(K8S_VERSION)/kube-controller-manager
KUBECTL                 := $(TOOLS_CACHE)/kubectl-$(K8S_VERSION)/kubectl
ETCD                    := $(TOOLS_CACHE)/etcd-$(ETCD_VERSION)/etcd
HELM                    := $(TOOLS_CACHE)/helm-$(HELM_VERSION)/helm
K8S_STATE               ?= $(HOME)/.cache/telegram-receiver/k8s
export KUBE_APISERVER KUBE_CONTROLLER_MANAGER KUBECTL ETCD HELM K8S_STATE
BUILD_GO_TOOL := scripts/k8s/build-go-tool.sh
CHART := charts/telegram-receiver

.PHONY: go-toolchain
go-toolchain:
	@command -v go >/dev/null || { echo "installing Go (Debian golang-go)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null; }

# One `go build` for the three commands: they share most packages (a cold build takes ~15 min).
$(KUBE_APISERVER) $(KUBE_CONTROLLER_MANAGER) $(KUBECTL) &: | go-toolchain
	$(BUILD_GO_TOOL) kubernetes $(K8S_VERSION) kube-apiserver kube-controller-manager kubectl
$(ETCD): | go-toolchain
	$(BUILD_GO_TOOL) etcd $(ETCD_VERSION)
$(HELM): | go-toolchain
	$(BUILD_GO_TOOL) helm $(HELM_VERSION)

.PHONY: k8s-tools
k8s-tools: $(KUBE_APISERVER) $(KUBE_CONTROLLER_MANAGER) $(KUBECTL) $(ETCD) $(HELM) ## build kube-apiserver, controller-manager, kubectl, etcd, helm once
	@command -v openssl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; }

.PHONY: chart-docs
chart-docs: $(DEPS_STAMP) ## regenerate the chart's values.schema.json and README values table from values.yaml
	node scripts/chart-values.ts

.PHONY: k6-bundle
k6-bundle: $(DEPS_STAMP) ## bundle the k6 TypeScript entry points into the chart (charts/.../files/k6)
	node scripts/k6-bundle.ts

.PHONY: chart
chart: $(DEPS_STAMP) $(HELM) docker-lint ## helm lint --strict, helm template of every ci/*-values.yaml, schema and drift checks, template tests, Dockerfile lint
	node scripts/chart-values.ts --check
	node scripts/k6-bundle.ts --check
	npx tsc -p k6/tsconfig.json --noEmit
	$(HELM) lint --strict $(CHART)
	@for f in $(CHART)/ci/*-values.yaml; do \
	  echo "helm lint --strict -f $$f"; $(HELM) lint --strict --quiet $(CHART) -f $$f; \
	  echo "helm template -f $$f"; $(HELM) template ci $(CHART) -f $$f >/dev/null; \
	done
	npx vitest run --project chart

.PHONY: k8s-up
k8s-up: k8s-tools ## start etcd + kube-apiserver + kube-controller-manager on 127.0.0.1 (state in $(K8S_STATE))
	scripts/k8s/up.sh

.PHONY: k8s-down
k8s-down: ## stop the local control plane and delete its state
	scripts/k8s/down.sh

.PHONY: k8s-e2e
k8s-e2e: $(DEPS_STAMP) k8s-tools ## helm install/upgrade/test/uninstall and HPA scaling on a real API server (starts and stops it)
	scripts/k8s/up.sh
	status=0; npx vitest run --project k8s || status=$$?; scripts/k8s/down.sh; exit $$status

.PHONY: load-smoke
load-smoke: $(DEPS_STAMP) ## smoke + average load profiles (k6/profiles.json thresholds) against `make dev`'s stack
	node bench/load-smoke.ts

BUILDKIT_LINT := $(TOOLS_CACHE)/dockerfile-lint-$(BUILDKIT_VERSION)/dockerfile-lint
$(BUILDKIT_LINT): | go-toolchain
	$(BUILD_GO_TOOL) dockerfile-lint $(BUILDKIT_VERSION)

.PHONY: docker-lint-tool
docker-lint-tool: $(BUILDKIT_LINT)

.PHONY: docker-lint
docker-lint: $(BUILDKIT_LINT) ## lint the Dockerfile with BuildKit's checks (no Docker engine needed)
	$(BUILDKIT_LINT) Dockerfile
