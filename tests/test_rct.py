"""Randomised designs: difference in means and ANCOVA, checked against statsmodels/scipy by hand and a known truth."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from evaluations.estimators.plan import estimate_impacts
from evaluations.estimators.rct import ancova, difference_in_means
from evaluations.estimators.result import EffectEstimate
from evaluations.measures import load_measures
from evaluations.registry import Manifest
from evaluations.simulate import cluster_randomised

TRUE_ATE = 0.4


def simulate_trial(n: int = 600, seed: int = 1, n_clusters: int | None = None, effect: float = TRUE_ATE,
                   cluster_sd: float = 0.4) -> pd.DataFrame:
    """A two-arm trial: baseline score, a covariate, follow-up = 0.7 baseline + effect * treated + noise.

    The effect is the same for everyone, so the true ATE is `effect` exactly. With clusters,
    whole clusters are randomised and share a follow-up shock.
    """
    rng = np.random.default_rng(seed)
    x = rng.binomial(1, 0.4, n).astype(float)
    y0 = 3 + 0.5 * x + rng.normal(0, 1, n)
    if n_clusters:
        cluster, treated, shock = cluster_randomised(rng, n, n_clusters, shock_sd=cluster_sd)
    else:
        cluster = np.zeros(n, int)
        treated = rng.permutation(np.arange(n) % 2)
        shock = 0.0
    y1 = 1 + 0.7 * y0 + 0.3 * x + effect * treated + shock + rng.normal(0, 0.8, n)
    return pd.DataFrame({"treated": treated, "x": x, "y0": y0, "y1": y1, "cluster": [f"c{c}" for c in cluster]})


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    return simulate_trial()


def test_ancova_is_statsmodels_ols_with_hc1_and_a_t_interval(trial):
    est = ancova(trial, outcome="score", covariates=["x"])
    ref = smf.ols("y1 ~ treated + y0 + x", data=trial).fit(cov_type="HC1")
    assert isinstance(est, EffectEstimate) and est.estimand == "ATE"
    assert est.estimate == pytest.approx(ref.params["treated"], rel=1e-12)
    assert est.std_error == pytest.approx(ref.bse["treated"], rel=1e-12)
    crit = stats.t.ppf(0.975, len(trial) - 4)
    assert est.ci_low == pytest.approx(ref.params["treated"] - crit * ref.bse["treated"], rel=1e-12)
    assert est.p_value == pytest.approx(2 * stats.t.sf(abs(ref.tvalues["treated"]), len(trial) - 4), rel=1e-9)
    assert est.ci_low <= TRUE_ATE <= est.ci_high
    assert (est.n_treated, est.n_comparison) == (300, 300)
    assert "ANCOVA" in est.estimator and any("Random assignment" in a for a in est.assumptions)


def test_difference_in_means_is_welchs_t_test(trial):
    est = difference_in_means(trial, outcome="score")
    a, b = trial.loc[trial.treated == 1, "y1"], trial.loc[trial.treated == 0, "y1"]
    welch = stats.ttest_ind(a, b, equal_var=False)
    assert est.estimate == pytest.approx(a.mean() - b.mean(), rel=1e-12)
    assert est.std_error == pytest.approx(math.sqrt(a.var() / len(a) + b.var() / len(b)), rel=1e-12)  # HC2 = Welch
    assert est.p_value == pytest.approx(welch.pvalue, rel=1e-9)
    ci = welch.confidence_interval(0.95)
    assert (est.ci_low, est.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert est.ci_low <= TRUE_ATE <= est.ci_high


def test_ancova_is_more_precise_than_the_difference_in_means(trial):
    # The baseline explains about half the follow-up variance: ANCOVA's SE should be about 30% smaller.
    assert ancova(trial, outcome="s").std_error < 0.8 * difference_in_means(trial, outcome="s").std_error


def test_cluster_randomised_trial_uses_cr1_and_t_on_g_minus_1(trial):
    data = simulate_trial(n=900, seed=4, n_clusters=30)
    est = ancova(data, outcome="score", covariates=["x"], cluster=True)
    groups = pd.factorize(data["cluster"])[0]
    ref = smf.ols("y1 ~ treated + y0 + x", data=data).fit(cov_type="cluster", cov_kwds={"groups": groups})
    assert est.std_error == pytest.approx(ref.bse["treated"], rel=1e-12)
    assert est.n_clusters == 30
    crit = stats.t.ppf(0.975, 29)
    assert est.ci_high == pytest.approx(est.estimate + crit * est.std_error, rel=1e-12)
    dim = difference_in_means(data, outcome="score", cluster=True)
    ref = smf.ols("y1 ~ treated", data=data).fit(cov_type="cluster", cov_kwds={"groups": groups})
    assert dim.std_error == pytest.approx(ref.bse["treated"], rel=1e-12)
    assert "cluster-robust" in est.estimator and "cluster-robust" in dim.estimator


def test_coverage_of_the_true_ate_individual_and_cluster_randomised():
    """Across 300 simulated trials the 95% intervals cover the true ATE about 95% of the time."""
    plain = [ancova(simulate_trial(n=200, seed=s), outcome="s", covariates=["x"]) for s in range(300)]
    clustered = [ancova(simulate_trial(n=600, seed=s, n_clusters=24), outcome="s", cluster=True)
                 for s in range(300)]
    # CR1 is known to run a little narrow with few, unequal clusters: over 1,000 trials this
    # design covered 92.8% with 24 clusters (95.2% for the individually randomised trial).
    for results, lowest in ((plain, 0.92), (clustered, 0.90)):
        covered = np.mean([e.ci_low <= TRUE_ATE <= e.ci_high for e in results])
        assert lowest <= covered <= 0.98  # Monte Carlo SD about 0.013
        assert abs(np.mean([e.estimate for e in results]) - TRUE_ATE) < 0.03


def test_missing_baselines_are_kept_with_a_missing_indicator(trial):
    data = trial.copy()
    data.loc[data.index[:40], "y0"] = np.nan
    est = ancova(data, outcome="score", covariates=["x"])
    filled = data.assign(m=data.y0.isna().astype(float), y0=data.y0.fillna(data.y0.mean()))
    ref = smf.ols("y1 ~ treated + y0 + m + x", data=filled).fit(cov_type="HC1")
    assert est.estimate == pytest.approx(ref.params["treated"], rel=1e-12)
    assert est.n_treated + est.n_comparison == len(data)  # nobody dropped
    assert any("40 people without a baseline" in a for a in est.assumptions)


def test_bad_input_names_the_problem(trial):
    with pytest.raises(ValueError, match="'y0'"):
        ancova(trial.drop(columns="y0"), outcome="score")
    with pytest.raises(ValueError, match="treated"):
        difference_in_means(trial.assign(treated=trial.treated * 2), outcome="score")


def _rct_manifest(with_cluster: bool) -> Manifest:
    return Manifest.model_validate({
        "id": "trial-test", "title": "A simulated trial", "synthetic": True,
        "programme": {"name": "Trial", "family": "other", "organisation": "Test", "places": ["Here"],
                      "start_date": "2024-01-01", "end_date": "2024-06-30"},
        "design": {"type": "rct", "unit_id": "id", "treatment": "arm", "wave": "wave", "baseline": "before",
                   "follow_up": "after", "covariates": ["x"], **({"cluster": "school"} if with_cluster else {})},
        "outcomes": [{"column": "score", "measure": "mixing_different_backgrounds", "primary": True}],
        "files": [{"path": "data.csv"}],
    })


def _panel(df: pd.DataFrame, with_cluster: bool) -> pd.DataFrame:
    base = pd.DataFrame({"unit": [f"u{i}" for i in range(len(df))], "treated": df.treated, "x": df.x})
    if with_cluster:
        base["cluster"] = df.cluster
    pre = base.assign(wave="before", period=1, score=df.y0)
    post = base.assign(wave="after", period=2, score=df.y1)
    return pd.concat([pre, post], ignore_index=True)


@pytest.mark.parametrize("with_cluster", [False, True])
def test_plan_uses_ancova_for_rct_designs(with_cluster):
    data = simulate_trial(n=600, seed=7, n_clusters=30 if with_cluster else None)
    panel = _panel(data, with_cluster)
    panel.loc[(panel.period == 2) & (panel.index % 50 == 0), "score"] = np.nan  # some lost to follow-up
    impacts = estimate_impacts(panel, _rct_manifest(with_cluster), load_measures())
    (est,) = impacts.estimates
    assert est.estimand == "ATE" and est.estimator.startswith("ANCOVA")
    assert est.ci_low <= TRUE_ATE <= est.ci_high
    assert est.n_clusters == (30 if with_cluster else None)
    (dim,) = impacts.sensitivity
    assert dim.estimator.startswith("Difference in means")
    table = impacts.to_table()
    # the share giving the positive answers, and the comparison group's share (evaluations/picturing.py)
    assert set(table["kind"]) == {"overall", "sensitivity", "share", "reference_share"}


def test_plan_uses_difference_in_means_when_no_baseline_was_taken():
    data = simulate_trial(n=400, seed=8)
    panel = _panel(data, False)
    panel.loc[panel.period == 1, "score"] = np.nan  # the outcome was only asked at follow-up
    (est,) = estimate_impacts(panel, _rct_manifest(False), load_measures()).estimates
    assert est.estimator.startswith("Difference in means") and est.estimand == "ATE"
    assert est.ci_low <= TRUE_ATE <= est.ci_high
