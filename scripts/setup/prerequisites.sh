#!/usr/bin/env bash
# Installs what the test tiers need and is not in the repository: Debian's packages (MariaDB, and
# what the test node needs: CNI plugins, conntrack, busybox and catatonit for images, libseccomp for
# runc), npm packages, the Go-built cluster (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy), the node's runtime (containerd, runc, CoreDNS), the Go-built
# helm and kubeconform CLIs, the Go-built MinIO server (the S3 store backups go to) and, if the
# machine has none, kubectl. Reuses whatever is already there.
# Used by .ci/run and the playground.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

timed() { # label command...
  local label="$1"; shift
  local t0; t0=$(date +%s)
  echo "--- setup: $label"
  "$@"
  echo "--- setup: $label done in $(( $(date +%s) - t0 ))s"
}

need_root_or_say() { # command-for-humans
  if [[ "$(id -u)" != "0" ]]; then
    echo "error: missing prerequisites; run as root: $1" >&2
    exit 1
  fi
}

apt_packages() {
  local missing=()
  [[ -x /usr/sbin/mariadbd ]] || missing+=(mariadb-server-core)
  [[ -x /usr/bin/mariadb ]] || missing+=(mariadb-client-core)
  [[ -x /usr/bin/mariadb-backup ]] || missing+=(mariadb-backup)
  # mariadb-binlog replays archived binary logs (point-in-time recovery).
  [[ -x /usr/bin/mariadb-binlog ]] || missing+=(mariadb-client)
  # The session cache's tests run real redis-server processes (the replication protocol Dragonfly speaks).
  [[ -x /usr/bin/redis-server ]] || missing+=(redis-server)
  # The fault-injection tier cuts links between network namespaces with iptables.
  [[ -x /usr/sbin/iptables ]] || missing+=(iptables)
  # promtool evaluates the chart's alert rules in the e2e tier, and a real Prometheus server scrapes
  # the operator there (test/e2e/prometheus.test.ts); Debian's package brings both.
  [[ -x /usr/bin/promtool && -x /usr/bin/prometheus ]] || missing+=(prometheus)
  # The cluster tier's node: pod networking, kube-proxy, image contents, runc's seccomp support.
  [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
  [[ -x /usr/sbin/conntrack ]] || missing+=(conntrack)
  [[ -x /bin/busybox ]] || missing+=(busybox-static)
  [[ -x /usr/bin/catatonit ]] || missing+=(catatonit)
  [[ -f /usr/include/seccomp.h ]] || missing+=(libseccomp-dev)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  command -v gcc >/dev/null || missing+=(gcc)
  if (( ${#missing[@]} == 0 )); then echo "apt packages present"; return; fi
  local cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
  need_root_or_say "$cmd"
  sh -c "$cmd" >/dev/null
  echo "installed ${missing[*]}"
}

node_check() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if (( major < 20 )); then echo "error: Node.js >= 20 is required (found $(node --version))" >&2; exit 1; fi
  echo "node $(node --version), npm $(npm --version 2>/dev/null)"
}

npm_packages() {
  # npm ci wipes node_modules; skip it when they were installed from this very lock file.
  local stamp=node_modules/.bloodraven-lock.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "node_modules installed from this package-lock.json"
  else
    npm ci --no-audit --no-fund
    echo "$want" > "$stamp"
  fi
}

kubectl_check() {
  if command -v kubectl >/dev/null; then echo "kubectl: $(kubectl version --client 2>/dev/null | head -1)"; return; fi
  echo "kubectl not found: building it from the same Kubernetes release"
  BLOODRAVEN_BUILD_KUBECTL=1 bash scripts/control-plane/build.sh
}

timed "apt packages" apt_packages
timed "node" node_check
timed "npm packages" npm_packages
timed "cluster binaries" bash scripts/control-plane/build.sh
timed "node runtime" bash scripts/node/build.sh
timed "helm" bash scripts/helm/build.sh
timed "kubeconform" bash scripts/kubeconform/build.sh
timed "krew" bash scripts/krew/build.sh
timed "s3 store" bash scripts/s3-store/build.sh
timed "kubectl" kubectl_check
