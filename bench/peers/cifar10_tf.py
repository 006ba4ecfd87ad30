"""The tutorial's CIFAR-10 network in TensorFlow 2 with Keras 2 (tf-keras):
the Sequential the tutorial's script builds, RMSprop as Keras 2 had it, and
the shifts and flips done by Keras preprocessing layers inside the training
step, as a timed CPU training loop for bench/trainer_vs_peers.

  python cifar10_tf.py --data DIR [--steps 300] [--warmup 10]
      [--threads 2] [--seed 1] [--no-augmentation]
  python cifar10_tf.py --versions

The step is one tf.function (the first call traces it); images/s count
steps warmup+1..steps only. The last line of stdout is one JSON object."""
import argparse
import os
import sys
import time

# Before TensorFlow loads: Keras 2 behind tf.keras, and no INFO log lines.
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

import cifar10_bin  # noqa: E402

PROG = "cifar10_tf"


def build_model():
    layers = keras.layers
    return keras.Sequential([
        layers.Conv2D(32, (3, 3), padding="same", input_shape=(32, 32, 3)),
        layers.Activation("relu"),
        layers.Conv2D(32, (3, 3)),
        layers.Activation("relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.25),
        layers.Conv2D(64, (3, 3), padding="same"),
        layers.Activation("relu"),
        layers.Conv2D(64, (3, 3)),
        layers.Activation("relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(512),
        layers.Activation("relu"),
        layers.Dropout(0.5),
        layers.Dense(10),
        layers.Activation("softmax"),
    ])


def versions():
    return {"tensorflow": tf.__version__, "tf_keras": keras.__version__, "numpy": np.__version__,
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS")}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-augmentation", action="store_true")
    p.add_argument("--versions", action="store_true", help="print the versions as JSON and exit")
    a = p.parse_args()
    if a.versions:
        cifar10_bin.report(versions())
        return 0
    if not a.data or a.steps <= a.warmup:
        cifar10_bin.fail(PROG, "needs --data and --steps above --warmup")

    # Before the first op runs, or TensorFlow refuses.
    tf.config.threading.set_intra_op_parallelism_threads(a.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(a.seed)
    images, labels = cifar10_bin.load_train(a.data, "nhwc", PROG)
    batches = cifar10_bin.batch_order(len(labels), a.steps, a.seed)

    model = build_model()
    # Keras 2's RMSprop: epsilon outside the root, and the per-update decay
    # lr / (1 + 1e-6 t) that Keras 3's optimizers no longer take.
    opt = keras.optimizers.legacy.RMSprop(learning_rate=1e-4, rho=0.9, epsilon=1e-7, decay=1e-6)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    # Per image: a shift uniform in +-10% of each side, bilinear, the edge
    # repeated ("nearest"); then a horizontal flip with probability 1/2.
    augment = None if a.no_augmentation else keras.Sequential([
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", interpolation="bilinear"),
        keras.layers.RandomFlip("horizontal"),
    ])

    @tf.function(input_signature=[tf.TensorSpec([cifar10_bin.BATCH, 32, 32, 3], tf.uint8),
                                  tf.TensorSpec([cifar10_bin.BATCH], tf.int64)])
    def train_step(x_u8, y):
        x = tf.cast(x_u8, tf.float32) / 255.0
        if augment is not None:
            x = augment(x, training=True)
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    t0 = time.perf_counter()
    for s in range(a.steps):
        if s == a.warmup:
            loss.numpy()  # noqa: F821 (set by the steps before): wait for them
            t0 = time.perf_counter()
        idx = batches[s]
        loss = train_step(images[idx], labels[idx])
    final_loss = float(loss.numpy())
    seconds = time.perf_counter() - t0
    timed = a.steps - a.warmup
    cifar10_bin.report({"framework": "tf-keras", "images_per_second": timed * cifar10_bin.BATCH / seconds,
                        "timed_steps": timed, "seconds": seconds, "loss": final_loss,
                        "threads": a.threads, "augmentation": not a.no_augmentation})
    return 0


if __name__ == "__main__":
    sys.exit(main())
