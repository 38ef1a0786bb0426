#!/bin/sh
# Swaps a clone staged by the per-site agent into the datadir. Run it while the server is stopped,
# right before it starts: the MariaDB image's entrypoint does, and an external site's supervisor
# must (systemd: ExecStartPre=; see docs/agent.md). Usage: apply-clone <datadir> [<staging dir>]
#
# The agent writes bloodraven-clone.json into the staging directory last, so a staging directory
# without it is an unfinished copy and is left for the agent to remove. Each step can be repeated
# after a crash: a datadir moved aside but not replaced is finished on the next run.
set -eu
datadir="${1:?usage: apply-clone <datadir> [<staging dir>]}"
datadir="${datadir%/}"
staging="${2:-$datadir.clone}"
old="$datadir.replaced"
if [ -f "$staging/bloodraven-clone.json" ]; then
  echo "apply-clone: swapping the clone in $staging into $datadir"
  rm -rf "$old"
  if [ -e "$datadir" ]; then mv "$datadir" "$old"; fi
  mv "$staging" "$datadir"
fi
if [ -e "$old" ] && [ -f "$datadir/bloodraven-clone.json" ]; then rm -rf "$old"; fi
