"""Scores a Keras model file on the first N CIFAR-10 test images with NumPy
alone: the network is rebuilt from the file's own model_config and weights,
so the accuracy batchai-train printed can be checked against the file it
wrote, by code that shares nothing with it.

usage: /usr/bin/python3 score_model.py MODEL.h5 TEST_BATCH_BIN N
prints: "<correct> <N>"
"""
import json
import sys

import h5py
import numpy as np

path, batch, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

# The official record: a label byte, then the red, green and blue planes.
raw = np.fromfile(batch, dtype=np.uint8).reshape(-1, 3073)[:n]
labels = raw[:, 0].astype(np.int64)
x = raw[:, 1:].reshape(n, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32) / 255.0

f = h5py.File(path, "r")
config = json.loads(f.attrs["model_config"].decode())
weights = f["model_weights"]


def tensor(layer, name):
    return np.asarray(weights[layer][layer][name + ":0"], dtype=np.float32)


def conv(x, kernel, bias, padding):
    kh, kw = kernel.shape[:2]
    if padding == "same":
        x = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))  # n,h,w,c,kh,kw
    return np.einsum("nhwcij,ijco->nhwo", windows, kernel, optimize=True) + bias


for layer in config["config"]["layers"]:
    kind, c = layer["class_name"], layer["config"]
    if kind == "Conv2D":
        x = conv(x, tensor(c["name"], "kernel"), tensor(c["name"], "bias"), c["padding"])
    elif kind == "Dense":
        x = x @ tensor(c["name"], "kernel") + tensor(c["name"], "bias")
    elif kind == "Activation" and c["activation"] == "relu":
        x = np.maximum(x, 0)
    elif kind == "Activation" and c["activation"] == "softmax":
        x = np.exp(x - x.max(axis=1, keepdims=True))
        x /= x.sum(axis=1, keepdims=True)
    elif kind == "MaxPooling2D":
        p = c["pool_size"][0]
        h, w = x.shape[1] // p, x.shape[2] // p
        x = x[:, : h * p, : w * p].reshape(x.shape[0], h, p, w, p, x.shape[3]).max(axis=(2, 4))
    elif kind == "Flatten":
        x = x.reshape(x.shape[0], -1)  # channels last, as Keras flattens
    elif kind == "Dropout":
        pass  # identity at test time
    else:
        sys.exit(f"score_model.py: {path}: layer {kind} is not one this scorer knows")

print(int((x.argmax(axis=1) == labels).sum()), n)
