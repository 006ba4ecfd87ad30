#!/usr/bin/python3
"""Scores a batchai-train (or Keras 2.2) CIFAR-10 model file with the PyTorch
reference network of bench/cifar10_pytorch.py: an independent loader that
takes the weights by layer order, as Keras does, and transposes the Keras
kernels (kh, kw, in, out) and (in, out) to PyTorch's. A file whose layout,
kernel order or flatten order were wrong would load here and score near
10%; a right one scores what batchai-train reported.

usage: /usr/bin/python3 bench/score_checkpoint_pytorch.py MODEL.h5 CIFAR_BIN_DIR
Needs Debian's python3-h5py and python3-torch (share/batchai/setup-deps --bench).
"""
import importlib.util
import os
import sys

import h5py
import numpy
import torch

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("reference", os.path.join(here, "cifar10_pytorch.py"))
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)

if len(sys.argv) != 3:
    sys.exit(__doc__)
path, data = sys.argv[1], sys.argv[2]
weights = []
with h5py.File(path, "r") as f:
    group = f["model_weights"]
    for layer in group.attrs["layer_names"]:
        g = group[layer.decode()]
        for name in g.attrs["weight_names"]:
            weights.append(numpy.array(g[name.decode()]))
if len(weights) != 12:
    sys.exit("score_checkpoint_pytorch: %s: %d weight arrays, expected 12" % (path, len(weights)))

torch.set_num_threads(2)
model = reference.KerasCifar10Cnn()
for i, conv in enumerate([model.conv1, model.conv2, model.conv3, model.conv4]):
    conv.weight.data = torch.from_numpy(weights[2 * i].transpose(3, 2, 0, 1).copy())
    conv.bias.data = torch.from_numpy(weights[2 * i + 1])
for i, dense in enumerate([model.fc1, model.fc2]):
    dense.weight.data = torch.from_numpy(weights[8 + 2 * i].T.copy())
    dense.bias.data = torch.from_numpy(weights[9 + 2 * i])
images, labels = reference.load_batches(data, ["test_batch.bin"])
loss, accuracy = reference.evaluate(model, images, labels)
print("score_checkpoint_pytorch: %s: test loss %.4f, test accuracy %.4f" % (path, loss, accuracy))
