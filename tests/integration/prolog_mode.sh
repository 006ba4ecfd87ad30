#!/usr/bin/env bash
# Prolog mode: batchai-prolog as Slurm's Prolog and Epilog (PrologFlags=Alloc)
# on a second, 2-node cluster. A user who is not root submits a job with a
# share; the Prolog bind-mounts it as root on both nodes before the job,
# jobPreparation runs as that user and sees the mount, the job's first step
# accepts the Prolog's mounts, and the Epilog unmounts them and removes a
# cancelled job's node scratch. A volume whose
# site directory is missing fails the job with MountError and drains no
# node. Exit 77 (skip) without root, Slurm or useradd.
set -euo pipefail
localcluster=$1
batchai=$2
prolog=$3
[ "$(id -u)" -eq 0 ] || { echo "skip: not root"; exit 77; }
command -v slurmctld >/dev/null || { echo "skip: slurmctld not installed"; exit 77; }
command -v useradd >/dev/null || { echo "skip: no useradd to make a test user"; exit 77; }
user='batchai-test'
id -u "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /bin/bash "$user"

dir=$(mktemp -d /var/tmp/batchai-prolog-mode.XXXXXX)
chmod 0755 "$dir"
export BATCHAI_LOCALCLUSTER_PORT=29817 BATCHAI_LOCALCLUSTER_ACCOUNTING=0
lc() { "$localcluster" "$@" --dir "$dir"; }
fail() { echo "FAIL: $*"; exit 1; }
trap 'lc down >/dev/null 2>&1 || true; grep -q " $dir/" /proc/self/mountinfo && echo "mounts left behind"; rm -rf "$dir"' EXIT

# Slurm runs the Prolog with no arguments; these wrappers add the local
# cluster's site.json, as /etc/batchai/site.json would be found on a site.
for hook in prolog epilog; do
  printf '#!/bin/sh\nexec %q %s --conf %q\n' "$prolog" "$hook" "$dir/etc/site.json" >"$dir/$hook.sh"
  chmod 0755 "$dir/$hook.sh"
done
lc up --nodes 2 --prolog "$dir/prolog.sh" --epilog "$dir/epilog.sh" >/dev/null || fail "up with Prolog and Epilog"
echo seed >"$dir/shares/myshare/seed.txt"

install -d -o "$user" -m 0700 "$dir/user"
as_user() {
  runuser -u "$user" -- env SLURM_CONF="$dir/etc/slurm.conf" BATCHAI_CONF="$dir/etc/site.json" \
    BATCHAI_STATE_DIR="$dir/user/state" HOME="$dir/user" PATH="$PATH" "$batchai" "$@"
}
as_user workspace create -g rg -n ws >/dev/null
as_user experiment create -g rg -w ws -n e >/dev/null
as_user cluster create -g rg -w ws -n c -s STANDARD_NC6 -t 2 >/dev/null

job_json() {  # name, share, preparation, [relativeMountPath, directoryMode]
  local mode=
  [ -z "${5:-}" ] || mode=", \"directoryMode\": \"$5\""
  cat >"$dir/user/$1.json" <<JSON
{"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "\$AZ_BATCHAI_JOB_TEMP_DIR",
  "customToolkitSettings": {"commandLine": "cat \$AZ_BATCHAI_JOB_MOUNT_ROOT/${4:-data}/seed.txt"},
  "mountVolumes": {"azureFileShares": [
    {"azureFileUrl": "https://acct.file.core.windows.net/$2", "relativeMountPath": "${4:-data}"$mode}]},
  "jobPreparation": {"commandLine": "$3"}}}
JSON
  chown "$user" "$dir/user/$1.json"
}
job_json mounted myshare \
  'id -un > $AZ_BATCHAI_JOB_MOUNT_ROOT/in/data/user-$SLURMD_NODENAME; mountpoint -q $AZ_BATCHAI_JOB_MOUNT_ROOT/in/data && echo yes > $AZ_BATCHAI_JOB_MOUNT_ROOT/in/data/mounted-$SLURMD_NODENAME' \
  in/data 0750
as_user job create -g rg -w ws -e e -n mounted -c c -f "$dir/user/mounted.json" >/dev/null
as_user job wait --interval 1 -g rg -w ws -e e -n mounted >/dev/null || fail "the job failed: $(as_user job show -g rg -w ws -e e -n mounted)"
for node in node1 node2; do
  [ "$(cat "$dir/shares/myshare/user-$node" 2>/dev/null)" = "$user" ] || fail "jobPreparation on $node did not run as $user"
  [ "$(cat "$dir/shares/myshare/mounted-$node" 2>/dev/null)" = yes ] || fail "no mount at the volume's path on $node"
  [ "$(stat -c %U "$dir/shares/myshare/user-$node")" = "$user" ] || fail "the file the job wrote is not $user's"
done
jobdir=$(as_user job show -g rg -w ws -e e -n mounted --query jobOutputDirectoryPathSegment -o tsv)
log=$(cat "$dir/tmp/$jobdir/stdouterr/execution-node1.log")
grep -q "mounted by the Prolog" <<<"$log" || fail "the job's first step did not see the Prolog's mount: $log"
# Root made the directory on the way to the volume: the user's, with the job's directoryMode.
made=$(find "$dir/jobs" -path '*/mounts/in' -type d | head -n 1)
[ "$(stat -c '%U %a' "$made")" = "$user 750" ] || fail "$made is $(stat -c '%U %a' "$made"), expected '$user 750'"
# The Epilog runs once the job has ended.
for _ in $(seq 1 50); do grep -q " $dir/jobs/" /proc/self/mountinfo || break; sleep 0.2; done
grep -q " $dir/jobs/" /proc/self/mountinfo && fail "the Epilog left mounts: $(grep " $dir/jobs/" /proc/self/mountinfo)"

# A share the user made with `batchai storage` under the storageRoot (the
# cluster's shares/): root mounts it as it mounts the site's.
as_user storage share create -n usershare >/dev/null || fail "storage share create"
printf 'mine\n' >"$dir/user/seed.txt" && chown "$user" "$dir/user/seed.txt"
as_user storage file upload -s usershare --source "$dir/user/seed.txt" >/dev/null || fail "storage file upload"
job_json own usershare \
  'mountpoint -q $AZ_BATCHAI_JOB_MOUNT_ROOT/data && echo yes > $AZ_BATCHAI_JOB_MOUNT_ROOT/data/mounted-$SLURMD_NODENAME'
as_user job create -g rg -w ws -e e -n own -c c -f "$dir/user/own.json" >/dev/null
as_user job wait --interval 1 -g rg -w ws -e e -n own >/dev/null ||
  fail "the job on the user's own share failed: $(as_user job show -g rg -w ws -e e -n own)"
for node in node1 node2; do
  [ "$(cat "$dir/shares/usershare/mounted-$node" 2>/dev/null)" = yes ] || fail "the user's share was not mounted on $node"
done

# A cancelled job's last step does not run; the Epilog removes its scratch.
cat >"$dir/user/sleeper.json" <<'JSON'
{"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
  "customToolkitSettings": {"commandLine": "sleep 300"},
  "jobPreparation": {"commandLine": "touch $AZ_BATCHAI_JOB_TEMP/prepared"}}}
JSON
chown "$user" "$dir/user/sleeper.json"
as_user job create -g rg -w ws -e e -n sleeper -c c -f "$dir/user/sleeper.json" >/dev/null
id=$(as_user job show -g rg -w ws -e e -n sleeper --query slurmJobId -o tsv)
for _ in $(seq 1 100); do [ -e "$dir/tmp/batchai-job-$id/prepared" ] && break; sleep 0.2; done
[ -e "$dir/tmp/batchai-job-$id/prepared" ] || fail "the sleeper's scratch never appeared"
as_user job terminate -y -g rg -w ws -e e -n sleeper >/dev/null
for _ in $(seq 1 100); do [ -e "$dir/tmp/batchai-job-$id" ] || break; sleep 0.2; done
[ -e "$dir/tmp/batchai-job-$id" ] && fail "the Epilog left the cancelled job's scratch $dir/tmp/batchai-job-$id"

# A share the site maps to a directory the nodes do not have.
sed -i "s|\"path\": \"$dir/shares/logs\"|\"path\": \"$dir/shares/gone\"|" "$dir/etc/site.json"
job_json missing logs 'true'
as_user job create -g rg -w ws -e e -n missing -c c -f "$dir/user/missing.json" >/dev/null
as_user job wait --interval 1 -g rg -w ws -e e -n missing >/dev/null 2>&1 && fail "a job with a missing share succeeded"
code=$(as_user job show -g rg -w ws -e e -n missing --query 'executionInfo.errors[0].code' -o tsv)
[ "$code" = MountError ] || fail "expected MountError, got '$code'"
step=$(as_user job show -g rg -w ws -e e -n missing --query "executionInfo.errors[0].details[?name=='step'].value | [0]" -o tsv)
[ "$step" = Prolog ] || fail "the MountError should come from the Prolog, got step '$step'"
states=$(SLURM_CONF="$dir/etc/slurm.conf" sinfo -h -N -o '%t' | sort -u | tr '\n' ' ')
[ "$states" = "idle " ] || fail "nodes not idle after a failed mount: $states"
echo "PASS: Prolog mounts as root, jobPreparation runs as $user and sees them, the Epilog unmounts; a missing share is the job's MountError, not a drained node"
