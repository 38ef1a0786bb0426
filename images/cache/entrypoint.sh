#!/bin/sh
# The test cluster's stand-in for Dragonfly: Debian's redis-server, which speaks the replication
# protocol Dragonfly does, started from the flags the operator gives a Dragonfly container
# (--name=value, gflags style) turned into redis-server's (--name value). Nothing is saved on its
# own (no save points, no append-only file): a cache server that restarts comes back empty, unless
# a snapshot was written by SAVE into --dir under --dbfilename, which it loads when it starts.
set -eu
set -- "$@" --save= --appendonly=no --protected-mode=no
out=""
for arg in "$@"; do
  case "$arg" in
    # Dragonfly's own: redis-server has no admin port and one thread for commands.
    --admin_port=* | --proactor_threads=* | --snapshot_cron=*) echo "cache entrypoint: ${arg%%=*} is Dragonfly's; redis-server goes without it" >&2; continue ;;
    # Dragonfly names the snapshot file without its format's extension.
    --dbfilename=*) name="--dbfilename"; value="${arg#*=}.rdb" ;;
    --*=*) name="${arg%%=*}"; value="${arg#*=}" ;;
    --*) name="$arg"; value="yes" ;;
    *) echo "cache entrypoint: not a --flag: $arg" >&2; exit 2 ;;
  esac
  # Quoted for the eval below: a value may be empty (--save=) or hold spaces.
  out="$out $name '$(printf '%s' "$value" | sed "s/'/'\\\\''/g")'"
done
eval "exec /usr/bin/redis-server $out"
