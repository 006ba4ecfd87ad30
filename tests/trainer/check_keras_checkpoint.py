"""Opens a batchai-train checkpoint the way Keras 2.2's load_model does, with
Debian's h5py 3, and checks the exact layout: root attributes, the 18 layers
of the tutorial's network in order, weight names, shapes, dtypes, the 12
RMSprop accumulators, and the two JSON documents.

usage: /usr/bin/python3 check_keras_checkpoint.py FILE RANKS
"""
import json
import sys

import h5py
import numpy

path, ranks = sys.argv[1], int(sys.argv[2])
f = h5py.File(path, "r")
for key in ("keras_version", "backend", "model_config", "training_config"):
    value = f.attrs[key]
    assert type(value) is numpy.bytes_, (key, type(value))  # fixed-length: Keras 2.x calls .decode()
assert f.attrs["keras_version"].decode() == "2.2.4"
assert f.attrs["backend"].decode() == "tensorflow"

config = json.loads(f.attrs["model_config"].decode())
assert config["class_name"] == "Sequential"
layers = config["config"]["layers"]
classes = [l["class_name"] for l in layers]
assert classes == ["Conv2D", "Activation", "Conv2D", "Activation", "MaxPooling2D", "Dropout",
                   "Conv2D", "Activation", "Conv2D", "Activation", "MaxPooling2D", "Dropout",
                   "Flatten", "Dense", "Activation", "Dropout", "Dense", "Activation"], classes
first = layers[0]["config"]
assert first["batch_input_shape"] == [None, 32, 32, 3] and first["padding"] == "same", first
assert first["kernel_initializer"]["class_name"] == "VarianceScaling"
assert layers[2]["config"]["padding"] == "valid" and "batch_input_shape" not in layers[2]["config"]
assert [layers[i]["config"]["rate"] for i in (5, 11, 15)] == [0.25, 0.25, 0.5]
assert layers[17]["config"]["activation"] == "softmax"

training = json.loads(f.attrs["training_config"].decode())
opt = training["optimizer_config"]
assert opt["class_name"] == "RMSprop", opt
assert abs(opt["config"]["lr"] - 1e-4 * ranks) < 1e-9, opt  # Horovod's lr x size
assert opt["config"]["epsilon"] == 1e-07 and abs(opt["config"]["decay"] - 1e-6) < 1e-12, opt
assert training["loss"] == "categorical_crossentropy" and training["metrics"] == ["accuracy"]

mw = f["model_weights"]
names = [n.decode() for n in mw.attrs["layer_names"]]
assert names == [l["config"]["name"] for l in layers], names
shapes = {"conv2d_1": (3, 3, 3, 32), "conv2d_2": (3, 3, 32, 32), "conv2d_3": (3, 3, 32, 64),
          "conv2d_4": (3, 3, 64, 64), "dense_1": (2304, 512), "dense_2": (512, 10)}
total = 0
for name in names:
    wn = [n.decode() for n in mw[name].attrs["weight_names"]]
    if name not in shapes:
        assert wn == [], (name, wn)
        continue
    assert wn == [name + "/kernel:0", name + "/bias:0"], wn
    kernel, bias = mw[name][wn[0]], mw[name][wn[1]]
    assert kernel.shape == shapes[name] and kernel.dtype == numpy.float32, (name, kernel.shape, kernel.dtype)
    assert bias.shape == (shapes[name][-1],) and bias.dtype == numpy.float32
    assert numpy.isfinite(kernel[()]).all()
    total += kernel.size + bias.size
assert total == 1250858, total

ow = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
assert ow == ["training/RMSprop/Variable:0"] + ["training/RMSprop/Variable_%d:0" % i for i in range(1, 12)], ow
assert f["optimizer_weights"][ow[8]].shape == (2304, 512)
assert (f["optimizer_weights"][ow[8]][()] >= 0).all()  # squared-gradient averages
print("keras checkpoint ok:", path)
