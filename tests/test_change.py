"""Before and after with no comparison group: the mean change (paired, or between two cross-sections)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from evaluations.estimators.change import cross_section_change, paired_change


def _paired(rng, n=80, change=0.3, n_clusters=12):
    cluster = rng.integers(0, n_clusters, n)
    y0 = 3 + rng.normal(0, 1, n)
    y1 = y0 + change + rng.normal(0, 0.3, n_clusters)[cluster] + rng.normal(0, 0.8, n)
    return pd.DataFrame({"y0": y0, "y1": y1, "cluster": [f"group-{c}" for c in cluster],
                         "weight": rng.uniform(0.5, 2.5, n)})


def _waves(rng, n_pre=70, n_post=90, change=0.3, n_clusters=15):
    post = np.r_[np.zeros(n_pre), np.ones(n_post)]
    cluster = rng.integers(0, n_clusters, n_pre + n_post)
    y = 3 + change * post + np.where(post == 1, rng.normal(0, 1.6, len(post)), rng.normal(0, 1, len(post))) \
        + rng.normal(0, 0.3, n_clusters)[cluster]
    return pd.DataFrame({"y": y, "post": post.astype(int), "cluster": [f"site-{c}" for c in cluster],
                         "weight": rng.uniform(0.5, 2.5, len(post)), "treated": 1})


# ---- paired change ----------------------------------------------------------------------------------


def test_paired_change_is_the_paired_t_test():
    data = _paired(np.random.default_rng(1))
    est = paired_change(data, outcome="trust")
    ref = stats.ttest_rel(data["y1"], data["y0"])
    lo, hi = ref.confidence_interval()
    assert est.estimate == pytest.approx((data["y1"] - data["y0"]).mean(), rel=1e-12)
    assert (est.ci_low, est.ci_high) == (pytest.approx(lo, rel=1e-10), pytest.approx(hi, rel=1e-10))
    assert est.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert est.df == len(data) - 1
    assert est.estimand == "mean change" and (est.n_treated, est.n_comparison) == (len(data), 0)


def test_paired_change_cluster_robust_matches_statsmodels():
    data = _paired(np.random.default_rng(2))
    est = paired_change(data, outcome="trust", cluster=True)
    groups = pd.factorize(data["cluster"])[0]
    res = sm.OLS(data["y1"] - data["y0"], np.ones((len(data), 1))).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    assert est.std_error == pytest.approx(res.bse.iloc[0], rel=1e-10)
    lo, hi = res.conf_int().iloc[0]
    assert (est.ci_low, est.ci_high) == (pytest.approx(lo, rel=1e-10), pytest.approx(hi, rel=1e-10))
    assert est.df == data["cluster"].nunique() - 1 and est.n_clusters == data["cluster"].nunique()


def test_paired_change_weighted_is_the_design_based_weighted_mean():
    data = _paired(np.random.default_rng(3))
    est = paired_change(data, outcome="trust", weights=True)
    d, w = (data["y1"] - data["y0"]).to_numpy(), data["weight"].to_numpy()
    mean = np.sum(w * d) / np.sum(w)
    n = len(d)
    # linearisation variance of a ratio mean, with the n/(n-1) factor (HC1 of the intercept-only WLS)
    se = math.sqrt(n / (n - 1) * np.sum(w**2 * (d - mean) ** 2)) / np.sum(w)
    assert est.estimate == pytest.approx(mean, rel=1e-12)
    assert est.std_error == pytest.approx(se, rel=1e-10)


@pytest.mark.parametrize("cluster", [False, True])
def test_paired_change_constant_weights_change_nothing(cluster):
    data = _paired(np.random.default_rng(4))
    plain = paired_change(data, outcome="trust", cluster=cluster)
    weighted = paired_change(data.assign(weight=2.5), outcome="trust", cluster=cluster, weights=True)
    for field in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "effect_size", "df"):
        assert getattr(weighted, field) == pytest.approx(getattr(plain, field), rel=1e-10), field


def test_paired_change_frequency_weights_equal_duplicated_rows():
    data = _paired(np.random.default_rng(5))
    data["weight"] = np.random.default_rng(6).integers(1, 5, len(data)).astype(float)
    weighted = paired_change(data, outcome="trust", weights=True)
    duplicated = paired_change(data.loc[data.index.repeat(data["weight"].astype(int))], outcome="trust")
    assert weighted.estimate == pytest.approx(duplicated.estimate, rel=1e-12)


def test_paired_change_effect_size_is_change_over_baseline_sd_with_hedges_correction():
    data = _paired(np.random.default_rng(7), n=25)
    est = paired_change(data, outcome="trust")
    n = len(data)
    j = 1 - 3 / (4 * (n - 1) - 1)
    assert est.effect_size == pytest.approx(est.estimate / data["y0"].std() * j, rel=1e-12)
    assert est.effect_size_ci_high == pytest.approx(est.ci_high / data["y0"].std() * j, rel=1e-12)
    # not d_z (change over the SD of the changes), which grows with how well the waves correlate: here the
    # answers barely move around their change, so d_z would be about five times the effect size
    rng = np.random.default_rng(70)
    y0 = rng.normal(3, 1, 60)
    tight = pd.DataFrame({"y0": y0, "y1": y0 + 0.3 + rng.normal(0, 0.2, 60)})
    est = paired_change(tight, outcome="trust")
    d_z = est.estimate / (tight["y1"] - tight["y0"]).std()
    assert est.effect_size == pytest.approx(0.3, abs=0.1) and d_z > 1.0


def test_paired_change_recovers_a_known_change_and_covers_it():
    rng = np.random.default_rng(8)
    covered, estimates = 0, []
    for _ in range(300):
        est = paired_change(_paired(rng, n=40, change=0.3, n_clusters=40), outcome="trust")
        estimates.append(est.estimate)
        covered += est.ci_low < 0.3 < est.ci_high
    assert np.mean(estimates) == pytest.approx(0.3, abs=0.03)
    assert 0.91 <= covered / 300 <= 0.985


def test_paired_change_says_it_is_change_not_impact():
    est = paired_change(_paired(np.random.default_rng(9)), outcome="trust")
    assert est.assumptions[0].startswith("This is change, not impact: without a comparison group, the change "
                                         "includes everything else that changed over the period")


def test_paired_change_refuses_bad_inputs():
    data = _paired(np.random.default_rng(10))
    with pytest.raises(ValueError, match="column\\(s\\) 'y1' not in the data"):
        paired_change(data.drop(columns="y1"), outcome="trust")
    with pytest.raises(ValueError, match="'y0' has 1 missing value"):
        paired_change(data.assign(y0=data["y0"].where(data.index != 2)), outcome="trust")
    with pytest.raises(ValueError, match="at least 2 people who answered both waves; found 1"):
        paired_change(data.head(1), outcome="trust")
    with pytest.raises(ValueError, match="survey weights must be positive"):
        paired_change(data.assign(weight=-1.0), outcome="trust", weights=True)
    with pytest.raises(ValueError, match="at least 2 clusters; found 1"):
        paired_change(data.assign(cluster="a"), outcome="trust", cluster=True)
    with pytest.raises(ValueError, match="'cluster' has missing values"):
        paired_change(data.assign(cluster=None), outcome="trust", cluster=True)


# ---- change between two cross-sections ----------------------------------------------------------------


def test_cross_section_change_is_welchs_t_test():
    data = _waves(np.random.default_rng(11))
    est = cross_section_change(data, outcome="trust")
    post, pre = data.loc[data["post"] == 1, "y"], data.loc[data["post"] == 0, "y"]
    ref = stats.ttest_ind(post, pre, equal_var=False)
    lo, hi = ref.confidence_interval()
    assert est.estimate == pytest.approx(post.mean() - pre.mean(), rel=1e-12)
    assert est.std_error == pytest.approx(math.sqrt(post.var() / len(post) + pre.var() / len(pre)), rel=1e-10)
    assert est.df == pytest.approx(ref.df, rel=1e-10)
    assert (est.ci_low, est.ci_high) == (pytest.approx(lo, rel=1e-10), pytest.approx(hi, rel=1e-10))
    assert est.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert est.estimand == "mean change" and (est.n_treated, est.n_comparison) == (len(data), 0)


def test_cross_section_change_cluster_robust_matches_statsmodels():
    data = _waves(np.random.default_rng(12))
    est = cross_section_change(data, outcome="trust", cluster=True)
    res = sm.OLS(data["y"], sm.add_constant(data[["post"]].astype(float))).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["cluster"])[0]}, use_t=True)
    assert est.std_error == pytest.approx(res.bse["post"], rel=1e-10)
    lo, hi = res.conf_int().loc["post"]
    assert (est.ci_low, est.ci_high) == (pytest.approx(lo, rel=1e-10), pytest.approx(hi, rel=1e-10))


def test_cross_section_change_weighted():
    data = _waves(np.random.default_rng(13))
    est = cross_section_change(data, outcome="trust", weights=True)
    post, pre = data[data["post"] == 1], data[data["post"] == 0]
    diff = np.average(post["y"], weights=post["weight"]) - np.average(pre["y"], weights=pre["weight"])
    assert est.estimate == pytest.approx(diff, rel=1e-12)
    res = sm.WLS(data["y"], sm.add_constant(data[["post"]].astype(float)), weights=data["weight"]).fit(cov_type="HC2")
    assert est.std_error == pytest.approx(res.bse["post"], rel=1e-10)
    # Welch-Satterthwaite df as for the weighted difference in means (inference.welch_df): each wave's
    # HC2 variance part, on its Kish effective size (sum w)^2 / sum w^2 less one
    parts = []
    for wave in (post, pre):
        w, y = wave["weight"].to_numpy(), wave["y"].to_numpy()
        total, e = w.sum(), y - np.average(y, weights=w)
        parts.append((np.sum(w**2 * e**2 / (1 - w / total)) / total**2, total**2 / (w**2).sum() - 1))
    welch = sum(v for v, _ in parts) ** 2 / sum(v**2 / d for v, d in parts)
    assert est.df == pytest.approx(welch, rel=1e-10)
    assert est.df < len(data) - 2


def test_cross_section_change_constant_and_frequency_weights():
    data = _waves(np.random.default_rng(14))
    plain = cross_section_change(data, outcome="trust")
    constant = cross_section_change(data.assign(weight=0.4), outcome="trust", weights=True)
    for field in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "effect_size", "df"):
        assert getattr(constant, field) == pytest.approx(getattr(plain, field), rel=1e-10), field
    data["weight"] = np.random.default_rng(15).integers(1, 4, len(data)).astype(float)
    weighted = cross_section_change(data, outcome="trust", weights=True)
    duplicated = cross_section_change(data.loc[data.index.repeat(data["weight"].astype(int))], outcome="trust")
    assert weighted.estimate == pytest.approx(duplicated.estimate, rel=1e-12)


def test_cross_section_change_effect_size_uses_the_baseline_wave():
    data = _waves(np.random.default_rng(16))
    est = cross_section_change(data, outcome="trust")
    pre = data.loc[data["post"] == 0, "y"]
    j = 1 - 3 / (4 * (len(pre) - 1) - 1)
    assert est.effect_size == pytest.approx(est.estimate / pre.std() * j, rel=1e-12)


def test_cross_section_change_recovers_a_known_change_and_covers_it():
    rng = np.random.default_rng(17)
    covered, estimates = 0, []
    for _ in range(300):
        est = cross_section_change(_waves(rng, n_pre=30, n_post=60, change=0.3, n_clusters=90), outcome="trust")
        estimates.append(est.estimate)
        covered += est.ci_low < 0.3 < est.ci_high
    assert np.mean(estimates) == pytest.approx(0.3, abs=0.04)
    assert 0.91 <= covered / 300 <= 0.985


def test_cross_section_change_refuses_bad_inputs():
    data = _waves(np.random.default_rng(18))
    with pytest.raises(ValueError, match="'post' must be 0 \\(baseline\\) or 1"):
        cross_section_change(data.assign(post=data["post"] + 1), outcome="trust")
    with pytest.raises(ValueError, match="at least 2 answers in each wave; found 70 at baseline and 1 at follow-up"):
        cross_section_change(pd.concat([data[data["post"] == 0], data[data["post"] == 1].head(1)]), outcome="trust")
    with pytest.raises(ValueError, match="column\\(s\\) 'post' not in the data"):
        cross_section_change(data.drop(columns="post"), outcome="trust")
    with pytest.raises(ValueError, match="must be numeric"):
        cross_section_change(data.assign(y="a lot"), outcome="trust")
    assert any("Different people answered each wave" in a
               for a in cross_section_change(data, outcome="trust").assumptions)
