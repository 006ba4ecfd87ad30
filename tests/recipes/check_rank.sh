#!/bin/bash
# Stands in for a recipe's Python script in the real-run tests. It checks
# the environment batchai promises every process (docs/job-translation.md, plus
# RANK/WORLD_SIZE/LOCAL_RANK/MASTER_*), then writes one report line per
# process to the job's output directory for the test to read. Any missing
# piece exits non-zero, which fails the job and so the test.
#   check_rank.sh TOOLKIT OUTPUT_DIR [recipe arguments...]
set -u
toolkit=$1 out=$2
shift 2
fail() { echo "check_rank: rank ${RANK:-?} on ${SLURMD_NODENAME:-?}: $*" >&2; exit 3; }

for v in AZ_BATCHAI_MOUNT_ROOT AZ_BATCHAI_JOB_MOUNT_ROOT AZ_BATCHAI_JOB_TEMP AZ_BATCHAI_JOB_TEMP_DIR \
         AZ_BATCHAI_SHARED_JOB_TEMP AZ_BATCHAI_STDOUTERR_DIR AZ_BATCHAI_MPI_HOST_FILE AZ_BATCHAI_NUM_GPUS \
         RANK WORLD_SIZE LOCAL_RANK MASTER_ADDR MASTER_PORT; do
  [ -n "${!v:-}" ] || fail "$v is not set"
done
[ -d "$AZ_BATCHAI_JOB_TEMP" ] || fail "AZ_BATCHAI_JOB_TEMP $AZ_BATCHAI_JOB_TEMP is not a directory"
[ -d "$AZ_BATCHAI_SHARED_JOB_TEMP" ] || fail "AZ_BATCHAI_SHARED_JOB_TEMP is not a directory"
[ -d "$AZ_BATCHAI_STDOUTERR_DIR" ] || fail "AZ_BATCHAI_STDOUTERR_DIR is not a directory"
[ -d "$out" ] || fail "output directory $out does not exist"
hosts=$(wc -l <"$AZ_BATCHAI_MPI_HOST_FILE") || fail "no hostfile"
[ "$hosts" = "$SLURM_JOB_NUM_NODES" ] || fail "hostfile has $hosts lines for $SLURM_JOB_NUM_NODES nodes"
[ "$RANK" -lt "$WORLD_SIZE" ] || fail "RANK $RANK >= WORLD_SIZE $WORLD_SIZE"

role=- index=-
case "$toolkit" in
  tensorflow)
    [ -n "${TF_CONFIG:-}" ] || fail "TF_CONFIG is not set"
    [ -n "${AZ_BATCHAI_WORKER_HOSTS:-}" ] || fail "AZ_BATCHAI_WORKER_HOSTS is not set"
    index=$AZ_BATCHAI_TASK_INDEX
    role=$(printf '%s' "$TF_CONFIG" | sed -n 's/.*"task":{"type":"\([a-z]*\)".*/\1/p')
    [ -n "$role" ] || fail "TF_CONFIG has no task type: $TF_CONFIG"
    ;;
  pytorch)
    [ "$AZ_BATCHAI_TASK_INDEX" = "$RANK" ] || fail "AZ_BATCHAI_TASK_INDEX $AZ_BATCHAI_TASK_INDEX != RANK $RANK"
    [ -n "${AZ_BATCHAI_PYTORCH_INIT_METHOD:-}" ] || fail "AZ_BATCHAI_PYTORCH_INIT_METHOD is not set"
    index=$AZ_BATCHAI_TASK_INDEX
    ;;
  horovod | custommpi)
    [ "${SLURM_PROCID:-}" = "$RANK" ] || fail "RANK $RANK is not the MPI rank ${SLURM_PROCID:-unset}"
    ;;
esac

printf '%s rank=%s world=%s local=%s node=%s role=%s index=%s args=%s\n' "$toolkit" "$RANK" "$WORLD_SIZE" \
  "$LOCAL_RANK" "${SLURMD_NODENAME:-?}" "$role" "$index" "$*" >"$out/rank-$RANK.txt"
echo "check_rank: rank $RANK of $WORLD_SIZE on ${SLURMD_NODENAME:-?}: environment complete"

# MPI toolkits: a real MPI program proves the ranks form one world. Under
# the sanitizer build, leak checking is off for it: Open MPI keeps memory
# until exit by design, in plugins it has unloaded by then, which LSan
# cannot even name for a suppression.
if [ -n "${BATCHAI_TEST_MPI_PROGRAM:-}" ] && { [ "$toolkit" = horovod ] || [ "$toolkit" = custommpi ]; }; then
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" exec "$BATCHAI_TEST_MPI_PROGRAM" --world-check
fi
