# Sourced by the scripts that build Go programs from the Go module proxy (the cluster binaries,
# the node's runtime, and the tools the tests use: helm, kubeconform, krew). A tool is built at the
# version the go.mod beside its script requires, into a cache folder outside the repository, and
# reused when it is already there.

# go_env WHAT: the Go toolchain on PATH (failing with a message naming WHAT when missing), the
# local toolchain only, static binaries.
go_env() {
  export PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || { echo "error: go (>= 1.26) is not installed; $1 is built with it from the Go module proxy" >&2; exit 1; }
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
}

# go_tool_prepare NAME MODULE OVERRIDE_VAR: sets `version` (MODULE's version in ./go.mod of the
# calling script's folder, `here`) and `out` ($OVERRIDE_VAR, else the cache's NAME-<version>);
# exits 0 when out/NAME is already built; otherwise checks for go and sets its environment.
go_tool_prepare() {
  local name="$1" module="$2" override="$3"
  version="$(sed -nE "s|^(require[[:space:]]+)?[[:space:]]*${module//./\\.}[[:space:]]+(v[^[:space:]]+).*$|\\2|p" "$here/go.mod" | head -1)"
  [[ -n "$version" ]] || { echo "error: $here/go.mod requires no $module version" >&2; exit 1; }
  out="${!override:-${BLOODRAVEN_CACHE:-${HOME}/.cache/bloodraven}/${name}-${version}}"
  mkdir -p "$out"
  if [[ -x "$out/$name" ]]; then
    echo "$name: cached binary $out/$name"
    exit 0
  fi
  go_env "$name"
  cd "$here"
}

# go_tool_build NAME PACKAGE LDFLAGS: builds PACKAGE into out/NAME, atomically.
go_tool_build() {
  local start; start=$(date +%s)
  echo "$1: building ${version} ..."
  go build -trimpath -ldflags "$3" -o "$out/$1.tmp" "$2"
  mv "$out/$1.tmp" "$out/$1"
  echo "$1: built $out/$1 in $(( $(date +%s) - start ))s"
}
