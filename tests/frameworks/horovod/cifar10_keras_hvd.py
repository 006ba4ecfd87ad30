"""The Batch AI Horovod tutorial's training, with TF 2's Keras and Horovod 0.28.

Does what the tutorial's script does (docs/trainer.md, "The tutorial's
script, for real"): the Keras CIFAR-10 CNN that batchai-train also trains,
RMSprop at 1e-4 x ranks with Keras 2.2's decay, wrapped in
hvd.DistributedOptimizer, ceil(100 / ranks) epochs, shifts and flips from
ImageDataGenerator, checkpoints and the final model from rank 0 only. Unlike
the published script, the callbacks list IS passed to fit, so rank 0's
initial weights reach every rank.

For the tests it also takes a slice of the data and a number of epochs, and
writes, per rank, a hash of its weights before and after training; rank 0
writes Keras's own score of the saved model in keras-eval.json.

  python cifar10_keras_hvd.py --data DIR --dir OUT [--epochs N]
      [--train-images N] [--test-images N] [--seed N] [--threads N]
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np

RECORD = 1 + 32 * 32 * 3  # label byte, then the red, green and blue planes


def read_batches(paths, limit):
    """Images (N, 32, 32, 3) uint8 and labels (N,) from binary batch files."""
    records = []
    left = limit
    for path in paths:
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size % RECORD:
            sys.exit(f"cifar10_keras_hvd: {path}: {raw.size} bytes is not a whole number of "
                     f"{RECORD}-byte records")
        raw = raw.reshape(-1, RECORD)
        if left is not None:
            raw = raw[:left]
            left -= len(raw)
        records.append(raw)
        if left == 0:
            break
    raw = np.concatenate(records)
    images = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), raw[:, 0].astype(np.int64)


def weights_hash(model):
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w, dtype=np.float32).tobytes())
    return digest.hexdigest()


def build_model(keras, classes):
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
        layers.Dense(classes),
        layers.Activation("softmax"),
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the cifar-10-batches-bin directory")
    parser.add_argument("--dir", default=".", help="where checkpoints, saved_models/ and the hashes go")
    parser.add_argument("--epochs", type=int, help="default ceil(100 / ranks), as the tutorial")
    parser.add_argument("--train-images", type=int, help="the first N training images only")
    parser.add_argument("--test-images", type=int, help="the first N test images only")
    parser.add_argument("--seed", type=int, default=1, help="each rank seeds with seed + rank")
    parser.add_argument("--threads", type=int, help="TensorFlow threads per rank (default: TensorFlow's choice)")
    args = parser.parse_args()

    import tensorflow as tf
    import horovod.tensorflow.keras as hvd
    keras = tf.keras

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    hvd.init()
    rank, size = hvd.rank(), hvd.size()
    # Each rank draws its own initial weights, as the tutorial's processes
    # did; only the broadcast makes them one model.
    keras.utils.set_random_seed(args.seed + rank)

    classes = 10
    batch_size = 32
    epochs = args.epochs or int(math.ceil(100.0 / size))
    train_files = [os.path.join(args.data, f"data_batch_{i}.bin") for i in range(1, 6)]
    x_train, y_train = read_batches(train_files, args.train_images)
    x_test, y_test = read_batches([os.path.join(args.data, "test_batch.bin")], args.test_images)
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    y_train = keras.utils.to_categorical(y_train, classes)
    y_test_labels = y_test
    y_test = keras.utils.to_categorical(y_test, classes)

    model = build_model(keras, classes)
    # Keras 2.2's RMSprop (decay per step, epsilon outside the root) is the
    # legacy one in TF 2.14.
    opt = keras.optimizers.legacy.RMSprop(learning_rate=1e-4 * size, decay=1e-6)
    opt = hvd.DistributedOptimizer(opt)
    model.compile(loss="categorical_crossentropy", optimizer=opt, metrics=["accuracy"])

    os.makedirs(args.dir, exist_ok=True)
    with open(os.path.join(args.dir, f"weights-rank{rank}.initial"), "w") as f:
        f.write(weights_hash(model) + "\n")

    # The training loop's seconds, each epoch's validation left out, as
    # batchai-train counts them for its images/s.
    class TrainingSeconds(keras.callbacks.Callback):
        total = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.began = self.last = time.monotonic()

        def on_train_batch_end(self, batch, logs=None):
            self.last = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            TrainingSeconds.total += self.last - self.began

    callbacks = [hvd.callbacks.BroadcastGlobalVariablesCallback(0), TrainingSeconds()]
    if rank == 0:
        callbacks.append(keras.callbacks.ModelCheckpoint(os.path.join(args.dir, "checkpoint-{epoch}.h5")))

    datagen = keras.preprocessing.image.ImageDataGenerator(
        width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True)
    steps = int(math.ceil(len(x_train) / batch_size))
    model.fit(datagen.flow(x_train, y_train, batch_size=batch_size, seed=args.seed + rank),
              steps_per_epoch=steps, epochs=epochs, validation_data=(x_test, y_test),
              callbacks=callbacks, verbose=2 if rank == 0 else 0)
    seconds = TrainingSeconds.total

    with open(os.path.join(args.dir, f"weights-rank{rank}.final"), "w") as f:
        f.write(weights_hash(model) + "\n")

    if rank == 0:
        saved = os.path.join(args.dir, "saved_models")
        os.makedirs(saved, exist_ok=True)
        path = os.path.join(saved, "keras_cifar10_trained_model.h5")
        model.save(path + ".tmp.h5")
        os.replace(path + ".tmp.h5", path)
        loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
        correct = int(np.sum(np.argmax(model.predict(x_test, verbose=0), axis=1) == y_test_labels))
        print(f"Test loss: {loss:.6f}")
        print(f"Test accuracy: {accuracy:.6f}")
        result = {"loss": float(loss), "accuracy": float(accuracy), "correct": correct,
                  "images": int(len(x_test)), "ranks": size, "epochs": epochs,
                  "steps": steps * epochs, "train_seconds": seconds,
                  "images_per_second": len(x_train) * epochs * size / seconds}
        with open(os.path.join(args.dir, "keras-eval.json.tmp"), "w") as f:
            json.dump(result, f)
        os.replace(os.path.join(args.dir, "keras-eval.json.tmp"), os.path.join(args.dir, "keras-eval.json"))


if __name__ == "__main__":
    main()
