#!/usr/bin/env bash
# While Slurm's Prolog runs for a job (PrologFlags=Alloc), Slurm calls its
# nodes allocated; `batchai cluster show` counts them as preparing, as Batch
# AI counted nodes it was still setting up. Runs on a second, 2-node cluster
# with its own directory and ports whose Prolog waits on a gate file the
# test removes. Exit 77 (skip) without root or Slurm.
set -euo pipefail
localcluster=$1
batchai=$2
[ "$(id -u)" -eq 0 ] || { echo "skip: not root"; exit 77; }
command -v slurmctld >/dev/null || { echo "skip: slurmctld not installed"; exit 77; }

dir=$(mktemp -d /var/tmp/batchai-prolog-states.XXXXXX)
chmod 0755 "$dir"
export BATCHAI_LOCALCLUSTER_PORT=27817 BATCHAI_LOCALCLUSTER_ACCOUNTING=0
lc() { "$localcluster" "$@" --dir "$dir"; }
fail() { echo "FAIL: $*"; exit 1; }
trap 'lc down >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

gate=$dir/gate
cat >"$dir/prolog.sh" <<PROLOG
#!/bin/sh
# Holds each job's setup until the test removes the gate (at most 60 s).
i=0
while [ -e '$gate' ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
exit 0
PROLOG
chmod 0755 "$dir/prolog.sh"
lc up --nodes 2 --prolog "$dir/prolog.sh" >/dev/null || fail "up with a Prolog"
grep -qx "PrologFlags=Alloc" "$dir/etc/slurm.conf" || fail "slurm.conf has no PrologFlags=Alloc"

export SLURM_CONF=$dir/etc/slurm.conf BATCHAI_CONF=$dir/etc/site.json BATCHAI_STATE_DIR=$dir/state
"$batchai" workspace create -g rg -n ws >/dev/null
"$batchai" cluster create -g rg -w ws -n c -s STANDARD_D2_v2 -t 2 >/dev/null
count() { "$batchai" cluster show -g rg -w ws -n c --query "nodeStateCounts.${1}NodeCount" -o tsv; }
wait_for() {  # what, expected value, seconds
  local got
  for _ in $(seq 1 $(($3 * 5))); do
    got=$(count "$1")
    [ "$got" = "$2" ] && return 0
    sleep 0.2
  done
  fail "$1 nodes: expected $2, got $got (sinfo: $(sinfo -h -N -o '%N=%T' | tr '\n' ' '))"
}

touch "$gate"
job=$(sbatch --parsable -N 2 -o /dev/null --wrap 'sleep 2')
wait_for preparing 2 20
reason=$(squeue -h -j "$job" -o %r)
[ "$reason" = Prolog ] || fail "the job waits on '$reason', not on its Prolog"
[ "$(count running)" = 0 ] || fail "nodes in Prolog also counted running"
rm -f "$gate"
wait_for running 2 20
[ "$(count preparing)" = 0 ] || fail "nodes still preparing after the Prolog ended"
wait_for idle 2 30
echo "PASS: nodes in Prolog count as preparing, then running, then idle"
