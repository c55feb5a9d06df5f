# telegram-receiver — the Makefile is the index of everything you can run.
# Every target installs what it needs on first use (Node 24 from the npm package `node@24` when the
# system node is older, then `npm ci`), so a fresh clone works with `make dev` or `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

TOOLS      := $(CURDIR)/.tools
NODE24_DIR := $(TOOLS)/node24
NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell [ "$(NODE_MAJOR)" -ge 24 ] 2>/dev/null && echo yes),yes)
NODE_STAMP :=
else
# The system node is older than the project's engines: use a project-local Node 24.
export PATH := $(NODE24_DIR)/node_modules/node/bin:$(PATH)
NODE_STAMP := $(NODE24_DIR)/.installed
endif
DEPS_STAMP := node_modules/.deps-installed

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(NODE24_DIR)/.installed:
	@echo "installing Node 24 into $(NODE24_DIR) (system node is $(NODE_MAJOR).x)"
	@mkdir -p $(NODE24_DIR) && echo '{"private":true}' > $(NODE24_DIR)/package.json
	@cd $(NODE24_DIR) && npm install --no-save --no-package-lock --no-audit --no-fund node@24 >/dev/null
	@$(NODE24_DIR)/node_modules/node/bin/node --version && touch $@

$(DEPS_STAMP): package-lock.json $(NODE_STAMP)
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: node deps
node: $(NODE_STAMP) ## install Node 24 locally if the system node is older
	@node --version
deps: $(DEPS_STAMP) ## install npm dependencies (npm ci)

.PHONY: test
test: $(DEPS_STAMP) ## run the vitest suite (real redis-server on free ports, real HTTP)
	npx vitest run --project '!chart' --project '!k8s'

.PHONY: typecheck
typecheck: $(DEPS_STAMP) ## strict TypeScript check of every workspace (and the k6 scripts against @types/k6)
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p k6/tsconfig.json --noEmit

.PHONY: lint
lint: $(DEPS_STAMP) ## eslint (type-aware) and prettier
	npx eslint .
	npx prettier --check .

.PHONY: format
format: $(DEPS_STAMP) ## rewrite files with prettier
	npx prettier --write .

.PHONY: unused
unused: $(DEPS_STAMP) ## unused files, exports and dependencies (knip), import cycles (dependency-cruiser)
	npx knip
	npm run --silent cycles

.PHONY: ci
ci: $(DEPS_STAMP) ## everything CI checks: lint, types, unused code and cycles, tests, observability, the chart on a real control plane, load smoke (timed per stage)
	scripts/ci.sh

.PHONY: tools
tools: k8s-tools observe-tools docker-lint-tool ## build every Go tool the checks use, once (make ci does this in the background)

.PHONY: build
build: $(DEPS_STAMP) ## production build: one bundle per service (services/<name>/dist/main.js, source maps), as the image runs
	node scripts/build.ts

.PHONY: dev
dev: $(DEPS_STAMP) ## run the whole stack locally (private redis, sandbox, gateway, worker, metrics)
	node scripts/dev.ts

.PHONY: demo
demo: $(DEPS_STAMP) ## post a text and a voice update through a running `make dev` and show the chat
	node scripts/demo.ts

.PHONY: bench
bench: $(DEPS_STAMP) ## benchmarks against the anchors (raw node:http, grammY, the seed's numbers)
	node bench/run.ts

.PHONY: docs
docs: $(DEPS_STAMP) ## regenerate docs/configuration.md from the env schemas
	node scripts/config-doc.ts

include mk/k8s.mk
include mk/observe.mk
