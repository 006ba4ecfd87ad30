"""A batch-scoring job in the shape of Batch AI's recipe: every MPI rank
takes its share of the inputs by Open MPI's OMPI_COMM_WORLD_RANK and
OMPI_COMM_WORLD_SIZE, "scores" each one and writes its results.

    mpi_scoring.py INPUT_DIR OUTPUT_DIR

Rank R writes OUTPUT_DIR/rank-R.json: the inputs it scored with their
scores, Open MPI's four variables, mpi4py's view of the world and where the
rank ran (Slurm's node name and id, the host), so a reader can check the
shares and the local ranks.
"""
import hashlib
import json
import os
import socket
import sys

from mpi4py import MPI


def main():
    in_dir, out_dir = sys.argv[1], sys.argv[2]
    unset = [v for v in ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE") if v not in os.environ]
    if unset:
        # The recipe's split needs them: without, every rank scores everything.
        print(f"mpi_scoring.py: {' and '.join(unset)} not set: not started by Open MPI's mpirun "
              "or an equivalent", file=sys.stderr, flush=True)
        return 2
    rank = int(os.environ["OMPI_COMM_WORLD_RANK"])
    size = int(os.environ["OMPI_COMM_WORLD_SIZE"])
    inputs = sorted(os.listdir(in_dir))
    # Contiguous shares, the first len % size ranks one longer.
    per, extra = divmod(len(inputs), size)
    start = rank * per + min(rank, extra)
    mine = inputs[start:start + per + (1 if rank < extra else 0)]
    scores = {}
    for name in mine:
        with open(os.path.join(in_dir, name), "rb") as f:
            scores[name] = hashlib.sha256(f.read()).hexdigest()[:16]

    comm = MPI.COMM_WORLD
    scored = comm.allreduce(len(scores), op=MPI.SUM)
    record = {
        "ompi": {k: os.environ.get("OMPI_COMM_WORLD_" + k) for k in
                 ("RANK", "SIZE", "LOCAL_RANK", "LOCAL_SIZE", "NODE_RANK")},
        "mpi4py": {"rank": comm.Get_rank(), "size": comm.Get_size()},
        "slurm": {k: os.environ.get("SLURM_" + k) for k in ("NODEID", "PROCID", "LOCALID", "TOPOLOGY_ADDR")},
        "node": os.environ.get("SLURMD_NODENAME") or socket.gethostname(),
        "host": socket.gethostname(),
        "scored_by_all": scored,
        "scores": scores,
    }
    path = os.path.join(out_dir, f"rank-{rank}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(record, f)
    os.replace(path + ".tmp", path)
    print(f"rank {rank} of {size} scored {len(scores)} of {len(inputs)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
