"""A PyTorch job over gloo, initialised as Batch AI's PyTorch recipe does:
the init method and the rank from the command line, which the job file
fills with $AZ_BATCHAI_PYTORCH_INIT_METHOD and $AZ_BATCHAI_TASK_INDEX.

    pytorch_gloo.py OUTPUT_DIR --dist-url URL --rank R --world-size N [--ddp STEPS]

Every rank all-reduces rank + 1 and writes OUTPUT_DIR/rank-R.json with the
sum it got. With --ddp, every rank also trains a small model under
DistributedDataParallel for STEPS steps on data of its own, starting from
weights of its own, and records a hash of its parameters before and after.
"""
import argparse
import hashlib
import json
import os
import sys

import torch
import torch.distributed as dist


def params_hash(model):
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def train_ddp(rank, steps):
    # Different weights on each rank: DistributedDataParallel must make them
    # the same (rank 0's) before the first step.
    torch.manual_seed(1000 + rank)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    before = params_hash(model)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.05)
    # Different data on each rank: only the averaged gradients keep the
    # replicas equal.
    gen = torch.Generator().manual_seed(rank)
    losses = []
    for _ in range(steps):
        x = torch.randn(32, 8, generator=gen)
        y = x.sum(dim=1, keepdim=True)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(ddp(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return {"before": before, "after": params_hash(model), "losses": losses}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out_dir")
    p.add_argument("--dist-url", required=True)
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--world-size", type=int, required=True)
    p.add_argument("--ddp", type=int, default=0)
    args = p.parse_args()

    dist.init_process_group("gloo", init_method=args.dist_url, rank=args.rank, world_size=args.world_size)
    t = torch.tensor([float(args.rank + 1)])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    record = {"rank": args.rank, "world_size": dist.get_world_size(), "sum": float(t.item()),
              "init_method": args.dist_url}
    if args.ddp:
        record["ddp"] = train_ddp(args.rank, args.ddp)
    dist.barrier()
    dist.destroy_process_group()
    path = os.path.join(args.out_dir, f"rank-{args.rank}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(record, f)
    os.replace(path + ".tmp", path)
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
