"""Doubly robust DiD on a linked panel: Stata/R DRDID's published panel results, analytic and bootstrap
standard errors, clusters and survey weights."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from pathlib import Path

from evaluations.estimators import drdid
from evaluations.estimators.did import doubly_robust_did
from evaluations.estimators.matching import estimate_att

DATA = Path(__file__).parent / "data"
LALONDE_COVARIATES = ["age", "educ", "black", "married", "nodegree", "hisp", "re74"]
# Stata `drdid` (Rios-Avila, Naqvi & Sant'Anna), help page drdid/drdid_stata.md of github.com/friosavila/
# playingwithstata: `drdid re age educ black married nodegree hisp re74 if treated==0 | sample==2, ivar(id)
# time(year) tr(experimental) all` on the LaLonde NSW-CPS panel; rows dripw (= R DRDID::drdid_panel),
# reg (reg_did_panel) and stdipw (std_ipw_did_panel). Its SEs are sqrt(sum psi^2)/n, as inference.influence_se.
STATA_LALONDE_PANEL = {"dr": (-871.3271, 396.0211), "reg": (-1300.645, 349.8259), "ipw": (-1021.609, 397.5201)}


def load_lalonde_panel() -> pd.DataFrame:
    """The LaLonde NSW-CPS data as a linked panel: one row per person, re in 1975 (y0) and 1978 (y1)."""
    long = pd.read_csv(DATA / "nsw_lalonde_cps_long.csv.gz")
    wide = long.pivot_table(index="id", columns="year", values="re").rename(columns={1975: "y0", 1978: "y1"})
    people = long.drop_duplicates("id").set_index("id")[["experimental"] + LALONDE_COVARIATES]
    return wide.join(people).rename(columns={"experimental": "treated"}).reset_index()


@pytest.fixture(scope="module")
def lalonde_panel() -> pd.DataFrame:
    return load_lalonde_panel()


@pytest.mark.parametrize("method", ["dr", "reg", "ipw"])
def test_panel_kernels_match_stata_drdid_on_lalonde(lalonde_panel, method):
    df = lalonde_panel
    x = np.column_stack([np.ones(len(df))] + [df[c].to_numpy(float) for c in LALONDE_COVARIATES])
    fit = drdid.estimate((df.y1 - df.y0).to_numpy(float), df.treated.to_numpy(float), x, np.ones(len(df)), method)
    att, se = STATA_LALONDE_PANEL[method]
    assert float(f"{fit.att:.7g}") == att
    assert float(f"{np.sqrt(np.sum(fit.influence ** 2)) / len(df):.7g}") == se


def test_doubly_robust_did_is_drdid_panel_with_its_analytic_standard_error(lalonde_panel):
    est = doubly_robust_did(lalonde_panel, outcome="re", covariates=LALONDE_COVARIATES)
    assert float(f"{est.estimate:.7g}") == STATA_LALONDE_PANEL["dr"][0]
    assert float(f"{est.std_error:.7g}") == STATA_LALONDE_PANEL["dr"][1]
    assert est.df is None and "influence-function SE" in est.estimator
    assert est.ci_low == pytest.approx(est.estimate - stats.norm.ppf(0.975) * est.std_error, rel=1e-12)


def test_bootstrap_standard_error_stays_available_and_agrees_with_the_analytic_one():
    df = clustered(5)
    analytic = doubly_robust_did(df, outcome="y", covariates=["x"])
    boot = doubly_robust_did(df, outcome="y", covariates=["x"], standard_error="bootstrap", n_bootstrap=300, seed=4)
    assert boot.estimate == analytic.estimate
    assert boot.std_error == pytest.approx(analytic.std_error, rel=0.15)
    assert "bootstrap SE (300 replicates)" in boot.estimator


def test_survey_weights_recover_the_population_effect_where_the_unweighted_fit_does_not():
    """Women are over-sampled 4:1 and gain 0.8 where men gain 0.2; the population (half women) gains 0.5."""
    rng = np.random.default_rng(11)
    n = 6000
    woman = rng.binomial(1, 0.8, n)
    x = rng.normal(0, 1, n)
    treated = rng.binomial(1, expit(0.5 * x))
    y0 = 2 + 0.4 * x + rng.normal(0, 1, n)
    y1 = y0 + 0.3 * x + np.where(woman == 1, 0.8, 0.2) * treated + rng.normal(0, 1, n)
    df = pd.DataFrame({"treated": treated, "x": x, "y0": y0, "y1": y1,
                       "weight": np.where(woman == 1, 0.5 / 0.8, 0.5 / 0.2)})
    unweighted = doubly_robust_did(df, outcome="y", covariates=["x"])
    weighted = doubly_robust_did(df, outcome="y", covariates=["x"], weights=True)
    assert weighted.ci_low < 0.5 < weighted.ci_high
    assert not unweighted.ci_low < 0.5 < unweighted.ci_high  # it estimates the sample's 0.68
    assert "survey-weighted" in weighted.estimator
    assert weighted.n_treated == unweighted.n_treated == int(treated.sum())  # counts of people, not weights


def test_integer_weights_equal_duplicated_rows(lalonde_panel):
    df = lalonde_panel.iloc[::7].reset_index(drop=True)
    w = np.random.default_rng(3).integers(1, 4, len(df))
    weighted = doubly_robust_did(df.assign(weight=w), outcome="re", covariates=LALONDE_COVARIATES, weights=True)
    duplicated = doubly_robust_did(df.loc[df.index.repeat(w)], outcome="re", covariates=LALONDE_COVARIATES)
    assert weighted.estimate == pytest.approx(duplicated.estimate, rel=1e-9)


def clustered(seed: int, n: int = 900, n_clusters: int = 30, effect: float = 0.3) -> pd.DataFrame:
    """Sites choose to join by their covariate mix; each site shares a shock in the change."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, n_clusters, n)
    site_x = rng.normal(0, 1, n_clusters)
    x = site_x[cluster] + rng.normal(0, 1, n)
    treated = rng.binomial(1, expit(0.8 * site_x))[cluster]
    shock = rng.normal(0, 0.4, n_clusters)[cluster]
    y0 = 3 + 0.5 * x + rng.normal(0, 0.7, n)
    change = 0.1 + 0.3 * x + shock + effect * treated + rng.normal(0, 0.6, n)
    return pd.DataFrame({"treated": treated, "x": x, "cluster": cluster, "y0": y0, "y1": y0 + change})


def test_clustered_doubly_robust_did_sums_influence_within_clusters():
    df = clustered(1)
    plain = doubly_robust_did(df, outcome="y", covariates=["x"], seed=3)
    est = doubly_robust_did(df, outcome="y", covariates=["x"], seed=3, cluster=True)
    assert est.estimate == plain.estimate  # the same estimator; only its uncertainty changes
    assert est.std_error > 2 * plain.std_error  # site shocks dominate the person-level noise
    assert est.n_clusters == 30 and plain.n_clusters is None
    assert "cluster-robust influence-function SE" in est.estimator and est.df == 29
    assert est.ci_high == pytest.approx(est.estimate + stats.t.ppf(0.975, 29) * est.std_error, rel=1e-12)


def test_clustered_doubly_robust_did_covers_the_truth():
    """40 simulated evaluations: person-level intervals cover far too rarely, cluster-bootstrap ones do."""
    plain, fixed = [], []
    for s in range(40):
        df = clustered(100 + s).assign(change=lambda d: d.y1 - d.y0)
        kw = dict(outcome="change", treatment="treated", covariates=["x"], method="doubly_robust",
                  n_bootstrap=100, seed=s)
        plain.append(estimate_att(df, **kw))
        fixed.append(estimate_att(df, **kw, cluster="cluster"))
    cover = lambda ests: np.mean([e.ci_low <= 0.3 <= e.ci_high for e in ests])  # noqa: E731
    assert cover(plain) < 0.75
    assert cover(fixed) >= 0.875


def test_matching_refuses_clusters_rather_than_ignoring_them():
    with pytest.raises(ValueError, match="Cluster-robust"):
        estimate_att(clustered(2), outcome="y1", treatment="treated", covariates=["x"], cluster="cluster")
