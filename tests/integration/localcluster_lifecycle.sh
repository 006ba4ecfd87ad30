#!/usr/bin/env bash
# localcluster's contract, on a second cluster with its own directory and
# ports (so it runs beside the one the other tests use): `up` twice is
# idempotent (same daemons, same pids), the cluster runs jobs on every node,
# and `down` leaves none of its daemons behind.
# Exit 77 (skip) without root or Slurm.
set -euo pipefail
localcluster=$1
[ "$(id -u)" -eq 0 ] || { echo "skip: not root"; exit 77; }
command -v slurmctld >/dev/null || { echo "skip: slurmctld not installed"; exit 77; }

dir=$(mktemp -d /var/tmp/batchai-lifecycle.XXXXXX)
export BATCHAI_LOCALCLUSTER_PORT=26817
lc() { "$localcluster" "$@" --dir "$dir"; }
fail() { echo "FAIL: $*"; lc down >/dev/null 2>&1 || true; exit 1; }
trap 'lc down >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

pids() { for f in "$dir"/munge/munged.pid "$dir"/run/slurmctld.pid "$dir"/run/slurmd-node*.pid \
                  "$dir"/run/mariadbd.pid "$dir"/run/slurmdbd.pid; do
           [ -s "$f" ] && tr -dc 0-9 <"$f"; echo; done | grep . | sort; }

lc up --nodes 2 || fail "first up"
first=$(pids)
# With accounting (MariaDB and slurmdbd installed) two more.
want=4
if [ -s "$dir/run/slurmdbd.pid" ]; then
  want=6
  SLURM_CONF=$dir/etc/slurm.conf sacct -n -X -o JobID >/dev/null || fail "sacct does not answer"
fi
[ "$(wc -l <<<"$first")" -eq $want ] || fail "expected $want daemons (munged, slurmctld, 2 slurmd, with accounting mariadbd and slurmdbd), got: $first"
lc up --nodes 2 || fail "second up"
[ "$(pids)" = "$first" ] || fail "second up changed the daemons: $first -> $(pids)"
if lc up --nodes 3 2>/dev/null; then fail "up with another node count while running should be refused"; fi

export SLURM_CONF=$dir/etc/slurm.conf
out=$(srun -N 2 --ntasks-per-node=1 -l bash -c 'echo $SLURMD_NODENAME' | sort)
[ "$out" = $'0: node1\n1: node2' ] || fail "srun on both nodes gave: $out"

lc down || fail "down"
for pid in $first; do
  [ -d "/proc/$pid" ] && fail "pid $pid ($(cat /proc/$pid/comm)) still running after down"
done
lc status >/dev/null 2>&1 && fail "status says running after down"
echo "PASS: idempotent up, jobs on every node, nothing left after down"
