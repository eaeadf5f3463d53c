"""How far LinearDML's boosting group effects move between random cross-fitting splits, by sample size.

Issue 11's repeated cross-fitting (evaluations/estimators/heterogeneity.py) fits boosting on five
random splits into folds and publishes the median, with the spread between splits in its variance,
because at 2,000 people one split's estimate moves with the split. This measures that movement as
the sample grows, to say from what size one split is enough (heterogeneity.ONE_SPLIT_FROM).

For each size and seed, data come from the Monte Carlo study's group-effects process with
non-linear trends and selection (benchmarks/monte_carlo.py `dgp_groups`, effects 0.1 and 0.5), and
LinearDML is fitted on five splits exactly as the pipeline fits one (`_linear_dml_split`). Printed per
group: the standard deviation of the five split estimates over their mean standard error (the
Chernozhukov spread term adds about its square to the variance), and how far the median of the five
is from the first split, in the same standard errors (what publishing one split changes).

    nice -n 10 .venv/bin/python benchmarks/split_spread.py                 # 2,000, 20,000, 100,000; 4 seeds
    .venv/bin/python benchmarks/split_spread.py --sizes 2000,20000 --seeds 8
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the scaling benchmark measures
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SPLITS = 5
GATE_ROWS = np.array([[1.0, 0.0], [1.0, 1.0]])  # group 0 = b0, group 1 = b0 + b1


def spread(n: int, seed: int) -> dict:
    """One data set of n people: the split estimates' SD and the median's distance from split one, in SEs."""
    from monte_carlo import dgp_groups

    from evaluations.estimators.heterogeneity import _linear_dml_split

    df = dgp_groups(np.random.default_rng(seed), n=n, nonlinear=True)
    Y = (df["y1"] - df["y0"]).to_numpy(float)
    T = df["treated"].to_numpy(int)
    X = df[["g"]].to_numpy(float)
    W = df[["x1", "x2"]].to_numpy(float)
    start = time.perf_counter()
    splits = [_linear_dml_split(Y, T, X, W, None, None, "boosting", seed, seed + s) for s in range(SPLITS)]
    seconds = (time.perf_counter() - start) / SPLITS
    estimates = np.array([GATE_ROWS @ b for b, _ in splits])
    se = np.array([np.sqrt(np.diag(GATE_ROWS @ V @ GATE_ROWS.T)) for _, V in splits]).mean(axis=0)
    return {"sd": estimates.std(axis=0, ddof=1) / se,
            "shift": np.abs(np.median(estimates, axis=0) - estimates[0]) / se, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000,100000")
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    print("| people | SD of the 5 split estimates / SE, group 0 | group 1 | median vs split 1 / SE, largest "
          "| seconds a split |")
    print("|---:|---|---|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        rows = [spread(n, seed) for seed in range(1, args.seeds + 1)]
        sd = np.array([r["sd"] for r in rows])
        print(f"| {n:,} | {sd[:, 0].min():.2f}-{sd[:, 0].max():.2f} | {sd[:, 1].min():.2f}-{sd[:, 1].max():.2f} "
              f"| {max(r['shift'].max() for r in rows):.2f} | {np.median([r['seconds'] for r in rows]):.1f} |",
              flush=True)
    print(f"\n{args.seeds} seeds per size; load average at the end: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
