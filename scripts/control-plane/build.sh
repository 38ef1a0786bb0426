#!/usr/bin/env bash
# Builds the test cluster's Kubernetes binaries from the Go module proxy into a cache folder outside
# the repository: the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)
# and the node's kubelet and kube-proxy, all from one Kubernetes release. Reuses the binaries when
# they are already there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
k8s_version="v1.35.4"
etcd_version="v3.6.5"
out="${BLOODRAVEN_K8S_BIN:-${BLOODRAVEN_CACHE:-${HOME}/.cache/bloodraven}/k8s-${k8s_version}}"
mkdir -p "$out"

kube_binaries=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
[[ "${BLOODRAVEN_BUILD_KUBECTL:-0}" == "1" ]] && kube_binaries+=(kubectl)
missing=()
[[ -x "$out/etcd" ]] || missing+=(etcd)
for name in "${kube_binaries[@]}"; do [[ -x "$out/$name" ]] || missing+=("$name"); done
if (( ${#missing[@]} == 0 )); then
  echo "control plane: cached binaries in $out"
  exit 0
fi
source "$here/../lib/go-tool.sh"
go_env "the control plane"
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
for name in "${missing[@]}"; do
  if [[ "$name" == etcd ]]; then
    build etcd go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=${etcd_version}"
  else
    build "$name" "k8s.io/kubernetes/cmd/$name" "$ver_flags"
  fi
done
echo "control plane: binaries ready in $out after $(( $(date +%s) - start ))s"
