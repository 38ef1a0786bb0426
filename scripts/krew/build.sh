#!/usr/bin/env bash
# Builds krew (as kubectl-krew, the name kubectl finds it by) and krew's manifest validator
# (validate-krew-manifest, what the krew-index repository runs on every plugin manifest) from the Go
# module proxy into a cache folder outside the repository, at the version go.mod in this folder
# requires. Reuses the binaries when they are already there.
# test/e2e/plugin-release.test.ts looks for them at the same place: $BLOODRAVEN_KREW_BIN, else
# ~/.cache/bloodraven/kubectl-krew-<version>/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/go-tool.sh"
go_tool_prepare kubectl-krew sigs.k8s.io/krew BLOODRAVEN_KREW_BIN
# What krew's own release build stamps in: the tag, shown by `kubectl krew version`.
ldflags="-s -w -X sigs.k8s.io/krew/internal/version.gitTag=${version}"
# The validator first: kubectl-krew present means both are.
go_tool_build validate-krew-manifest sigs.k8s.io/krew/cmd/validate-krew-manifest "$ldflags"
go_tool_build kubectl-krew sigs.k8s.io/krew/cmd/krew "$ldflags"
root="$(mktemp -d)"
KREW_ROOT="$root" "$out/kubectl-krew" version 2>/dev/null | sed -n 's/^GitTag[[:space:]]*/krew /p'
rm -rf "$root"
