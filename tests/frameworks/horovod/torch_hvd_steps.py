"""The Horovod-PyTorch recipe's shape: a few training steps over MPI ranks.

Each rank starts from its own random parameters and its own data; rank 0's
parameters and optimizer state are broadcast, then every step's gradients
are averaged by hvd.DistributedOptimizer. Each rank writes the hash of its
parameters before the broadcast and after the last step into --out, so a
test can see both that the ranks started apart and that they end as one.

  python torch_hvd_steps.py --out DIR [--steps N]
"""
import argparse
import hashlib
import json
import os

import torch
import horovod.torch as hvd


def parameters_hash(model):
    digest = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(p.detach().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where each rank writes its hashes")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()

    hvd.init()
    rank, size = hvd.rank(), hvd.size()
    torch.set_num_threads(1)
    torch.manual_seed(1000 + rank)

    model = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    initial = parameters_hash(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05 * size, momentum=0.9)
    optimizer = hvd.DistributedOptimizer(optimizer, named_parameters=model.named_parameters())
    hvd.broadcast_parameters(model.state_dict(), root_rank=0)
    hvd.broadcast_optimizer_state(optimizer, root_rank=0)
    broadcast = parameters_hash(model)

    loss_fn = torch.nn.CrossEntropyLoss()
    losses = []
    for _ in range(args.steps):
        x = torch.randn(16, 20)
        y = torch.randint(0, 4, (16,))
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))

    os.makedirs(args.out, exist_ok=True)
    report = {"rank": rank, "size": size, "local_rank": hvd.local_rank(), "initial": initial,
              "broadcast": broadcast, "final": parameters_hash(model), "losses": losses,
              "host": os.uname().nodename, "slurm_node": os.environ.get("SLURMD_NODENAME", "")}
    tmp = os.path.join(args.out, f".rank{rank}.json.tmp")
    with open(tmp, "w") as f:
        json.dump(report, f)
    os.replace(tmp, os.path.join(args.out, f"rank{rank}.json"))
    print(f"rank {rank}/{size}: {args.steps} steps, last loss {losses[-1]:.4f}", flush=True)


if __name__ == "__main__":
    main()
