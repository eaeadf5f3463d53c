"""Difference-in-differences on repeated cross-sections: regression DiD and Sant'Anna & Zhao's doubly robust DiD.

The doubly robust kernel is checked against published output of R `DRDID` and Stata `drdid` on the
data those packages ship (tests/data/README.md says where each file comes from); the regression
kernel against statsmodels' formula API and DRDID's printed TWFE example; both against simulated
data with known effects.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy.special import expit

from evaluations.estimators.cross_sections import did_repeated_cross_sections, doubly_robust_did_rcs

DATA = Path(__file__).parent / "data"
SIM_RC_COVARIATES = ["x1", "x2", "x3", "x4"]
LALONDE_COVARIATES = ["age", "educ", "black", "married", "nodegree", "hisp", "re74"]

# ---- Published numbers ----------------------------------------------------------------------------
# R DRDID's reference manual, example of `drdid_rc` (and, identically, `drdid(yname = "y", tname = "post",
# idname = "id", dname = "d", xformla = ~ x1 + x2 + x3 + x4, data = sim_rc, panel = FALSE,
# estMethod = "trad")` in the example of `drdid`), as rendered on the package site psantanna.com/DRDID
# (docs/reference/drdid_rc.html and drdid.html of github.com/pedrohcgs/DRDID, pkgdown 2.0.7 build):
#   ATT -0.1678, Std. Error 0.2009, [95% Conf. Interval] -0.5616 0.226
# That build computed the SE as sd(psi) / sqrt(n); DRDID 1.2.x (and inference.influence_se) use
# sqrt(sum psi^2) / n, smaller by sqrt((n-1)/n) (psi has mean zero), and its interval used 1.96.
R_DOCS_SIM_RC = {"att": -0.1678, "se": 0.2009, "lci": -0.5616, "uci": 0.226}
# Stata `drdid` (Rios-Avila, Naqvi & Sant'Anna), help page "DRDID and CSDID for Stata"
# (friosavila.github.io/playingwithstata/drdid/drdid_stata.html, source drdid/drdid_stata.md of
# github.com/friosavila/playingwithstata), `drdid y x1 x2 x3 x4, time(post) tr(d) all` on sim_rc, row "dripw"
# (the locally efficient DR DiD with logit propensity score and OLS outcome regressions = DRDID::drdid_rc):
STATA_SIM_RC = {"att": -.1677954, "se": .2007987, "lci": -.5613537, "uci": .2257628}
# The same command on the earlier page drdid/DRDID_for_Stata.html of that repository printed the
# sd(psi) / sqrt(n) version of the SE, as R's documentation did:
STATA_OLD_SIM_RC_SE = .2008992
# Same page, `drdid re age educ black married nodegree hisp re74 if treated==0 | sample==2, time(year)
# tr(experimental) all` on the LaLonde NSW-CPS data (no ivar(): repeated cross-section estimators), row "dripw":
STATA_LALONDE_RC = {"att": -871.3271, "se": 410.2751, "lci": -1675.452, "uci": -67.20268}
# ... and with `cluster(id)` added (the influence function summed within person), row "dripw":
STATA_LALONDE_RC_CLUSTER_ID_SE = 396.1635
# R DRDID's reference manual, example of `twfe_did_rc` on sim_rc (the regression y ~ d:post + d + post + x1..x4;
# SE sd(psi) / sqrt(n) from the OLS influence function, i.e. HC0 * n / (n - 1)):
R_DOCS_TWFE_SIM_RC = {"att": -25.43961, "se": 3.710505}


def printed(value: float, digits: int) -> float:
    """`value` as printed with `digits` significant digits (Stata's %9.0g shows 7)."""
    return float(f"{value:.{digits}g}")


@pytest.fixture(scope="module")
def sim_rc() -> pd.DataFrame:
    return load_sim_rc()


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return load_lalonde_cross_sections()


def load_sim_rc() -> pd.DataFrame:
    return pd.read_csv(DATA / "drdid_sim_rc.csv").rename(columns={"d": "treated"})


def load_lalonde_cross_sections() -> pd.DataFrame:
    d = pd.read_csv(DATA / "nsw_lalonde_cps_long.csv.gz")
    return d.assign(y=d["re"], treated=d["experimental"], post=(d["year"] == 1978).astype(int),
                    cluster=d["id"].astype(str))


# ---- published results ----------------------------------------------------------------------------


def test_doubly_robust_matches_drdid_documentation_on_sim_rc(sim_rc):
    est = doubly_robust_did_rcs(sim_rc, outcome="y", covariates=SIM_RC_COVARIATES)
    n = len(sim_rc)
    assert round(est.estimate, 4) == R_DOCS_SIM_RC["att"]
    # the documentation's SE convention, sd(psi)/sqrt(n) = ours * sqrt(n/(n-1)), and its 1.96 interval
    se_docs = est.std_error * math.sqrt(n / (n - 1))
    assert round(se_docs, 4) == R_DOCS_SIM_RC["se"]
    assert round(est.estimate - 1.96 * se_docs, 4) == R_DOCS_SIM_RC["lci"]
    assert round(est.estimate + 1.96 * se_docs, 4) == R_DOCS_SIM_RC["uci"]
    assert printed(se_docs, 7) == STATA_OLD_SIM_RC_SE


def test_doubly_robust_matches_stata_drdid_on_sim_rc(sim_rc):
    est = doubly_robust_did_rcs(sim_rc, outcome="y", covariates=SIM_RC_COVARIATES)
    assert printed(est.estimate, 7) == STATA_SIM_RC["att"]
    assert printed(est.std_error, 7) == STATA_SIM_RC["se"]
    assert printed(est.ci_low, 7) == STATA_SIM_RC["lci"]
    assert printed(est.ci_high, 7) == STATA_SIM_RC["uci"]
    assert est.df is None and est.estimand == "ATT"
    assert (est.n_treated, est.n_comparison) == (int(sim_rc["treated"].sum()), int((sim_rc["treated"] == 0).sum()))


def test_doubly_robust_matches_stata_drdid_on_lalonde_repeated_cross_sections(lalonde):
    est = doubly_robust_did_rcs(lalonde, outcome="re", covariates=LALONDE_COVARIATES)
    assert printed(est.estimate, 7) == STATA_LALONDE_RC["att"]
    assert printed(est.std_error, 7) == STATA_LALONDE_RC["se"]
    assert printed(est.ci_low, 7) == STATA_LALONDE_RC["lci"]
    assert printed(est.ci_high, 7) == STATA_LALONDE_RC["uci"]
    assert (est.n_treated, est.n_comparison) == (850, 31984)


def test_doubly_robust_cluster_sum_matches_stata_drdid_cluster_id(lalonde):
    est = doubly_robust_did_rcs(lalonde, outcome="re", covariates=LALONDE_COVARIATES, cluster=True)
    assert printed(est.std_error, 7) == STATA_LALONDE_RC_CLUSTER_ID_SE
    assert printed(est.estimate, 7) == STATA_LALONDE_RC["att"]
    assert est.n_clusters == 16417 and est.df is None


def test_regression_did_matches_drdid_twfe_example_on_sim_rc(sim_rc):
    est = did_repeated_cross_sections(sim_rc, outcome="y", covariates=SIM_RC_COVARIATES)
    n, k = len(sim_rc), 4 + len(SIM_RC_COVARIATES)
    assert printed(est.estimate, 7) == R_DOCS_TWFE_SIM_RC["att"]
    # DRDID's SE is sqrt(HC0 * n/(n-1)); ours is HC1 = sqrt(HC0 * n/(n-k))
    assert printed(est.std_error * math.sqrt((n - k) / (n - 1)), 7) == R_DOCS_TWFE_SIM_RC["se"]
    assert est.df == n - k


# ---- regression DiD against statsmodels' formula API ------------------------------------------------


def _survey(rng, n=600, effect=0.4, n_clusters=30, selection=0.0):
    x = rng.normal(size=n)
    z = rng.binomial(1, 0.4, n).astype(float)
    cluster = rng.integers(0, n_clusters, n)
    shock = rng.normal(0, 0.3, n_clusters)[cluster]
    treated = rng.binomial(1, expit(-0.2 + selection * x))
    post = rng.binomial(1, 0.5, n)
    # the trend depends on x: with selection on x, groups' trends differ unless x is adjusted for
    y = 1 + 0.5 * x + 0.3 * z + 0.4 * treated + post * (0.2 + 0.6 * x) + effect * treated * post + shock \
        + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "treated": treated, "post": post, "x": x, "z": z,
                         "cluster": [f"school-{c}" for c in cluster], "weight": rng.uniform(0.5, 3, n)})


@pytest.mark.parametrize("cluster", [False, True])
@pytest.mark.parametrize("weights", [False, True])
def test_regression_did_equals_statsmodels_formula(cluster, weights):
    data = _survey(np.random.default_rng(7))
    est = did_repeated_cross_sections(data, outcome="y", covariates=["x", "z"], cluster=cluster, weights=weights)
    model = smf.wls("y ~ treated * post + x + z", data, weights=data["weight"]) if weights \
        else smf.ols("y ~ treated * post + x + z", data)
    if cluster:
        res = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(data["cluster"])[0]}, use_t=True)
    else:
        res = model.fit(cov_type="HC1", use_t=True)
    term = "treated:post"
    assert est.estimate == pytest.approx(res.params[term], rel=1e-10)
    assert est.std_error == pytest.approx(res.bse[term], rel=1e-10)
    lo, hi = res.conf_int().loc[term]
    assert (est.ci_low, est.ci_high) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))
    assert est.p_value == pytest.approx(res.pvalues[term], rel=1e-8)
    assert est.df == (data["cluster"].nunique() - 1 if cluster else res.df_resid)
    assert est.n_clusters == (data["cluster"].nunique() if cluster else None)


def test_regression_did_recovers_a_known_effect_and_its_effect_size():
    data = _survey(np.random.default_rng(11), n=20_000, effect=0.4, n_clusters=400)
    est = did_repeated_cross_sections(data, outcome="y", covariates=["x", "z"])
    assert est.estimate == pytest.approx(0.4, abs=0.06)
    assert est.ci_low < 0.4 < est.ci_high
    base = data[data["post"] == 0]
    t, c = base.loc[base["treated"] == 1, "y"], base.loc[base["treated"] == 0, "y"]
    pooled = math.sqrt(((len(t) - 1) * t.var() + (len(c) - 1) * c.var()) / (len(t) + len(c) - 2))
    j = 1 - 3 / (4 * (len(t) + len(c)) - 9)
    assert est.effect_size == pytest.approx(est.estimate / pooled * j, rel=1e-12)
    assert est.effect_size_ci_low == pytest.approx(est.ci_low / pooled * j, rel=1e-12)


# ---- doubly robust DiD: simulated truths -------------------------------------------------------------


def _selected(rng, n):
    """Selection into the programme on x, and a trend that depends on x: the unadjusted DiD is biased
    (programme respondents have higher x and so a steeper trend); true ATT 0.5."""
    x = rng.normal(size=n)
    treated = rng.binomial(1, expit(-0.5 + 1.0 * x))
    post = rng.binomial(1, 0.5, n)
    y = 2 + x + 0.5 * treated + post * (0.3 + 0.8 * x) + 0.5 * treated * post + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "treated": treated, "post": post, "x": x})


def test_doubly_robust_is_right_under_selection_where_the_unadjusted_did_is_biased():
    estimates_dr, estimates_plain = [], []
    for seed in range(5):
        data = _selected(np.random.default_rng(seed), 4000)
        estimates_dr.append(doubly_robust_did_rcs(data, outcome="y", covariates=["x"]).estimate)
        estimates_plain.append(did_repeated_cross_sections(data, outcome="y").estimate)
    assert np.mean(estimates_dr) == pytest.approx(0.5, abs=0.06)
    # the unadjusted DiD picks up the steeper trend of the (higher-x) programme group: E[x | D=1] - E[x | D=0]
    # is about 0.75 here, times 0.8
    assert np.mean(estimates_plain) - 0.5 > 0.4


def test_doubly_robust_covers_the_truth_in_a_large_sample():
    data = _selected(np.random.default_rng(123), 20_000)
    est = doubly_robust_did_rcs(data, outcome="y", covariates=["x"])
    assert est.ci_low < 0.5 < est.ci_high
    assert est.std_error < 0.06


def test_doubly_robust_without_covariates_is_the_plain_difference_in_differences():
    data = _survey(np.random.default_rng(3))
    dr = doubly_robust_did_rcs(data, outcome="y", covariates=[])
    m = data.groupby(["treated", "post"])["y"].mean()
    assert dr.estimate == pytest.approx((m[1, 1] - m[1, 0]) - (m[0, 1] - m[0, 0]), rel=1e-10)
    assert dr.estimate == pytest.approx(did_repeated_cross_sections(data, outcome="y").estimate, rel=1e-10)


def test_doubly_robust_one_person_clusters_equal_no_clusters(sim_rc):
    plain = doubly_robust_did_rcs(sim_rc, outcome="y", covariates=SIM_RC_COVARIATES)
    own = doubly_robust_did_rcs(sim_rc.assign(cluster=sim_rc["id"].astype(str)), outcome="y",
                                covariates=SIM_RC_COVARIATES, cluster=True)
    assert own.std_error == pytest.approx(plain.std_error, rel=1e-12)
    assert own.estimate == plain.estimate


# ---- weights ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", [did_repeated_cross_sections, doubly_robust_did_rcs])
def test_constant_weights_change_nothing(kernel):
    data = _survey(np.random.default_rng(5))
    plain = kernel(data, outcome="y", covariates=["x", "z"])
    weighted = kernel(data.assign(weight=3.7), outcome="y", covariates=["x", "z"], weights=True)
    for field in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "effect_size"):
        assert getattr(weighted, field) == pytest.approx(getattr(plain, field), rel=1e-9), field


@pytest.mark.parametrize("kernel", [did_repeated_cross_sections, doubly_robust_did_rcs])
def test_integer_frequency_weights_equal_duplicated_rows(kernel):
    data = _survey(np.random.default_rng(9), n=400)
    data["weight"] = np.random.default_rng(1).integers(1, 4, len(data)).astype(float)
    weighted = kernel(data, outcome="y", covariates=["x", "z"], weights=True)
    duplicated = data.loc[data.index.repeat(data["weight"].astype(int))].drop(columns="weight")
    expanded = kernel(duplicated, outcome="y", covariates=["x", "z"])
    assert weighted.estimate == pytest.approx(expanded.estimate, rel=1e-9)


def test_weighted_doubly_robust_recovers_a_population_effect():
    """Sampling that over-represents high-x programme respondents, undone by inverse-probability weights:
    the effect varies with x, so only the weighted estimate recovers the population ATT."""
    rng = np.random.default_rng(22)
    n = 40_000
    x = rng.normal(size=n)
    treated = rng.binomial(1, expit(-0.5 + 0.5 * x))
    post = rng.binomial(1, 0.5, n)
    effect = 0.5 + 0.5 * x
    y = 1 + x + 0.3 * treated + post * (0.2 + 0.4 * x) + effect * treated * post + rng.normal(0, 1, n)
    true_att = float(np.mean(effect[treated == 1]))
    keep_p = np.where(treated == 1, expit(1.5 * x), 0.5)
    kept = rng.uniform(size=n) < keep_p
    data = pd.DataFrame({"y": y, "treated": treated, "post": post, "x": x, "weight": 1 / keep_p})[kept]
    weighted = doubly_robust_did_rcs(data, outcome="y", covariates=["x"], weights=True)
    unweighted = doubly_robust_did_rcs(data, outcome="y", covariates=["x"])
    assert abs(weighted.estimate - true_att) < 3 * weighted.std_error < 0.12
    assert unweighted.estimate - true_att > 5 * unweighted.std_error  # the sample's programme respondents have higher x


# ---- messages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", [did_repeated_cross_sections, doubly_robust_did_rcs])
def test_bad_inputs_are_refused_clearly(kernel):
    data = _survey(np.random.default_rng(2), n=200)
    with pytest.raises(ValueError, match="column\\(s\\) 'age' not in the data"):
        kernel(data, outcome="y", covariates=["age"])
    with pytest.raises(ValueError, match="'treated' must be 0 or 1"):
        kernel(data.assign(treated=data["treated"] * 2), outcome="y", covariates=["x"])
    with pytest.raises(ValueError, match="covariate 'x' has 1 missing value"):
        kernel(data.assign(x=data["x"].where(data.index != 3)), outcome="y", covariates=["x"])
    with pytest.raises(ValueError, match="survey weights must be positive"):
        kernel(data.assign(weight=data["weight"].where(data.index != 0, 0.0)), outcome="y", covariates=["x"],
               weights=True)
    with pytest.raises(ValueError, match="column\\(s\\) 'weight' not in the data"):
        kernel(data.drop(columns="weight"), outcome="y", covariates=["x"], weights=True)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        kernel(data.assign(cluster="one"), outcome="y", covariates=["x"], cluster=True)
    one_cell = data[~((data["treated"] == 1) & (data["post"] == 0))].copy()
    one_cell = pd.concat([one_cell, data[(data["treated"] == 1) & (data["post"] == 0)].head(1)])
    with pytest.raises(ValueError, match="programme group at baseline: 1"):
        kernel(one_cell, outcome="y", covariates=["x"])
    with pytest.raises(ValueError, match="must be numeric"):
        kernel(data.assign(x="high"), outcome="y", covariates=["x"])


def test_doubly_robust_refuses_degenerate_propensity_scores():
    rng = np.random.default_rng(4)
    n = 400
    x = rng.normal(size=n)
    treated = (x > 0).astype(int)  # x separates the groups perfectly
    data = pd.DataFrame({"y": rng.normal(size=n), "treated": treated, "post": rng.binomial(1, 0.5, n), "x": x})
    with pytest.raises(ValueError, match="propensity scores are degenerate.*perfectly separate"):
        doubly_robust_did_rcs(data, outcome="y", covariates=["x"])
    # quasi-separation: a binary characteristic only programme respondents have
    data = _survey(rng, n=400)
    data["volunteer"] = 0.0
    data.loc[data[data["treated"] == 1].index[:30], "volunteer"] = 1.0
    with pytest.raises(ValueError, match="propensity scores are degenerate.*fitted propensity score of 1"):
        doubly_robust_did_rcs(data, outcome="y", covariates=["x", "volunteer"])
    # the regression DiD (which extrapolates linearly) still runs on these data
    assert math.isfinite(did_repeated_cross_sections(data, outcome="y", covariates=["x", "volunteer"]).estimate)


def test_doubly_robust_refuses_cells_too_small_for_its_outcome_regressions():
    data = _survey(np.random.default_rng(8), n=300)
    cell = (data["treated"] == 0) & (data["post"] == 1)
    small = pd.concat([data[~cell], data[cell].head(3)])
    with pytest.raises(ValueError, match="outcome regression with 3 coefficient\\(s\\).*comparison group at "
                                         "follow-up: 3"):
        doubly_robust_did_rcs(small, outcome="y", covariates=["x", "z"])
    # a covariate constant within one cell cannot be fitted there
    data.loc[cell, "z"] = 1.0
    with pytest.raises(ValueError, match="outcome regression for the comparison group at follow-up cannot be "
                                         "fitted"):
        doubly_robust_did_rcs(data, outcome="y", covariates=["x", "z"])


def test_regression_did_refuses_collinear_covariates_and_drops_constant_ones():
    data = _survey(np.random.default_rng(6))
    with pytest.raises(ValueError, match="collinear"):
        did_repeated_cross_sections(data.assign(x2=2 * data["x"]), outcome="y", covariates=["x", "x2"])
    est = did_repeated_cross_sections(data.assign(region=1.0), outcome="y", covariates=["x", "region"])
    assert any("region" in a and "not adjusted" in a for a in est.assumptions)
    assert est.estimate == pytest.approx(did_repeated_cross_sections(data, outcome="y", covariates=["x"]).estimate)


def test_assumptions_name_stable_composition_and_the_interval_reference():
    data = _survey(np.random.default_rng(1))
    reg = did_repeated_cross_sections(data, outcome="y", covariates=["x"], cluster=True)
    dr = doubly_robust_did_rcs(data, outcome="y", covariates=["x"], cluster=True)
    for est in (reg, dr):
        assert any(a.startswith("Stable composition") for a in est.assumptions)
        assert any("cluster" in a for a in est.assumptions)
    assert any("Overlap" in a for a in dr.assumptions) and any("double robustness" in a for a in dr.assumptions)
    assert reg.df == data["cluster"].nunique() - 1 and dr.df is None
