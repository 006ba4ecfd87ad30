#!/usr/bin/python3
# Reference CIFAR-10 trainer in PyTorch: the network, initialisation,
# optimiser, augmentation and batching of the tutorial's Keras cifar10_cnn
# example, so that the native trainer (batchai-train, trainer/) can be
# measured against it side by side, on the same machine and the same data
# (issue 6): training images per second, test accuracy per epoch, peak RSS.
#
#   /usr/bin/python3 bench/cifar10_pytorch.py [--data DIR] [--epochs 3]
#       [--threads 2] [--seed N] [--world-size 1] [--no-augmentation]
#       [--limit-steps N] [--json] [--device cpu|cuda] [--fp32] [--compile]
#
# On a GPU (--device cuda) the data set sits on the device and the shifts
# run there, as batchai-train's CUDA backend does, and the running loss is
# summed on the device, so PyTorch eager is not held back by a per-step
# sync that ours does not pay. TF32 is on for GEMMs and convolutions unless
# --fp32, as ours; --compile runs the model through torch.compile.
#
# Quick throughput measure:  --epochs 1 --limit-steps 300
# Accuracy run (about 43%, 50%, 55% test accuracy after epochs 1, 2, 3):
#                            --epochs 3
# Check the augmentation's shift direction and units, then exit:
#                            --check-augmentation
#
# Needs Debian 12's PyTorch 1.13 (apt-get install python3-torch, or
# share/batchai/setup-deps --bench), so it runs under /usr/bin/python3, not
# the python3 first on PATH. The data is the official binary layout
# (data_batch_1..5.bin, test_batch.bin: a label byte, then 3,072 bytes of
# red, green and blue planes); make it with
#   /work/shared/data/cifar10/make-cifar10-bin /var/tmp/cifar10
# The default --data is $BATCHAI_DATA, else
# /var/tmp/cifar10/cifar-10-batches-bin.
#
# The model, to match Keras 2.2:
#   conv 3->32 3x3 same, relu; conv 32->32 3x3 valid, relu; maxpool 2;
#   dropout .25; conv 32->64 3x3 same, relu; conv 64->64 3x3 valid, relu;
#   maxpool 2; dropout .25; flatten in NHWC order (so the dense kernel's
#   rows are in Keras's order); dense 2304->512, relu; dropout .5;
#   dense 512->10; softmax cross entropy.
#   Kernels glorot-uniform, biases zero.
#   RMSprop lr 1e-4 (times --world-size), rho 0.9, eps 1e-7 added outside
#   the square root, decay 1e-6: lr_t = lr / (1 + 1e-6 * t), t the number of
#   updates before this one.
#   Augmentation as ImageDataGenerator(width_shift_range=0.1,
#   height_shift_range=0.1, horizontal_flip=True, fill_mode='nearest'): per
#   image a continuous shift, uniform in [-3.2, 3.2] pixels on each axis,
#   bilinear, edges repeated; then a horizontal flip with probability 1/2.
#   Batch 32, reshuffled every epoch, the last partial batch kept
#   (1,563 steps an epoch).
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = ["data_batch_%d.bin" % i for i in range(1, 6)]
TEST_FILES = ["test_batch.bin"]
BATCH = 32
EVAL_BATCH = 1000
BASE_LR = 1e-4
RHO = 0.9
EPSILON = 1e-7
DECAY = 1e-6
SHIFT_FRACTION = 0.1


def load_batches(directory, names):
    """Images as uint8 NCHW (scaled per batch later, to keep memory at 1 byte
    a value) and labels as int64. Reads into the final tensors file by file,
    so loading needs little more memory than the data."""
    paths = [os.path.join(directory, name) for name in names]
    counts = []
    for path in paths:
        size = os.path.getsize(path)
        if size % RECORD != 0:
            sys.exit("cifar10_pytorch: %s: %d bytes is not a whole number of %d-byte records"
                     % (path, size, RECORD))
        counts.append(size // RECORD)
    images = torch.empty(sum(counts), 3, 32, 32, dtype=torch.uint8)
    labels = torch.empty(sum(counts), dtype=torch.int64)
    at = 0
    for path, count in zip(paths, counts):
        with open(path, "rb") as f:
            records = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8).view(count, RECORD)
        labels[at:at + count] = records[:, 0]
        images[at:at + count] = records[:, 1:].reshape(count, 3, 32, 32)
        at += count
    if int(labels.max()) > 9:
        sys.exit("cifar10_pytorch: %s: a label above 9; is this CIFAR-100?" % directory)
    return images, labels


def to_float(images_u8):
    return images_u8.to(torch.float32).div_(255.0)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


class KerasCifar10Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv4 = nn.Conv2d(64, 64, 3)
        self.fc1 = nn.Linear(6 * 6 * 64, 512)
        self.fc2 = nn.Linear(512, 10)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                # PyTorch's fans for a conv weight (out, in, kh, kw) are
                # in*kh*kw and out*kh*kw, the same as Keras's for (kh, kw, in, out).
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        # ReLU in place: the layers before them do not need their outputs for
        # the backward pass, and it halves the activations held.
        x = F.relu(self.conv1(x), inplace=True)
        x = F.relu(self.conv2(x), inplace=True)
        x = F.dropout(F.max_pool2d(x, 2), 0.25, self.training)
        x = F.relu(self.conv3(x), inplace=True)
        x = F.relu(self.conv4(x), inplace=True)
        x = F.dropout(F.max_pool2d(x, 2), 0.25, self.training)
        x = x.permute(0, 2, 3, 1).flatten(1)  # Keras's Flatten on NHWC
        x = F.dropout(F.relu(self.fc1(x), inplace=True), 0.5, self.training)
        return self.fc2(x)  # logits; the softmax is in the loss


def shift_images(x, dy, dx):
    """Moves each image's content by (dy[i], dx[i]) pixels (positive: down,
    right), bilinear between pixels, the edge pixels repeated outside.

    With align_corners=True pixel j sits at -1 + 2j/(W-1) in grid units, so
    one pixel is 2/(W-1). affine_grid's translation moves where each output
    pixel samples from: output(j) = input(j + t). Content moving by +d
    therefore needs t = -d."""
    n, _, h, w = x.shape
    theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -dx * (2.0 / (w - 1))
    theta[:, 1, 2] = -dy * (2.0 / (h - 1))
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def augment(x, gen):
    n, _, h, w = x.shape
    dy = (torch.rand(n, generator=gen, device=x.device) * 2 - 1) * (SHIFT_FRACTION * h)
    dx = (torch.rand(n, generator=gen, device=x.device) * 2 - 1) * (SHIFT_FRACTION * w)
    x = shift_images(x, dy, dx)
    flip = torch.rand(n, generator=gen, device=x.device) < 0.5
    return torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)


def check_augmentation():
    """Shifts a single lit pixel and checks where it lands."""
    ok = True

    def expect(what, got, want):
        nonlocal ok
        good = torch.allclose(got, want, atol=1e-5)
        ok = ok and good
        print("%s: %s" % (what, "ok" if good else "WRONG\n got %s\n want %s" % (got, want)))

    x = torch.zeros(1, 1, 32, 32)
    x[0, 0, 10, 20] = 1.0
    one = torch.ones(1)
    zero = torch.zeros(1)
    want = torch.zeros(1, 1, 32, 32)
    want[0, 0, 10, 21] = 1.0
    expect("dx=+1 moves content one pixel right", shift_images(x, zero, one), want)
    want = torch.zeros(1, 1, 32, 32)
    want[0, 0, 7, 20] = 1.0
    expect("dy=-3 moves content three pixels up", shift_images(x, -3 * one, zero), want)
    want = torch.zeros(1, 1, 32, 32)
    want[0, 0, 10, 20] = 0.75
    want[0, 0, 10, 21] = 0.25
    expect("dx=+0.25 is bilinear (0.75, 0.25)", shift_images(x, zero, 0.25 * one), want)
    ramp = torch.arange(32.0).view(1, 1, 1, 32).expand(1, 1, 32, 32)
    want = (torch.arange(32.0) - 3.2).clamp(min=0).view(1, 1, 1, 32).expand(1, 1, 32, 32)
    expect("dx=+3.2 on a ramp repeats the left edge ('nearest')",
           shift_images(ramp, zero, 3.2 * one), want)
    return ok


def evaluate(model, images, labels):
    model.eval()
    loss_sum = 0.0
    correct = 0
    with torch.no_grad():
        for i in range(0, len(labels), EVAL_BATCH):
            x = to_float(images[i:i + EVAL_BATCH])
            y = labels[i:i + EVAL_BATCH]
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    return loss_sum / len(labels), correct / len(labels)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main():
    p = argparse.ArgumentParser(description="Reference PyTorch CIFAR-10 trainer (Keras cifar10_cnn)")
    p.add_argument("--data", default=os.environ.get("BATCHAI_DATA")
                   or "/var/tmp/cifar10/cifar-10-batches-bin",
                   help="directory of the binary batches (default $BATCHAI_DATA, "
                        "else /var/tmp/cifar10/cifar-10-batches-bin)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2, help="intra-op threads (interop is 1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--world-size", type=int, default=1,
                   help="scales the learning rate, as the distributed trainer does")
    p.add_argument("--no-augmentation", action="store_true")
    p.add_argument("--limit-steps", type=int, default=0,
                   help="train only this many steps an epoch (a throughput measure)")
    p.add_argument("--json", action="store_true", help="one JSON line an epoch, and one at the end")
    p.add_argument("--check-augmentation", action="store_true",
                   help="check the shift's direction and units, then exit")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--fp32", action="store_true", help="on a GPU, exact FP32 instead of TF32")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    a = p.parse_args()
    device = torch.device(a.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = not a.fp32
        torch.backends.cudnn.allow_tf32 = not a.fp32
        torch.backends.cudnn.benchmark = True

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    if a.check_augmentation:
        return 0 if check_augmentation() else 1

    data = a.data
    if not os.path.exists(os.path.join(data, TRAIN_FILES[0])) and \
            os.path.isdir(os.path.join(data, "cifar-10-batches-bin")):
        data = os.path.join(data, "cifar-10-batches-bin")
    for name in TRAIN_FILES + TEST_FILES:
        if not os.path.isfile(os.path.join(data, name)):
            sys.exit("cifar10_pytorch: no %s in %s (make it with "
                     "/work/shared/data/cifar10/make-cifar10-bin /var/tmp/cifar10)" % (name, data))

    t_start = time.perf_counter()
    torch.manual_seed(a.seed)
    gen = torch.Generator(device=device).manual_seed(a.seed)
    train_x, train_y = load_batches(data, TRAIN_FILES)
    test_x, test_y = load_batches(data, TEST_FILES)
    train_x, train_y = train_x.to(device), train_y.to(device)
    test_x, test_y = test_x.to(device), test_y.to(device)

    model = KerasCifar10Cnn().to(device)
    step_model = torch.compile(model) if a.compile else model
    lr = BASE_LR * a.world_size
    opt = torch.optim.RMSprop(model.parameters(), lr=lr, alpha=RHO, eps=EPSILON,
                              weight_decay=0, momentum=0, centered=False)
    # Keras 2.2's decay: the update number t (0 for the first) divides the rate.
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 / (1.0 + DECAY * t))

    n = len(train_y)
    steps = (n + BATCH - 1) // BATCH
    if a.limit_steps > 0:
        steps = min(steps, a.limit_steps)
    info = {"torch": torch.__version__, "device": str(device), "compile": a.compile,
            "tf32": device.type == "cuda" and not a.fp32, "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(), "train": n,
            "test": len(test_y), "batch": BATCH, "steps_per_epoch": steps, "lr": lr,
            "augmentation": not a.no_augmentation, "seed": a.seed, "data": data}
    if a.json:
        print(json.dumps(dict(event="start", **info)), flush=True)
    else:
        print("cifar10_pytorch: torch %s, %d threads, %d train / %d test images, batch %d, "
              "%d steps an epoch, lr %g, augmentation %s, seed %d, data %s"
              % (info["torch"], info["threads"], n, len(test_y), BATCH, steps, lr,
                 "on" if info["augmentation"] else "off", a.seed, data), flush=True)

    train_rss = peak_rss_mib()
    for epoch in range(1, a.epochs + 1):
        t_epoch = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=gen, device=device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        seen = 0
        sync(device)
        t_train = time.perf_counter()
        for s in range(steps):
            idx = order[s * BATCH:(s + 1) * BATCH]
            x = to_float(train_x[idx])
            y = train_y[idx]
            if not a.no_augmentation:
                x = augment(x, gen)
            logits = step_model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach() * len(y)
            correct += (logits.detach().argmax(1) == y).sum()
            seen += len(y)
        sync(device)
        train_s = time.perf_counter() - t_train
        loss_sum, correct = loss_sum.item(), correct.item()
        if epoch == 1:
            # Evaluating 1,000 images at once raises the peak by some 450 MiB
            # (oneDNN's convolution buffers); this is training's own.
            train_rss = peak_rss_mib()
        test_loss, test_acc = evaluate(model, test_x, test_y)
        wall = time.perf_counter() - t_epoch
        row = {"event": "epoch", "epoch": epoch, "steps": steps, "images": seen,
               "train_images_per_s": round(seen / train_s, 1), "train_s": round(train_s, 2),
               "train_loss": round(loss_sum / seen, 4), "train_acc": round(correct / seen, 4),
               "test_loss": round(test_loss, 4), "test_acc": round(test_acc, 4),
               "wall_s": round(wall, 2), "since_start_s": round(time.perf_counter() - t_start, 2),
               "lr_now": opt.param_groups[0]["lr"]}
        if a.json:
            print(json.dumps(row), flush=True)
        else:
            print("epoch %d/%d: %d steps, %.1f images/s training; train loss %.4f acc %.4f; "
                  "test loss %.4f acc %.4f; %.1f s"
                  % (epoch, a.epochs, steps, row["train_images_per_s"], row["train_loss"],
                     row["train_acc"], test_loss, test_acc, wall), flush=True)

    rss = peak_rss_mib()
    if a.json:
        print(json.dumps({"event": "end", "peak_rss_mib": round(rss, 1),
                          "peak_rss_before_eval_mib": round(train_rss, 1)}), flush=True)
    else:
        print("peak RSS %.1f MiB (%.1f MiB before the first evaluation)" % (rss, train_rss),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
