"""Survey weights in the estimators and balance, validated against R `survey` on the `api` data.

Published results (printed by R `survey`; data in tests/data/, see its README):

* svyglm(api00 ~ ell + meals + mobility, dclus2) and svyglm(api00 ~ stype - 1, dclus2), with
  dclus2 <- svydesign(id=~dnum+snum, weights=~pw, data=apiclus2): the survey package's
  regression example (r-survey.r-forge.r-project.org/survey/example-regression.html);
* svymean(~api00, dclus2wr) = 670.81 (30.712) and svymean(~api00, dclus1) = 644.17 (23.542):
  tests/testoutput/api.Rout.saved in the survey package;
* svyttest(enroll ~ I(stype == "E"), dclus2) difference -585.497: ?svyttest.

Convention: svyglm's linearisation variance is the weighted HC0 sandwich times n/(n-1), or with
primary sampling units (our clusters, G of them) the cluster sandwich times G/(G-1), with no
further small-sample factor. statsmodels' CR1, which the estimators use, adds (n-1)/(n-k), so
ours = svyglm SE * sqrt((n-1)/(n-k)). apiclus2's design "with replacement" (weights, no fpc)
needs nothing else; dclus1 declares a finite population correction, so its SE is ours times
sqrt(1 - 15/757).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluations.diagnostics.balance import balance_before_after, standardised_mean_differences
from evaluations.estimators.did import did_two_period, doubly_robust_did, subgroup_effects
from evaluations.estimators.heterogeneity import group_average_effects
from evaluations.estimators.matching import estimate_att
from evaluations.estimators.inference import WEIGHTS_ASSUMPTION, cluster_codes, regression, weighted_sd, welch_df
from evaluations.estimators.rct import ancova, difference_in_means

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def apiclus2() -> pd.DataFrame:
    return pd.read_csv(DATA / "apiclus2.csv")


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    return pd.read_csv(DATA / "apiclus1.csv")


def _svy_se(se: float, n: int, k: int) -> float:
    """statsmodels CR1 -> svyglm: drop the (n-1)/(n-k) factor."""
    return se * math.sqrt((n - k) / (n - 1))


# --------------------------------------------------------------------------- published R `survey` results


def test_weighted_cluster_regression_matches_svyglm_dclus2(apiclus2):
    d = apiclus2
    published = {"const": (811.4907, 30.8795), "ell": (-2.0592, 1.4075), "meals": (-1.7772, 1.1053),
                 "mobility": (0.3253, 0.5305)}
    for term, (coef, se) in published.items():
        c = regression(d.api00, d[["ell", "meals", "mobility"]], term, weights=d.pw, clusters=cluster_codes(d.dnum))
        assert (c.n_clusters, c.df) == (40, 39)
        assert round(c.estimate, 4) == coef
        assert round(_svy_se(c.std_error, len(d), 4), 4) == se


def test_weighted_domain_means_match_svyglm_stype(apiclus2):
    d = apiclus2
    dummies = pd.get_dummies(d.stype, dtype=float)[["H", "M"]]
    fit = regression(d.api00, dummies, "H", weights=d.pw, clusters=cluster_codes(d.dnum)).fit
    cov = fit.cov_params()
    for level, (mean, se) in {"E": (692.81, 30.28), "H": (598.34, 16.96), "M": (642.35, 45.34)}.items():
        a = np.array([1.0, level == "H", level == "M"])  # the domain mean as a contrast of the coefficients
        assert round(float(a @ fit.params), 2) == mean
        assert round(_svy_se(math.sqrt(a @ cov.to_numpy() @ a), len(d), 3), 2) == se


def test_weighted_means_match_svymean(apiclus1, apiclus2):
    no_terms = pd.DataFrame(index=apiclus2.index)
    c = regression(apiclus2.api00, no_terms, "const", weights=apiclus2.pw, clusters=cluster_codes(apiclus2.dnum))
    assert (round(c.estimate, 2), round(c.std_error, 3)) == (670.81, 30.712)  # k = 1: CR1 is svyglm's factor
    c = regression(apiclus1.api00, pd.DataFrame(index=apiclus1.index), "const", weights=apiclus1.pw,
                   clusters=cluster_codes(apiclus1.dnum))
    fpc = 1 - c.n_clusters / apiclus1.fpc.iloc[0]  # 15 of 757 districts, sampled without replacement
    assert (round(c.estimate, 2), round(c.std_error * math.sqrt(fpc), 3)) == (644.17, 23.542)


def test_weighted_difference_in_means_matches_svyttest_and_a_numpy_sandwich(apiclus2):
    d = apiclus2.assign(treated=(apiclus2.stype == "E").astype(int), weight=apiclus2.pw, cluster=apiclus2.dnum)
    est = difference_in_means(d, outcome="enroll", y="enroll", weights=True, cluster=True)
    assert round(est.estimate, 3) == -585.497  # svyttest's difference (its SE adds without-replacement terms)
    # the design-based SE by hand: cluster sums of the weighted scores, G/(G-1), then CR1's (n-1)/(n-k)
    d = d.dropna(subset=["enroll"])
    X = np.column_stack([np.ones(len(d)), d.treated])
    beta, v0 = _sandwich(X, d.enroll.to_numpy(float), d.pw.to_numpy(), cluster_codes(d.dnum))
    g, n = d.dnum.nunique(), len(d)  # 38 districts have a school with its enrolment recorded
    assert est.estimate == pytest.approx(beta[1], rel=1e-12)
    assert est.std_error == pytest.approx(math.sqrt(v0[1, 1] * g / (g - 1) * (n - 1) / (n - 2)), rel=1e-10)
    assert (est.n_treated, est.n_comparison, est.n_clusters, est.df) == (
        int(d.treated.sum()), int((d.treated == 0).sum()), g, g - 1)
    assert WEIGHTS_ASSUMPTION in est.assumptions


def _sandwich(X: np.ndarray, y: np.ndarray, w: np.ndarray, groups: np.ndarray | None = None,
              hc2: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares and its HC0 (or HC2, or cluster) sandwich, from the formulas."""
    bread = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = bread @ X.T @ (w * y)
    scores = (w * (y - X @ beta))[:, None] * X
    if hc2:  # leverage of the weighted design
        h = w * np.einsum("ij,jk,ik->i", X, bread, X)
        scores = scores / np.sqrt(1 - h)[:, None]
    if groups is not None:
        scores = np.vstack([scores[groups == g].sum(axis=0) for g in np.unique(groups)])
    return beta, bread @ (scores.T @ scores) @ bread


# --------------------------------------------------------------------------- estimators against the formulas


def trial(seed: int = 1, n: int = 400, weights: np.ndarray | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.binomial(1, 0.4, n).astype(float)
    y0 = 3 + 0.5 * x + rng.normal(0, 1, n)
    treated = rng.permutation(np.arange(n) % 2)
    y1 = 1 + 0.7 * y0 + 0.3 * x + (0.2 + 0.5 * x) * treated + rng.normal(0, 0.8 + 0.4 * treated, n)
    w = rng.uniform(0.5, 4, n) if weights is None else weights
    return pd.DataFrame({"treated": treated, "x": x, "y0": y0, "y1": y1, "weight": w,
                         "cluster": rng.integers(0, 25, n)})


def test_weighted_ancova_is_the_hc1_sandwich_with_t_on_n_minus_k():
    d = trial()
    est = ancova(d, outcome="s", covariates=["x"], weights=True)
    X = np.column_stack([np.ones(len(d)), d.treated, d.y0, d.x])
    beta, v0 = _sandwich(X, d.y1.to_numpy(), d.weight.to_numpy())
    n, k = len(d), 4
    assert est.estimate == pytest.approx(beta[1], rel=1e-12)
    assert est.std_error == pytest.approx(math.sqrt(v0[1, 1] * n / (n - k)), rel=1e-10)
    assert est.df == n - k
    assert est.ci_high == pytest.approx(est.estimate + stats.t.ppf(0.975, n - k) * est.std_error, rel=1e-12)
    assert "survey-weighted" in est.estimator and WEIGHTS_ASSUMPTION in est.assumptions
    assert (est.n_treated, est.n_comparison) == (200, 200)  # people, not sums of weights


def test_weighted_difference_in_means_is_hc2_with_kish_welch_df_and_weighted_hedges_g():
    d = trial(2)
    est = difference_in_means(d, outcome="s", weights=True)
    t, w, y = d.treated.to_numpy(), d.weight.to_numpy(), d.y1.to_numpy()
    means = [np.average(y[t == g], weights=w[t == g]) for g in (1, 0)]
    assert est.estimate == pytest.approx(means[0] - means[1], rel=1e-12)
    X = np.column_stack([np.ones(len(d)), t])
    _, v2 = _sandwich(X, y, w, hc2=True)
    assert est.std_error == pytest.approx(math.sqrt(v2[1, 1]), rel=1e-10)
    # Satterthwaite on each group's HC2 variance with Kish effective sizes
    parts = []
    for g in (1, 0):
        wg, e = w[t == g], y[t == g] - means[1 - g]
        parts.append((np.sum(wg**2 * e**2 / (1 - wg / wg.sum())) / wg.sum() ** 2, wg.sum() ** 2 / np.sum(wg**2) - 1))
    dof = sum(v for v, _ in parts) ** 2 / sum(v**2 / m for v, m in parts)
    assert est.df == pytest.approx(dof, rel=1e-10) and est.df < len(d) - 2
    sds = [math.sqrt(np.sum(w[t == g] * (y[t == g] - means[1 - g]) ** 2) / w[t == g].sum() * 200 / 199) for g in (1, 0)]
    pooled = math.sqrt((sds[0] ** 2 + sds[1] ** 2) / 2)  # equal group sizes
    assert est.effect_size == pytest.approx(est.estimate / pooled * (1 - 3 / (4 * 400 - 9)), rel=1e-10)


def test_weighted_clustered_did_is_cr1_on_g_minus_1():
    d = trial(3)
    est = did_two_period(d, outcome="s", covariates=["x"], cluster=True, weights=True)
    X = np.column_stack([np.ones(len(d)), d.treated, d.x])
    beta, v0 = _sandwich(X, (d.y1 - d.y0).to_numpy(), d.weight.to_numpy(), d.cluster.to_numpy())
    n, k, g = len(d), 3, 25
    assert est.estimate == pytest.approx(beta[1], rel=1e-12)
    assert est.std_error == pytest.approx(math.sqrt(v0[1, 1] * g / (g - 1) * (n - 1) / (n - k)), rel=1e-10)
    assert (est.df, est.n_clusters) == (24, 25)
    assert WEIGHTS_ASSUMPTION in est.assumptions and "survey-weighted" in est.estimator
    plain = did_two_period(d, outcome="s", covariates=["x"])
    assert plain.df is None and WEIGHTS_ASSUMPTION not in plain.assumptions  # person-level HC1: normal, as before


def test_welch_df_without_weights_is_welchs():
    d = trial(4)
    a, b = d.y1[d.treated == 1], d.y1[d.treated == 0]
    va, vb = a.var() / len(a), b.var() / len(b)
    welch = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    assert welch_df(d.y1.to_numpy(), d.treated.to_numpy()) == pytest.approx(welch, rel=1e-12)


# --------------------------------------------------------------------------- invariances


def _numbers(e) -> tuple:
    return (e.estimate, e.std_error, e.ci_low, e.ci_high, e.p_value, e.effect_size, e.effect_size_ci_low,
            e.effect_size_ci_high, e.df or 0, e.n_treated, e.n_comparison)


@pytest.mark.parametrize("cluster", [False, True])
def test_constant_weights_change_nothing(cluster):
    d = trial(5, weights=np.full(400, 7.3))
    runs = [(difference_in_means, {}), (ancova, {"covariates": ["x"]}), (did_two_period, {"covariates": ["x"]})]
    for f, kw in runs:
        w, u = f(d, outcome="s", cluster=cluster, weights=True, **kw), f(d, outcome="s", cluster=cluster, **kw)
        assert _numbers(w) == pytest.approx(_numbers(u), rel=1e-9)
        assert w.assumptions == u.assumptions + (WEIGHTS_ASSUMPTION,)
    d = d.assign(g=np.arange(400) % 2)
    (w, test_w), (u, test_u) = (subgroup_effects(d, outcome="s", modifier="g", covariates=["x"], cluster=cluster,
                                                 units="", weights=flag) for flag in (True, False))
    assert len(w) == len(u) == 2
    for a, b in zip(w, u):
        assert _numbers(a) == pytest.approx(_numbers(b), rel=1e-9)
    assert (test_w.statistic, test_w.p_value) == pytest.approx((test_u.statistic, test_u.p_value), rel=1e-9)


def test_integer_weights_reproduce_duplicated_rows_point_estimates():
    rng = np.random.default_rng(6)
    d = trial(6).assign(weight=rng.integers(1, 4, 400).astype(float))
    dup = d.loc[d.index.repeat(d.weight.astype(int))].reset_index(drop=True)
    for f, kw in [(difference_in_means, {}), (ancova, {"covariates": ["x"]}), (did_two_period, {"covariates": ["x"]})]:
        assert f(d, outcome="s", weights=True, **kw).estimate == pytest.approx(f(dup, outcome="s", **kw).estimate,
                                                                            rel=1e-10)
    bal_w = standardised_mean_differences(d, ["y0", "x"], "weight")
    bal_dup = standardised_mean_differences(dup, ["y0", "x"])
    for col in ("mean_treated", "mean_comparison"):
        assert bal_w[col].to_numpy() == pytest.approx(bal_dup[col].to_numpy(), rel=1e-12)


# --------------------------------------------------------------------------- a population sampled unequally


def sampled_population(seed: int, n_pop: int = 5000, n_clusters: int | None = None) -> pd.DataFrame:
    """A population where a fifth (x=1) gain 1.0 and the rest 0.2 (average 0.36), but the x=1
    people are four times as likely to be sampled, so half the sample gains 1.0.
    The weight is the inverse of the sampling probability."""
    rng = np.random.default_rng(seed)
    x = rng.binomial(1, 0.2, n_pop)
    p = np.where(x == 1, 0.8, 0.2)
    s = rng.uniform(size=n_pop) < p
    x, w = x[s], 1 / p[s]
    n = len(x)
    if n_clusters:  # whole sites take part, sharing a shock in the change
        site = rng.integers(0, n_clusters, n)
        treated = (rng.permutation(n_clusters) % 2)[site]
        shock = rng.normal(0, 0.15, n_clusters)[site]
    else:
        site, treated, shock = np.zeros(n, int), rng.permutation(np.arange(n) % 2), 0.0
    y0 = 3 + 0.5 * x + rng.normal(0, 1, n)
    y1 = y0 + 0.1 + 0.3 * x + (0.2 + 0.8 * x) * treated + shock + rng.normal(0, 0.6, n)
    return pd.DataFrame({"treated": treated, "x": x, "y0": y0, "y1": y1, "weight": w, "cluster": site})


POPULATION_EFFECT = 0.2 * 0.8 + 1.0 * 0.2  # 0.36; the sample's unweighted average effect is about 0.6


@pytest.mark.parametrize("name,fit", [
    ("difference in means", lambda d, w: difference_in_means(d, outcome="s", weights=w)),
    ("ANCOVA", lambda d, w: ancova(d, outcome="s", weights=w)),
    ("clustered DiD", lambda d, w: did_two_period(d, outcome="s", cluster=True, weights=w)),
    ("doubly robust DiD", lambda d, w: doubly_robust_did(d, outcome="s", covariates=["x"], weights=w)),
    ("clustered doubly robust DiD", lambda d, w: doubly_robust_did(d, outcome="s", covariates=["x"], cluster=True,
                                                                    weights=w)),
    ("IPW", lambda d, w: estimate_att(d, outcome="y1", treatment="treated", covariates=["x"], method="ipw",
                                      weights=w)),
    ("AIPW", lambda d, w: estimate_att(d, outcome="y1", treatment="treated", covariates=["x"],
                                       method="doubly_robust", weights=w)),
])
def test_weights_remove_the_bias_of_unequal_sampling(name, fit):
    """200 samples: unweighted estimates centre on the sample's 0.6; weighted ones on the population's
    0.36, with intervals covering it about 95% of the time (Monte Carlo SD 0.015)."""
    clustered = name.startswith("clustered")
    samples = [sampled_population(s, n_clusters=40 if clustered else None) for s in range(200)]
    weighted = [fit(d, True) for d in samples]
    plain = [fit(d, False) for d in samples]
    assert abs(np.mean([e.estimate for e in weighted]) - POPULATION_EFFECT) < 0.02
    assert np.mean([e.estimate for e in plain]) - POPULATION_EFFECT > 0.2
    covered = np.mean([e.ci_low <= POPULATION_EFFECT <= e.ci_high for e in weighted])
    assert 0.90 <= covered <= 0.985  # over 1,000 samples the difference in means covered 94.5%
    assert np.mean([e.ci_low <= POPULATION_EFFECT <= e.ci_high for e in plain]) < 0.5


def test_weighted_group_effects_from_econml_describe_the_population():
    """Within each level of a modifier unrelated to who was over-sampled, the population effect is 0.36
    and the sample's about 0.6: survey-weighted LinearDML finds the first, unweighted the second."""
    d = pd.concat([sampled_population(s) for s in range(4)], ignore_index=True)
    d["m"] = np.random.default_rng(0).integers(0, 2, len(d))
    weighted, = group_average_effects(d, outcome="s", modifiers=["m"], seed=1, weights=True)
    plain, = group_average_effects(d, outcome="s", modifiers=["m"], seed=1)
    for gate in weighted.gates:
        assert gate.ci_low < POPULATION_EFFECT < gate.ci_high and "survey-weighted" in gate.estimator
    assert all(g.ci_low > POPULATION_EFFECT for g in plain.gates)
    assert [g.n_treated for g in weighted.gates] == [g.n_treated for g in plain.gates]  # people, not weights


def test_weighted_subgroup_effects_and_balance_describe_the_population():
    d = sampled_population(1)
    subs, test = subgroup_effects(d, outcome="s", modifier="x", covariates=[], cluster=False, units="", weights=True)
    assert [e.subgroup for e in subs] == ["x=0", "x=1"]
    assert all(WEIGHTS_ASSUMPTION in e.assumptions for e in subs)
    assert subs[0].ci_low <= 0.2 <= subs[0].ci_high and subs[1].ci_low <= 1.0 <= subs[1].ci_high
    assert test.p_value < 1e-6
    # 20% of the population has x=1, half the sample: weighted balance sees the population's mean
    bal = standardised_mean_differences(d, ["x"], d["weight"].to_numpy()).iloc[0]
    assert abs(bal.mean_treated - 0.2) < 0.04 and abs(bal.mean_comparison - 0.2) < 0.04
    assert bal.n_treated + bal.n_comparison == len(d)  # people, not weights


# --------------------------------------------------------------------------- weighted balance


def test_survey_weighted_smd_uses_weighted_means_and_weighted_sds():
    d = trial(7).assign(y0=lambda f: f.y0 + 0.3 * f.treated)
    row = standardised_mean_differences(d, ["y0"], "weight").iloc[0]
    t = d.treated == 1
    mt, mc = (np.average(d.y0[m], weights=d.weight[m]) for m in (t, ~t))
    vt, vc = (weighted_sd(d.y0[m].to_numpy(), d.weight[m].to_numpy()) ** 2 for m in (t, ~t))
    assert (row.mean_treated, row.mean_comparison) == pytest.approx((mt, mc), rel=1e-12)
    assert row.smd == pytest.approx((mt - mc) / math.sqrt((vt + vc) / 2), rel=1e-12)
    assert vt != pytest.approx(d.y0[t].var(), rel=1e-3)  # the weighting did change the SD
    moved = d.set_index(d.index * 2 + 5)  # a filtered frame's index: the values are taken in row order
    same = standardised_mean_differences(moved, ["y0"], moved.weight).iloc[0]
    assert same.smd == row.smd  # a column name or the values
    flat = standardised_mean_differences(d.assign(weight=2.5), ["y0"], "weight").iloc[0]
    assert flat.smd == pytest.approx(standardised_mean_differences(d, ["y0"]).iloc[0].smd, rel=1e-12)


def test_balancing_weights_keep_the_sd_scale_of_the_survey_weighted_sample():
    d = trial(8)
    bal = np.where(d.treated == 1, 1.0, np.random.default_rng(8).uniform(0.2, 3, len(d)))
    table = balance_before_after(d, ["y0", "x"], bal, survey_weights="weight")
    before = standardised_mean_differences(d, ["y0", "x"], "weight")
    assert table.smd_before.to_numpy() == pytest.approx(before.smd.to_numpy(), rel=1e-12)
    t = (d.treated == 1).to_numpy()
    ww = bal * d.weight.to_numpy()
    row = table.set_index("variable").loc["y0"]
    sd = math.sqrt((weighted_sd(d.y0[t], d.weight[t]) ** 2 + weighted_sd(d.y0[~t], d.weight[~t]) ** 2) / 2)
    after = (np.average(d.y0[t], weights=ww[t]) - np.average(d.y0[~t], weights=ww[~t])) / sd
    assert row.smd_after == pytest.approx(after, rel=1e-12)


# --------------------------------------------------------------------------- bad weights


@pytest.mark.parametrize("weight,match", [(None, "no 'weight' column"), (-1.0, "1 row"), (np.nan, "1 row")])
def test_bad_weights_are_named(weight, match):
    d = trial(9)
    if weight is None:
        d = d.drop(columns="weight")
    else:
        d.loc[d.index[3], "weight"] = weight
    for f in (difference_in_means, ancova, did_two_period):
        with pytest.raises(ValueError, match=match):
            f(d, outcome="s", weights=True)
