"""Monte Carlo study of the repeated cross-section DiD and before-and-after kernels.

Each family simulates small surveys (a few hundred respondents) whose true effect or change is
known, runs the kernel exactly as the pipeline does, and reports the mean estimate, bias, the
coverage of the 95% interval (goal 93-97%; with 500 replications the Monte Carlo SE of a coverage
near 95% is about 1 point) and the ratio of the mean standard error to the standard deviation of
the estimates (near 1 when the SE is right).

    .venv/bin/python benchmarks/monte_carlo_designs.py              # 500 replications per family
    .venv/bin/python benchmarks/monte_carlo_designs.py --reps 100   # a quicker run

Replication r of family i uses seed 1000 * (i + 1) + r, so a run is reproducible.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.special import expit  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluations.estimators.change import cross_section_change, paired_change  # noqa: E402
from evaluations.estimators.cross_sections import did_repeated_cross_sections, doubly_robust_did_rcs  # noqa: E402

EFFECT = 0.3


def dgp_rcs(rng, n=400):
    """Repeated cross-sections; selection into the programme on x (the level differs), parallel trends,
    heteroskedastic errors; the regression DiD adjusts for x."""
    x = rng.normal(size=n)
    treated = rng.binomial(1, expit(-0.3 + 0.6 * x))
    post = rng.binomial(1, 0.5, n)
    noise = rng.normal(0, 1, n) * (0.7 + 0.5 * treated)
    y = 1 + 0.5 * x + 0.4 * treated + 0.2 * post + EFFECT * treated * post + noise
    return pd.DataFrame({"y": y, "treated": treated, "post": post, "x": x})


def dgp_rcs_clustered(rng, n=400, n_clusters=30):
    """Schools take part or not as a whole; every school has its own shock in each wave, so pupils of one
    school share them and the DiD needs cluster-robust SEs (t on G - 1 df)."""
    school = rng.integers(0, n_clusters, n)
    in_programme = rng.permutation(np.arange(n_clusters) < n_clusters // 2).astype(int)
    treated = in_programme[school]
    post = rng.binomial(1, 0.5, n)
    shocks = rng.normal(0, 0.35, (n_clusters, 2))[school, post]
    x = rng.normal(size=n)
    y = 1 + 0.5 * x + 0.3 * treated + 0.2 * post + EFFECT * treated * post + shocks + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "treated": treated, "post": post, "x": x, "cluster": [f"s{s}" for s in school]})


def dgp_dr(rng, n=400):
    """Selection on x and a trend that depends on x: the unadjusted DiD is biased, the DR DiD is not."""
    x = rng.normal(size=n)
    treated = rng.binomial(1, expit(-0.3 + 0.8 * x))
    post = rng.binomial(1, 0.5, n)
    y = 2 + x + 0.5 * treated + post * (0.3 + 0.6 * x) + EFFECT * treated * post + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "treated": treated, "post": post, "x": x})


def weighted(dgp):
    """`dgp`, surveyed with unequal probabilities (programme respondents with high x answer less often) and
    analysed with inverse-probability survey weights; constant effect 0.3."""
    return lambda rng: _subsample(dgp(rng, 600), rng)


def _subsample(d, rng):
    n = len(d)
    p = np.where(d["treated"] == 1, expit(0.5 - 0.8 * d["x"]), 0.6)
    kept = rng.uniform(size=n) < p
    return d.assign(weight=1 / p)[kept].reset_index(drop=True)


def dgp_paired(rng, n=60):
    """The same people at joining and later; their change is 0.3 on average with individual variation."""
    y0 = rng.normal(3, 1, n)
    y1 = 0.85 * y0 + (EFFECT + 0.15 * 3) + rng.normal(0, 0.7, n)  # mean change 0.3: E[y1 - y0] = 0.45 - 0.15 * 3 + 0.3
    return pd.DataFrame({"y0": y0, "y1": y1})


def dgp_waves(rng, n_pre=80, n_post=120):
    """Different people each wave, more spread at follow-up."""
    post = np.r_[np.zeros(n_pre), np.ones(n_post)].astype(int)
    y = 3 + EFFECT * post + rng.normal(0, 1, len(post)) * np.where(post == 1, 1.5, 1.0)
    return pd.DataFrame({"y": y, "post": post})


FAMILIES = [
    ("did_repeated_cross_sections (HC1, t on n-k)", dgp_rcs,
     lambda d: did_repeated_cross_sections(d, outcome="y", covariates=["x"])),
    ("did_repeated_cross_sections, 30 clusters (CR1, t on G-1)", dgp_rcs_clustered,
     lambda d: did_repeated_cross_sections(d, outcome="y", covariates=["x"], cluster=True)),
    ("doubly_robust_did_rcs (influence-function SE, normal)", dgp_dr,
     lambda d: doubly_robust_did_rcs(d, outcome="y", covariates=["x"])),
    ("did_repeated_cross_sections, survey weights (WLS, HC1)", weighted(dgp_rcs),
     lambda d: did_repeated_cross_sections(d, outcome="y", covariates=["x"], weights=True)),
    ("doubly_robust_did_rcs, survey weights", weighted(dgp_dr),
     lambda d: doubly_robust_did_rcs(d, outcome="y", covariates=["x"], weights=True)),
    ("paired_change (paired t, n-1)", dgp_paired, lambda d: paired_change(d, outcome="y")),
    ("cross_section_change (Welch/HC2)", dgp_waves, lambda d: cross_section_change(d, outcome="y")),
]


def run(reps: int) -> pd.DataFrame:
    rows = []
    for i, (name, dgp, kernel) in enumerate(FAMILIES):
        start = time.time()
        est, se, cover = [], [], []
        for r in range(reps):
            e = kernel(dgp(np.random.default_rng(1000 * (i + 1) + r)))
            est.append(e.estimate)
            se.append(e.std_error)
            cover.append(e.ci_low <= EFFECT <= e.ci_high)
        est = np.array(est)
        rows.append({"estimator": name, "reps": reps, "true effect": EFFECT, "mean estimate": est.mean(),
                     "bias": est.mean() - EFFECT, "coverage 95%": float(np.mean(cover)),
                     "mean SE / SD": float(np.mean(se) / est.std(ddof=1)), "seconds": time.time() - start})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=500)
    args = parser.parse_args()
    table = run(args.reps)
    with pd.option_context("display.width", 200, "display.max_colwidth", 70):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
