"""The tutorial's CIFAR-10 network in PyTorch, any version from 1.13 on: the
same model, initialisation, optimiser and augmentation as
bench/cifar10_pytorch.py (which documents them against Keras 2.2), cut down
to a timed CPU training loop for bench/trainer_vs_peers.

  python cifar10_torch.py --data DIR [--steps 300] [--warmup 10]
      [--threads 2] [--seed 1] [--no-augmentation]
  python cifar10_torch.py --versions

Images/s count steps warmup+1..steps only (the first steps allocate and
pick oneDNN kernels). The last line of stdout is one JSON object."""
import argparse
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import cifar10_bin

PROG = "cifar10_torch"
LR = 1e-4
RHO = 0.9
EPSILON = 1e-7
DECAY = 1e-6
SHIFT_FRACTION = 0.1


class TutorialCnn(nn.Module):
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
                nn.init.xavier_uniform_(m.weight)  # Keras's glorot_uniform: same fans
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.relu(self.conv1(x), inplace=True)
        x = F.relu(self.conv2(x), inplace=True)
        x = F.dropout(F.max_pool2d(x, 2), 0.25, self.training)
        x = F.relu(self.conv3(x), inplace=True)
        x = F.relu(self.conv4(x), inplace=True)
        x = F.dropout(F.max_pool2d(x, 2), 0.25, self.training)
        x = x.permute(0, 2, 3, 1).flatten(1)  # Keras's Flatten order (NHWC)
        x = F.dropout(F.relu(self.fc1(x), inplace=True), 0.5, self.training)
        return self.fc2(x)  # logits: the softmax is in the loss


def augment(x, gen):
    """Per image: a shift uniform in +-10% of each side, bilinear, the edge
    repeated; then a horizontal flip with probability 1/2 (as
    bench/cifar10_pytorch.py, which checks the direction and units). A
    per-image affine grid, because torchvision's batch transforms draw one
    set of parameters for the whole batch."""
    n, _, h, w = x.shape
    dy = (torch.rand(n, generator=gen) * 2 - 1) * (SHIFT_FRACTION * h)
    dx = (torch.rand(n, generator=gen) * 2 - 1) * (SHIFT_FRACTION * w)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -dx * (2.0 / (w - 1))
    theta[:, 1, 2] = -dy * (2.0 / (h - 1))
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
    flip = torch.rand(n, generator=gen) < 0.5
    return torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)


def versions():
    config = torch.__config__.show()
    onednn = re.search(r"(?:MKL-DNN|oneDNN)[^\n]*?(v[0-9][0-9.]*)", config)
    return {"torch": torch.__version__,
            "mkldnn": bool(torch.backends.mkldnn.is_available()),
            "onednn": onednn.group(1) if onednn else None,
            "capability": (re.search(r"CPU capability usage: (\S+)", config) or [None, None])[1],
            "numpy": np.__version__}


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

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    images, labels = cifar10_bin.load_train(a.data, "nchw", PROG)
    images, labels = torch.from_numpy(images), torch.from_numpy(labels)
    batches = torch.from_numpy(cifar10_bin.batch_order(len(labels), a.steps, a.seed))

    model = TutorialCnn()
    model.train()
    opt = torch.optim.RMSprop(model.parameters(), lr=LR, alpha=RHO, eps=EPSILON)
    # Keras 2's decay: update t (0 for the first) runs at lr / (1 + decay * t).
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 / (1.0 + DECAY * t))

    t0 = time.perf_counter()
    for s in range(a.steps):
        if s == a.warmup:
            t0 = time.perf_counter()  # CPU ops have finished when they return
        idx = batches[s]
        x = images[idx].to(torch.float32).div_(255.0)
        if not a.no_augmentation:
            x = augment(x, gen)
        loss = F.cross_entropy(model(x), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    seconds = time.perf_counter() - t0
    timed = a.steps - a.warmup
    cifar10_bin.report({"framework": "pytorch", "images_per_second": timed * cifar10_bin.BATCH / seconds,
                        "timed_steps": timed, "seconds": seconds, "loss": loss.item(),
                        "threads": torch.get_num_threads(), "augmentation": not a.no_augmentation})
    return 0


if __name__ == "__main__":
    sys.exit(main())
