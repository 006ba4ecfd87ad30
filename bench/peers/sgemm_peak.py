"""A float32 GEMM's best speed with this python's numpy, the roof the
trainers' images/s are set against in bench/trainer_vs_peers. The threads
come from the environment (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS), which
the driver sets before numpy loads.

  python sgemm_peak.py [--size 2048] [--repeats 5]

Prints one JSON object: GFLOP/s of the best of REPEATS after a warm-up."""
import argparse
import json
import time

import numpy as np


def blas_name():
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return "%s %s" % (blas.get("name"), blas.get("version"))
    except TypeError:  # numpy before 1.25 has no mode=
        return "system BLAS"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((a.size, a.size), dtype=np.float32)
    y = rng.standard_normal((a.size, a.size), dtype=np.float32)
    out = np.empty_like(x)
    np.matmul(x, y, out=out)
    best = float("inf")
    for _ in range(a.repeats):
        t = time.perf_counter()
        np.matmul(x, y, out=out)
        best = min(best, time.perf_counter() - t)
    print(json.dumps({"gflops": 2.0 * a.size ** 3 / best / 1e9, "numpy": np.__version__,
                      "blas": blas_name()}))


if __name__ == "__main__":
    main()
