#!/usr/bin/env bash
# Watches the process that started a test environment. When that process is gone (normal exit,
# Ctrl-C, a crashed test worker), kills every server recorded in the environment's folder and
# deletes the folder, so no mariadbd, etcd or kube-apiserver outlives its owner.
# Usage: guardian.sh <owner-pid> <env-dir>
owner="$1"; dir="$2"
trap '' INT HUP
while kill -0 "$owner" 2>/dev/null && [[ -d "$dir" ]]; do sleep 0.5; done
[[ -d "$dir" ]] || exit 0
# Each server writes <name>.pid somewhere below the folder; only kill a pid whose command line
# still mentions the folder, so a recycled pid is never hit.
while IFS= read -r -d '' pidfile; do
  pid=$(cat "$pidfile" 2>/dev/null) || continue
  [[ "$pid" =~ ^[0-9]+$ ]] || continue
  if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir"; then
    kill -CONT "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null
  fi
done < <(find "$dir" -name '*.pid' -print0 2>/dev/null)
sleep 0.2
# Kernel objects (network namespaces, bridges) outlive their processes: the environment leaves
# the commands that remove them here.
[[ -f "$dir/cleanup.sh" ]] && bash "$dir/cleanup.sh" >/dev/null 2>&1
rm -rf "$dir"
