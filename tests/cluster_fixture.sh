#!/usr/bin/env bash
# ctest fixture for the integration tests: `up` starts the local cluster,
# or notes that one is already running and leaves it alone; `down` stops it
# only if `up` started it. Without root or Slurm it says why and exits 0:
# the tests then skip, each with that reason.
set -u
action=$1 localcluster=$2 dir=$3 marker=$4
case $action in
  up)
    rm -f "$marker"
    if [ "$(id -u)" -ne 0 ]; then echo "cluster fixture: not root, Slurm tests will skip"; exit 0; fi
    if ! command -v slurmctld >/dev/null; then echo "cluster fixture: no slurmctld, Slurm tests will skip"; exit 0; fi
    if "$localcluster" status --dir "$dir" >/dev/null 2>&1; then echo "cluster fixture: using the running local cluster"; exit 0; fi
    "$localcluster" up --dir "$dir" && touch "$marker"
    ;;
  down)
    if [ -f "$marker" ]; then "$localcluster" down --dir "$dir"; rm -f "$marker"; fi
    ;;
esac
