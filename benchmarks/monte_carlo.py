"""Monte Carlo study of the estimators: bias, RMSE and 95% interval coverage against known truths.

Every family simulates many small evaluations from a plain-numpy data-generating process
(DGP) whose true effect is known, runs the project's estimator exactly as the pipeline
does, and compares. Coverage should be 93-97% (a 95% interval; with 500 replications the
Monte Carlo SE of a coverage near 95% is about 1 point). A second table gives the
rejection rates of the heterogeneity tests (size under no heterogeneity, power under it).

    .venv/bin/python benchmarks/monte_carlo.py                 # 500 replications per family, 2 processes
    .venv/bin/python benchmarks/monte_carlo.py --quick         # 60 replications: a smoke run
    .venv/bin/python benchmarks/monte_carlo.py --reps 1000 --only did,rct_ancova

Truths: the constant-effect DGPs' truth is the effect itself; for heterogeneous effects the
population ATT is computed once from 2 million draws of the same DGP. Seeds are fixed
(replication r of a family uses seed 100_000 * family index + r), so a run is reproducible.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per worker: the machine has two cores
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import math  # noqa: E402
import multiprocessing as mp  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.special import expit  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluations.simulate import cluster_randomised, likert  # noqa: E402


# --------------------------------------------------------------------------- DGPs


def dgp_did(rng, n=500, n_clusters=None):
    """Two-period panel: selection on the level (unit effect) and on x; trends linear in x, z; effect 0.3."""
    x, z = rng.normal(size=n), rng.binomial(1, 0.4, n).astype(float)
    alpha = rng.normal(size=n)
    if n_clusters:
        cluster, treated, shock = cluster_randomised(rng, n, n_clusters, shock_sd=0.3)
    else:
        cluster = np.zeros(n, int)
        treated = rng.binomial(1, expit(-0.3 + 0.8 * alpha + 0.5 * x))
        shock = 0.0
    y0 = 2 + alpha + 0.5 * x + rng.normal(0, 0.5, n)
    change = 0.2 + 0.3 * x - 0.2 * z + shock + 0.3 * treated + rng.normal(0, 0.6, n)
    return pd.DataFrame({"treated": treated, "x": x, "z": z, "cluster": cluster, "y0": y0, "y1": y0 + change})


def dgp_dr(rng, n=800):
    """Conditional parallel trends and an effect rising with x1 (ATT > ATE)."""
    x1, x2 = rng.normal(size=n), rng.binomial(1, 0.5, n).astype(float)
    treated = rng.binomial(1, expit(-0.5 + 0.8 * x1 - 0.5 * x2))
    tau = 0.3 + 0.2 * x1
    y0 = 3 + 0.5 * x1 + rng.normal(0, 0.7, n)
    change = 0.1 + 0.4 * x1 + 0.3 * x2 + tau * treated + rng.normal(0, 0.6, n)
    return pd.DataFrame({"treated": treated, "x1": x1, "x2": x2, "y0": y0, "y1": y0 + change, "tau": tau})


def dgp_selection(rng, n=1000):
    """Cross-section with confounded selection and heterogeneous effects (as tests/test_matching.py)."""
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    x3 = rng.binomial(1, 0.4, size=n).astype(float)
    d = (rng.random(n) < expit(-0.8 + 0.9 * x1 - 0.6 * x2 + 0.5 * x3)).astype(int)
    tau = 2.0 + 1.5 * x1 + 1.0 * x3
    y0 = 1.0 + 1.2 * x1 + 1.0 * x2 + 0.8 * x3 + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "d": d, "y": y0 + d * tau, "tau": tau})


def dgp_ncs_like(rng, n=1500):
    """Discrete covariates and a 1-4 Likert outcome, as the NCS-style sample: many ties in the score.

    Returns the change score, covariates and the baseline score, plus the person's true effect
    on the rounded scale (so the population ATT can be computed from a large draw).
    """
    age = rng.choice([15, 16, 17], size=n, p=[0.3, 0.5, 0.2]).astype(float)
    female, fsm = rng.binomial(1, 0.52, n), rng.binomial(1, 0.22, n)
    minority, urban = rng.binomial(1, 0.27, n), rng.binomial(1, 0.7, n)
    sociable = rng.normal(0, 1, n)
    treated = rng.binomial(1, expit(-0.1 + 0.35 * female - 0.45 * fsm + 0.25 * (age == 16) + 0.3 * minority
                                    + 0.2 * urban))
    e0, e1 = rng.normal(0, 0.6, n), rng.normal(0, 0.6, n)
    pre = 2.6 + 0.2 * sociable + 0.2 * minority + e0
    post0 = pre - e0 - 0.15 * fsm + e1
    y_pre, y0, y1 = likert(pre, 1, 4), likert(post0, 1, 4), likert(post0 + 0.15, 1, 4)
    return pd.DataFrame({"treated": treated, "age": age, "female": female, "fsm": fsm, "minority_ethnic": minority,
                         "urban": urban, "y0": y_pre, "y1": np.where(treated == 1, y1, y0), "tau": y1 - y0})


def dgp_staggered(rng, n_units=120, effect=0.5):
    """Five periods, cohorts first treated in 2, 3, 4 and never (as tests/test_staggered.py)."""
    periods = np.arange(1, 6)
    cohort = np.array([0, 2, 3, 4])[np.arange(n_units) % 4]
    unit_effect, period_effect = rng.normal(0, 1, n_units), rng.normal(0, 1, 5)
    unit, t = np.repeat(np.arange(n_units), 5), np.tile(periods, n_units)
    g = cohort[unit]
    y = unit_effect[unit] + period_effect[t - 1] + effect * ((g > 0) & (t >= g)) + rng.normal(0, 0.3, len(t))
    return pd.DataFrame({"id": unit, "wave": t, "start": g, "y": y})


def dgp_trial(rng, n=200, n_clusters=None):
    """A randomised trial with a baseline score: effect 0.4 for everyone."""
    x = rng.binomial(1, 0.4, n).astype(float)
    y0 = 3 + 0.5 * x + rng.normal(0, 1, n)
    if n_clusters:
        cluster, treated, shock = cluster_randomised(rng, n, n_clusters, shock_sd=0.4)
    else:
        cluster = np.zeros(n, int)
        treated = rng.permutation(np.arange(n) % 2)
        shock = 0.0
    y1 = 1 + 0.7 * y0 + 0.3 * x + 0.4 * treated + shock + rng.normal(0, 0.8, n)
    return pd.DataFrame({"treated": treated, "x": x, "y0": y0, "y1": y1, "cluster": cluster})


def dgp_groups(rng, n=600, effects=(0.1, 0.5), nonlinear=False, n_clusters=None):
    """Change scores with an effect `effects[g]` in group g; selection and trends on x1, x2.

    `nonlinear`: the trend is 0.4 x1^2 + 0.4 x1 x2 and taking part also rises with x1^2, so
    linear outcome and logistic-linear treatment models are both wrong.
    """
    g = rng.binomial(1, 0.45, n)
    x1, x2 = rng.normal(size=n), rng.binomial(1, 0.3, n).astype(float)
    if n_clusters:
        cluster, treated, shock = cluster_randomised(rng, n, n_clusters, shock_sd=0.3)
    else:
        cluster = np.zeros(n, int)
        index = -0.2 + 0.6 * x1 - 0.5 * x2 + (0.5 * (x1**2 - 1) if nonlinear else 0.0)
        treated = rng.binomial(1, expit(index))
        shock = 0.0
    trend = 0.4 * x1**2 + 0.4 * x1 * x2 if nonlinear else 0.3 * x1 - 0.2 * x2
    tau = np.where(g == 1, effects[1], effects[0])
    y0 = 3 + 0.5 * x1 + rng.normal(0, 0.7, n)
    change = 0.1 + trend + 0.1 * g + shock + tau * treated + rng.normal(0, 0.6, n)
    return pd.DataFrame({"treated": treated, "x1": x1, "x2": x2, "g": g, "cluster": cluster, "y0": y0,
                         "y1": y0 + change})


# --------------------------------------------------------------------------- truths


def _population_att(dgp, **kw) -> float:
    df = dgp(np.random.default_rng(123_456), n=2_000_000, **kw)
    t = "treated" if "treated" in df else "d"
    return float(df.loc[df[t] == 1, "tau"].mean())


# --------------------------------------------------------------------------- one replication per family


def _row(label, e, truth):
    return {"estimator": label, "estimate": e.estimate, "se": e.std_error, "ci_low": e.ci_low,
            "ci_high": e.ci_high, "truth": truth}


def run_did(rng, truths):
    from evaluations.estimators.did import did_two_period
    e = did_two_period(dgp_did(rng), outcome="y", covariates=["x", "z"])
    return [_row("Two-period DiD with covariates (HC1)", e, 0.3)]


def run_did_clustered(rng, truths):
    from evaluations.estimators.did import did_two_period
    e = did_two_period(dgp_did(rng, n=900, n_clusters=30), outcome="y", covariates=["x", "z"], cluster=True)
    return [_row("Two-period DiD, 30 clusters (CR1, t(G-1))", e, 0.3)]


def run_dr_did(rng, truths):
    from evaluations.estimators.did import doubly_robust_did
    e = doubly_robust_did(dgp_dr(rng), outcome="y", covariates=["x1", "x2"])
    return [_row("Doubly robust DiD (Sant'Anna-Zhao panel, influence-function SE)", e, truths["dr"])]


def run_dr_did_weighted(rng, truths):
    """Women are over-sampled 4:1 and gain 0.8 where men gain 0.2; taking part depends on x only, so the
    population ATT is 0.5 and the sample's about 0.68. Weights 1 / P(sampled)."""
    from evaluations.estimators.did import doubly_robust_did
    n = 1000
    woman = rng.binomial(1, 0.8, n)
    x = rng.normal(0, 1, n)
    treated = rng.binomial(1, expit(0.5 * x))
    y0 = 2 + 0.4 * x + rng.normal(0, 1, n)
    y1 = y0 + 0.3 * x + np.where(woman == 1, 0.8, 0.2) * treated + rng.normal(0, 1, n)
    df = pd.DataFrame({"treated": treated, "x": x, "y0": y0, "y1": y1,
                       "weight": np.where(woman == 1, 0.5 / 0.8, 0.5 / 0.2)})
    e = doubly_robust_did(df, outcome="y", covariates=["x"], weights=True)
    return [_row("Doubly robust DiD, survey weights (influence-function SE)", e, 0.5)]


def run_dr_did_clustered(rng, truths):
    from evaluations.estimators.did import doubly_robust_did
    n, G = 900, 30
    cluster = rng.integers(0, G, n)
    site_x = rng.normal(0, 1, G)
    x = site_x[cluster] + rng.normal(0, 1, n)
    treated = rng.binomial(1, expit(0.8 * site_x))[cluster]
    y0 = 3 + 0.5 * x + rng.normal(0, 0.7, n)
    change = 0.1 + 0.3 * x + rng.normal(0, 0.4, G)[cluster] + 0.3 * treated + rng.normal(0, 0.6, n)
    df = pd.DataFrame({"treated": treated, "x": x, "cluster": cluster, "y0": y0, "y1": y0 + change})
    e = doubly_robust_did(df, outcome="y", covariates=["x"], cluster=True)
    return [_row("Doubly robust DiD, 30 clusters (influence function summed by cluster, t(G-1))", e, 0.3)]


def run_matching(rng, truths):
    from evaluations.estimators.matching import estimate_att
    e = estimate_att(dgp_selection(rng), outcome="y", treatment="d", covariates=["x1", "x2", "x3"],
                     method="matching", caliper=None)
    return [_row("PS matching 1:1, with replacement (AI SE + score adj.)", e, truths["selection"])]


def run_matching_ties(rng, truths):
    from evaluations.estimators.matching import estimate_att
    df = dgp_ncs_like(rng)
    data = df.assign(change=df.y1 - df.y0)
    covs = ["age", "female", "fsm", "minority_ethnic", "urban", "y0"]
    e = estimate_att(data, outcome="change", treatment="treated", covariates=covs, method="matching")
    return [_row("PS matching on covariates + baseline, change score, Likert ties", e, truths["ncs_like"])]


def run_ipw(rng, truths):
    from evaluations.estimators.matching import estimate_att
    e = estimate_att(dgp_selection(rng), outcome="y", treatment="d", covariates=["x1", "x2", "x3"], method="ipw")
    return [_row("IPW for the ATT (influence-function SE)", e, truths["selection"])]


def run_aipw(rng, truths):
    from evaluations.estimators.matching import estimate_att
    e = estimate_att(dgp_selection(rng), outcome="y", treatment="d", covariates=["x1", "x2", "x3"],
                     method="doubly_robust")
    return [_row("Doubly robust AIPW for the ATT (influence-function SE)", e, truths["selection"])]


def run_cs(rng, truths):
    from evaluations.estimators.staggered import staggered_effect
    e, _ = staggered_effect(dgp_staggered(rng), outcome="y", unit="id", time="wave", first_treated="start")
    return [_row("Callaway-Sant'Anna simple ATT (analytic SE)", e, 0.5)]


def run_rct(rng, truths):
    from evaluations.estimators.rct import ancova, difference_in_means
    df = dgp_trial(rng)
    return [_row("RCT ANCOVA (HC1, t(n-k))", ancova(df, outcome="y", covariates=["x"]), 0.4),
            _row("RCT difference in means (Welch)", difference_in_means(df, outcome="y"), 0.4)]


def run_rct_clustered(rng, truths):
    from evaluations.estimators.rct import ancova
    df = dgp_trial(rng, n=600, n_clusters=24)
    return [_row("RCT ANCOVA, 24 clusters (CR1, t(G-1))", ancova(df, outcome="y", covariates=["x"], cluster=True),
                 0.4)]


def _gates(df, label, truths_by_level, tests, **kw):
    from evaluations.estimators.did import subgroup_effects
    from evaluations.estimators.heterogeneity import group_average_effects
    cluster = kw.pop("cluster", False)
    rows = []
    (res,) = group_average_effects(df, outcome="y", modifiers=["g"], covariates=["x1", "x2"], cluster=cluster,
                                   **kw)
    for gate in res.gates:
        rows.append(_row(f"EconML GATE, {label} [{gate.subgroup}]", gate, truths_by_level[gate.subgroup]))
    tests.append((f"EconML {label}", res.test.p_value))
    subs, test = subgroup_effects(df, outcome="y", modifier="g", covariates=["x1", "x2"], cluster=cluster, units="")
    for e in subs:
        rows.append(_row(f"Subgroup DiD (linear covariates), {label} data [{e.subgroup}]", e,
                         truths_by_level[e.subgroup]))
    tests.append((f"DiD interaction test, {label} data", test.p_value))
    return rows


def run_gate_linear(rng, truths, effects=(0.1, 0.5)):
    seed = int(rng.integers(1 << 30))
    tests = []
    rows = _gates(dgp_groups(rng, n=600, effects=effects), "LinearDML n=600", {"g=0": effects[0], "g=1": effects[1]},
                  tests, seed=seed)
    return rows, tests


def run_gate_clustered(rng, truths, effects=(0.1, 0.5)):
    seed = int(rng.integers(1 << 30))
    tests = []
    rows = _gates(dgp_groups(rng, n=900, effects=effects, n_clusters=30), "LinearDML n=900, 30 clusters",
                  {"g=0": effects[0], "g=1": effects[1]}, tests, seed=seed, cluster=True)
    return rows, tests


LARGE_N = 1200  # the large-sample estimators (boosting nuisances, forest) on 1,200 people: the same code the
# pipeline runs from 2,000 people, at a size that keeps the default study under 30 minutes on two cores


def run_gate_large(rng, truths, effects=(0.1, 0.5), nonlinear=False):
    """The large-sample estimators: LinearDML with gradient-boosting nuisances (published from 2,000
    people), the CausalForestDML cross-check, subgroup DiD and, with non-linear trends and selection,
    LinearDML with linear nuisances (what smaller samples get)."""
    from unittest.mock import patch

    from evaluations.estimators.heterogeneity import CROSS_FIT_REPEATS, group_average_effects
    seed = int(rng.integers(1 << 30))
    tests = []
    df = dgp_groups(rng, n=LARGE_N, effects=effects, nonlinear=nonlinear)
    word = "non-linear" if nonlinear else "linear"
    truth = {"g=0": effects[0], "g=1": effects[1]}
    rows = _gates(df, f"LinearDML (boosting) n={LARGE_N}, {word} DGP", truth, tests, seed=seed,
                  nuisance="boosting")
    (forest,) = group_average_effects(df, outcome="y", modifiers=["g"], covariates=["x1", "x2"], seed=seed,
                                      method="forest")
    rows += [_row(f"EconML GATE, CausalForestDML n={LARGE_N}, {word} DGP [{g.subgroup}]", g, truth[g.subgroup])
             for g in forest.gates]
    tests.append((f"EconML CausalForestDML n={LARGE_N}, {word} DGP", forest.test.p_value))
    # the same LinearDML on one cross-fitting split (the first of the five), as published before repeated
    # cross-fitting: a paired before-and-after on the same data
    with patch.dict(CROSS_FIT_REPEATS, {"boosting": 1}):
        (one,) = group_average_effects(df, outcome="y", modifiers=["g"], covariates=["x1", "x2"], seed=seed,
                                       nuisance="boosting")
    rows += [_row(f"EconML GATE, LinearDML (boosting, one split) n={LARGE_N}, {word} DGP [{g.subgroup}]", g,
                  truth[g.subgroup]) for g in one.gates]
    tests.append((f"EconML LinearDML (boosting, one split) n={LARGE_N}, {word} DGP", one.test.p_value))
    if nonlinear:
        (lin,) = group_average_effects(df, outcome="y", modifiers=["g"], covariates=["x1", "x2"], seed=seed,
                                       nuisance="linear")
        rows += [_row(f"EconML GATE, LinearDML (linear nuisances) n={LARGE_N}, {word} DGP [{g.subgroup}]", g,
                      truth[g.subgroup]) for g in lin.gates]
        tests.append((f"EconML LinearDML (linear nuisances) n={LARGE_N}, {word} DGP", lin.test.p_value))
    return rows, tests


def run_gate_boosting(rng, truths, effects=(0.1, 0.5), nonlinear=False):
    """LinearDML with gradient-boosting nuisances at the smallest size the pipeline publishes it from
    (``SMALL_SAMPLE``, 2,000 people), with subgroup DiD on the same data; nothing else, so 500 replications
    of each variant fit in under half an hour on two cores."""
    from evaluations.estimators.heterogeneity import SMALL_SAMPLE
    seed = int(rng.integers(1 << 30))
    tests = []
    word = "non-linear" if nonlinear else "linear"
    rows = _gates(dgp_groups(rng, n=SMALL_SAMPLE, effects=effects, nonlinear=nonlinear),
                  f"LinearDML (boosting) n={SMALL_SAMPLE}, {word} DGP", {"g=0": effects[0], "g=1": effects[1]},
                  tests, seed=seed, nuisance="boosting")
    return rows, tests


def dgp_outcomes(rng, n=600, effects=(0.0, 0.0, 0.0, 0.0), rho=0.5):
    """Several outcomes of the same people (a two-wave DiD with a covariate): each person's changes share a
    common shock, so the outcomes' errors correlate by `rho`; `effects` are the true effects."""
    x = rng.normal(size=n)
    treated = rng.binomial(1, expit(0.5 * x))
    common = rng.normal(size=n)
    df = pd.DataFrame({"unit": np.arange(n), "treated": treated, "x": x})
    for k, effect in enumerate(effects):
        noise = math.sqrt(rho) * common + math.sqrt(1 - rho) * rng.normal(size=n)
        y0 = 0.5 * x + rng.normal(size=n)
        df[f"y0_{k}"], df[f"y1_{k}"] = y0, y0 + 0.3 * x + effect * treated + noise
    return df


def run_secondary(rng, truths, effects=(0.0, 0.0, 0.0, 0.0)):
    """The secondary outcomes' adjusted p-values (estimators/multiplicity.py) against Holm, Bonferroni and none.

    Tests are (label, p) with p the smallest p-value over the true nulls (any rejection: the family-wise
    error) and each false null's own p-value (power)."""
    from evaluations.estimators.did import did_two_period
    from evaluations.estimators.multiplicity import adjust, holm

    df = dgp_outcomes(rng, effects=effects)
    estimates = [did_two_period(df.rename(columns={f"y0_{k}": "y0", f"y1_{k}": "y1"}), outcome=f"o{k}",
                                covariates=["x"]) for k in range(len(effects))]
    raw = np.array([e.p_value for e in estimates])
    methods = {"Romano-Wolf": np.array([e.p_value_adjusted for e in adjust(estimates, [], int(rng.integers(1 << 30)))]),
               "Holm": holm(raw), "Bonferroni": np.minimum(raw * len(raw), 1), "unadjusted": raw}
    nulls = [k for k, e in enumerate(effects) if e == 0]
    tests = []
    for name, p in methods.items():
        if nulls:
            tests.append((f"{name}: any of {len(nulls)} null outcomes rejected (FWER)", float(p[nulls].min())))
        tests += [(f"{name}: outcome with effect {e:g} rejected (power)", float(p[k]))
                  for k, e in enumerate(effects) if e != 0]
    rows = [_row(f"DiD, secondary outcome {k} (effect {e:g})", est, e) for k, (est, e) in
            enumerate(zip(estimates, effects))]
    return rows, tests


@dataclass(frozen=True)
class Family:
    name: str
    run: object
    what: str


def dgp_attrition(rng, n=1000, effect=0.3):
    """A two-wave panel where who answers the follow-up depends on the baseline answer and x, differently in
    each group (missing at random): changes regress to the mean (-0.5 e0), participants with high baseline
    answers and comparison people with low ones answer more, so the completers' DiD is pulled down. Long
    form (unit, period, treated, x, score), as the analysis panel."""
    x, person, e0 = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    treated = rng.binomial(1, expit(0.3 * x))
    y0 = person + 0.5 * x + e0
    y1 = y0 + effect * treated + 0.3 * x - 0.5 * e0 + rng.normal(0, 0.6, n)
    slope = np.where(treated == 1, 0.6, -0.6)
    answered = rng.binomial(1, expit(0.8 + slope * y0 + 0.3 * x)).astype(bool)
    units = np.array([f"p{i}" for i in range(n)])
    base = pd.DataFrame({"unit": units, "period": 1, "treated": treated, "x": x, "score": y0})
    follow = base.assign(period=2, score=y1)[answered]
    return pd.concat([base, follow], ignore_index=True).sort_values(["unit", "period"], kind="stable")


def dgp_attrition_weighted(rng, n=1000):
    """dgp_attrition's attrition, sampled as a survey: one stratum (half the population) is over-sampled 4:1 and
    gains 0.5 where the other gains 0.2, so the population ATT is 0.35 (taking part depends on x only)."""
    panel = dgp_attrition(rng, n=n, effect=0.2)
    first = panel[panel["period"] == 1].set_index("unit")
    over = pd.Series(rng.binomial(1, 0.8, n).astype(bool), index=first.index)
    gain = over & (first["treated"] == 1)
    panel.loc[(panel["period"] == 2) & panel["unit"].map(gain).to_numpy(), "score"] += 0.3
    panel["weight"] = np.where(panel["unit"].map(over).to_numpy(), 0.5 / 0.8, 0.5 / 0.2)
    return panel


def _attrition_manifest(**design):
    from evaluations.registry import Manifest
    return Manifest.model_validate({
        "id": "monte-carlo-attrition", "title": "Monte Carlo attrition", "synthetic": True,
        "programme": {"name": "Club", "family": "other", "organisation": "Test", "places": ["Here"],
                      "start_date": "2024-01-01", "end_date": "2024-06-30"},
        "outcomes": [{"column": "score", "measure": "mixing_different_backgrounds", "primary": True}],
        "files": [{"path": "data.csv"}],
        "design": {"type": "did", "unit_id": "id", "treatment": "took_part", "wave": "wave", "baseline": "before",
                   "follow_up": "after", "covariates": ["x"], **design}})


def run_response_weighting(rng, truths, weighted=False):
    """The design's estimate on those who answered, then re-weighted by 1 / P(answer | group, y0, x), with the
    standard error allowing for the estimated response model and treating the weights as known. `weighted`:
    the doubly robust DiD with survey weights on dgp_attrition_weighted; else the DiD with x on dgp_attrition."""
    from evaluations.designs import design_of
    from evaluations.diagnostics.response_weighting import reweighted_estimate
    from evaluations.estimators.inference import interval
    from evaluations.estimators.plan import Impacts

    if weighted:
        panel, manifest, truth = dgp_attrition_weighted(rng), _attrition_manifest(type="matched_did", weights="w"), 0.35
        name = "doubly robust DiD, survey weights"
    else:
        panel, manifest, truth = dgp_attrition(rng), _attrition_manifest(), 0.3
        name = "DiD with x"
    out = Impacts()
    design_of(manifest.design).estimate(panel, "score", manifest, "scale points", out)
    r = reweighted_estimate(panel, manifest, "score")
    rows = [_row(f"Completers' {name}: no response weighting", out.estimates[0], truth)]
    if r.estimate is None:  # refused (extreme weights): counted as a replication without a weighted estimate
        return rows
    lo, hi, _ = interval(r.estimate, r.std_error_known_weights, r.df)
    rows.append({"estimator": f"Response-weighted {name}, SE allowing for the response model",
                 "estimate": r.estimate, "se": r.std_error, "ci_low": r.ci_low, "ci_high": r.ci_high, "truth": truth})
    rows.append({"estimator": f"Response-weighted {name}, SE treating the weights as known", "estimate": r.estimate,
                 "se": r.std_error_known_weights, "ci_low": lo, "ci_high": hi, "truth": truth})
    return rows


def run_honest_did(rng, truths, n_post=2, mbar=1.0, slope=0.02):
    """Rambachan & Roth relative-magnitudes intervals (evaluations/sensitivity/honest_did.py), C-LF, for the
    first post-period effect 0.1, drawn as R&R's own simulations do: the event-study coefficients are
    normal around tau + delta with a known covariance (sd 0.02, correlation 0.5^|i-j|), 3 pre-periods. The
    differential trend delta rises 0.02 a period before the programme and keeps rising 0.02 a period after
    it: on the edge of Delta^RM(1), so the conventional interval is biased by one standard error (slope 0 and
    Mbar 0: parallel trends holds exactly, where the robust interval should cover close to 95%)."""
    from evaluations.sensitivity.honest_did import EventStudy, robust_interval

    n_pre, sd = 3, 0.02
    times = np.r_[np.arange(-n_pre, 0), np.arange(1, n_post + 1)]
    delta, tau = slope * times, np.where(times > 0, 0.1, 0.0)  # a straight line through delta_0 = 0
    corr = 0.5 ** np.abs(np.subtract.outer(np.arange(times.size), np.arange(times.size)))
    sigma = sd**2 * corr
    betahat = rng.multivariate_normal(tau + delta, sigma)
    study = EventStudy.of(betahat, sigma, n_pre)
    r = robust_interval(study, mbar)
    theta, se = float(betahat[n_pre]), math.sqrt(sigma[n_pre, n_pre])
    label = f"{n_post} post-period{'s' if n_post > 1 else ''}, trend {slope:g} a period"
    return [{"estimator": f"Conventional 95% interval, first post-period, {label}", "estimate": theta, "se": se,
             "ci_low": theta - 1.96 * se, "ci_high": theta + 1.96 * se, "truth": 0.1},
            {"estimator": f"Relative magnitudes (HonestDiD C-LF, Mbar = {mbar:g}), {label}", "estimate": theta,
             "se": se, "ci_low": r.lower if r.lower is not None else math.nan,
             "ci_high": r.upper if r.upper is not None else math.nan, "truth": 0.1}]


FAMILIES = [
    Family("did", run_did, "two-period DiD, n=500"),
    Family("did_clustered", run_did_clustered, "two-period DiD, n=900 in 30 clusters"),
    Family("dr_did", run_dr_did, "doubly robust DiD, n=800"),
    Family("dr_did_clustered", run_dr_did_clustered, "doubly robust DiD, n=900 in 30 clusters"),
    Family("matching", run_matching, "PS matching, n=1000"),
    Family("matching_ties", run_matching_ties, "PS matching, NCS-like discrete data, n=1500"),
    Family("ipw", run_ipw, "IPW, n=1000"),
    Family("callaway_santanna", run_cs, "Callaway-Sant'Anna, 120 units x 5 periods"),
    Family("rct_ancova", run_rct, "RCT, n=200"),
    Family("rct_clustered", run_rct_clustered, "cluster RCT, n=600 in 24 clusters"),
    Family("gate_linear", run_gate_linear, "EconML LinearDML GATEs, n=600"),
    Family("gate_linear_null", lambda rng, t: run_gate_linear(rng, t, effects=(0.3, 0.3)),
           "LinearDML, no heterogeneity (test size)"),
    Family("gate_clustered", run_gate_clustered, "LinearDML GATEs, 30 clusters"),
    Family("gate_large", run_gate_large, "LinearDML (boosting) vs CausalForestDML vs subgroup DiD"),
    Family("gate_large_null", lambda rng, t: run_gate_large(rng, t, effects=(0.3, 0.3)),
           "the same, no heterogeneity (test size)"),
    Family("gate_large_nonlinear", lambda rng, t: run_gate_large(rng, t, nonlinear=True),
           "the same, trends and selection non-linear in the covariates"),
    # later additions go last: a family's seeds come from its index, so earlier rows stay reproducible
    Family("dr_did_weighted", run_dr_did_weighted, "doubly robust DiD with survey weights, n=1000"),
    Family("aipw", run_aipw, "AIPW (after-only doubly robust), n=1000"),
    Family("secondary_null", run_secondary, "4 secondary outcomes (rho 0.5), no effects: family-wise error"),
    Family("secondary", lambda rng, t: run_secondary(rng, t, effects=(0.25, 0.2, 0.0, 0.0)),
           "4 secondary outcomes (rho 0.5), two with effects: power and error"),
    Family("response_weighting", run_response_weighting,
           "DiD under attrition missing at random given group, y0 and x, n=1000, re-weighted by 1/P(answer)"),
    Family("response_weighting_survey", lambda rng, t: run_response_weighting(rng, t, weighted=True),
           "the same attrition, doubly robust DiD with survey weights (one stratum over-sampled 4:1)"),
    Family("honest_did", run_honest_did, "event study on the edge of Delta^RM(1): 3 pre-, 2 post-periods"),
    Family("honest_did_one_post", lambda rng, t: run_honest_did(rng, t, n_post=1),
           "the same with 1 post-period (ARP without nuisance parameters)"),
    Family("honest_did_parallel", lambda rng, t: run_honest_did(rng, t, mbar=0.0, slope=0.0),
           "the same, 2 post-periods, parallel trends holding exactly and Mbar = 0"),
    Family("gate_boosting", run_gate_boosting, "LinearDML (boosting) GATEs at 2,000 people, linear DGP"),
    Family("gate_boosting_null", lambda rng, t: run_gate_boosting(rng, t, effects=(0.3, 0.3)),
           "the same, no heterogeneity (test size)"),
    Family("gate_boosting_nonlinear", lambda rng, t: run_gate_boosting(rng, t, nonlinear=True),
           "the same, trends and selection non-linear in the covariates"),
]
# what the rejection rates of a family's tests are measured against (default: heterogeneity tests)
TEST_TRUTHS = {"secondary_null": "no effects", "secondary": "effects 0.25, 0.2, 0, 0"}


def _worker_init():
    warnings.filterwarnings("ignore")


def _task(args):
    index, rep, truths = args
    fam = FAMILIES[index]
    rng = np.random.default_rng(100_000 * (index + 1) + rep)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fam.run(rng, truths)
    rows, tests = out if isinstance(out, tuple) else (out, [])
    return fam.name, rep, rows, tests, time.perf_counter() - start


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (family, label), part in rows.groupby(["family", "estimator"], sort=False):
        err = part["estimate"] - part["truth"]
        ok = part["se"].notna() & np.isfinite(part["se"])
        covered = ((part["ci_low"] <= part["truth"]) & (part["truth"] <= part["ci_high"]))[ok]
        cov = covered.mean()
        out.append({
            "family": family, "estimator": label, "reps": len(part), "truth": part["truth"].mean(),
            "bias": err.mean(), "rmse": math.sqrt((err**2).mean()), "mean_se": part.loc[ok, "se"].mean(),
            "sd_est": part["estimate"].std(ddof=1), "se/sd": part.loc[ok, "se"].mean() / part["estimate"].std(ddof=1),
            "coverage": cov, "mc_se_cov": math.sqrt(cov * (1 - cov) / max(1, ok.sum())),
        })
    return pd.DataFrame(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=500, help="replications per family (default 500)")
    parser.add_argument("--quick", action="store_true", help="60 replications per family: a smoke run")
    parser.add_argument("--only", default="", help="comma-separated family names (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--csv", default="", help="also write every replication to this CSV file")
    args = parser.parse_args(argv)
    reps = 60 if args.quick else args.reps
    chosen = [i for i, f in enumerate(FAMILIES) if not args.only or f.name in args.only.split(",")]
    if not chosen:
        parser.error(f"no family matches --only {args.only!r}; choose from {', '.join(f.name for f in FAMILIES)}")

    t0 = time.perf_counter()
    truths = {"dr": _population_att(dgp_dr), "selection": _population_att(dgp_selection),
              "ncs_like": _population_att(dgp_ncs_like)}
    print(f"Population ATTs from 2,000,000 draws: " + ", ".join(f"{k} {v:.4f}" for k, v in truths.items()),
          flush=True)
    tasks = [(i, r, truths) for i in chosen for r in range(reps)]
    rows, tests, seconds = [], [], {}
    done = 0
    with mp.get_context("fork").Pool(args.workers, initializer=_worker_init) as pool:
        for name, rep, r, t, dt in pool.imap_unordered(_task, tasks, chunksize=4):
            rows += [{**x, "family": name, "rep": rep} for x in r]
            tests += [{"family": name, "test": label, "p_value": p, "rep": rep} for label, p in t]
            seconds[name] = seconds.get(name, 0.0) + dt
            done += 1
            if done % max(1, len(tasks) // 20) == 0:
                print(f"  {done}/{len(tasks)} replications, {time.perf_counter() - t0:.0f}s", file=sys.stderr,
                      flush=True)
    rows = pd.DataFrame(rows)
    if args.csv:
        rows.to_csv(args.csv, index=False)
    table = summarise(rows)
    table["sec/rep"] = table["family"].map(lambda f: seconds[f] / reps)
    order = {f.name: i for i, f in enumerate(FAMILIES)}
    table = table.sort_values("family", key=lambda s: s.map(order), kind="stable")
    pd.set_option("display.width", 250)
    print(f"\nEstimates against known truths: {reps} replications per family, {args.workers} processes, "
          f"{time.perf_counter() - t0:.0f}s wall time\n")
    print(table.drop(columns="family").to_markdown(index=False, floatfmt=".3f"))
    if tests:
        t = pd.DataFrame(tests)
        size = t.groupby(["family", "test"], sort=False)["p_value"].agg(
            reps="size", reject_5pct=lambda p: float(np.mean(p < 0.05))).reset_index()
        size["truth"] = size["family"].map(lambda f: TEST_TRUTHS.get(f, "no heterogeneity" if f.endswith("_null")
                                                                     else "0.1 vs 0.5"))
        print("\nTests: share of replications rejecting at 5% (heterogeneity tests: about 0.05 under no "
              "heterogeneity, high under 0.1 vs 0.5; secondary outcomes: family-wise error about 0.05 and at "
              "most Bonferroni's, power at least Holm's)\n")
        print(size[["test", "truth", "reps", "reject_5pct"]].to_markdown(index=False, floatfmt=".3f"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
