"""Scores a batchai-train model file with Keras itself: tf-keras's
load_model reads the .h5 as Keras 2 wrote it, and evaluate runs the test set
through TensorFlow's own layers. Its accuracy must equal the one
batchai-train printed for the same file (docs/trainer.md, Accuracy).

  python keras_evaluate.py MODEL.h5 --data DIR     (the peers venv's python)

The last line of stdout is one JSON object: loss, accuracy, images."""
import argparse
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # Keras 2 behind tf.keras, as the file was written for
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402

import cifar10_bin  # noqa: E402

PROG = "keras_evaluate"


def load_test(directory):
    path = os.path.join(directory, "test_batch.bin")
    try:
        records = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        cifar10_bin.fail(PROG, "%s: %s" % (path, e.strerror))
    if records.size % cifar10_bin.RECORD:
        cifar10_bin.fail(PROG, "%s: not a whole number of %d-byte records" % (path, cifar10_bin.RECORD))
    records = records.reshape(-1, cifar10_bin.RECORD)
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32) / 255.0
    return images, records[:, 0].astype(np.int64)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--data", required=True)
    a = p.parse_args()
    try:
        model = keras.models.load_model(a.model, compile=False)
    except (OSError, ValueError) as e:
        cifar10_bin.fail(PROG, "%s: %s" % (a.model, e))
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = load_test(a.data)
    loss, accuracy = model.evaluate(x, y, batch_size=500, verbose=0)
    cifar10_bin.report({"loss": loss, "accuracy": accuracy, "images": int(len(y))})
    return 0


if __name__ == "__main__":
    sys.exit(main())
