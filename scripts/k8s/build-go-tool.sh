#!/usr/bin/env bash
# Build one pinned Go tool into $TOOLS_CACHE/<name>-<version>/<name>, once.
# Usage: build-go-tool.sh kubernetes <version> <cmd>...   (kube-apiserver, kube-controller-manager, kubectl, ...)
#        build-go-tool.sh etcd <version>
#        build-go-tool.sh helm <version>
#        build-go-tool.sh dockerfile-lint <buildkit version>
# Why a script: k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces its staging modules with
# local paths), so we build it from a small module that replaces each staging module with its published
# v0.<minor>.<patch> twin; etcd is a tiny module calling etcdmain.Main. The Go module and build caches
# stay in their default places (outside the work tree); only the binaries land in $TOOLS_CACHE.
set -euo pipefail
: "${TOOLS_CACHE:=$HOME/.cache/telegram-receiver/tools}"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
kind=$1 version=$2
shift 2
src="$TOOLS_CACHE/.src/$kind-$version"
mkdir -p "$src"

install_bin() { # <name> <built file>
  mkdir -p "$TOOLS_CACHE/$1-$version"
  mv -f "$2" "$TOOLS_CACHE/$1-$version/$1"
  echo "built $TOOLS_CACHE/$1-$version/$1"
}

case $kind in
kubernetes)
  minor=${version#v1.}
  staging_version="v0.$minor"
  cd "$src"
  [ -f go.mod ] || go mod init local/kubernetes-tools >/dev/null 2>&1
  kgomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # Every module that k8s.io/kubernetes replaces with ./staging/src/... gets its published twin.
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$kgomod" | sort -u >staging.txt
  [ -s staging.txt ] || { echo "no staging modules found in $kgomod" >&2; exit 1; }
  {
    echo "module local/kubernetes-tools"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')"
    echo
    echo "require k8s.io/kubernetes $version"
    echo
    while read -r m; do echo "replace $m => $m $staging_version"; done <staging.txt
  } >go.mod
  echo "$(wc -l <staging.txt) staging modules replaced with $staging_version"
  pkgs=()
  for c in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  go get "${pkgs[@]/%/@$version}" 2>&1 | tail -3 || go get "k8s.io/kubernetes@$version"
  go mod download
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=${minor%%.*}"
    ld+=" -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  mkdir -p out
  go build -trimpath -ldflags "$ld" -o out/ "${pkgs[@]}"
  for c in "$@"; do install_bin "$c" "out/$c"; done
  ;;
etcd)
  cd "$src"
  cat >main.go <<'GO'
// Command etcd runs the etcd server from its published Go module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  [ -f go.mod ] || go mod init local/etcd >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$version"
  go mod tidy
  go build -trimpath -ldflags "-s -w" -o etcd .
  install_bin etcd etcd
  ;;
helm)
  # Like helm's own Makefile: the Kubernetes version `helm template` and `helm lint` assume is the
  # one of the client-go helm is built with (v1.20 otherwise).
  hgomod=$(go mod download -json "helm.sh/helm/v3@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  kminor=$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$hgomod")
  ld="-s -w -X helm.sh/helm/v3/internal/version.version=$version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ld+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$kminor"
  done
  GOBIN="$src" go install -trimpath -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$version"
  install_bin helm "$src/helm"
  ;;
dockerfile-lint)
  # BuildKit's own Dockerfile checks (what `docker build --check` runs), without a daemon.
  cd "$src"
  cat >main.go <<'GO'
// Command dockerfile-lint runs BuildKit's Dockerfile checks on the files given; exit 1 on any finding.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	digest "github.com/opencontainers/go-digest"
)

// offline answers every base image with an empty config: linting needs no registry.
type offline struct{}

func (offline) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return ref, "", []byte("{}"), nil
}

func main() {
	failed := false
	for _, path := range os.Args[1:] {
		dt, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		sm := llb.NewSourceMap(nil, path, "Dockerfile", dt)
		sm.Definition = &llb.Definition{} // no build graph: lint only
		res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{SourceMap: sm, MetaResolver: offline{}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for _, w := range res.Warnings {
			line := int32(0)
			if w.Location != nil && len(w.Location.Ranges) > 0 {
				line = w.Location.Ranges[0].Start.Line
			}
			fmt.Printf("%s:%d: %s: %s (%s)\n", path, line, w.RuleName, w.Detail, w.URL)
			failed = true
		}
		if res.Error != nil {
			fmt.Printf("%s: %s\n", path, res.Error.Message)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
GO
  [ -f go.mod ] || go mod init local/dockerfile-lint >/dev/null 2>&1
  go get "github.com/moby/buildkit@$version"
  go mod tidy
  go build -trimpath -ldflags "-s -w" -o dockerfile-lint .
  install_bin dockerfile-lint dockerfile-lint
  ;;
*)
  echo "unknown tool kind: $kind" >&2
  exit 2
  ;;
esac
