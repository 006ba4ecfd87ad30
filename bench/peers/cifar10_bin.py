"""CIFAR-10's official binary batches (data_batch_1..5.bin: per image a label
byte, then the red, green and blue 32x32 planes) as one uint8 array, for the
peers bench/trainer_vs_peers runs. Shared by its trainers so that all of them
read the same images the same way."""
import json
import os
import sys

import numpy as np

RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = ["data_batch_%d.bin" % i for i in range(1, 6)]
BATCH = 32


def load_train(directory, layout, prog):
    """(images, labels): images uint8 in layout "nhwc" or "nchw", labels
    int64. Filled file by file into the final array, so that the loader's
    transient memory (one 30 MB file) does not set the run's peak RSS."""
    paths = [os.path.join(directory, name) for name in TRAIN_FILES]
    counts = []
    for path in paths:
        try:
            size = os.path.getsize(path)
        except OSError as e:
            fail(prog, "%s: %s" % (path, e.strerror))
        if size % RECORD:
            fail(prog, "%s: %d bytes is not a whole number of %d-byte records" % (path, size, RECORD))
        counts.append(size // RECORD)
    n = sum(counts)
    shape = (n, 32, 32, 3) if layout == "nhwc" else (n, 3, 32, 32)
    images = np.empty(shape, dtype=np.uint8)
    labels = np.empty(n, dtype=np.int64)
    at = 0
    for path, count in zip(paths, counts):
        records = np.fromfile(path, dtype=np.uint8).reshape(count, RECORD)
        planes = records[:, 1:].reshape(count, 3, 32, 32)
        images[at:at + count] = planes.transpose(0, 2, 3, 1) if layout == "nhwc" else planes
        labels[at:at + count] = records[:, 0]
        at += count
    if labels.max() > 9:
        fail(prog, "%s: a label above 9; is this CIFAR-100?" % directory)
    return images, labels


def batch_order(n, steps, seed):
    """Indices of STEPS random batches of the whole set: the first
    STEPS x 32 of one shuffle, as batchai-train's first epoch takes them."""
    if steps * BATCH > n:
        order = np.concatenate([np.random.default_rng(seed + k).permutation(n)
                                for k in range((steps * BATCH + n - 1) // n)])
    else:
        order = np.random.default_rng(seed).permutation(n)
    return order[:steps * BATCH].reshape(steps, BATCH)


def report(result):
    """The one line the driver reads: the last line of stdout."""
    print(json.dumps(result), flush=True)


def fail(prog, message):
    print("%s: %s" % (prog, message), file=sys.stderr, flush=True)
    sys.exit(1)
