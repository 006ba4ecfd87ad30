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
BATCHAI_RUNTIME_VERSION=2

set -o pipefail

batchai_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
batchai_log() { printf '%s batchai: %s\n' "$(batchai_now)" "$*"; }

# The job directory records start, end and exit code, so batchai can report
# them after Slurm has forgotten the job. Each record is written whole and
# renamed, so a reader never sees half of one.
batchai_record() {
  local tmp="$BATCHAI_JOB_DIR/.execution.$$"
  printf '%s\n' "slurm_job_id=$SLURM_JOB_ID" "start_time=$batchai_started" "$@" >"$tmp" &&
    mv -f "$tmp" "$BATCHAI_JOB_DIR/execution"
}

# On every node, one task each, for the steps around the main one.
batchai_each_node() {
  srun --nodes="$batchai_node_count" --ntasks="$batchai_node_count" --ntasks-per-node=1 "$@"
}

# Node scratch goes when the job ends, as in Batch AI; outputs and logs
# stay. batchai_cleanup is set once the nodes are set up, and unset by a
# cancel, when Slurm runs no more steps.
batchai_cleanup=
batchai_finish() {
  if [ -n "$batchai_cleanup" ]; then
    batchai_each_node --time=1 --output=/dev/null "$batchai_prolog" cleanup ||
      batchai_log "removing node scratch failed"
  fi
  batchai_record "end_time=$(batchai_now)" "exit_code=$1"
  batchai_log "job ended with exit code $1"
  exit "$1"
}

# The start record, the secrets, and the nodes.
batchai_begin() {
  batchai_started=$(batchai_now)
  batchai_record || { batchai_log "cannot write to $BATCHAI_JOB_DIR"; exit 1; }
  rm -f "$BATCHAI_JOB_DIR/first_failure"
  batchai_log "job $SLURM_JOB_ID started on $SLURM_JOB_NODELIST"
  batchai_source_secrets
  batchai_find_nodes
}

# Sourced and removed at once: the values live only in this job's
# environment, never in the script or Slurm's copy of the environment.
batchai_source_secrets() {
  [ -n "${batchai_secrets:-}" ] || return 0
  if [ -r "$batchai_secrets" ]; then
    set -a
    # shellcheck source=/dev/null
    . "$batchai_secrets"
    set +a
    rm -f "$batchai_secrets"
  else
    batchai_log "secrets file $batchai_secrets is missing (a rerun of this job? secrets are used once)"
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
  batchai_write_hostfile
  if [ "${batchai_tensorflow:-}" = 1 ]; then batchai_tensorflow_hosts; fi
  if [ -n "${batchai_shm_size:-}" ]; then
    batchai_log "shmSize $batchai_shm_size: containers here share the node's /dev/shm"
  fi
  batchai_set_up_nodes
  batchai_record_directories
  batchai_main_step
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
  [ -n "${batchai_image:-}" ] || [ -n "${batchai_job_preparation+set}" ] || return 0
  rm -rf "$BATCHAI_JOB_DIR/containers" "$BATCHAI_JOB_DIR/preparation"
  # The runtime's errors, per node: srun names files by node index (%n),
  # as its %N is the host's name, which need not be Slurm's node name.
  local errors=()
  [ -z "${batchai_image:-}" ] || errors=(--error="$AZ_BATCHAI_STDOUTERR_DIR/stderr-container-%n.txt")
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
# scancel's TERM (record the end) while it waits.
batchai_main_step() {
  local rc
  if [ -n "${batchai_mpi_command+set}" ]; then batchai_mpi_launch; else batchai_process_launch; fi
  batchai_step=$!
  trap 'batchai_cleanup=; batchai_log "terminated"; kill -TERM "$batchai_step" 2>/dev/null; wait "$batchai_step"; batchai_finish 143' TERM
  wait "$batchai_step"
  rc=$?
  if [ "$rc" -ne 0 ] && [ -s "$BATCHAI_JOB_DIR/first_failure" ]; then
    rc=$(cat "$BATCHAI_JOB_DIR/first_failure")
  fi
  batchai_each_node --output=/dev/null rm -rf "$AZ_BATCHAI_JOB_TEMP" || true
  batchai_finish "$rc"
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
  mpirun -np "$batchai_mpi_ranks" --map-by "ppr:$per_node:node" \
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
  bash -c "$batchai_mpi_command"
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
# fails records its exit code and tells the launcher (USR1), which stops
# the others at once; --kill-on-bad-exit then stops the other nodes.
batchai_launch_node() {
  local node=0 n row rank at rc=0 r i
  set -m
  batchai_launcher=$$
  batchai_pids=()
  batchai_rows=()
  batchai_stopped=()
  trap batchai_stop_all USR1
  for n in $BATCHAI_NODES; do [ "$n" = "$SLURMD_NODENAME" ] && break; node=$((node + 1)); done
  for row in "${batchai_processes[@]}"; do
    read -r rank at _ <<<"$row"
    [ "$at" != "$node" ] || batchai_spawn "$row"
  done
  if [ "${batchai_tensorflow:-}" = 1 ]; then batchai_tf_watch; fi
  # USR1 interrupts wait; wait again until each process is gone. A process
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
  if [ "${batchai_tensorflow:-}" = 1 ]; then
    # Batch AI's worker 0 is the chief; other workers count from 0 in
    # TF_CONFIG's "worker" list.
    tf_index=$index
    if [ "$role" = ps ]; then type="ps"
    elif [ "$index" = 0 ]; then type=chief
    else type=worker; tf_index=$((index - 1)); fi
    export TF_CONFIG="{\"cluster\":$BATCHAI_TF_CLUSTER,\"task\":{\"type\":\"$type\",\"index\":$tf_index},\"environment\":\"cloud\"}"
  fi
  bash -c "${batchai_commands[$cmd]}" >>"$AZ_BATCHAI_STDOUTERR_DIR/$out" 2>>"$AZ_BATCHAI_STDOUTERR_DIR/$err"
  r=$?
  if [ "${batchai_tensorflow:-}" = 1 ] && [ "$role" = worker ]; then batchai_tf_ended "$index" "$r"; fi
  if [ "$r" -ne 0 ]; then
    batchai_first_failure "$r"
    kill -USR1 "$batchai_launcher" 2>/dev/null
  fi
  exit "$r"
}
