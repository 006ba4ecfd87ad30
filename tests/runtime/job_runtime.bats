#!/usr/bin/env bats
# The job runtime (share/batchai/job-runtime.sh) on its own: each function
# with Slurm's commands replaced by stubs, then whole scripts that batchai
# writes, so no cluster is needed. The integration tests run it on the
# local cluster.
#
#   BATCHAI=build/frontend/batchai bats tests/runtime/job_runtime.bats
#   (RUNTIME=path/to/job-runtime.sh to test another copy)
#
# The tests set the runtime's data and read what it sets, and hand command
# lines over as strings, as job scripts do:
# shellcheck disable=SC2034,SC2154,SC2089,SC2090

# `run !` asserts that a command fails: a bare `!` fails no bats test.
bats_require_minimum_version 1.5.0

setup() {
  RUNTIME=${RUNTIME:-$BATS_TEST_DIRNAME/../../share/batchai/job-runtime.sh}
  GOLDENS=${GOLDENS:-$BATS_TEST_DIRNAME/../jobspec/valid}
  T=$BATS_TEST_TMPDIR
  export BATCHAI_JOB_DIR=$T/job SLURM_JOB_ID=42 SLURM_JOB_NODELIST='node[1-2]'
  export AZ_BATCHAI_STDOUTERR_DIR=$T/out AZ_BATCHAI_MPI_HOST_FILE=$T/job/hostfile
  mkdir -p "$BATCHAI_JOB_DIR" "$AZ_BATCHAI_STDOUTERR_DIR" "$T/bin"
  # scontrol: two nodes, node2 reached at another address.
  cat >"$T/bin/scontrol" <<'EOF'
#!/bin/bash
case "$1 $2" in
  "show hostnames") printf '%s\n' node1 node2 ;;
  "-o show") cat "${BATS_TEST_TMPDIR}/jobline" 2>/dev/null ;;
  "requeue $SLURM_JOB_ID") echo requeue >>"${BATS_TEST_TMPDIR}/scontrol.log"; [ ! -e "${BATS_TEST_TMPDIR}/no-requeue" ] ;;
  "show node") [ "$4" = node2 ] && echo "NodeName=node2 Arch=x86_64 NodeAddr=10.0.0.2 NodeHostName=h2" ||
                 echo "NodeName=$4 Arch=x86_64" ;;
esac
EOF
  # srun: records its arguments, runs nothing.
  printf '#!/bin/bash\nprintf "%%s\\n" "$*" >>"%s/srun.log"\n' "$T" >"$T/bin/srun"
  chmod +x "$T/bin/scontrol" "$T/bin/srun"
  PATH=$T/bin:$PATH
  # shellcheck source=/dev/null
  . "$RUNTIME"
}

@test "the runtime declares its version" {
  [ "$BATCHAI_RUNTIME_VERSION" = 3 ]
}

@test "the execution record is written whole at start and end, and finish exits with the code" {
  batchai_node_count=2 batchai_prolog=batchai-prolog
  batchai_begin >"$T/log"
  grep -qx 'slurm_job_id=42' "$BATCHAI_JOB_DIR/execution"
  grep -q '^start_time=20[0-9-]*T[0-9:]*Z$' "$BATCHAI_JOB_DIR/execution"
  grep -q 'batchai: job 42 started on node\[1-2\]' "$T/log"
  run batchai_finish 7
  [ "$status" -eq 7 ]
  [[ "$output" == *"batchai: job ended with exit code 7" ]]
  grep -qx 'exit_code=7' "$BATCHAI_JOB_DIR/execution"
  grep -q '^end_time=' "$BATCHAI_JOB_DIR/execution"
  grep -qx 'restart_count=0' "$BATCHAI_JOB_DIR/execution"
  [ "$(grep -c . "$BATCHAI_JOB_DIR/execution")" -eq 5 ]
  # The attempt, closed the same way.
  grep -qx 'end_reason=failed' "$BATCHAI_JOB_DIR/attempts/0"
  grep -qx 'exit_code=7' "$BATCHAI_JOB_DIR/attempts/0"
  # No temporary file left, and no cleanup step before the nodes were set up.
  [ "$(ls -A "$BATCHAI_JOB_DIR")" = "$(printf 'attempts\nexecution')" ]
  [ "$(ls -A "$BATCHAI_JOB_DIR/attempts")" = 0 ]
  [ ! -e "$T/srun.log" ]
}

@test "finish removes node scratch on every node once the nodes are set up" {
  batchai_node_count=2 batchai_prolog=/opt/batchai-prolog batchai_cleanup=1
  run batchai_finish 0
  [ "$status" -eq 0 ]
  [ "$(cat "$T/srun.log")" = "--nodes=2 --ntasks=2 --ntasks-per-node=1 --time=1 --output=/dev/null /opt/batchai-prolog cleanup" ]
}

@test "an unwritable job directory ends the job at once" {
  BATCHAI_JOB_DIR=$T/missing
  run batchai_begin
  [ "$status" -eq 1 ]
  [[ "$output" == *"cannot write to $T/missing" ]]
}

@test "secrets are sourced and exported, kept for a restart, removed at the end; a missing file fails the job" {
  printf "export TOKEN='a b'\nOTHER=c\n" >"$T/secrets.env"
  batchai_secrets=$T/secrets.env batchai_restart=0
  batchai_source_secrets
  [ "$(bash -c 'echo "$TOKEN/$OTHER"')" = "a b/c" ]
  [ -e "$T/secrets.env" ]
  run batchai_finish 0
  [ ! -e "$T/secrets.env" ]
  run batchai_source_secrets
  [ "$status" -eq 1 ]
  [[ "$output" == *"secrets file $T/secrets.env is missing"* ]]
}

@test "nodes, addresses, MASTER_ADDR and the hostfile" {
  batchai_find_nodes
  [ "${batchai_nodes[*]}" = "node1 node2" ]
  [ "${batchai_addrs[*]}" = "node1 10.0.0.2" ]
  [ "$BATCHAI_NODES" = "node1 node2" ] && [ "$MASTER_ADDR" = node1 ] && [ "$MASTER_PORT" = 29542 ]
  batchai_slots=4
  batchai_write_hostfile
  [ "$(cat "$AZ_BATCHAI_MPI_HOST_FILE")" = "$(printf 'node1 slots=4\n10.0.0.2 slots=4')" ]
}

@test "TensorFlow: host lists from the launch table, worker 0 is the chief" {
  batchai_addrs=(node1 10.0.0.2)
  batchai_processes=('0 0 0 0 ps 2222 o e 0' '1 0 1 0 worker 2223 o e 1' '2 1 0 1 worker 2222 o e 1'
                     '3 1 1 2 worker 2223 o e 1')
  batchai_tensorflow_hosts
  [ "$AZ_BATCHAI_PS_HOSTS" = "node1:2222" ]
  [ "$AZ_BATCHAI_WORKER_HOSTS" = "node1:2223,10.0.0.2:2222,10.0.0.2:2223" ]
  [ "$BATCHAI_TF_CLUSTER" = '{"chief":["node1:2223"],"worker":["10.0.0.2:2222","10.0.0.2:2223"],"ps":["node1:2222"]}' ]
  # One worker and no parameter server: a chief alone.
  batchai_processes=('0 0 0 0 worker 2222 o e 0')
  batchai_tensorflow_hosts
  [ "$BATCHAI_TF_CLUSTER" = '{"chief":["node1:2222"]}' ] && [ -z "$AZ_BATCHAI_PS_HOSTS" ]
}

@test "the first failure is kept, later ones and successes are not" {
  batchai_first_failure 0
  [ ! -e "$BATCHAI_JOB_DIR/first_failure" ]
  batchai_first_failure 3
  batchai_first_failure 143
  [ "$(cat "$BATCHAI_JOB_DIR/first_failure")" = 3 ]
}

@test "an MPI rank gets its rank variables and records its failure" {
  batchai_mpi_command='echo "$RANK/$WORLD_SIZE/$LOCAL_RANK"; exit 5'
  run env SLURM_PROCID=3 SLURM_NTASKS=8 SLURM_LOCALID=1 bash -c "$(batchai_rank_text)"
  [ "$status" -eq 5 ] && [ "$output" = 3/8/1 ]
  [ "$(cat "$BATCHAI_JOB_DIR/first_failure")" = 5 ]
}

@test "an MPI rank started by srun sees what Open MPI's mpirun would have set" {
  batchai_mpi_command='echo "$OMPI_COMM_WORLD_RANK/$OMPI_COMM_WORLD_SIZE $OMPI_COMM_WORLD_LOCAL_RANK/$OMPI_COMM_WORLD_LOCAL_SIZE $OMPI_COMM_WORLD_NODE_RANK"'
  # 7 ranks: two on each of the first three nodes, one on the fourth.
  run env SLURM_PROCID=6 SLURM_NTASKS=7 SLURM_LOCALID=0 SLURM_NODEID=3 SLURM_STEP_TASKS_PER_NODE='2(x3),1' \
    bash -c "$(batchai_rank_text)"
  [ "$status" -eq 0 ] && [ "$output" = "6/7 0/1 0" ]
  run env SLURM_PROCID=3 SLURM_NTASKS=7 SLURM_LOCALID=1 SLURM_NODEID=1 SLURM_STEP_TASKS_PER_NODE='2(x3),1' \
    bash -c "$(batchai_rank_text)"
  [ "$status" -eq 0 ] && [ "$output" = "3/7 1/2 1" ]
  run env SLURM_PROCID=4 SLURM_NTASKS=9 SLURM_LOCALID=0 SLURM_NODEID=2 SLURM_STEP_TASKS_PER_NODE='4,3,2' \
    bash -c "$(batchai_rank_text)"
  [ "$status" -eq 0 ] && [ "$output" = "4/9 0/2 0" ]
}

@test "an MPI rank started by mpirun keeps Open MPI's variables, and PyTorch's follow them" {
  batchai_mpi_command='echo "$RANK/$WORLD_SIZE/$LOCAL_RANK $OMPI_COMM_WORLD_LOCAL_SIZE"'
  # mpirun's ranks run inside its daemons' Slurm step, whose SLURM_PROCID
  # is the daemon's.
  run env SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0 OMPI_COMM_WORLD_RANK=5 OMPI_COMM_WORLD_SIZE=8 \
    OMPI_COMM_WORLD_LOCAL_RANK=1 OMPI_COMM_WORLD_LOCAL_SIZE=4 bash -c "$(batchai_rank_text)"
  [ "$status" -eq 0 ] && [ "$output" = "5/8/1 4" ]
}

# TensorFlow's completion rule: a launcher per node, run here, with ps and
# workers as shell stand-ins. The real framework runs in the integration
# tests.
tf_job() {
  batchai_tensorflow=1
  batchai_tf_grace=${1:-30}
  export BATCHAI_NODES="node1 node2" BATCHAI_TF_CLUSTER='{}'
  mkdir -p "$BATCHAI_JOB_DIR/tensorflow"
}

@test "TensorFlow: once every worker has ended, the parameter servers are stopped and the job succeeds" {
  # ps on node2 serves forever; the two workers on node1 finish.
  batchai_processes=('0 1 0 0 ps 2222 ps0 eps0 0' '1 0 0 0 worker 2223 wk0 ewk0 1' '2 0 1 1 worker 2224 wk1 ewk1 2')
  batchai_commands=('exec sleep 619' 'sleep 0.5' 'sleep 1.5')
  tf_job
  SECONDS=0
  timeout 20 env SLURMD_NODENAME=node2 bash -c "$(batchai_launcher_text)" >"$T/node2.log" 2>&1 &
  local node2=$!
  run timeout 20 env SLURMD_NODENAME=node1 bash -c "$(batchai_launcher_text)"
  [ "$status" -eq 0 ]
  wait "$node2"  # the ps's launcher ends by itself, with 0 (124: it did not)
  [ "$SECONDS" -lt 10 ]
  [ "$(cat "$BATCHAI_JOB_DIR/tensorflow/worker-0")" = 0 ]
  [ "$(cat "$BATCHAI_JOB_DIR/tensorflow/worker-1")" = 0 ]
  [ ! -e "$BATCHAI_JOB_DIR/first_failure" ]
  run ! pgrep -x -f "sleep 619" >/dev/null
}

@test "TensorFlow: once the chief has ended, serving workers are stopped after the grace period" {
  # TF 2: the chief returns, the other worker and the ps join() forever.
  batchai_processes=('0 0 0 0 ps 2222 ps0 eps0 0' '1 0 1 0 worker 2223 wk0 ewk0 1' '2 0 2 1 worker 2224 wk1 ewk1 0')
  batchai_commands=('exec sleep 621' 'sleep 0.3')
  tf_job 2
  SECONDS=0
  export BATCHAI_NODES=node1
  run timeout 20 env SLURMD_NODENAME=node1 bash -c "$(batchai_launcher_text)"
  [ "$status" -eq 0 ]
  [ "$SECONDS" -ge 2 ] && [ "$SECONDS" -lt 10 ]
  [ "$(cat "$BATCHAI_JOB_DIR/tensorflow/worker-0")" = 0 ]
  [ "$(cat "$BATCHAI_JOB_DIR/tensorflow/worker-1")" = stopped ]
  [ ! -e "$BATCHAI_JOB_DIR/first_failure" ]
  run ! pgrep -x -f "sleep 621" >/dev/null
}

@test "TensorFlow: a worker that fails fails the job with its exit code, and the servers go" {
  batchai_processes=('0 0 0 0 ps 2222 ps0 eps0 0' '1 0 1 0 worker 2223 wk0 ewk0 1' '2 0 2 1 worker 2224 wk1 ewk1 2')
  batchai_commands=('exec sleep 623' 'sleep 0.3' 'sleep 0.6; exit 3')
  tf_job
  export BATCHAI_NODES=node1
  SECONDS=0
  run timeout 20 env SLURMD_NODENAME=node1 bash -c "$(batchai_launcher_text)"
  [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
  [ "$SECONDS" -lt 10 ]
  [ "$(cat "$BATCHAI_JOB_DIR/first_failure")" = 3 ]
  run ! pgrep -x -f "sleep 623" >/dev/null
}

# A signal to a process and all it started, as Slurm's proctrack sends one
# to every process of a step.
# Parents first, so that a wrapper gets it while its program still runs.
signal_tree() {
  local p kids
  kids=$(pgrep -P "$2") || true
  kill "-$1" "$2" 2>/dev/null || true
  for p in $kids; do signal_tree "$1" "$p"; done
}

@test "a restart keeps the first start, closes the attempt its batch node took along, and marks every log" {
  batchai_node_count=2 batchai_prolog=batchai-prolog
  batchai_begin >/dev/null
  first=$(sed -n 's/^start_time=//p' "$BATCHAI_JOB_DIR/execution")
  echo "attempt one's line" >"$AZ_BATCHAI_STDOUTERR_DIR/stdout.txt"
  sleep 1.1
  # Slurm runs the script again; the first attempt never closed.
  SLURM_RESTART_COUNT=1 batchai_begin >"$T/log"
  [ "$BATCHAI_JOB_RESTART_COUNT" = 1 ]
  [ "$BATCHAI_CHECKPOINT_SIGNAL" = USR1 ] && [ "$BATCHAI_CHECKPOINT_RECORD" = "$BATCHAI_JOB_DIR/checkpoint" ]
  grep -q 'job 42 started again (restart 1)' "$T/log"
  grep -qx "start_time=$first" "$BATCHAI_JOB_DIR/execution"
  grep -qx 'restart_count=1' "$BATCHAI_JOB_DIR/execution"
  grep -qx 'end_reason=nodeFailure' "$BATCHAI_JOB_DIR/attempts/0"
  grep -qx 'attempt=1' "$BATCHAI_JOB_DIR/attempts/1"
  run ! grep -qx "start_time=$first" "$BATCHAI_JOB_DIR/attempts/1"
  run ! grep -q '^end_reason=' "$BATCHAI_JOB_DIR/attempts/1"
  batchai_mark_logs
  [ "$(sed -n 1p "$AZ_BATCHAI_STDOUTERR_DIR/stdout.txt")" = "attempt one's line" ]
  [[ "$(sed -n 2p "$AZ_BATCHAI_STDOUTERR_DIR/stdout.txt")" == "==== batchai: attempt 2 (restart 1) of job 42 on node[1-2] at "* ]]
}

@test "Slurm's warning reaches a rank's program; the rank's wrapper survives it and reports the program's code" {
  # A compound command line, whose own shell must outlive the warning too.
  batchai_mpi_command='cd / && bash -c '"'"'trap "echo checkpointed; exit 75" USR1; sleep 30 & wait'"'"'; r=$?; exit $r'
  SLURM_PROCID=0 SLURM_NTASKS=1 SLURM_LOCALID=0 bash -c "$(batchai_rank_text)" >"$T/rank.out" &
  local rank=$!
  sleep 0.5
  signal_tree USR1 "$rank"
  wait "$rank" || true
  [ "$(cat "$T/rank.out")" = checkpointed ]
  [ "$(cat "$BATCHAI_JOB_DIR/first_failure")" = 75 ]
}

@test "a launcher and its process wrappers survive Slurm's warning, which the programs get" {
  batchai_processes=('0 0 0 0 - 0 o0 e0 0')
  batchai_commands=('cd / && bash -c '"'"'trap "echo warned; exit 0" USR1; sleep 30 & wait'"'"'; r=$?; exit $r')
  export BATCHAI_NODES="node1"
  (
    SLURMD_NODENAME=node1 bash -c "$(batchai_launcher_text)" &
    echo $! >"$T/pid"
    wait $!
    echo $? >"$T/rc"
  ) &
  sleep 0.5
  signal_tree USR1 "$(cat "$T/pid")"
  wait
  [ "$(cat "$T/rc")" = 0 ]
  [ "$(cat "$AZ_BATCHAI_STDOUTERR_DIR/o0")" = warned ]
}

@test "a time-limit warning ends the job failed, naming the limit and the checkpoint to resume from" {
  batchai_node_count=2 batchai_prolog=batchai-prolog
  batchai_begin >/dev/null
  echo "JobId=42 JobState=RUNNING Reason=None TimeLimit=00:01:00 PreemptTime=None Restarts=0" >"$T/jobline"
  echo "/shared/run/checkpoint-2-step-17.h5" >"$BATCHAI_CHECKPOINT_RECORD"
  batchai_warned=1
  run batchai_warned_end 75
  [ "$status" -eq 75 ]
  grep -qx 'end_reason=timeLimit' "$BATCHAI_JOB_DIR/attempts/0"
  grep -qx 'checkpoint=/shared/run/checkpoint-2-step-17.h5' "$BATCHAI_JOB_DIR/attempts/0"
  grep -qx 'exit_code=75' "$BATCHAI_JOB_DIR/execution"
  python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
assert e["code"] == "JobMaxWallClockTimeReached", e
assert "maxWallClockTime (00:01:00)" in e["message"] and "/shared/run/checkpoint-2-step-17.h5" in e["message"], e
assert {"name": "checkpoint", "value": "/shared/run/checkpoint-2-step-17.h5"} in e["details"], e
' "$BATCHAI_JOB_DIR/errors/timeLimit.json"
  [ ! -e "$T/scontrol.log" ]
}

@test "a USR1 long before the time limit is a user's, not a time limit: the job ends as its program did" {
  batchai_node_count=2 batchai_prolog=batchai-prolog
  batchai_begin >/dev/null
  printf '#!/bin/bash\n#SBATCH --signal=B:USR1@30\n' >"$BATCHAI_JOB_DIR/job.sbatch"
  echo "JobId=42 JobState=RUNNING Reason=None TimeLimit=01:00:00 EndTime=$(date -d '+50 minutes' +%Y-%m-%dT%H:%M:%S) PreemptTime=None Restarts=0" >"$T/jobline"
  batchai_warned=1
  run batchai_warned_end 75
  [ "$status" -eq 75 ]
  [ ! -e "$BATCHAI_JOB_DIR/errors/timeLimit.json" ]
  run ! grep -q 'end_reason=timeLimit' "$BATCHAI_JOB_DIR/attempts/0"
  # Within the lead (and Slurm's minute), the same warning is the limit's.
  batchai_begin >/dev/null
  echo "JobId=42 JobState=RUNNING Reason=None TimeLimit=01:00:00 EndTime=$(date -d '+70 seconds' +%Y-%m-%dT%H:%M:%S) PreemptTime=None Restarts=0" >"$T/jobline"
  run batchai_warned_end 75
  [ "$status" -eq 75 ]
  [ -e "$BATCHAI_JOB_DIR/errors/timeLimit.json" ]
}

@test "a preemption's warning requeues the job; the TERM that follows ends only the attempt" {
  printf "export TOKEN=t\n" >"$T/secrets.env"
  batchai_secrets=$T/secrets.env batchai_node_count=2 batchai_prolog=batchai-prolog
  batchai_begin >/dev/null
  echo "/shared/run/checkpoint-1-step-3.h5" >"$BATCHAI_CHECKPOINT_RECORD"
  echo "JobId=42 JobState=RUNNING Reason=None PreemptTime=2026-12-06T19:07:02 Restarts=0" >"$T/jobline"
  batchai_warned=1
  # The stand-in scontrol does not stop the shell after a requeue as
  # Slurm does: the test sends that TERM.
  (
    trap batchai_terminated TERM
    batchai_warned_end 75 >"$T/log"
  ) &
  local shell=$!
  sleep 1.5
  kill -TERM "$shell"
  wait "$shell" && status=0 || status=$?
  [ "$status" -eq 143 ]
  [ "$(cat "$T/scontrol.log")" = requeue ]
  grep -q 'preempted: the job goes back to the queue' "$T/log"
  grep -qx 'end_reason=preemption' "$BATCHAI_JOB_DIR/attempts/0"
  grep -qx 'checkpoint=/shared/run/checkpoint-1-step-3.h5' "$BATCHAI_JOB_DIR/attempts/0"
  # The job has not ended: no end in its record, and the secrets stay.
  run ! grep -q '^end_time=' "$BATCHAI_JOB_DIR/execution"
  [ -e "$T/secrets.env" ]
}

@test "a time limit's warning during set-up still runs the main step, and passes the warning on" {
  batchai_node_count=2 batchai_prolog=batchai-prolog
  batchai_begin >/dev/null
  echo "JobId=42 JobState=RUNNING Reason=None TimeLimit=00:01:00 PreemptTime=None Restarts=0" >"$T/jobline"
  batchai_mpi_step=(--nodes=2) batchai_mpi_out=o batchai_mpi_err=e batchai_mpi_command=true
  # srun as it is here: it passes the warning on.
  printf '#!/bin/bash\ntrap "echo USR1 >>%s/usr1" USR1\nprintf "%%s\\n" "$*" >>"%s/srun.log"\nsleep 3 & wait; wait\n' \
    "$T" "$T" >"$T/bin/srun"
  batchai_warned=1
  run batchai_main_step
  [ "$status" -eq 0 ]
  grep -q -- '--kill-on-bad-exit=1' "$T/srun.log"
  [ "$(cat "$T/usr1")" = USR1 ]
}

@test "a preemption's warning during set-up skips the main step" {
  batchai_node_count=2 batchai_prolog=batchai-prolog
  batchai_begin >/dev/null
  echo "JobId=42 JobState=RUNNING Reason=None PreemptTime=2026-12-06T19:07:02 Restarts=0" >"$T/jobline"
  batchai_mpi_step=(--nodes=2) batchai_mpi_out=o batchai_mpi_err=e batchai_mpi_command=true
  batchai_warned=1
  (trap batchai_terminated TERM; batchai_main_step >"$T/log") &
  local shell=$!
  sleep 1.5
  kill -TERM "$shell"
  wait "$shell" || true
  [ "$(cat "$T/scontrol.log")" = requeue ]
  run ! grep -q -- '--kill-on-bad-exit=1' "$T/srun.log"
  grep -qx 'end_reason=preemption' "$BATCHAI_JOB_DIR/attempts/0"
}

@test "a preempted job that Slurm will not requeue ends failed, even if its program never ran" {
  batchai_node_count=2 batchai_prolog=batchai-prolog
  batchai_begin >/dev/null
  echo "JobId=42 JobState=RUNNING Reason=None PreemptTime=2026-12-06T19:07:02 Restarts=0" >"$T/jobline"
  touch "$T/no-requeue"
  batchai_warned=1
  run batchai_warned_end 0
  [ "$status" -eq 1 ]
  grep -qx 'end_reason=preemption' "$BATCHAI_JOB_DIR/attempts/0"
  grep -qx 'exit_code=1' "$BATCHAI_JOB_DIR/execution"
}

@test "a requeue's TERM closes the attempt with its reason and keeps the record open; scancel's ends the job" {
  printf "export TOKEN=t\n" >"$T/secrets.env"
  batchai_secrets=$T/secrets.env batchai_node_count=2 batchai_prolog=batchai-prolog
  batchai_begin >/dev/null
  printf '#!/bin/bash\nprintf "%%s\\n" idle "down*"\n' >"$T/bin/sinfo"
  chmod +x "$T/bin/sinfo"
  echo "JobId=42 JobState=COMPLETING Reason=None PreemptTime=None Restarts=1" >"$T/jobline"
  run batchai_terminated
  [ "$status" -eq 143 ]
  grep -qx 'end_reason=nodeFailure' "$BATCHAI_JOB_DIR/attempts/0"
  run ! grep -q '^end_time=' "$BATCHAI_JOB_DIR/execution"
  [ -e "$T/secrets.env" ]
  # A node whose slurmd answers again is back in service at once; Slurm's
  # line in the batch log still says why it stopped this attempt.
  printf '#!/bin/bash\nprintf "%%s\\n" idle idle\n' >"$T/bin/sinfo"
  batchai_batch_log=$T/batch.log
  printf '%s\n' "2026-12-06T10:00:00Z batchai: job 42 started on node[1-2]" \
    "slurmstepd-node1: error: *** JOB 42 ON node1 CANCELLED AT 2026-12-06T10:01:00 DUE TO NODE FAILURE ***" \
    "2026-12-06T10:02:00Z batchai: job 42 started again (restart 1) on node[1-2]" >"$batchai_batch_log"
  run batchai_requeue_reason "JobId=42 JobState=COMPLETING PreemptTime=None Restarts=2"
  [ "$output" = requeued ]  # the node failure was the attempt before
  echo "slurmstepd-node1: error: *** JOB 42 ON node1 CANCELLED AT 2026-12-06T10:03:00 DUE TO NODE FAILURE ***" \
    >>"$batchai_batch_log"
  run batchai_requeue_reason "JobId=42 JobState=COMPLETING PreemptTime=None Restarts=2"
  [ "$output" = nodeFailure ]
  # scancel: no new restart.
  echo "JobId=42 JobState=CANCELLED Reason=None PreemptTime=None Restarts=0" >"$T/jobline"
  run batchai_terminated
  [ "$status" -eq 143 ]
  grep -qx 'end_reason=terminated' "$BATCHAI_JOB_DIR/attempts/0"
  grep -qx 'exit_code=143' "$BATCHAI_JOB_DIR/execution"
  [ ! -e "$T/secrets.env" ]
}

@test "the launch table: nodes used, and each launcher starts only its node's rows" {
  batchai_processes=('0 0 0 0 - 0 stdout-0.txt stderr-0.txt 0' '1 0 1 1 - 0 stdout-1.txt stderr-1.txt 0'
                     '2 1 0 2 - 0 stdout-2.txt stderr-2.txt 1')
  batchai_commands=('echo "rank $RANK local $LOCAL_RANK task $AZ_BATCHAI_TASK_INDEX of $WORLD_SIZE"'
                    'echo "it'\''s the last"; echo err >&2')
  [ "$(batchai_table_nodes)" = 2 ]
  export BATCHAI_NODES="node1 node2"
  run env SLURMD_NODENAME=node2 bash -c "$(batchai_launcher_text)"
  [ "$status" -eq 0 ]
  [ "$(cat "$AZ_BATCHAI_STDOUTERR_DIR/stdout-2.txt")" = "it's the last" ]
  [ "$(cat "$AZ_BATCHAI_STDOUTERR_DIR/stderr-2.txt")" = err ]
  [ ! -e "$AZ_BATCHAI_STDOUTERR_DIR/stdout-0.txt" ]
  run env SLURMD_NODENAME=node1 bash -c "$(batchai_launcher_text)"
  [ "$(cat "$AZ_BATCHAI_STDOUTERR_DIR/stdout-1.txt")" = "rank 1 local 1 task 1 of 3" ]
}

@test "the first process to fail stops the others on its node, at once" {
  batchai_processes=('0 0 0 0 - 0 o0 e0 0' '1 0 1 1 - 0 o1 e1 1' '2 0 2 2 - 0 o2 e2 0')
  batchai_commands=('sleep 617 & wait' 'sleep 0.2; exit 9')
  export BATCHAI_NODES="node1"
  SECONDS=0
  run env SLURMD_NODENAME=node1 bash -c "$(batchai_launcher_text)"
  # The launcher fails; the job's exit code is the first failure's.
  [ "$status" -ne 0 ]
  [ "$SECONDS" -lt 30 ]
  [ "$(cat "$BATCHAI_JOB_DIR/first_failure")" = 9 ]
  sleep 0.2
  run ! pgrep -x -f "sleep 617" >/dev/null  # what the processes started went with them
}

@test "TF_CONFIG names each process's type and index" {
  batchai_processes=('0 0 0 0 ps 2222 ps0 e 0' '1 0 1 0 worker 2223 wk0 e 0' '2 0 2 1 worker 2224 wk1 e 0')
  batchai_commands=('echo "$TF_CONFIG"')
  batchai_tensorflow=1
  export BATCHAI_NODES="node1" BATCHAI_TF_CLUSTER='{"chief":["a"]}'
  run env SLURMD_NODENAME=node1 bash -c "$(batchai_launcher_text)"
  [ "$status" -eq 0 ]
  local c='"cluster":{"chief":["a"]}'
  [ "$(cat "$AZ_BATCHAI_STDOUTERR_DIR/ps0")" = "{$c,\"task\":{\"type\":\"ps\",\"index\":0},\"environment\":\"cloud\"}" ]
  [ "$(cat "$AZ_BATCHAI_STDOUTERR_DIR/wk0")" = "{$c,\"task\":{\"type\":\"chief\",\"index\":0},\"environment\":\"cloud\"}" ]
  [ "$(cat "$AZ_BATCHAI_STDOUTERR_DIR/wk1")" = "{$c,\"task\":{\"type\":\"worker\",\"index\":0},\"environment\":\"cloud\"}" ]
}

@test "a node's step marks its container and records jobPreparation's exit code" {
  batchai_image='docker://x' batchai_job_preparation='echo prepared; exit 4'
  run env SLURMD_NODENAME=node2 bash -c "$(declare -p batchai_image batchai_job_preparation; \
    declare -f batchai_now batchai_node_step); batchai_node_step"
  [ "$status" -eq 4 ]
  [ -e "$BATCHAI_JOB_DIR/containers/node2" ]
  [ "$(cat "$BATCHAI_JOB_DIR/preparation/node2")" = 4 ]
  [ "$(cat "$AZ_BATCHAI_STDOUTERR_DIR/stdout-job_prep-node2.txt")" = prepared ]
  grep -q ' container started$' "$AZ_BATCHAI_STDOUTERR_DIR/execution-node2.log"
  grep -q ' jobPreparation ended with exit code 4$' "$AZ_BATCHAI_STDOUTERR_DIR/execution-node2.log"
}

@test "the cluster's setup task runs on every node before the job, and a node where it fails fails the job" {
  batchai_node_count=2 batchai_prolog=batchai-prolog batchai_restart=0
  batchai_setup_task='echo "setup on $SLURMD_NODENAME $GREETING"; [ "$SLURMD_NODENAME" != node2 ] || exit 3'
  batchai_setup_output=$T/setup/stdouterr batchai_setup_env=("GREETING=it's here")
  # srun: the step's one task on each node, in turn.
  printf '#!/bin/bash\nwhile [ "${1#--}" != "$1" ]; do shift; done\nrc=0\nfor n in node1 node2; do SLURMD_NODENAME=$n "$@" || rc=$?; done\nexit $rc\n' >"$T/bin/srun"
  batchai_begin >/dev/null
  run batchai_setup_task
  [ "$status" -eq 3 ]
  [[ "$output" == *"the cluster's setup task failed; see $BATCHAI_JOB_DIR/errors and $T/setup/stdouterr"* ]]
  [ "$(cat "$T/setup/stdouterr/stdout-node1.txt")" = "setup on node1 it's here" ]
  [ "$(cat "$T/setup/stdouterr/stdout-node2.txt")" = "setup on node2 it's here" ]
  [ ! -e "$BATCHAI_JOB_DIR/errors/setupTask-node1.json" ]
  python3 - "$BATCHAI_JOB_DIR/errors/setupTask-node2.json" "$T" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
assert e["code"] == "SetupTaskFailed", e
assert "node node2 (exit code 3)" in e["message"] and sys.argv[2] + "/setup/stdouterr/stderr-node2.txt" in e["message"], e
assert {"name": "exitCode", "value": "3"} in e["details"], e
PY
  grep -qx 'exit_code=3' "$BATCHAI_JOB_DIR/execution"
  grep -q ' setup task ended with exit code 3$' "$AZ_BATCHAI_STDOUTERR_DIR/execution-node2.log"
  # Once more, as the next job would: each node appends, and success goes on.
  batchai_setup_task='echo again'
  run batchai_setup_task
  [ "$status" -eq 0 ]
  [ "$(tail -n 1 "$T/setup/stdouterr/stdout-node2.txt")" = again ]
  [ "$(grep -c . "$T/setup/stdouterr/stdout-node1.txt")" -eq 2 ]
  [ ! -e "$BATCHAI_JOB_DIR/errors/setupTask-node2.json" ]
}

@test "a job without a setup task runs no step for it" {
  batchai_node_count=2
  batchai_setup_task
  [ ! -e "$T/srun.log" ]
}

@test "the directories record names stdouterr and every output directory" {
  export AZ_BATCHAI_OUTPUT_MODEL=/m AZ_BATCHAI_OUTPUT_LOGS='/l o g'
  batchai_output_ids=(MODEL LOGS)
  batchai_record_directories
  [ "$(cat "$BATCHAI_JOB_DIR/directories")" = "$(printf 'stdouterr=%s\nMODEL=/m\nLOGS=/l o g' "$T/out")" ]
}

# The preamble of a real generated script: it loads the runtime by its
# version's path and refuses a missing one or another version.
preamble() {
  sed -n '/^batchai_runtime=/,/BATCHAI_RUNTIME_VERSION" =/p' "$GOLDENS/custom_toolkit.sbatch" |
    sed "s|^batchai_runtime=.*|batchai_runtime='$1'|"
}

@test "a script loads its runtime version, and says so when it cannot" {
  preamble "$RUNTIME" >"$T/ok.sh"
  echo 'echo "loaded $BATCHAI_RUNTIME_VERSION"' >>"$T/ok.sh"
  run bash "$T/ok.sh"
  local v=$BATCHAI_RUNTIME_VERSION next=$((BATCHAI_RUNTIME_VERSION + 1))
  [ "$status" -eq 0 ] && [ "$output" = "loaded $v" ]
  preamble "$T/none/job-runtime.sh" >"$T/missing.sh"
  run bash "$T/missing.sh"
  [ "$status" -eq 1 ]
  [ "$output" = "batchai job: the job runtime $T/none/job-runtime.sh is missing" ]
  sed "s/^BATCHAI_RUNTIME_VERSION=$v\$/BATCHAI_RUNTIME_VERSION=$next/" "$RUNTIME" >"$T/next.sh"
  preamble "$T/next.sh" >"$T/other.sh"
  run bash "$T/other.sh"
  [ "$status" -eq 1 ]
  [ "$output" = "batchai job: $T/next.sh is version $next; this job needs version $v" ]
}

# A whole script as `batchai job create` writes it, run here: srun runs each
# step's tasks on this machine under the names Slurm would give them, and
# batchai-prolog is a stand-in that makes the directories.
whole_job() {
  [ -n "${BATCHAI:-}" ] || skip "BATCHAI (the batchai program) is not given"
  mkdir -p "$T/runtime/$BATCHAI_RUNTIME_VERSION" && cp "$RUNTIME" "$T/runtime/$BATCHAI_RUNTIME_VERSION/job-runtime.sh"
  cat >"$T/bin/srun" <<'EOF2'
#!/bin/bash
nodes=1 ntasks=1 out= err=
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes=*) nodes=${1#*=} ;;
    --ntasks=*) ntasks=${1#*=} ;;
    --output=*) out=${1#*=} ;;
    --error=*) err=${1#*=} ;;
    --*) ;;
    *) break ;;
  esac
  shift
done
per=$(( (ntasks + nodes - 1) / nodes )) pids=() rc=0
for ((t = 0; t < ntasks; t++)); do
  n=$((t / per)) o=${out:-/dev/stdout} e=${err:-/dev/stderr}
  SLURMD_NODENAME=node$((n + 1)) SLURM_PROCID=$t SLURM_LOCALID=$((t % per)) SLURM_NTASKS=$ntasks \
    "$@" >>"${o//%n/$n}" 2>>"${e//%n/$n}" &
  pids+=("$!")
done
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
exit "$rc"
EOF2
  cat >"$T/bin/batchai-prolog" <<'EOF2'
#!/bin/bash
echo "$SLURMD_NODENAME $1" >>"$BATCHAI_JOB_DIR/prolog.log"
case "$1" in
  setup) mkdir -p "$AZ_BATCHAI_STDOUTERR_DIR" "$AZ_BATCHAI_JOB_TEMP" "$AZ_BATCHAI_SHARED_JOB_TEMP" ;;
  cleanup) rm -rf "$AZ_BATCHAI_JOB_TEMP" ;;
esac
EOF2
  chmod +x "$T/bin/srun" "$T/bin/batchai-prolog"
  cat >"$T/site.json" <<EOF2
{"jobsRoot": "$T/jobs", "mountRoot": "$T/mounts", "nodeTempRoot": "$T/tmp", "prologProgram": "$T/bin/batchai-prolog",
 "jobRuntimeDir": "$T/runtime", "clusters": [{"name": "c", "partition": "p"}]}
EOF2
  export BATCHAI_CONF=$T/site.json BATCHAI_STATE_DIR=$T/state SLURM_CONF=$T/no-slurm.conf
  "$BATCHAI" workspace create -g rg -n ws >/dev/null && "$BATCHAI" experiment create -g rg -w ws -n e >/dev/null
  "$BATCHAI" job create -g rg -w ws -e e -n j -c c -f "$1" --dry-run 2>/dev/null >"$T/job.sbatch"
  job_dir=$(sed -n 's/^#SBATCH --chdir=//p' "$T/job.sbatch")
  mkdir -p "$job_dir"
  unset BATCHAI_JOB_DIR AZ_BATCHAI_STDOUTERR_DIR AZ_BATCHAI_MPI_HOST_FILE
  run bash "$T/job.sbatch"
  out=$(ls -d "$T"/mounts/rg/workspaces/ws/experiments/e/jobs/j/*/stdouterr)
}

@test "a whole job script runs jobPreparation, then each process of its launch table, and records the end" {
  cat >"$T/job.json" <<'EOF'
{"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT",
  "jobPreparation": {"commandLine": "echo prepared on $SLURMD_NODENAME"},
  "environmentVariables": [{"name": "GREETING", "value": "it's \"quoted\" $HOME"}],
  "pyTorchSettings": {"pythonScriptFilePath": "-c", "pythonInterpreterPath": "bash", "processCount": 4,
    "commandLineArgs": "'echo \"$RANK/$WORLD_SIZE local $LOCAL_RANK task $AZ_BATCHAI_TASK_INDEX on $SLURMD_NODENAME: $GREETING\"'"}}}
EOF
  whole_job "$T/job.json"
  [ "$status" -eq 0 ]
  [[ "$output" == *"batchai: job ended with exit code 0" ]]
  grep -qx 'exit_code=0' "$job_dir/execution"
  [ "$(cat "$out/stdout-0.txt")" = "0/4 local 0 task 0 on node1: it's \"quoted\" \$HOME" ]
  [ "$(cat "$out/stdout-3.txt")" = "3/4 local 1 task 3 on node2: it's \"quoted\" \$HOME" ]
  [ "$(cat "$out/stdout-job_prep-node2.txt")" = "prepared on node2" ]
  grep -q 'jobPreparation ended with exit code 0$' "$out/execution-node1.log"
  [ "$(cat "$job_dir/hostfile")" = "$(printf 'node1 slots=2\n10.0.0.2 slots=2')" ]
  grep -qx "stdouterr=$out" "$job_dir/directories"
  [ "$(sort "$job_dir/prolog.log" | tr '\n' ' ')" = "node1 cleanup node1 setup node2 cleanup node2 setup " ]
  [ ! -e "$T/tmp/batchai-job-42" ]
}

@test "a whole MPI job script ends with the exit code of its first failing rank" {
  cat >"$T/job.json" <<'EOF'
{"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT",
  "customMpiSettings": {"processCount": 4,
    "commandLine": "echo \"rank $RANK of $WORLD_SIZE on $SLURMD_NODENAME\"; [ $RANK != 2 ] || exit 9"}}}
EOF
  whole_job "$T/job.json"
  [ "$status" -eq 9 ]
  grep -qx 'exit_code=9' "$job_dir/execution"
  [ "$(cat "$job_dir/first_failure")" = 9 ]
  [ "$(sort "$out/stdout.txt" | tr '\n' ' ')" = "rank 0 of 4 on node1 rank 1 of 4 on node1 rank 2 of 4 on node2 rank 3 of 4 on node2 " ]
}
