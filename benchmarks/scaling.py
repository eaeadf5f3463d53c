"""Time and peak memory of each estimator at 10 thousand, 100 thousand and 1 million respondents.

Each case (estimator x size) runs in a fresh Python process, so its peak memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own; a case that runs past the
per-case timeout is killed and shown as "timeout". Beside the project's estimators, DoWhy's
default flow runs on the same data: ``CausalModel`` -> ``identify_effect()`` (default) ->
``estimate_effect`` with ``backdoor.propensity_score_matching`` or
``backdoor.linear_regression`` and their default parameters.

    .venv/bin/python benchmarks/scaling.py                       # all cases, 3 sizes, 300 s per case
    .venv/bin/python benchmarks/scaling.py --sizes 10000,100000 --only did,dowhy_psm
    .venv/bin/python benchmarks/scaling.py --timeout 900

"time" is the estimator call alone (imports and data generation excluded); "peak MB" is
the process's peak resident memory, including the libraries and the data (the "before"
figure is the peak once they were loaded, before the estimator ran). Respondents are
people: a two-period panel has one row per person here (the wide table the estimators
take), the staggered panel five rows per person.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = (10_000, 100_000, 1_000_000)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# --------------------------------------------------------------------------- data


def two_period(n: int, seed: int = 1):
    import numpy as np
    import pandas as pd
    from scipy.special import expit

    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.binomial(1, 0.5, n).astype(float)
    g = rng.binomial(1, 0.45, n)
    treated = rng.binomial(1, expit(-0.5 + 0.8 * x1 - 0.5 * x2))
    y0 = 3 + 0.5 * x1 + rng.normal(0, 0.7, n)
    change = 0.1 + 0.4 * x1 + 0.3 * x2 + (0.3 + 0.2 * g) * treated + rng.normal(0, 0.6, n)
    return pd.DataFrame({"treated": treated, "x1": x1, "x2": x2, "g": g, "cluster": np.arange(n) % 200,
                         "y0": y0, "y1": y0 + change, "change": change})


def staggered(n: int, seed: int = 1):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cohort = np.array([0, 2, 3, 4])[np.arange(n) % 4]
    unit, t = np.repeat(np.arange(n), 5), np.tile(np.arange(1, 6), n)
    g = cohort[unit]
    y = rng.normal(0, 1, n)[unit] + rng.normal(0, 1, 5)[t - 1] + 0.5 * ((g > 0) & (t >= g)) + rng.normal(0, 0.3, 5 * n)
    return pd.DataFrame({"id": unit, "wave": t, "start": g, "y": y})


# --------------------------------------------------------------------------- cases


def case_did(df):
    from evaluations.estimators.did import did_two_period
    return did_two_period(df, outcome="y", covariates=["x1", "x2"]).estimate


def case_dr_did(df):
    from evaluations.estimators.did import doubly_robust_did
    return doubly_robust_did(df, outcome="y", covariates=["x1", "x2"], seed=1).estimate


def case_matching(df):
    from evaluations.estimators.matching import estimate_att
    return estimate_att(df, outcome="change", treatment="treated", covariates=["x1", "x2"], method="matching").estimate


def case_ipw(df):
    from evaluations.estimators.matching import estimate_att
    return estimate_att(df, outcome="change", treatment="treated", covariates=["x1", "x2"], method="ipw").estimate


def case_rct(df):
    from evaluations.estimators.rct import ancova
    return ancova(df, outcome="y", covariates=["x1", "x2"]).estimate


def case_gate(df):
    from evaluations.estimators.heterogeneity import group_average_effects
    (res,) = group_average_effects(df, outcome="y", modifiers=["g"], covariates=["x1", "x2"], seed=1)
    return res.gates[0].estimate


def case_gate_forest(df):
    from evaluations.estimators.heterogeneity import group_average_effects
    (res,) = group_average_effects(df, outcome="y", modifiers=["g"], covariates=["x1", "x2"], seed=1,
                                   method="forest")
    return res.gates[0].estimate


def case_cs(df):
    from evaluations.estimators.staggered import staggered_effect
    est, _ = staggered_effect(df, outcome="y", unit="id", time="wave", first_treated="start")
    return est.estimate


def _dowhy(df, method):
    from dowhy import CausalModel
    model = CausalModel(data=df[["treated", "x1", "x2", "change"]], treatment="treated", outcome="change",
                        common_causes=["x1", "x2"])
    identified = model.identify_effect()
    return float(model.estimate_effect(identified, method_name=method).value)


def case_dowhy_psm(df):
    return _dowhy(df, "backdoor.propensity_score_matching")


def case_dowhy_linear(df):
    return _dowhy(df, "backdoor.linear_regression")


_DID, _RCT, _MATCH = "evaluations.estimators.did", "evaluations.estimators.rct", "evaluations.estimators.matching"
_HET, _CS = "evaluations.estimators.heterogeneity", "evaluations.estimators.staggered"
CASES = {  # name -> (label, data, function, modules imported before the clock starts)
    "did": ("Two-period DiD with covariates (statsmodels OLS, HC1)", two_period, case_did, (_DID,)),
    "rct_ancova": ("RCT ANCOVA (statsmodels OLS, HC1)", two_period, case_rct, (_RCT,)),
    "dr_did": ("Doubly robust DiD (Sant'Anna-Zhao panel, influence-function SE)", two_period, case_dr_did, (_DID, _MATCH)),
    "matching": ("PS matching 1:1, caliper 0.2 (DoWhy + AI SE)", two_period, case_matching, (_MATCH,)),
    "ipw": ("IPW for the ATT (DoWhy, influence-function SE)", two_period, case_ipw, (_MATCH,)),
    "callaway_santanna": ("Callaway-Sant'Anna (5 periods: 5 rows per person)", staggered, case_cs, (_CS,)),
    "gate": ("EconML GATEs as published (LinearDML; boosting nuisances from 2,000 people)", two_period, case_gate,
             (_HET, "econml.dml")),
    "gate_forest": ("EconML CausalForestDML GATEs (the pipeline's cross-check from 2,000 people)", two_period,
                    case_gate_forest, (_HET, "econml.dml")),
    "dowhy_psm": ("DoWhy default: backdoor.propensity_score_matching", two_period, case_dowhy_psm, ("dowhy",)),
    "dowhy_linear": ("DoWhy default: backdoor.linear_regression", two_period, case_dowhy_linear, ("dowhy",)),
}


def run_case(name: str, n: int) -> dict:
    """In the child process: build the data, run one estimator, report time and memory."""
    import importlib

    warnings.filterwarnings("ignore")
    _, make, fn, modules = CASES[name]
    for module in modules:  # import time is not estimation time
        importlib.import_module(module)
    df = make(n)
    data_mb = _peak_mb()
    start = time.perf_counter()
    value = fn(df)
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "data_mb": data_mb,
            "estimate": float(value)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated respondent counts")
    parser.add_argument("--only", default="", help=f"comma-separated cases: {', '.join(CASES)}")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per case before 'timeout' (300)")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case in this process
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case, args.n)))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    names = [c for c in CASES if not args.only or c in args.only.split(",")]
    if not names:
        parser.error(f"no case matches --only {args.only!r}; choose from {', '.join(CASES)}")
    results: dict[tuple[str, int], str] = {}
    for name in names:
        for n in sizes:
            cmd = [sys.executable, __file__, "--case", name, "--n", str(n)]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, cwd=ROOT)
            except subprocess.TimeoutExpired:
                cell = "timeout"
            else:
                if proc.returncode != 0:
                    last = (proc.stderr.strip().splitlines() or ["?"])[-1]
                    cell = f"error: {last[:60]}"
                else:
                    r = json.loads(proc.stdout.strip().splitlines()[-1])
                    cell = f"{r['seconds']:.2f} s / {r['peak_mb']:.0f} MB (before {r['data_mb']:.0f})"
            results[(name, n)] = cell
            print(f"  {name} n={n:,}: {cell}", file=sys.stderr, flush=True)
    header = ["estimator"] + [f"n = {n:,}" for n in sizes]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([":---"] + ["---:"] * len(sizes)) + "|"]
    for name in names:
        lines.append("| " + " | ".join([CASES[name][0]] + [results[(name, n)] for n in sizes]) + " |")
    print(f"\nTime of the estimator call / peak resident memory of a fresh process (before: its peak with the "
          f"libraries and data loaded); timeout {args.timeout:.0f} s per case.\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
