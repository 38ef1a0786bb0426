#!/usr/bin/env bash
# Builds the helm CLI from the Go module proxy into a cache folder outside the repository, at the
# version go.mod in this folder requires. Reuses the binary when it is already there.
# test/e2e/chart.test.ts looks for it at the same place: $BLOODRAVEN_HELM_BIN, else
# ~/.cache/bloodraven/helm-<version>/helm.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/go-tool.sh"
go_tool_prepare helm helm.sh/helm/v3 BLOODRAVEN_HELM_BIN
# What helm's own Makefile stamps in: its version, and the Kubernetes version its client-go
# modules implement (client-go v0.X.Y is Kubernetes 1.X), which `helm lint` and `helm template`
# report as .Capabilities.KubeVersion.
k8s_minor="$(go list -m -f '{{.Version}}' k8s.io/client-go)"
k8s_minor="${k8s_minor#v0.}"; k8s_minor="${k8s_minor%%.*}"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${version} -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X ${pkg}.k8sVersionMajor=1 -X ${pkg}.k8sVersionMinor=${k8s_minor}"
done
go_tool_build helm helm.sh/helm/v3/cmd/helm "$ldflags"
"$out/helm" version --short
