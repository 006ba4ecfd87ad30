# shellcheck shell=bash
# The batchai job runtime: the steps every job script runs, as functions.
#
# A script that `batchai job create` writes holds only its job's data
# (paths, the environment, the container, the launch table, the command
# lines) and sources this file, by the path of the version it was written
# against, then calls batchai_begin, exports its environment, and calls
# batchai_run. docs/job-translation.md ("The job script and the job
# runtime") describes the contract; tests/runtime/ tests each function. A
# change that alters what a function does for existing scripts is a new
# version, installed beside this one.
#
# The data a script sets before batchai_begin:
#   BATCHAI_JOB_DIR          the job directory (exported)
#   batchai_secrets          the 0600 secrets file; unset: none
# and before batchai_run:
#   batchai_node_count       nodes allocated
#   batchai_prolog           batchai-prolog as the nodes see it
#   batchai_slots            slots per node in the MPI hostfile
#   batchai_container        srun's options for the job's container (pyxis)
#   batchai_exec             the command that runs a step in it (apptainer)
#   batchai_image            the container's image; unset: no container
#   batchai_shm_size         containerSettings.shmSize; unset: none
#   batchai_prolog_args      batchai-prolog setup's --volume options
#   batchai_setup_task       the cluster's setup task command line; unset: none
#   batchai_setup_output     its output directory (stdout-<node>.txt, ...)
#   batchai_setup_env        its variables, NAME=value
#   batchai_job_preparation  jobPreparation's command line; unset: none
#   batchai_output_ids       the ids of the job's output directories
# and for its main step, either (MPI):
#   batchai_mpi_step         srun's options: nodes, tasks, --mpi
#   batchai_mpi_out, batchai_mpi_err   the ranks' files in stdouterr
#   batchai_mpi_command      the command line every rank runs
#   batchai_mpi_launcher     srun (Slurm starts the ranks) or mpirun (Open
#                            MPI's launcher on the first node, as Batch AI)
#   batchai_mpi_ranks        the number of ranks
# or (one process at a time, the per-process toolkits):
#   batchai_processes        one row per process: rank node local_rank
#                            task_index role port stdout stderr command#
#   batchai_commands         the command lines the rows name by number
#   batchai_tensorflow       1: also the TensorFlow host lists, TF_CONFIG,
#                            and TensorFlow's completion rule
#   batchai_tf_grace         seconds a worker may run on after the chief ends
#
# shellcheck disable=SC2154  # the data above is the job script's
# shellcheck disable=SC2034  # read by the job script, which checks it
BATCHAI_RUNTIME_VERSION=3

set -o pipefail

batchai_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
batchai_log() { printf '%s batchai: %s\n' "$(batchai_now)" "$*"; }

# key=value lines into a file, written whole and renamed, so a reader (the
# CLI on the login node) never sees half of one.
batchai_write_record() {
  local file=$1 tmp
  shift
  tmp="${file%/*}/.${file##*/}.$$"
  printf '%s\n' "$@" >"$tmp" && mv -f "$tmp" "$file"
}

# The job directory records start, end and exit code, so batchai can report
# them after Slurm has forgotten the job. The start is the first attempt's:
# a requeued job started when it first started, and attempts/ says the rest.
batchai_record() {
  batchai_write_record "$BATCHAI_JOB_DIR/execution" "slurm_job_id=$SLURM_JOB_ID" "start_time=$batchai_started" \
    "restart_count=$batchai_restart" "$@"
}

# This attempt's record, attempts/<restart count>, for `job show`: its
# start, nodes and, once it ends, how (end_reason: completed, failed,
# terminated, timeLimit, preemption, nodeFailure, requeued) and the newest
# checkpoint its program recorded.
batchai_attempt() {
  local checkpoint=""
  [ ! -r "$BATCHAI_CHECKPOINT_RECORD" ] || IFS= read -r checkpoint <"$BATCHAI_CHECKPOINT_RECORD"
  mkdir -p "$BATCHAI_JOB_DIR/attempts" &&
    batchai_write_record "$BATCHAI_JOB_DIR/attempts/$batchai_restart" "attempt=$batchai_restart" \
      "slurm_job_id=$SLURM_JOB_ID" "nodes=$SLURM_JOB_NODELIST" "start_time=$batchai_attempt_started" \
      ${checkpoint:+"checkpoint=$checkpoint"} "$@"
}

# On every node, one task each, for the steps around the main one.
batchai_each_node() {
  srun --nodes="$batchai_node_count" --ntasks="$batchai_node_count" --ntasks-per-node=1 "$@"
}

# Node scratch goes when the job ends, as in Batch AI; outputs and logs
# stay. batchai_cleanup is set once the nodes are set up, and unset by a
# cancel, when Slurm runs no more steps.
# The secrets go too: only now is there no attempt left to read them.
batchai_cleanup=
batchai_finish() {
  local reason=${batchai_end_reason:-}
  if [ -n "$batchai_cleanup" ]; then
    batchai_each_node --time=1 --output=/dev/null "$batchai_prolog" cleanup ||
      batchai_log "removing node scratch failed"
  fi
  [ -z "${batchai_secrets:-}" ] || [ -n "${batchai_keep_secrets:-}" ] || rm -f "$batchai_secrets"
  [ -n "$reason" ] || { [ "$1" -eq 0 ] && reason=completed || reason=failed; }
  batchai_attempt "end_time=$(batchai_now)" "exit_code=$1" "end_reason=$reason"
  batchai_record "end_time=$(batchai_now)" "exit_code=$1"
  batchai_log "job ended with exit code $1"
  exit "$1"
}

# The start record, the attempt, the secrets, and the nodes. Slurm runs
# the script again when it requeues the job (a lost node, a preemption):
# SLURM_RESTART_COUNT says which attempt this is, and the job's programs
# learn it from BATCHAI_JOB_RESTART_COUNT. BATCHAI_CHECKPOINT_SIGNAL names
# the signal they get before a time limit or a preemption stops them, and
# they write their newest checkpoint's path to BATCHAI_CHECKPOINT_RECORD.
batchai_begin() {
  batchai_restart=${SLURM_RESTART_COUNT:-0}
  batchai_attempt_started=$(batchai_now)
  batchai_started=$batchai_attempt_started
  export BATCHAI_JOB_RESTART_COUNT=$batchai_restart BATCHAI_CHECKPOINT_SIGNAL=USR1
  export BATCHAI_CHECKPOINT_RECORD="$BATCHAI_JOB_DIR/checkpoint"
  # Until the main step passes it on, a warning only marks that it came.
  batchai_warned=
  trap 'batchai_warned=1' USR1
  trap 'batchai_terminated' TERM
  [ "$batchai_restart" -eq 0 ] || batchai_after_requeue
  { batchai_record && batchai_attempt; } || { batchai_log "cannot write to $BATCHAI_JOB_DIR"; exit 1; }
  rm -f "$BATCHAI_JOB_DIR/first_failure"
  if [ "$batchai_restart" -eq 0 ]; then
    batchai_log "job $SLURM_JOB_ID started on $SLURM_JOB_NODELIST"
  else
    batchai_log "job $SLURM_JOB_ID started again (restart $batchai_restart) on $SLURM_JOB_NODELIST"
  fi
  batchai_source_secrets
  batchai_find_nodes
}

# A restart keeps the first attempt's start, and closes the attempt before
# it if nothing did: its batch node died with it.
batchai_after_requeue() {
  local line id="" start="" prev="$BATCHAI_JOB_DIR/attempts/$((batchai_restart - 1))"
  if [ -r "$BATCHAI_JOB_DIR/execution" ]; then
    while IFS= read -r line; do
      case $line in
        slurm_job_id=*) id=${line#*=} ;;
        start_time=*) start=${line#*=} ;;
      esac
    done <"$BATCHAI_JOB_DIR/execution"
  fi
  [ "$id" != "$SLURM_JOB_ID" ] || [ -z "$start" ] || batchai_started=$start
  if [ -f "$prev" ] && ! grep -q '^end_reason=' "$prev"; then
    { cat "$prev" && echo "end_reason=nodeFailure"; } >"$prev.tmp" && mv -f "$prev.tmp" "$prev"
  fi
}

# Sourced into this job's environment; the values are never in the script
# or in Slurm's copy of the environment. The file stays (0600, in the job
# directory) until the job ends, as a requeued job sources it again.
batchai_source_secrets() {
  [ -n "${batchai_secrets:-}" ] || return 0
  if [ -r "$batchai_secrets" ]; then
    set -a
    # shellcheck source=/dev/null
    . "$batchai_secrets"
    set +a
  else
    batchai_log "secrets file $batchai_secrets is missing"
    batchai_finish 1
  fi
}

# The job's nodes, in Slurm's order, and their addresses. Addresses come
# from Slurm's NodeAddr, which is what other nodes reach (on a test
# cluster several node names share one host).
batchai_find_nodes() {
  local n a
  mapfile -t batchai_nodes < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
  batchai_addrs=()
  for n in "${batchai_nodes[@]}"; do
    a=$(scontrol show node -o "$n" 2>/dev/null | sed -n 's/.* NodeAddr=\([^ ]*\).*/\1/p')
    batchai_addrs+=("${a:-$n}")
  done
  export BATCHAI_NODES="${batchai_nodes[*]}"
  export MASTER_ADDR="${batchai_addrs[0]}"
  export MASTER_PORT=$((29500 + SLURM_JOB_ID % 1000))
}

# Everything after the environment: the hostfile, TensorFlow's cluster,
# each node's setup, the main step and the end.
batchai_run() {
  [ "$batchai_restart" -eq 0 ] || batchai_mark_logs
  batchai_write_hostfile
  if [ "${batchai_tensorflow:-}" = 1 ]; then batchai_tensorflow_hosts; fi
  if [ -n "${batchai_shm_size:-}" ]; then
    batchai_log "shmSize $batchai_shm_size: containers here share the node's /dev/shm"
  fi
  batchai_set_up_nodes
  batchai_record_directories
  batchai_main_step
}

# Each log of the job gets a line before a restart's first, so that one
# file reads as the attempts in turn; nothing is truncated.
batchai_mark_logs() {
  local f
  for f in "$AZ_BATCHAI_STDOUTERR_DIR"/*; do
    [ -f "$f" ] || continue
    printf '==== batchai: attempt %s (restart %s) of job %s on %s at %s ====\n' "$((batchai_restart + 1))" \
      "$batchai_restart" "$SLURM_JOB_ID" "$SLURM_JOB_NODELIST" "$batchai_attempt_started" >>"$f"
  done
}

# An Open MPI hostfile, for jobs that start their own mpirun.
batchai_write_hostfile() {
  local a
  for a in "${batchai_addrs[@]}"; do printf '%s slots=%s\n' "$a" "$batchai_slots"; done \
    >"$AZ_BATCHAI_MPI_HOST_FILE.tmp" &&
    mv -f "$AZ_BATCHAI_MPI_HOST_FILE.tmp" "$AZ_BATCHAI_MPI_HOST_FILE"
}

# TensorFlow's cluster, from the launch table: Batch AI's PS and worker
# host lists, and a TF_CONFIG cluster whose worker 0 is the "chief" that
# tf.estimator expects (Batch AI's "master" broke it,
# microsoftarchive/BatchAI#15).
batchai_tensorflow_hosts() {
  local row rank node local_rank index role port ps="" workers="" chief="" others="" a
  for row in "${batchai_processes[@]}"; do
    read -r rank node local_rank index role port _ <<<"$row"
    a="${batchai_addrs[$node]}:$port"
    if [ "$role" = ps ]; then
      ps+="${ps:+,}$a"
    else
      workers+="${workers:+,}$a"
      if [ "$index" = 0 ]; then chief="\"$a\""; else others+="${others:+,}\"$a\""; fi
    fi
  done
  export AZ_BATCHAI_PS_HOSTS="$ps" AZ_BATCHAI_WORKER_HOSTS="$workers"
  BATCHAI_TF_CLUSTER="{\"chief\":[$chief]"
  [ -z "$others" ] || BATCHAI_TF_CLUSTER+=",\"worker\":[$others]"
  [ -z "$ps" ] || BATCHAI_TF_CLUSTER+=",\"ps\":[\"${ps//,/\",\"}\"]"
  export BATCHAI_TF_CLUSTER+="}"
}

# Each node's preparation, as Batch AI did it: first batchai-prolog on the
# host, which makes the job's directories and links its volumes, logged to
# each node's execution log, with the Batch AI error in errors/<node>.json
# if it fails. Then, where the job has a container or jobPreparation, a
# step on every node in the container that runs jobPreparation. Either
# failing fails the job. No --kill-on-bad-exit: each node finishes its own
# preparation and records how it went, as Batch AI prepared nodes
# independently.
batchai_set_up_nodes() {
  local rc
  batchai_cleanup=1
  batchai_each_node "$batchai_prolog" setup --job-dir "$BATCHAI_JOB_DIR" "${batchai_prolog_args[@]}"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    batchai_log "setting up the nodes failed; see $BATCHAI_JOB_DIR/errors and the execution logs in $AZ_BATCHAI_STDOUTERR_DIR"
    batchai_finish "$rc"
  fi
  batchai_setup_task
  [ -n "${batchai_image:-}" ] || [ -n "${batchai_job_preparation+set}" ] || return 0
  rm -rf "$BATCHAI_JOB_DIR/containers" "$BATCHAI_JOB_DIR/preparation"
  # The runtime's errors, per node: srun names files by node index (%n),
  # as its %N is the host's name, which need not be Slurm's node name.
  local errors=()
  [ -z "${batchai_image:-}" ] || errors=(--open-mode=append --error="$AZ_BATCHAI_STDOUTERR_DIR/stderr-container-%n.txt")
  batchai_each_node --output=/dev/null "${errors[@]}" "${batchai_container[@]}" "${batchai_exec[@]}" \
    bash -c "$(declare -p batchai_image batchai_job_preparation 2>/dev/null; declare -f batchai_now batchai_node_step)
batchai_node_step"
  rc=$?
  [ -z "${batchai_image:-}" ] || batchai_name_container_errors
  if [ "$rc" -ne 0 ]; then
    "$batchai_prolog" preparation-failed --job-dir "$BATCHAI_JOB_DIR" ${batchai_image:+--image "$batchai_image"} \
      "${batchai_nodes[@]/#/--node=}"
    local what="starting the container"
    [ -z "${batchai_job_preparation+set}" ] || what=jobPreparation
    batchai_log "$what failed with exit code $rc; see $AZ_BATCHAI_STDOUTERR_DIR"
    batchai_finish "$rc"
  fi
}

# The cluster's setup task, where it has one: on every node, on the host as
# the job's user, after batchai-prolog and before the container and
# jobPreparation. Batch AI ran it once per node as the node joined the
# cluster; Slurm's nodes are shared, so it runs once per node for each job.
# A node where it fails, or that never reports, gets the job's
# SetupTaskFailed error in errors/setupTask-<node>.json, naming its output.
batchai_setup_task() {
  [ -n "${batchai_setup_task+set}" ] || return 0
  local rc=0 node code failed=0
  rm -rf "$BATCHAI_JOB_DIR/setup" "$BATCHAI_JOB_DIR"/errors/setupTask-*.json
  batchai_each_node --output=/dev/null bash -c "$(declare -p batchai_setup_task batchai_setup_output batchai_setup_env
declare -f batchai_now batchai_setup_node)
batchai_setup_node" || rc=$?
  for node in "${batchai_nodes[@]}"; do
    code=
    [ ! -r "$BATCHAI_JOB_DIR/setup/$node" ] || IFS= read -r code <"$BATCHAI_JOB_DIR/setup/$node"
    [ "$code" != 0 ] || continue
    failed=1
    mkdir -p "$BATCHAI_JOB_DIR/errors" &&
      batchai_write_record "$BATCHAI_JOB_DIR/errors/setupTask-$node.json" \
        "{\"code\":\"SetupTaskFailed\",\"message\":$(batchai_json_string "The cluster's setup task failed on node $node (exit code ${code:-unknown}); see $batchai_setup_output/stderr-$node.txt"),\"details\":[{\"name\":\"node\",\"value\":$(batchai_json_string "$node")},{\"name\":\"exitCode\",\"value\":$(batchai_json_string "${code:-unknown}")},{\"name\":\"stdout\",\"value\":$(batchai_json_string "$batchai_setup_output/stdout-$node.txt")},{\"name\":\"stderr\",\"value\":$(batchai_json_string "$batchai_setup_output/stderr-$node.txt")}]}"
  done
  [ "$failed" = 1 ] || [ "$rc" -ne 0 ] || return 0
  [ "$rc" -ne 0 ] || rc=1
  batchai_log "the cluster's setup task failed; see $BATCHAI_JOB_DIR/errors and $batchai_setup_output"
  batchai_finish "$rc"
}

# One node's run of the setup task, appending to its stdout-<node>.txt and
# stderr-<node>.txt (Batch AI's names, suffixed by the node), with
# AZ_BATCHAI_STDOUTERR_DIR naming that directory as Batch AI set it. Its
# exit code goes to setup/<node>.
batchai_setup_node() {
  local rc log="$AZ_BATCHAI_STDOUTERR_DIR/execution-$SLURMD_NODENAME.log"
  if mkdir -p "$batchai_setup_output"; then
    printf '%s %s\n' "$(batchai_now)" "setup task started" >>"$log"
    env "${batchai_setup_env[@]}" AZ_BATCHAI_STDOUTERR_DIR="$batchai_setup_output" bash -c "$batchai_setup_task" \
      >>"$batchai_setup_output/stdout-$SLURMD_NODENAME.txt" 2>>"$batchai_setup_output/stderr-$SLURMD_NODENAME.txt"
    rc=$?
    printf '%s %s\n' "$(batchai_now)" "setup task ended with exit code $rc" >>"$log"
  else
    rc=1
  fi
  mkdir -p "$BATCHAI_JOB_DIR/setup" && echo "$rc" >"$BATCHAI_JOB_DIR/setup/$SLURMD_NODENAME"
  return "$rc"
}

# One node's step in the job's container. Its first act marks that the
# container started on this node; a node left unmarked when the step fails
# is the job's ContainerStartFailed, with the runtime's own words in
# stderr-container-<node>.txt. jobPreparation's exit code goes to
# preparation/<node>, from which batchai-prolog writes JobPreparationFailed.
batchai_node_step() {
  local log="$AZ_BATCHAI_STDOUTERR_DIR/execution-$SLURMD_NODENAME.log" rc
  if [ -n "${batchai_image:-}" ]; then
    mkdir -p "$BATCHAI_JOB_DIR/containers" && : >"$BATCHAI_JOB_DIR/containers/$SLURMD_NODENAME"
    printf '%s %s\n' "$(batchai_now)" "container started" >>"$log"
  fi
  [ -n "${batchai_job_preparation+set}" ] || return 0
  printf '%s %s\n' "$(batchai_now)" "jobPreparation started" >>"$log"
  bash -c "$batchai_job_preparation" >>"$AZ_BATCHAI_STDOUTERR_DIR/stdout-job_prep-$SLURMD_NODENAME.txt" \
    2>>"$AZ_BATCHAI_STDOUTERR_DIR/stderr-job_prep-$SLURMD_NODENAME.txt"
  rc=$?
  printf '%s %s\n' "$(batchai_now)" "jobPreparation ended with exit code $rc" >>"$log"
  mkdir -p "$BATCHAI_JOB_DIR/preparation" && echo "$rc" >"$BATCHAI_JOB_DIR/preparation/$SLURMD_NODENAME"
  return "$rc"
}

# stderr-container-<index>.txt becomes stderr-container-<node>.txt, and
# goes where the runtime said nothing.
batchai_name_container_errors() {
  local i f
  for i in "${!batchai_nodes[@]}"; do
    f="$AZ_BATCHAI_STDOUTERR_DIR/stderr-container-$i.txt"
    if [ -s "$f" ]; then
      mv -f "$f" "$AZ_BATCHAI_STDOUTERR_DIR/stderr-container-${batchai_nodes[$i]}.txt"
    else
      rm -f "$f"
    fi
  done
}

# Where the job's files are, for `job file list` and `job file stream` on
# the login node: the directories as they expanded on the node.
batchai_record_directories() {
  local id var
  {
    printf 'stdouterr=%s\n' "$AZ_BATCHAI_STDOUTERR_DIR"
    for id in "${batchai_output_ids[@]}"; do
      var="AZ_BATCHAI_OUTPUT_$id"
      printf '%s=%s\n' "$id" "${!var}"
    done
  } >"$BATCHAI_JOB_DIR/.directories.$$" && mv -f "$BATCHAI_JOB_DIR/.directories.$$" "$BATCHAI_JOB_DIR/directories"
}

# The first process to fail records its exit code; noclobber keeps the
# first. The processes Slurm then stops (--kill-on-bad-exit) exit with 143,
# but the job's exit code is the failing process's, as in Batch AI.
batchai_first_failure() {
  [ "$1" -eq 0 ] || (set -C; echo "$1" >"$BATCHAI_JOB_DIR/first_failure") 2>/dev/null || true
}

# The main step runs in the background so that the shell can act on
# signals while it waits: scancel's or a requeue's TERM (batchai_terminated)
# and Slurm's warning, USR1, which it passes on to the job's processes.
# A preemption's warning that came while the nodes were being set up skips
# the step; a time limit's does not (Slurm may send it early, and the
# program may well finish in time), and is passed on once it starts.
batchai_main_step() {
  local rc=0
  if [ -z "$batchai_warned" ] || ! batchai_preempted; then
    if [ -n "${batchai_mpi_command+set}" ]; then batchai_mpi_launch; else batchai_process_launch; fi
    batchai_step=$!
    trap 'batchai_warned=1; batchai_log "warned (USR1): passing it on to the job'"'"'s processes"; kill -USR1 "$batchai_step" 2>/dev/null' USR1
    # Once srun (or mpirun) has had time to set up its own handlers.
    if [ -n "$batchai_warned" ]; then
      sleep 2
      kill -USR1 "$batchai_step" 2>/dev/null
    fi
    # A trapped signal ends wait early: wait again while the step runs.
    while :; do
      wait "$batchai_step"
      rc=$?
      [ "$rc" -gt 128 ] && kill -0 "$batchai_step" 2>/dev/null || break
    done
    if [ "$rc" -ne 0 ] && [ -s "$BATCHAI_JOB_DIR/first_failure" ]; then
      rc=$(cat "$BATCHAI_JOB_DIR/first_failure")
    fi
    if [ "$rc" -ne 0 ] && [ -z "$batchai_warned" ] && ! batchai_nodes_answer; then batchai_await_requeue; fi
  fi
  batchai_each_node --output=/dev/null rm -rf "$AZ_BATCHAI_JOB_TEMP" || true
  # A program that ended well despite the warning has done its work.
  if [ -n "$batchai_warned" ] && { [ "$rc" -ne 0 ] || [ -z "${batchai_step:-}" ]; }; then
    batchai_warned_end "$rc"
  fi
  batchai_finish "$rc"
}

# A node that crashes takes its processes with it, and the other nodes'
# processes then fail on their broken connections, seconds before Slurm
# notices the node (SlurmdTimeout). That failure is the node's, which Slurm
# answers with a requeue, not the job's: so when the main step fails, every
# node is asked to run a trivial step, and if one cannot, the job waits for
# Slurm's verdict instead of ending.
batchai_nodes_answer() {
  timeout 30 srun --overlap --nodes="$batchai_node_count" --ntasks="$batchai_node_count" --ntasks-per-node=1 \
    --time=1 --output=/dev/null --error=/dev/null true
}

# Waits (the TERM of a requeue ends the wait, in batchai_terminated) for
# as long as Slurm takes to declare a node down, and a minute more.
batchai_await_requeue() {
  local limit i
  limit=$(scontrol show config 2>/dev/null | sed -n 's/^SlurmdTimeout *= *\([0-9]*\).*/\1/p')
  limit=$((${limit:-300} + 60))
  batchai_log "the main step failed and a node does not answer; waiting up to $limit s for Slurm to requeue the job"
  # Asked again every 10 s: a node that was only slow to answer (its step
  # still being cleaned up) ends the wait, and the job ends as it failed.
  for ((i = 1; i <= limit; i++)); do
    sleep 1
    if [ $((i % 10)) -eq 0 ] && batchai_nodes_answer; then
      batchai_log "every node answers again"
      return
    fi
  done
  batchai_log "Slurm did not requeue the job; it ends as its processes did"
}

# Slurm's job record, one line, for the runtime's questions below; empty
# if the controller does not answer in time (the kill that follows a TERM
# waits for no one).
batchai_job_line() {
  timeout 4 scontrol -o show job "$SLURM_JOB_ID" 2>/dev/null
}

# Whether Slurm picked the job for preemption. After a warning there is
# time to ask again (the warning's lead, or the preemption's GraceTime):
# an unanswered question must not make a preemption a time limit.
batchai_preempted() {
  local line i
  for i in 1 2 3 4 5; do
    line=$(batchai_job_line)
    [ -z "$line" ] || break
    sleep 2
  done
  [[ $line == *" PreemptTime="[0-9]* ]]
}

# After a warning: a preemption sends the job back to the queue to resume
# (PreemptMode=REQUEUE would requeue it only once its grace time ran out,
# and a job that ends by itself is not requeued); a time limit ends it
# failed, naming the checkpoint to continue from.
batchai_warned_end() {
  local rc=$1
  if batchai_preempted; then
    batchai_attempt "end_time=$(batchai_now)" "exit_code=$rc" "end_reason=preemption"
    batchai_requeueing=1
    if scontrol requeue "$SLURM_JOB_ID"; then
      batchai_log "preempted: the job goes back to the queue and resumes from its checkpoint"
      # Slurm stops this shell now (batchai_terminated, which a wait lets
      # run at once); if it never does, the attempt ends here and the
      # requeued job runs again.
      sleep 300 &
      batchai_sleeper=$!
      wait "$batchai_sleeper"
      exit 143
    fi
    batchai_requeueing=
    batchai_log "preempted, and Slurm would not requeue the job (the site's requeue setting?)"
    batchai_end_reason=preemption
    # Preempted before its program ran, or while it ran: never a success.
    [ "$rc" -ne 0 ] || rc=1
    batchai_finish "$rc"
  else
    local line
    line=$(batchai_job_line)
    if batchai_near_limit "$line"; then
      batchai_time_limit "$line"
      [ "$rc" -ne 0 ] || rc=124
    else
      batchai_log "USR1 came long before the time limit, so not from Slurm (scancel --signal?): the job ends as its program did"
    fi
    batchai_finish "$rc"
  fi
}

# Whether the job is within its warning's lead of the time limit. Slurm
# sends the warning up to a minute early; a USR1 from anyone else (a user's
# scancel --signal) comes at any time, and is not a time limit. Unknown
# (the controller did not answer) counts as near, as a warning is the
# likelier sender.
batchai_near_limit() {
  local end lead now
  end=$(sed -n 's/.* EndTime=\([0-9][-0-9T:]*\).*/\1/p' <<<"$1")
  [ -n "$end" ] && end=$(date -d "$end" +%s 2>/dev/null) || return 0
  lead=$(sed -n 's/^#SBATCH --signal=B:USR1@\([0-9]*\)$/\1/p' "$BATCHAI_JOB_DIR/job.sbatch" 2>/dev/null)
  now=$(date +%s)
  [ $((end - now)) -le $((${lead:-0} + 90)) ]
}

# The Batch AI error of a job stopped by its maxWallClockTime, in
# errors/, where `job show` finds the errors the nodes recorded.
batchai_time_limit() {
  local limit checkpoint="" where
  limit=$(sed -n 's/.* TimeLimit=\([^ ]*\).*/\1/p' <<<"$1")
  [ ! -r "$BATCHAI_CHECKPOINT_RECORD" ] || IFS= read -r checkpoint <"$BATCHAI_CHECKPOINT_RECORD"
  where="recorded no checkpoint"
  [ -z "$checkpoint" ] || where="wrote a checkpoint to $checkpoint: continue from it with batchai-train --resume"
  batchai_end_reason=timeLimit
  mkdir -p "$BATCHAI_JOB_DIR/errors" &&
    batchai_write_record "$BATCHAI_JOB_DIR/errors/timeLimit.json" \
      "{\"code\":\"JobMaxWallClockTimeReached\",\"message\":$(batchai_json_string "The job reached its maxWallClockTime (${limit:-its time limit}) and was stopped; it $where"),\"details\":[{\"name\":\"maxWallClockTime\",\"value\":$(batchai_json_string "${limit:-}")},{\"name\":\"checkpoint\",\"value\":$(batchai_json_string "$checkpoint")}]}"
  batchai_log "stopped by the time limit; the job $where"
}

# $1 as a JSON string.
batchai_json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  # Any other control character (a path is the user's) goes: JSON has no
  # place for it unescaped.
  s=${s//[$'\001'-$'\037']/}
  printf '"%s"' "$s"
}

# TERM: scancel, the time limit, or a requeue. A requeue is no end: the
# attempt closes with its reason, the record and the secrets stay, and
# Slurm runs the script again. Otherwise the job ends here.
batchai_terminated() {
  local line restarts reason
  line=$(batchai_job_line)
  restarts=$(sed -n 's/.* Restarts=\([0-9]*\).*/\1/p' <<<"$line")
  [ -z "${batchai_sleeper:-}" ] || kill "$batchai_sleeper" 2>/dev/null
  if [ -n "${batchai_requeueing:-}" ] || [ "${restarts:-0}" -gt "$batchai_restart" ]; then
    if [ -z "${batchai_requeueing:-}" ]; then
      reason=$(batchai_requeue_reason "$line")
      batchai_attempt "end_time=$(batchai_now)" "exit_code=143" "end_reason=$reason"
      batchai_log "requeued ($reason): this attempt ends, and Slurm starts the job again"
    fi
    [ -z "${batchai_step:-}" ] || { kill -TERM "$batchai_step" 2>/dev/null; wait "$batchai_step"; }
    exit 143
  fi
  batchai_cleanup=
  # Unanswered, this may yet be a requeue: the secrets stay for the rerun
  # (the CLI removes them once Slurm says the job is over).
  [ -n "$line" ] || batchai_keep_secrets=1
  # The step first: the program writes its checkpoint as it stops, and the
  # time limit's error names that one.
  [ -z "${batchai_step:-}" ] || { kill -TERM "$batchai_step" 2>/dev/null; wait "$batchai_step"; }
  if [[ $line == *" JobState=TIMEOUT"* ]] || { [ -n "$batchai_warned" ] && [[ $line == *" Reason=TimeLimit"* ]]; }; then
    batchai_time_limit "$line"
  else
    batchai_end_reason=terminated
    batchai_log "terminated"
  fi
  batchai_finish 143
}

# Why Slurm requeued the job: it was preempted, one of its nodes failed,
# or someone asked (scontrol requeue). Slurm says why in the line it writes
# to the batch shell's log as it stops the job ("... DUE TO NODE
# FAILURE"), which outlasts the node's state: a node whose slurmd answers
# again is back in service within the second.
batchai_requeue_reason() {
  local said
  # Only what this attempt's shell wrote: the log holds the earlier ones too.
  said=$(tail -c 8192 "${batchai_batch_log:-/proc/$$/fd/2}" 2>/dev/null |
    awk '/ batchai: job [0-9]+ started/ { text = "" } { text = text $0 "\n" } END { printf "%s", text }' |
    grep -o 'CANCELLED AT [^ ]* DUE TO [A-Z ]*' | tail -n 1)
  case $said in
    *"NODE FAILURE"*) echo nodeFailure; return ;;
    *PREEMPTION*) echo preemption; return ;;
  esac
  if [[ $1 == *" PreemptTime="[0-9]* ]]; then echo preemption; return; fi
  if timeout 4 sinfo -h -N -n "$SLURM_JOB_NODELIST" -o '%t' 2>/dev/null | grep -qE 'down|fail|drain|\*'; then
    echo nodeFailure
  else
    echo requeued
  fi
}

# MPI ranks, launched by Slurm through its PMI plugin, or by Open MPI's
# mpirun where the site chose it (an image's own MPI that knows no PMIx).
batchai_mpi_launch() {
  local rank_step
  rank_step=$(batchai_rank_text)
  if [ "${batchai_mpi_launcher:-srun}" = mpirun ]; then
    batchai_mpirun "$rank_step" &
    return
  fi
  srun "${batchai_mpi_step[@]}" --kill-on-bad-exit=1 --open-mode=append \
    --output="$AZ_BATCHAI_STDOUTERR_DIR/$batchai_mpi_out" --error="$AZ_BATCHAI_STDOUTERR_DIR/$batchai_mpi_err" \
    "${batchai_container[@]}" "${batchai_exec[@]}" bash -c "$rank_step" &
}

# What each rank runs: the command and the functions around it.
batchai_rank_text() {
  declare -p batchai_mpi_command
  declare -f batchai_first_failure batchai_rank batchai_tasks_here
  echo batchai_rank
}

# mpirun on this (the first) node, inside the allocation: Open MPI finds
# the nodes from Slurm and starts its daemons there with srun. Ranks fill
# each node's slots in turn, as Batch AI's hostfile placed them. A rank
# that fails ends the others (mpirun's default).
batchai_mpirun() {
  local per_node=$(((batchai_mpi_ranks + batchai_node_count - 1) / batchai_node_count))
  # Open MPI refuses root unless told; a root job is the site's choice.
  if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
  # exec: the main step's pid is mpirun's, which passes USR1 on to the ranks.
  exec mpirun -np "$batchai_mpi_ranks" --map-by "ppr:$per_node:node" \
    "${batchai_exec[@]}" bash -c "$1" \
    >>"$AZ_BATCHAI_STDOUTERR_DIR/$batchai_mpi_out" 2>>"$AZ_BATCHAI_STDOUTERR_DIR/$batchai_mpi_err"
}

# Each rank sees what Batch AI's mpirun gave it, whichever launcher ran it:
# Open MPI's OMPI_COMM_WORLD_* (scripts split their inputs by them, and
# pin GPUs by the local rank) and the RANK/WORLD_SIZE/LOCAL_RANK that
# PyTorch reads.
batchai_rank() {
  local r
  if [ -z "${OMPI_COMM_WORLD_RANK:-}" ]; then
    export OMPI_COMM_WORLD_RANK="$SLURM_PROCID" OMPI_COMM_WORLD_SIZE="$SLURM_NTASKS"
    export OMPI_COMM_WORLD_LOCAL_RANK="$SLURM_LOCALID" OMPI_COMM_WORLD_NODE_RANK="$SLURM_LOCALID"
    OMPI_COMM_WORLD_LOCAL_SIZE=$(batchai_tasks_here)
    export OMPI_COMM_WORLD_LOCAL_SIZE
  fi
  export RANK="$OMPI_COMM_WORLD_RANK" WORLD_SIZE="$OMPI_COMM_WORLD_SIZE" LOCAL_RANK="$OMPI_COMM_WORLD_LOCAL_RANK"
  # Slurm's checkpoint warning is for the program, which gets it too; this
  # wrapper must outlive it to report the program's exit code.
  trap : USR1
  # The command line's own shell too: a compound one (`cd d && python
  # t.py`) would die of the warning; what it starts gets it as it comes.
  bash -c "trap : USR1; $batchai_mpi_command"
  r=$?
  batchai_first_failure "$r"
  exit "$r"
}

# This node's tasks in the step, from Slurm's compressed per-node counts
# ("2(x3),1": two on each of the first three nodes, one on the fourth).
batchai_tasks_here() {
  local node=${SLURM_NODEID:-0} part count times
  local IFS=,
  for part in ${SLURM_STEP_TASKS_PER_NODE:-${SLURM_TASKS_PER_NODE:-1}}; do
    count=${part%%(*}
    times=1
    if [[ $part == *"(x"* ]]; then times=${part#*(x}; times=${times%)}; fi
    if [ "$node" -lt "$times" ]; then
      echo "$count"
      return
    fi
    node=$((node - times))
  done
  echo 1
}

# The nodes the launch table uses: the first max(node) + 1 of the job's.
batchai_table_nodes() {
  local row rank node most=0
  for row in "${batchai_processes[@]}"; do
    read -r rank node _ <<<"$row"
    [ "$node" -lt "$most" ] || most=$((node + 1))
  done
  echo "$most"
}

# One launcher per node starts that node's processes. It is a file, not an
# argument: Linux caps one argument at 128 KiB, which the table of a job of
# a few thousand processes would pass. The file holds the table and the
# functions it runs, so it reads on its own.
batchai_process_launch() {
  local nodes
  nodes=$(batchai_table_nodes)
  # Where TensorFlow's processes say they ended (the job directory is on
  # every node); a rerun starts with none.
  if [ "${batchai_tensorflow:-}" = 1 ]; then
    rm -rf "$BATCHAI_JOB_DIR/tensorflow" && mkdir -p "$BATCHAI_JOB_DIR/tensorflow" || batchai_finish 1
  fi
  batchai_launcher_text >"$BATCHAI_JOB_DIR/launcher.sh" || batchai_finish 1
  srun --nodes="$nodes" --ntasks="$nodes" --ntasks-per-node=1 --kill-on-bad-exit=1 \
    --nodelist="$(IFS=,; echo "${batchai_nodes[*]:0:$nodes}")" \
    "${batchai_container[@]}" "${batchai_exec[@]}" bash "$BATCHAI_JOB_DIR/launcher.sh" &
}

# The launcher: the table and the functions it runs, then the call.
batchai_launcher_text() {
  declare -p batchai_processes batchai_commands
  declare -p batchai_tensorflow batchai_tf_grace 2>/dev/null
  declare -f batchai_first_failure batchai_launch_node batchai_spawn batchai_process batchai_stop_all \
    batchai_tf_watch batchai_tf_ended batchai_tf_stop
  echo batchai_launch_node
}

# Runs this node's rows of the table, each process in its own process group
# (set -m), so stopping it stops everything it started. A process that
# fails records its exit code and tells the launcher (USR2), which stops
# the others at once; --kill-on-bad-exit then stops the other nodes. USR1
# is Slurm's checkpoint warning, which reaches every process of the step:
# the programs act on it, the launcher and the wrappers only survive it.
batchai_launch_node() {
  local node=0 n row rank at rc=0 r i
  set -m
  batchai_launcher=$$
  batchai_pids=()
  batchai_rows=()
  batchai_stopped=()
  trap batchai_stop_all USR2
  trap : USR1
  for n in $BATCHAI_NODES; do [ "$n" = "$SLURMD_NODENAME" ] && break; node=$((node + 1)); done
  for row in "${batchai_processes[@]}"; do
    read -r rank at _ <<<"$row"
    [ "$at" != "$node" ] || batchai_spawn "$row"
  done
  if [ "${batchai_tensorflow:-}" = 1 ]; then batchai_tf_watch; fi
  # A signal interrupts wait; wait again until each process is gone. A process
  # that TensorFlow's rule stopped has served its job: not a failure.
  for i in "${!batchai_pids[@]}"; do
    while :; do wait "${batchai_pids[$i]}"; r=$?; [ "$r" -gt 128 ] && kill -0 "${batchai_pids[$i]}" 2>/dev/null || break; done
    [ -z "${batchai_stopped[$i]:-}" ] || r=0
    [ "$r" -eq 0 ] || [ "$rc" -ne 0 ] || rc=$r
  done
  exit "$rc"
}

# TensorFlow's completion rule. Parameter servers, and TF 2's workers,
# serve until they are stopped (server.join() never returns), so the job
# ends when its work does: once every worker has ended, whatever still
# serves is stopped; once the chief (worker 0) has ended, the other workers
# get batchai_tf_grace seconds to end by themselves (TF 1's between-graph
# workers finish their own loops), then they are stopped too. Each node's
# launcher applies the rule to its own processes, from the markers every
# worker leaves in the job directory.
batchai_tf_watch() {
  local dir="$BATCHAI_JOB_DIR/tensorflow" row role workers=0 ended chief_ended='' i alive
  for row in "${batchai_processes[@]}"; do
    read -r _ _ _ _ role _ <<<"$row"
    [ "$role" != worker ] || workers=$((workers + 1))
  done
  while :; do
    alive=0
    for i in "${!batchai_pids[@]}"; do kill -0 "${batchai_pids[$i]}" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || return 0
    sleep 1
    ended=$(find "$dir" -maxdepth 1 -name 'worker-*' 2>/dev/null | wc -l)
    if [ "$ended" -ge "$workers" ]; then
      batchai_tf_stop all
    elif [ -e "$dir/worker-0" ]; then
      chief_ended=${chief_ended:-$SECONDS}
      [ $((SECONDS - chief_ended)) -lt "${batchai_tf_grace:-30}" ] || batchai_tf_stop worker
    fi
  done
}

# A worker's end, for every node's launcher: its exit code, written whole.
batchai_tf_ended() {
  local dir="$BATCHAI_JOB_DIR/tensorflow"
  printf '%s\n' "$2" >"$dir/.worker-$1.$$" && mv -f "$dir/.worker-$1.$$" "$dir/worker-$1"
}

# Stops this node's processes that still run: every one (all), or the
# workers. A stopped worker counts as ended.
batchai_tf_stop() {
  local i role index
  for i in "${!batchai_pids[@]}"; do
    [ -z "${batchai_stopped[$i]:-}" ] && kill -0 "${batchai_pids[$i]}" 2>/dev/null || continue
    read -r _ _ _ index role _ <<<"${batchai_rows[$i]}"
    [ "$1" = all ] || [ "$role" = worker ] || continue
    batchai_stopped[i]=1
    kill -TERM -- "-${batchai_pids[$i]}" 2>/dev/null
    [ "$role" != worker ] || batchai_tf_ended "$index" stopped
  done
}

batchai_stop_all() {
  local p
  for p in "${batchai_pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
}

# One process of the table, in the background. (A function, so that bash's
# note of a process it stopped names the function, not its whole text.)
batchai_spawn() {
  batchai_process "$1" &
  batchai_pids+=("$!")
  batchai_rows+=("$1")
}

# One process, with its rank, its output files and, for TensorFlow, its
# TF_CONFIG; its exit code is the process's.
batchai_process() {
  local rank node local_rank index role port out err cmd type tf_index r
  read -r rank node local_rank index role port out err cmd <<<"$1"
  export RANK="$rank" LOCAL_RANK="$local_rank" AZ_BATCHAI_TASK_INDEX="$index" WORLD_SIZE="${#batchai_processes[@]}"
  trap : USR1
  if [ "${batchai_tensorflow:-}" = 1 ]; then
    # Batch AI's worker 0 is the chief; other workers count from 0 in
    # TF_CONFIG's "worker" list.
    tf_index=$index
    if [ "$role" = ps ]; then type="ps"
    elif [ "$index" = 0 ]; then type=chief
    else type=worker; tf_index=$((index - 1)); fi
    export TF_CONFIG="{\"cluster\":$BATCHAI_TF_CLUSTER,\"task\":{\"type\":\"$type\",\"index\":$tf_index},\"environment\":\"cloud\"}"
  fi
  bash -c "trap : USR1; ${batchai_commands[$cmd]}" >>"$AZ_BATCHAI_STDOUTERR_DIR/$out" \
    2>>"$AZ_BATCHAI_STDOUTERR_DIR/$err"
  r=$?
  if [ "${batchai_tensorflow:-}" = 1 ] && [ "$role" = worker ]; then batchai_tf_ended "$index" "$r"; fi
  if [ "$r" -ne 0 ]; then
    batchai_first_failure "$r"
    kill -USR2 "$batchai_launcher" 2>/dev/null
  fi
  exit "$r"
}
