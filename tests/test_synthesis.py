"""Random-effects meta-analysis, checked against a published result."""
from __future__ import annotations

import numpy as np
import pytest

from evaluations.disclosure import NOT_SHOWN
from evaluations.record_model.record import ShownEffect
from evaluations.synthesis import (MIN_STUDIES_TO_POOL, effect_size_variance, enough_to_pool, pool, random_effects,
                                   reference_df, too_few_to_pool)

# BCG vaccine trials (Colditz et al. 1994), as shipped in R metafor's dat.bcg:
# tpos, tneg (vaccinated), cpos, cneg (not vaccinated).
BCG = [(4, 119, 11, 128), (6, 300, 29, 274), (3, 228, 11, 209), (62, 13536, 248, 12619),
       (33, 5036, 47, 5761), (180, 1361, 372, 1079), (8, 2537, 10, 619), (505, 87886, 499, 87892),
       (29, 7470, 45, 7232), (17, 1699, 65, 1600), (186, 50448, 141, 27197), (5, 2493, 3, 2338),
       (27, 16886, 29, 17825)]


def _bcg():
    a, b, c, d = np.array(BCG, float).T
    yi = np.log((a / (a + b)) / (c / (c + d)))          # log risk ratios, as escalc(measure="RR")
    vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    return yi, vi


def test_matches_metafor_dersimonian_laird_on_the_bcg_trials():
    m = random_effects(*_bcg())
    # rma(yi, vi, data=dat, method="DL"): estimate -0.7141, tau^2 0.3088, I^2 92.1173%, Q 152.2330
    # (metafor's tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r)
    assert m.estimate == pytest.approx(-0.7141, abs=5e-5)
    assert m.tau2 == pytest.approx(0.3088, abs=5e-5)
    assert m.i2 == pytest.approx(92.1173, abs=5e-5)
    assert m.q == pytest.approx(152.2330, abs=5e-5)
    # the interval is the Hartung-Knapp one, on t with k - 1 = 12 df: wider than DL's normal -1.0644 to -0.3638
    assert m.df == 12 and m.ci_low < -1.0644 and m.ci_high > -0.3638


def test_hartung_knapp_matches_metafors_documented_example():
    """metafor's README: rma(yi, vi, data=dat, test="knha") on dat.bcg, tau^2 (REML) 0.3132, prints
    estimate -0.7145, se 0.1808, tval -3.9522, df 12, pval 0.0019, ci.lb -1.1084, ci.ub -0.3206."""
    m = pool(*_bcg(), tau2=0.3132)
    assert m.estimate == pytest.approx(-0.7145, abs=5e-5)
    assert m.std_error == pytest.approx(0.1808, abs=5e-5)
    assert m.estimate / m.std_error == pytest.approx(-3.9522, abs=5e-5)
    assert m.df == 12 and m.p_value == pytest.approx(0.0019, abs=5e-5)
    assert m.ci_low == pytest.approx(-1.1084, abs=5e-5) and m.ci_high == pytest.approx(-0.3206, abs=5e-5)


def test_the_adjusted_interval_is_never_narrower_than_the_unadjusted_one():
    """Five studies that agree far more closely than their variances suggest: Hartung-Knapp's scale factor
    would be about 0.003 and the interval almost nothing; floored at 1, the interval is the usual
    inverse-variance one, on t with 4 df."""
    m = random_effects([0.30, 0.301, 0.299, 0.30, 0.3005], [0.01] * 5)
    assert m.tau2 == 0
    assert m.std_error == pytest.approx((0.01 / 5) ** 0.5)
    assert m.ci_high - m.ci_low == pytest.approx(2 * 2.776445 * (0.01 / 5) ** 0.5, rel=1e-6)


def test_fewer_than_five_studies_are_not_pooled_and_the_page_says_why():
    assert MIN_STUDIES_TO_POOL == 5
    assert [enough_to_pool(k) for k in range(7)] == [False] * 5 + [True] * 2
    assert too_few_to_pool(3).startswith("No pooled effect: only 3 evaluations have published a result")
    assert "at least 5 evaluations" in too_few_to_pool(1) and "one evaluation has" in too_few_to_pool(1)


def test_identical_studies_show_no_heterogeneity_and_pool_to_their_value():
    m = random_effects([0.3, 0.3, 0.3], [0.01, 0.02, 0.04])
    assert m.tau2 == 0 and m.i2 == 0 and m.estimate == pytest.approx(0.3)
    # fixed-effect variance: 1 / (100 + 50 + 25)
    assert m.std_error == pytest.approx((1 / 175) ** 0.5)


def test_needs_two_studies_and_recovers_variance_from_an_interval():
    with pytest.raises(ValueError, match="at least two studies"):
        random_effects([0.2], [0.01])
    assert effect_size_variance(0.2 - 1.959964 * 0.1, 0.2 + 1.959964 * 0.1) == pytest.approx(0.01, rel=1e-5)


def test_the_variance_is_recovered_on_the_reference_the_interval_used():
    """t on the record's df (2.179 on 12 df), not the normal: the variance would otherwise come out 24% too large."""
    assert effect_size_variance(0.2 - 2.178813 * 0.1, 0.2 + 2.178813 * 0.1, df=12) == pytest.approx(0.01, rel=1e-5)
    shown = {"outcome": "y", "subgroup": "all", "estimand": "ATT", "estimator": "x", "units": "scale points",
             "assumptions": "", "estimate": 0.2, "std_error": 0.1, "ci_low": 0.0, "ci_high": 0.4, "p_value": 0.05,
             "effect_size": 0.2, "effect_size_ci_low": 0.0, "effect_size_ci_high": 0.4, "n_treated": 40,
             "n_comparison": 40, "suppressed": False, "suppression_reason": ""}
    assert reference_df(ShownEffect(**shown, df=12.0, n_clusters=None)) == 12.0
    assert reference_df(ShownEffect(**shown, df=None, n_clusters=None)) is None
    # a df hidden beside a hidden group size: G-1 with clusters, else the normal
    hidden = {**shown, "n_treated": NOT_SHOWN, "df": NOT_SHOWN}
    assert reference_df(ShownEffect(**hidden, n_clusters=8)) == 7
    assert reference_df(ShownEffect(**hidden, n_clusters=None)) is None
