#!/usr/bin/env bash
# Builds the MinIO server from the Go module proxy into a cache folder outside the repository, at
# the version go.mod in this folder requires: the S3-compatible object store the test tiers stream
# backups to. Reuses the binary when it is already there.
# scripts/env/s3-store.ts looks for it at the same place: $BLOODRAVEN_MINIO_BIN, else
# ~/.cache/bloodraven/minio-<version>/minio.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/go-tool.sh"
go_tool_prepare minio github.com/minio/minio BLOODRAVEN_MINIO_BIN
# What MinIO's own release build (buildscripts/gen-ldflags.go) stamps in, taken from the
# pseudo-version (v0.0.0-YYYYMMDDhhmmss-commit): MinIO publishes no tagged modules, and without a
# stamp it reports DEVELOPMENT.GOGET, which its version and update logic cannot parse as a date.
stamp="${version#v0.0.0-}"; commit="${stamp#*-}"; stamp="${stamp%%-*}"
date_rfc3339="${stamp:0:4}-${stamp:4:2}-${stamp:6:2}T${stamp:8:2}:${stamp:10:2}:${stamp:12:2}Z"
pkg=github.com/minio/minio/cmd
ldflags="-s -w -X ${pkg}.Version=${date_rfc3339} -X ${pkg}.CopyrightYear=${stamp:0:4}"
ldflags+=" -X ${pkg}.ReleaseTag=RELEASE.${date_rfc3339//:/-} -X ${pkg}.CommitID=${commit} -X ${pkg}.ShortCommitID=${commit}"
go_tool_build minio github.com/minio/minio "$ldflags"
"$out/minio" --version | head -1
