#!/usr/bin/env bash
# Builds the kubeconform CLI from the Go module proxy into a cache folder outside the repository,
# at the version go.mod in this folder requires. Reuses the binary when it is already there.
# scripts/env/kubeconform.ts looks for it at the same place: $BLOODRAVEN_KUBECONFORM_BIN, else
# ~/.cache/bloodraven/kubeconform-<version>/kubeconform.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/go-tool.sh"
go_tool_prepare kubeconform github.com/yannh/kubeconform BLOODRAVEN_KUBECONFORM_BIN
go_tool_build kubeconform github.com/yannh/kubeconform/cmd/kubeconform "-s -w -X main.version=${version}"
"$out/kubeconform" -v
