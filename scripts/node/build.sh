#!/usr/bin/env bash
# Builds the test node's container runtime and cluster DNS from the Go module proxy into cache
# folders outside the repository: containerd 2 (with its runc shim and ctr), runc, and CoreDNS.
# Debian's containerd 1.6 is not used: it lacks a CRI call that kubelet 1.35 makes, and Kubernetes
# 1.35 is the last release that supports containerd 1.x. Reuses the binaries when they are there.
# scripts/env/node.ts looks for them at the same places (see node-binaries.ts).
set -euo pipefail
containerd_version="v2.2.9"
runc_version="v1.4.4"
coredns_version="v1.14.7"
cache="${BLOODRAVEN_CACHE:-${HOME}/.cache/bloodraven}"

export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "error: go (>= 1.26) is not installed; the node's runtime is built with it from the Go module proxy" >&2; exit 1; }
export GOTOOLCHAIN=local

install_into() { # label folder env... -- go install arguments...
  local label="$1" folder="$2"; shift 2
  local envs=(); while [[ "$1" != "--" ]]; do envs+=("$1"); shift; done; shift
  local t0; t0=$(date +%s)
  echo "node: building $label ..."
  mkdir -p "$folder.tmp"
  env "${envs[@]}" GOBIN="$folder.tmp" go install -trimpath -ldflags "-s -w" "$@"
  rm -rf "$folder"; mv "$folder.tmp" "$folder"
  echo "node: built $label in $(( $(date +%s) - t0 ))s"
}

containerd_dir="$cache/containerd-$containerd_version"
if [[ -x "$containerd_dir/containerd" ]]; then echo "node: cached containerd in $containerd_dir"; else
  # Pure Go: the snapshotters that need cgo or kernel modules this VM lacks are left out.
  install_into "containerd $containerd_version" "$containerd_dir" CGO_ENABLED=0 -- -tags "no_btrfs no_devmapper no_zfs" \
    "github.com/containerd/containerd/v2/cmd/containerd@$containerd_version" \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$containerd_version" \
    "github.com/containerd/containerd/v2/cmd/ctr@$containerd_version"
fi
runc_dir="$cache/runc-$runc_version"
if [[ -x "$runc_dir/runc" ]]; then echo "node: cached runc in $runc_dir"; else
  # runc needs cgo and libseccomp (Debian's libseccomp-dev, installed by prerequisites.sh).
  install_into "runc $runc_version" "$runc_dir" CGO_ENABLED=1 -- -tags seccomp "github.com/opencontainers/runc@$runc_version"
fi
coredns_dir="$cache/coredns-$coredns_version"
if [[ -x "$coredns_dir/coredns" ]]; then echo "node: cached coredns in $coredns_dir"; else
  install_into "coredns $coredns_version" "$coredns_dir" CGO_ENABLED=0 -- "github.com/coredns/coredns@$coredns_version"
fi
