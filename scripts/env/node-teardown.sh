#!/usr/bin/env bash
# Removes everything a test node (scripts/env/node.ts) leaves on the machine, whether it stopped in
# order or its owner died: the node's servers, every container (all processes in the kubepods
# cgroups), the containerd shims, mounts below the node's folder, the pod bridge, the KUBE-* and
# CNI-* iptables chains, the kubepods cgroups and the host paths kubelet, the controller manager
# and libcni hard-code, and the machine's node lock. Safe to run twice. Usage: node-teardown.sh <node folder> <bridge>
set -uo pipefail
dir="$1"; bridge="$2"
[[ -n "$dir" && "$dir" == /* ]] || { echo "usage: node-teardown.sh <absolute node folder> <bridge>" >&2; exit 2; }

kill_recorded() { # signal: every server with a pid file in the folder whose command line names the folder
  while IFS= read -r -d '' pidfile; do
    pid=$(cat "$pidfile" 2>/dev/null) || continue
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir" && kill "-$1" "$pid" 2>/dev/null
  done < <(find "$dir" -maxdepth 1 -name '*.pid' -print0 2>/dev/null)
}
kill_recorded KILL
# Containers: their processes live in the kubelet's cgroups, not below any server we started.
for round in 1 2 3; do
  pids=$(find /sys/fs/cgroup -path '*kubepods*' -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
  [[ -z "$pids" ]] && break
  kill -9 $pids 2>/dev/null
  sleep 0.2
done
# containerd's shims are re-parented daemons; their command lines name our containerd socket.
for pid in $(pgrep -f "containerd-shim-runc-v2 .*$dir" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
sleep 0.2
# Overlay rootfs, volume and network-namespace mounts, deepest first.
awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
ip link del "$bridge" 2>/dev/null
for ipt in iptables ip6tables; do
  command -v $ipt >/dev/null || continue
  for t in filter nat mangle; do
    for ch in INPUT OUTPUT FORWARD PREROUTING POSTROUTING; do
      $ipt -w -t $t -S $ch 2>/dev/null | grep -E -- '-j (KUBE|CNI)-' | sed 's/^-A/-D/' | while read -r rule; do eval "$ipt -w -t $t $rule"; done
    done
    chains=$($ipt -w -t $t -S 2>/dev/null | awk '/^-N (KUBE|CNI)-/{print $2}')
    for ch in $chains; do $ipt -w -t $t -F "$ch" 2>/dev/null; done
    for ch in $chains; do $ipt -w -t $t -X "$ch" 2>/dev/null; done
  done
done
for top in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
  [[ -d "$top" ]] && find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null
done
find /var/log/containers /var/log/pods -maxdepth 1 -lname "$dir/*" -delete 2>/dev/null
rm -rf /tmp/hostpath_pv /var/lib/kubelet/device-plugins /var/lib/kubelet/plugins_registry /var/lib/kubelet/plugins /var/lib/cni/results/bloodraven-* 2>/dev/null
rmdir /var/lib/kubelet /var/lib/cni/results /var/lib/cni /run/containerd/s /run/containerd 2>/dev/null
rm -rf "$dir"
# The machine's node lock (scripts/env/node.ts), when it names this node.
grep -qF "\"$dir\"" /run/bloodraven-node.lock 2>/dev/null && rm -f /run/bloodraven-node.lock
exit 0
