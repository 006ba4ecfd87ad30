"""A job in the shape of Batch AI's TensorFlow 1 recipes: the command line
names the role (--job_name ps or worker, --task_index); the parameter
server serves forever, as TF 1's `server.join()` does; each worker starts
its own server, does its share of the work, writes it and exits.

    tf1_shaped.py OUTPUT_DIR --job_name=ROLE --task_index=I
                  [--fail_worker=I --fail_code=N]

Hosts come from Batch AI's AZ_BATCHAI_PS_HOSTS and AZ_BATCHAI_WORKER_HOSTS.
Worker I writes OUTPUT_DIR/worker-I.json with its result and the time it
exits; the worker named by --fail_worker exits with --fail_code instead.
"""
import argparse
import json
import os
import sys
import time

import tensorflow as tf


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out_dir")
    p.add_argument("--job_name", required=True, choices=["ps", "worker"])
    p.add_argument("--task_index", type=int, required=True)
    p.add_argument("--fail_worker", type=int, default=-1)
    p.add_argument("--fail_code", type=int, default=0)
    args = p.parse_args()

    cluster = tf.train.ClusterSpec({
        "ps": os.environ["AZ_BATCHAI_PS_HOSTS"].split(","),
        "worker": os.environ["AZ_BATCHAI_WORKER_HOSTS"].split(","),
    })
    server = tf.distribute.Server(cluster, job_name=args.job_name, task_index=args.task_index, start=True)
    print(f"{args.job_name} {args.task_index} serving at {server.target}", flush=True)
    if args.job_name == "ps":
        server.join()
        return 1  # join() does not return: reaching here is an error

    # A worker's share: the squares of its slice of 0..999.
    workers = cluster.num_tasks("worker")
    mine = tf.range(args.task_index, 1000, workers, dtype=tf.int64)
    result = int(tf.reduce_sum(mine * mine).numpy())
    if args.task_index == args.fail_worker:
        print(f"worker {args.task_index} fails with {args.fail_code} as told", file=sys.stderr, flush=True)
        return args.fail_code
    record = {"task_index": args.task_index, "workers": workers, "result": result, "exit_time": time.time()}
    path = os.path.join(args.out_dir, f"worker-{args.task_index}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(record, f)
    os.replace(path + ".tmp", path)
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
