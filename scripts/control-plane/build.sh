#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kube-controller-manager from the Go module proxy into a
# cache folder outside the repository. Reuses the binaries when they are already there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
k8s_version="v1.35.4"
etcd_version="v3.6.5"
out="${BLOODRAVEN_K8S_BIN:-${HOME}/.cache/bloodraven/k8s-${k8s_version}}"
mkdir -p "$out"

want_kubectl="${BLOODRAVEN_BUILD_KUBECTL:-0}"
if [[ -x "$out/etcd" && -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" ]] &&
   [[ "$want_kubectl" != "1" || -x "$out/kubectl" ]]; then
  echo "control plane: cached binaries in $out"
  exit 0
fi
export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "error: go (>= 1.25) is not installed; the control plane is built with it from the Go module proxy" >&2; exit 1; }

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
cd "$here"
start=$(date +%s)
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
minor="${k8s_version#v1.}"; minor="${minor%%.*}"
ver_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ver_flags+=" -X ${pkg}.gitVersion=${k8s_version} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
  ver_flags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=${build_date}"
done
build() { # name package ldflags
  local t0; t0=$(date +%s)
  echo "control plane: building $1 ..."
  go build -trimpath -tags selinux,notest -ldflags "-s -w $3" -o "$out/$1.tmp" "$2"
  mv "$out/$1.tmp" "$out/$1"
  echo "control plane: built $1 in $(( $(date +%s) - t0 ))s"
}
[[ -x "$out/etcd" ]] || build etcd go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=${etcd_version}"
[[ -x "$out/kube-apiserver" ]] || build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$ver_flags"
[[ -x "$out/kube-controller-manager" ]] || build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$ver_flags"
if [[ "$want_kubectl" == "1" && ! -x "$out/kubectl" ]]; then
  build kubectl k8s.io/kubernetes/cmd/kubectl "$ver_flags"
fi
echo "control plane: binaries ready in $out after $(( $(date +%s) - start ))s"
