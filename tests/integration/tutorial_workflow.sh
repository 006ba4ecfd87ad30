#!/usr/bin/env bash
# The README's main command on the test cluster, with a tiny slice of real
# CIFAR-10: share/batchai/tutorial --build runs every step of the tutorial,
# and this checks each step's output in its transcript: the cluster steady
# with 4 idle nodes, the share and its data, the job running on 4 nodes and
# then succeeded, its files named as in Batch AI (job preparation's too),
# one clean progress stream, the downloaded model's Keras layout, the
# printed test accuracy against the model file (scored by NumPy, sharing no
# code with the trainer) and above chance, and the resource group gone after
# the clean-up.
#   tutorial_workflow.sh BUILD_DIR CIFAR10_BATCHES_DIR
set -euo pipefail
build=$1 data=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
prog=tutorial_workflow.sh
skip() { echo "$prog: skipped: $*"; exit 77; }
fail() { echo "$prog: FAIL: $*" >&2; exit 1; }
[ -r "${SLURM_CONF:-}" ] || skip "no local cluster (SLURM_CONF unset)"
[ -f "$data/test_batch.bin" ] || skip "no CIFAR-10 at $data (make it with share/batchai/get-cifar10)"
/usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null || skip "Debian's python3-h5py is not installed"

work=$(mktemp -d /var/tmp/batchai-tutorial-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
test_images=200
# Open MPI keeps memory until exit by design: no leak reports from the ranks
# of a sanitizer build.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
if ! BATCHAI_CIFAR10_DIR=$(dirname "$data") bash "$src/share/batchai/tutorial" --build "$build" --out "$work/out" \
    --epochs 1 --train-images 1280 --test-images $test_images >"$work/transcript.txt" 2>&1; then
  cat "$work/transcript.txt" >&2
  fail "the tutorial failed; its transcript is above"
fi
t=$work/transcript.txt

# The output of the command that follows the line "$ <command...>".
after() { awk -v cmd="$ $1" 'index($0, cmd) == 1 { on = 1; next } /^\$ |^== / { on = 0 } on' "$t"; }
expect() {  # expect WHAT TEXT PATTERN
  grep -qE -- "$3" <<<"$2" || { cat "$t" >&2; fail "$1: no match for /$3/ in: $2"; }
}

expect "the cluster, before the job" "$(after "batchai cluster show -n nc6 --query [allocationState")" \
  '"steady"'
expect "the cluster's idle nodes" "$(after "batchai cluster show -n nc6 --query [allocationState")" \
  '"idleNodeCount": 4'
expect "the uploaded data" "$(after "batchai storage file upload-batch")" \
  'cifar/cifar-10-batches-bin/test_batch\.bin +30730000'
expect "the job, once started" "$(after "batchai job show -n cifar -e cifar_experiment --query executionState")" \
  '^running$'
expect "the nodes while it runs" "$(after "batchai cluster show -n nc6 --query nodeStateCounts")" \
  '"runningNodeCount": 4'
files=$(after "batchai job file list -e cifar_experiment -j cifar -o table")
for name in stdout.txt stderr.txt execution-node{1..4}.log stdout-job_prep-node{1..4}.txt stderr-job_prep-node{1..4}.txt; do
  expect "the job's files" "$files" "^$name "
done
stream=$(after "batchai job file stream -e cifar_experiment -j cifar -f stdout.txt")
expect "the output stream" "$stream" '4 rank\(s\)'
[ "$(grep -c '^batchai-train ' <<<"$stream")" = 1 ] || fail "the stream is not one rank's: $stream"
[ "$(grep -c '^Epoch 1/1' <<<"$stream")" = 1 ] || fail "epoch lines repeated (ranks interleaved): $stream"
expect "the job, once ended" "$(after "batchai job show -n cifar -e cifar_experiment --query [executionState")" \
  '^succeeded'
expect "the saved model" "$(after "batchai storage file list -s myshare -p cifar/saved_models -o table")" \
  '^keras_cifar10_trained_model\.h5 +[0-9]+ +file'

model=$work/out/keras_cifar10_trained_model.h5
[ -s "$model" ] || fail "the model was not downloaded to $model"
/usr/bin/python3 "$src/tests/trainer/check_keras_checkpoint.py" "$model" 4 || fail "$model: not Keras's layout"
printed=$(sed -n 's/^Test accuracy: //p' <<<"$stream")
summary=$(sed -n 's/^Test accuracy: *//p' "$t" | tail -1)
[ -n "$printed" ] || fail "no \"Test accuracy:\" in the stream"
expect "the closing summary" "$summary" "^$printed "
read -r correct n < <(/usr/bin/python3 "$src/tests/trainer/score_model.py" "$model" "$data/test_batch.bin" $test_images)
# The trainer and NumPy sum in different orders: a near tie may fall either
# way, so one image of difference is allowed, and no more.
awk -v p="$printed" -v c="$correct" -v n="$n" 'BEGIN { d = p * n - c; exit !(d <= 1 && d >= -1) }' ||
  fail "printed test accuracy $printed, but the model file scores $correct/$n"
# The model learned: this run (1 epoch of 1,280 images on 4 ranks) scores
# about 21% on the first 200 test images, where guessing scores 10% and
# always naming one class at most 13% (26 of them are trucks).
floor=0.16
awk -v p="$printed" -v f="$floor" 'BEGIN { exit !(p >= f) }' ||
  fail "test accuracy $printed is below $floor: the model did not learn"

out=$(BATCHAI_STATE_DIR=$work/out/state "$build/frontend/batchai" workspace list -g batchai.recipes)
[ "$out" = "[]" ] || fail "the resource group is still there after group delete: $out"
echo "$prog: every step as the tutorial promised; test accuracy $printed, the model file scores $correct/$n"
