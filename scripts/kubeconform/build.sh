#!/usr/bin/env bash
# Builds the kubeconform CLI from the Go module proxy into a cache folder outside the repository,
# at the version go.mod in this folder requires. Reuses the binary when it is already there.
# scripts/env/kubeconform.ts looks for it at the same place: $BLOODRAVEN_KUBECONFORM_BIN, else
# ~/.cache/bloodraven/kubeconform-<version>/kubeconform.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(sed -nE 's/^(require[[:space:]]+)?[[:space:]]*github\.com\/yannh\/kubeconform[[:space:]]+(v[^[:space:]]+).*$/\2/p' "$here/go.mod" | head -1)"
[[ -n "$version" ]] || { echo "error: $here/go.mod requires no github.com/yannh/kubeconform version" >&2; exit 1; }
out="${BLOODRAVEN_KUBECONFORM_BIN:-${BLOODRAVEN_CACHE:-${HOME}/.cache/bloodraven}/kubeconform-${version}}"
mkdir -p "$out"

if [[ -x "$out/kubeconform" ]]; then
  echo "kubeconform: cached binary $out/kubeconform"
  exit 0
fi
export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "error: go (>= 1.26) is not installed; kubeconform is built with it from the Go module proxy" >&2; exit 1; }

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
cd "$here"
start=$(date +%s)
echo "kubeconform: building ${version} ..."
go build -trimpath -ldflags "-s -w -X main.version=${version}" -o "$out/kubeconform.tmp" github.com/yannh/kubeconform/cmd/kubeconform
mv "$out/kubeconform.tmp" "$out/kubeconform"
echo "kubeconform: built $out/kubeconform in $(( $(date +%s) - start ))s"
"$out/kubeconform" -v
