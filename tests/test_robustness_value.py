"""Cinelli & Hazlett's robustness value and benchmark bounds against sensemakr's documented darfur example
(Cinelli & Hazlett 2020, sec. 5; the R package sensemakr 0.1.6, its vignette, reference pages and tests),
to their printed precision, and the properties that define them.

The darfur survey itself is not vendored (individual answers of refugees, under GPL-3): the example is
reproduced from its printed summary statistics, which determine every quantity exactly:
the directlyharmed coefficient 0.09731582, its SE 0.02325654 and t 4.18445 on 783 df; female's partial R2
with the outcome, 0.1090339 (`partial_r2(model, covariates = "female")`), and, from the printed bound
R2 D~Z|X = 0.009164287 of a confounder as strong as female, female's partial R2 with the treatment.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluations.sensitivity.robustness_value import (adjusted, benchmark_bounds, ols_sensitivity, partial_r2,
                                                      robustness_value, times_as_strong)

ESTIMATE, SE, T, DOF = 0.09731582, 0.02325654, 4.18445, 783
R2YXJ_FEMALE = 0.1090339
R2DZ_FEMALE_1X = 0.009164287  # ovb_bounds' printed r2dz.x for 1x female = r2dxj / (1 - r2dxj)
R2DXJ_FEMALE = R2DZ_FEMALE_1X / (1 + R2DZ_FEMALE_1X)


def test_darfur_sensitivity_statistics():
    # print(sensemakr(...)): partial R2 0.02187, RV_q=1 0.13878, RV_q=1,alpha=0.05 0.07626; partial_r2(t = 4.18445,
    # dof = 783) = 0.02187309; the package's tests: RV 0.1387764 and 0.07625797
    assert round(partial_r2(T, DOF), 8) == 0.02187309
    assert round(robustness_value(T, DOF), 5) == 0.13878
    assert round(robustness_value(T, DOF, alpha=0.05), 5) == 0.07626
    # from the 7-digit estimate and SE, to the 1e-7 those carry
    assert robustness_value(ESTIMATE / SE, DOF) == pytest.approx(0.1387764, abs=1e-7)
    assert robustness_value(ESTIMATE / SE, DOF, alpha=0.05) == pytest.approx(0.07625797, abs=1e-7)


# ovb_bounds(model, "directlyharmed", benchmark_covariates = "female", kd = 1:3), as its reference page prints it
DARFUR_BOUNDS = [  # kd, r2dz.x, r2yz.dx, adjusted estimate, se, t, lower CI, upper CI
    (1, 0.009164287, 0.124640923, 0.07522027, 0.02187333, 3.438904, 0.032282966, 0.11815758),
    (2, 0.018328573, 0.249324064, 0.05291517, 0.02035006, 2.600246, 0.012968035, 0.09286231),
    (3, 0.027492860, 0.374050471, 0.03039602, 0.01867006, 1.628062, -0.006253282, 0.06704533),
]
# summary(sensemakr(...)): the same bounds to 4 decimals
DARFUR_SUMMARY = [
    (1, 0.0092, 0.1246, 0.0752, 0.0219, 3.4389, 0.0323, 0.1182),
    (2, 0.0183, 0.2493, 0.0529, 0.0204, 2.6002, 0.0130, 0.0929),
    (3, 0.0275, 0.3741, 0.0304, 0.0187, 1.6281, -0.0063, 0.0670),
]


@pytest.mark.parametrize("row", DARFUR_SUMMARY)
def test_darfur_bounds_as_summary_prints_them(row):
    kd, *printed = row
    r2dz, r2yz = benchmark_bounds(R2DXJ_FEMALE, R2YXJ_FEMALE, kd)
    a = adjusted(ESTIMATE, SE, DOF, r2dz, r2yz)
    assert [round(v, 4) for v in (r2dz, r2yz, a.estimate, a.std_error, a.t, a.ci_low, a.ci_high)] == printed


@pytest.mark.parametrize("row", DARFUR_BOUNDS)
def test_darfur_bounds_as_ovb_bounds_prints_them(row):
    # to the precision the rounded inputs carry (7 significant digits): 2e-9 on R2 D~Z|X (kd times the
    # input's), 1e-7 on R2 Y~Z|D,X, 1e-8 on the estimates, 1e-5 on t
    kd, r2dz_printed, r2yz_printed, est, se, t, lo, hi = row
    r2dz, r2yz = benchmark_bounds(R2DXJ_FEMALE, R2YXJ_FEMALE, kd)
    a = adjusted(ESTIMATE, SE, DOF, r2dz, r2yz)
    assert r2dz == pytest.approx(r2dz_printed, abs=2e-9) and r2yz == pytest.approx(r2yz_printed, abs=1e-7)
    assert (a.estimate, a.std_error, a.ci_low, a.ci_high) == pytest.approx((est, se, lo, hi), abs=1e-8)
    assert a.t == pytest.approx(t, abs=1e-5)


def test_the_robustness_value_is_where_the_estimate_and_its_significance_are_lost():
    """At R2 D~Z|X = R2 Y~Z|D,X = RV the bias-adjusted estimate is zero; at RV_alpha its t is the critical t on
    df - 1 (sensemakr's "testing darfur adjusted estimates")."""
    rv = robustness_value(T, DOF)
    assert adjusted(ESTIMATE, ESTIMATE / T, DOF, rv, rv).estimate == pytest.approx(0, abs=1e-12)
    rva = robustness_value(T, DOF, alpha=0.05)
    assert adjusted(ESTIMATE, ESTIMATE / T, DOF, rva, rva).t == pytest.approx(stats.t.ppf(0.975, DOF - 1), abs=1e-9)


def test_the_extreme_robustness_value_when_the_constraint_does_not_bind():
    """sensemakr's XRV test: estimate 1, SE 0.3 on 7 df. The confounder that just removes significance has
    R2 D~Z|X = XRV and R2 Y~Z|D,X = XRV / (f*^2 + XRV), and no weaker one on a grid does."""
    dof, est, se = 7, 1.0, 0.3
    t_crit = stats.t.ppf(0.975, dof - 1)
    fs = t_crit / math.sqrt(dof - 1)
    xrv = robustness_value(est / se, dof, alpha=0.05)
    fq2 = (est / se) ** 2 / dof
    assert xrv == pytest.approx((fq2 - fs**2) / (1 + fq2), rel=1e-12)
    assert adjusted(est, se, dof, xrv, xrv / (fs**2 + xrv)).t == pytest.approx(t_crit, rel=1e-9)
    grid = np.linspace(1e-4, xrv, 60)
    assert min(adjusted(est, se, dof, a, b).t for a in grid for b in np.linspace(1e-4, xrv / (fs**2 + xrv), 60)) \
        > t_crit - 1e-9


def test_an_insignificant_estimate_has_a_robustness_value_of_zero_for_significance():
    assert robustness_value(1.5, 200, alpha=0.05) == 0.0
    assert robustness_value(1.5, 200) > 0


def test_times_as_strong_brings_the_estimate_to_zero():
    # 3x female still leaves 0.0304 (printed above), so more than three times as strong is needed
    k = times_as_strong(ESTIMATE, SE, DOF, R2DXJ_FEMALE, R2YXJ_FEMALE)
    assert 3 < k < 5
    at = adjusted(ESTIMATE, SE, DOF, *benchmark_bounds(R2DXJ_FEMALE, R2YXJ_FEMALE, k)).estimate
    assert at == pytest.approx(0, abs=1e-9)
    assert adjusted(ESTIMATE, SE, DOF, *benchmark_bounds(R2DXJ_FEMALE, R2YXJ_FEMALE, 0.99 * k)).estimate > 0
    assert times_as_strong(ESTIMATE, SE, DOF, 0.0, R2YXJ_FEMALE) is None  # unrelated to taking part: never


def _confounded(n: int, effect: float, confounding: float, seed: int) -> pd.DataFrame:
    """Taking part depends on an observed characteristic `x`, which also drives the outcome."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    noise = rng.normal(size=n)
    treated = (confounding * x + rng.normal(size=n) > 0).astype(float)
    y = effect * treated + confounding * x + 0.3 * noise
    return pd.DataFrame({"y": y, "treated": treated, "x": x, "w": rng.normal(size=n)})


def test_partial_r2s_from_the_refit_are_the_squared_partial_correlations():
    """Frisch-Waugh-Lovell: the partial R2 of taking part with the outcome is the squared correlation of the
    two after the covariates are regressed out; the benchmark's R2 D~X_j|X likewise."""
    df = _confounded(400, 0.3, 0.8, seed=1)
    fit = ols_sensitivity(df["y"], df[["treated", "x", "w"]], "treated", ["x", "w"])

    def resid(v, on):
        A = np.column_stack([np.ones(len(df))] + [df[c] for c in on])
        return v - A @ np.linalg.lstsq(A, v, rcond=None)[0]

    r = np.corrcoef(resid(df["y"].to_numpy(), ["x", "w"]), resid(df["treated"].to_numpy(), ["x", "w"]))[0, 1]
    assert fit.partial_r2 == pytest.approx(r**2, rel=1e-9)
    r_dx = np.corrcoef(resid(df["treated"].to_numpy(), ["w"]), resid(df["x"].to_numpy(), ["w"]))[0, 1]
    assert fit.strongest.covariate == "x"
    assert fit.strongest.r2dz_x == pytest.approx(r_dx**2 / (1 - r_dx**2), rel=1e-9)


def test_a_strong_observed_confounder_outweighs_a_weak_effect_but_not_a_strong_one():
    """Known direction: with taking part driven by x, a confounder as strong as x explains a small effect
    away (it would take less than x's strength) but not a large one; the robustness value grows with the effect."""
    weak = ols_sensitivity(*_frame(_confounded(2000, 0.05, 1.0, seed=2)))
    strong = ols_sensitivity(*_frame(_confounded(2000, 1.0, 1.0, seed=2)))
    assert weak.strongest.covariate == strong.strongest.covariate == "x"
    assert weak.strongest.times_as_strong < 1 and weak.strongest.adjusted.estimate < 0
    assert strong.strongest.times_as_strong > 1 and strong.strongest.adjusted.estimate > 0
    assert weak.rv < strong.rv
    # against a weak confounder (w is noise), even the weak effect needs a confounder many times as strong
    assert [b.covariate for b in weak.benchmarks] == ["x", "w"]


def _frame(df: pd.DataFrame):
    return df["y"], df[["treated", "x", "w"]], "treated", ["x", "w"]


def test_a_covariate_unrelated_to_the_outcome_gives_no_multiple_and_a_duplicate_no_nan():
    """A covariate tied to taking part but not to the outcome: no multiple of it moves the estimate. A
    covariate duplicating another leaves every published benchmark a number (never NaN, which no record takes)."""
    assert times_as_strong(ESTIMATE, SE, DOF, R2DXJ_FEMALE, 0.0) is None
    df = _confounded(500, 0.3, 0.8, seed=3).assign(x_again=lambda d: d["x"])
    fit = ols_sensitivity(df["y"], df[["treated", "x", "x_again", "w"]], "treated", ["x", "x_again", "w"])
    assert all(math.isfinite(b.r2dz_x) and math.isfinite(b.r2yz_dx) for b in fit.benchmarks)
