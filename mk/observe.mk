# The local observability stack's Go-built tools (`make observe`): the OpenTelemetry Collector
# (built with ocb) and Jaeger v1. Each is pinned, built once into $(TOOLS_CACHE)/<name>-<version>/
# outside the work tree, and rebuilt only when missing. Included by the Makefile.
TOOLS_CACHE ?= $(HOME)/.cache/telegram-receiver/tools

OCB_VERSION     := 0.165.0
OTELCOL_VERSION := 0.165.1
JAEGER_VERSION  := 1.76.0

# The collector's build is keyed by its version and its builder config's content, not the config's
# mtime: a fresh clone (new mtimes) reuses the cached binary; a changed config builds a new one.
OTELCOL_CONFIG_KEY := $(shell sha256sum otel/builder-config.yaml | cut -c1-12)

OCB     := $(TOOLS_CACHE)/ocb-$(OCB_VERSION)/builder
OTELCOL := $(TOOLS_CACHE)/otelcol-$(OTELCOL_VERSION)-$(OTELCOL_CONFIG_KEY)/otelcol
JAEGER  := $(TOOLS_CACHE)/jaeger-$(JAEGER_VERSION)/jaeger-all-in-one
PROMETHEUS ?= $(shell command -v prometheus 2>/dev/null || echo /usr/bin/prometheus)

$(OCB):
	@command -v go >/dev/null || { echo "Go is needed to build the collector (apt-get install golang-go or https://go.dev/dl)"; exit 1; }
	GOBIN=$(dir $@) go install go.opentelemetry.io/collector/cmd/builder@v$(OCB_VERSION)

# The trap (see issue 7): ocb's own `go mod tidy` follows the tests of a contrib module into a
# module the proxy refuses, and fails. So: generate the sources and go.mod (ocb's tidy may fail
# there), tidy ourselves with -e, then compile without generating or tidying again.
$(OTELCOL): | otel/builder-config.yaml $(OCB)
	@rm -rf $(dir $@)src && mkdir -p $(dir $@)src
	sed 's#^  output_path: .*#  output_path: $(dir $@)src#' otel/builder-config.yaml > $(dir $@)builder-config.yaml
	$(OCB) --config $(dir $@)builder-config.yaml --skip-compilation || test -f $(dir $@)src/go.mod
	cd $(dir $@)src && go mod tidy -e
	$(OCB) --config $(dir $@)builder-config.yaml --skip-generate --skip-get-modules
	mv $(dir $@)src/otelcol $@

# Jaeger's go.mod has replace directives, so `go install …@version` refuses it: build from the
# downloaded module instead. Its web UI is not in the module; the query API is what we use.
$(JAEGER):
	@mkdir -p $(dir $@)
	cd $$(go mod download -json github.com/jaegertracing/jaeger@v$(JAEGER_VERSION) | sed -n 's/.*"Dir": "\(.*\)",/\1/p') \
	  && go build -o $@ ./cmd/all-in-one

$(PROMETHEUS):
	@command -v prometheus >/dev/null || { sudo -n true 2>/dev/null && SUDO=sudo || SUDO=; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
	  || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }; }

.PHONY: observe-tools
observe-tools: $(OTELCOL) $(JAEGER) $(PROMETHEUS) ## build/install the collector, Jaeger and Prometheus once

OBSERVE_TOOLS_ENV = OTELCOL=$(OTELCOL) JAEGER=$(JAEGER) PROMETHEUS=$(PROMETHEUS)

.PHONY: observe
observe: $(DEPS_STAMP) observe-tools ## local stack with tracing and metrics: collector, Jaeger, Prometheus, make dev
	$(OBSERVE_TOOLS_ENV) node scripts/observe.ts

.PHONY: observe-check
observe-check: $(DEPS_STAMP) observe-tools ## otelcol validate; demo traces in Jaeger; every dashboard query has data
	$(OBSERVE_TOOLS_ENV) node scripts/observe-check.ts

.PHONY: dashboards
dashboards: $(DEPS_STAMP) ## regenerate otel/grafana/dashboards/*.json from otel/dashboards/*.ts
	node scripts/dashboards.ts
