"""A TensorFlow 2 ParameterServerStrategy job, as Batch AI's TensorFlow
toolkit runs it: every task reads its role from TF_CONFIG. The ps and the
workers serve until they are stopped (server.join() never returns); the
chief schedules steps on the workers through a ClusterCoordinator, checks
what they did to a variable on the ps and exits.

    tf2_parameter_server.py OUTPUT_DIR STEPS

The chief writes OUTPUT_DIR/chief.json (the variable's value, the steps and
the time it exits) and prints the same line.
"""
import json
import os
import sys
import time

import tensorflow as tf


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


def main():
    out_dir, steps = sys.argv[1], int(sys.argv[2])
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    task_type, task_id = resolver.task_type, resolver.task_id
    print(f"{task_type} {task_id} of {json.dumps(resolver.cluster_spec().as_dict())}", flush=True)
    if task_type in ("ps", "worker"):
        server = tf.distribute.Server(resolver.cluster_spec(), job_name=task_type, task_index=task_id,
                                      protocol=resolver.rpc_layer or "grpc", start=True)
        server.join()
        return 1  # join() does not return: reaching here is an error
    if task_type != "chief":
        print(f"unexpected task type {task_type!r} in TF_CONFIG", file=sys.stderr)
        return 2

    strategy = tf.distribute.ParameterServerStrategy(resolver)
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    with strategy.scope():
        total = tf.Variable(0.0, name="total")
        # Each step adds its own number, so the sum says that every
        # scheduled step ran once.
        counter = tf.Variable(0, dtype=tf.int64, name="counter")

    @tf.function
    def step():
        n = counter.assign_add(1)
        total.assign_add(tf.cast(n, tf.float32))
        return n

    results = [coordinator.schedule(step) for _ in range(steps)]
    coordinator.join()
    seen = sorted(int(r.fetch()) for r in results)
    value = float(total.numpy())
    want = steps * (steps + 1) / 2
    ok = seen == list(range(1, steps + 1)) and value == want
    record = {"steps": steps, "total": value, "want": want, "ok": ok,
              "workers": len(resolver.cluster_spec().as_dict().get("worker", [])),
              "exit_time": time.time()}
    write_json(os.path.join(out_dir, "chief.json"), record)
    print(json.dumps(record), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
