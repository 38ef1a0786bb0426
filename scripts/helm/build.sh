#!/usr/bin/env bash
# Builds the helm CLI from the Go module proxy into a cache folder outside the repository, at the
# version go.mod in this folder requires. Reuses the binary when it is already there.
# test/e2e/chart.test.ts looks for it at the same place: $BLOODRAVEN_HELM_BIN, else
# ~/.cache/bloodraven/helm-<version>/helm.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
helm_version="$(sed -nE 's/^(require[[:space:]]+)?[[:space:]]*helm\.sh\/helm\/v3[[:space:]]+(v[^[:space:]]+).*$/\2/p' "$here/go.mod" | head -1)"
[[ -n "$helm_version" ]] || { echo "error: $here/go.mod requires no helm.sh/helm/v3 version" >&2; exit 1; }
out="${BLOODRAVEN_HELM_BIN:-${BLOODRAVEN_CACHE:-${HOME}/.cache/bloodraven}/helm-${helm_version}}"
mkdir -p "$out"

if [[ -x "$out/helm" ]]; then
  echo "helm: cached binary $out/helm"
  exit 0
fi
export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "error: go (>= 1.26) is not installed; helm is built with it from the Go module proxy" >&2; exit 1; }

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
cd "$here"
start=$(date +%s)
# What helm's own Makefile stamps in: its version, and the Kubernetes version its client-go
# modules implement (client-go v0.X.Y is Kubernetes 1.X), which `helm lint` and `helm template`
# report as .Capabilities.KubeVersion.
k8s_minor="$(go list -m -f '{{.Version}}' k8s.io/client-go)"
k8s_minor="${k8s_minor#v0.}"; k8s_minor="${k8s_minor%%.*}"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${helm_version} -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X ${pkg}.k8sVersionMajor=1 -X ${pkg}.k8sVersionMinor=${k8s_minor}"
done
echo "helm: building ${helm_version} (Kubernetes 1.${k8s_minor} libraries) ..."
go build -trimpath -ldflags "$ldflags" -o "$out/helm.tmp" helm.sh/helm/v3/cmd/helm
mv "$out/helm.tmp" "$out/helm"
echo "helm: built $out/helm in $(( $(date +%s) - start ))s"
"$out/helm" version --short
