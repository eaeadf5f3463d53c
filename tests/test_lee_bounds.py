"""Lee (2009) trimming bounds: exact values worked by hand (with ties and a fractional trim), survey
weights as repeated people, the known true bounds of a simulated population, the standard errors
against the spread of repeated samples, the disclosure-control widening, and one published
implementation's printed example.

The published example is Stata's `leebounds` (Tauchmann 2014, Stata Journal 14(4)) as printed in the
GeorgetownX impact-evaluation course's Module 6 Stata tutorial (CNDLS/georgetownx_impact_evaluation,
"Module 6/module_6.md", commit 88a6605), on Thornton (2008) data. Its outcome is 0/1, so its inputs
are four counts, all printed in the same tutorial; no data file is needed. Stata cuts a tied value
fractionally as we do, so the bounds match to the printed digits; its analytic standard error is
Lee's formula with the untrimmed group's variance divided by n - 1, where ours divides by n, and the
test allows exactly that difference. Neither weights nor the Imbens-Manski interval is exercised: the
example has no weights, and Stata prints an interval for each bound, not for the effect.

Other examples were found but cannot be matched, or were not kept:
- The R package leebounds (vsemenova/leebounds; fork mindis/leebounds) prints Angrist et al. (2002)
  voucher bounds in ABBKK_2002/STEP2_Estimate_Bounds/Table_ABBKK_2002_baseline.txt (math [0.075,
  0.279], reading [0.029, 0.261], writing [-0.057, 0.204]). Its rule keeps every answer at or beyond
  a type-7 quantile, ties included, so it keeps whole people (108, 111 or 109 of 115) where the sharp
  bound keeps 108.77. Our code gives math [0.042, 0.268], reading [0.042, 0.292], writing [-0.042,
  0.207], and matches the printed numbers exactly when given R's kept share. The data are not copied
  here because their licence is not stated.
- That package's Job Corps data are in the mindis/leebounds snapshot (data/JobCorps_*.rda), but
  without the design weights that Lee (2009) and the package's replication logs use. Nowhere
  prints unweighted results for those data, so Lee's published numbers cannot be reproduced from
  them."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evaluations.diagnostics.lee_bounds import imbens_manski, lee_bounds


def data(programme: list, comparison: list):
    """Outcomes per group, None for someone at baseline without a follow-up answer."""
    y = np.array([np.nan if v is None else v for v in programme + comparison], dtype=float)
    treated = np.array([1] * len(programme) + [0] * len(comparison))
    return y, treated, ~np.isnan(y)


def test_whole_people_trimmed_by_hand():
    # 8 of 10 participants answered, 6 of 10 comparison people: keep 0.6 / 0.8 = 3/4 of the 8 answers (6)
    y, t, s = data([1, 2, 2, 3, 3, 3, 4, 5, None, None], [2, 2, 3, 3, 4, 4, None, None, None, None])
    b = lee_bounds(y, t, s)
    assert b.trimmed_group == "programme" and b.sharp_share == pytest.approx(0.25)
    assert b.lower == pytest.approx((1 + 2 + 2 + 3 + 3 + 3) / 6 - 3, abs=1e-12)  # 14/6 - 3 = -2/3
    assert b.upper == pytest.approx((2 + 3 + 3 + 3 + 4 + 5) / 6 - 3, abs=1e-12)  # 20/6 - 3 = 1/3
    assert (b.responded_programme, b.responded_comparison, b.n_programme, b.n_comparison) == (8, 6, 10, 10)


def test_a_tied_value_is_cut_fractionally():
    # 9 of 10 answered against 6 of 8: keep 0.75 / 0.9 = 5/6 of 9 answers = 7.5 people
    y, t, s = data([1, 2, 2, 3, 3, 3, 4, 5, 6, None], [2, 2, 3, 3, 4, 4, None, None])
    b = lee_bounds(y, t, s)
    assert b.lower == pytest.approx((1 + 2 + 2 + 3 + 3 + 3 + 4 + 0.5 * 5) / 7.5 - 3, abs=1e-12)
    assert b.upper == pytest.approx((6 + 5 + 4 + 3 + 3 + 3 + 2 + 0.5 * 2) / 7.5 - 3, abs=1e-12)


def test_the_comparison_group_is_trimmed_when_it_answered_more():
    # the comparison group answered more: its answers are trimmed, and the bounds' roles swap
    y, t, s = data([2, 2, 3, 3, 4, 4, None, None, None, None], [1, 2, 2, 3, 3, 3, 4, 5, None, None])
    b = lee_bounds(y, t, s)
    assert b.trimmed_group == "comparison"
    assert b.lower == pytest.approx(3 - 20 / 6, abs=1e-12) and b.upper == pytest.approx(3 - 14 / 6, abs=1e-12)


def test_survey_weights_act_as_repeated_people():
    rng = np.random.default_rng(11)
    n = 300
    treated = rng.binomial(1, 0.5, n)
    y = rng.integers(1, 6, n).astype(float)  # a 1-5 answer: many ties
    responded = rng.random(n) < np.where(treated == 1, 0.85, 0.65)
    weights = rng.integers(1, 4, n)
    weighted = lee_bounds(y, treated, responded, weights)
    repeated = lee_bounds(np.repeat(y, weights), np.repeat(treated, weights), np.repeat(responded, weights))
    for field in ("lower", "upper", "sharp_share", "response_programme", "response_comparison"):
        assert getattr(weighted, field) == pytest.approx(getattr(repeated, field), abs=1e-12), field


def test_the_true_bounds_of_a_simulated_population_are_recovered():
    # Participants answer with probability 0.9, comparison people 0.7, whatever their outcome; answers are
    # N(1, 1) and N(0, 1). Then p = 1 - 0.7 / 0.9 = 2/9, and trimming a normal's top or bottom 2/9 moves its
    # mean by phi(z) / (7/9) with z = Phi^-1(2/9): the true bounds are 1 -/+ 9 phi(z) / 7.
    rng = np.random.default_rng(2009)
    n = 400_000
    treated = rng.binomial(1, 0.5, n)
    responded = rng.random(n) < np.where(treated == 1, 0.9, 0.7)
    y = rng.normal(treated.astype(float), 1.0)
    b = lee_bounds(y, treated, responded)
    half_width = 9 * stats.norm.pdf(stats.norm.ppf(2 / 9)) / 7  # 0.3828
    assert half_width == pytest.approx(0.3828, abs=1e-4)
    assert b.sharp_share == pytest.approx(2 / 9, abs=0.004)
    assert b.lower == pytest.approx(1 - half_width, abs=0.015)
    assert b.upper == pytest.approx(1 + half_width, abs=0.015)
    assert b.ci_low < 1 - half_width and b.ci_high > 1 + half_width


def test_standard_errors_match_the_spread_of_repeated_samples():
    # 400 samples of 2,000 people with a 1-7 answer (ties): the average standard error of each bound is
    # within 10% of the bounds' standard deviation across samples (the influence function is right).
    rng = np.random.default_rng(7)
    lows, highs, se_lows, se_highs = [], [], [], []
    for _ in range(400):
        n = 2000
        treated = rng.binomial(1, 0.5, n)
        responded = rng.random(n) < np.where(treated == 1, 0.85, 0.7)
        y = np.clip(np.round(rng.normal(4 + 0.5 * treated, 1.5)), 1, 7)
        b = lee_bounds(y, treated, responded)
        lows.append(b.lower), highs.append(b.upper), se_lows.append(b.se_lower), se_highs.append(b.se_upper)
    assert np.mean(se_lows) == pytest.approx(np.std(lows, ddof=1), rel=0.10)
    assert np.mean(se_highs) == pytest.approx(np.std(highs, ddof=1), rel=0.10)


def test_imbens_manski_is_the_one_sided_value_for_wide_bounds_and_two_sided_for_a_point():
    assert imbens_manski(0.0, 0.0, 1.0, 1.0) == pytest.approx((-1.959964, 1.959964), abs=1e-5)
    low, high = imbens_manski(0.0, 100.0, 1.0, 1.0)
    assert (low, high) == pytest.approx((-1.644854, 101.644854), abs=1e-5)


def test_fewer_than_ten_trimmed_are_widened_to_ten():
    # 100 of 100 participants answered, 97 of 100 comparison people: 3 answers would be trimmed; with
    # least_trimmed=10, the 10 highest (or lowest) are, and the bounds say they were widened
    programme = list(range(1, 101))
    y, t, s = data(programme, [50] * 97 + [None] * 3)
    sharp = lee_bounds(y, t, s)
    assert sharp.lower == pytest.approx(np.mean(range(1, 98)) - 50) and not sharp.widened
    wide = lee_bounds(y, t, s, least_trimmed=10)
    assert wide.widened and wide.trimmed_share_lower == pytest.approx(0.10)
    assert wide.lower == pytest.approx(np.mean(range(1, 91)) - 50, abs=1e-12)  # 45.5 - 50
    assert wide.upper == pytest.approx(np.mean(range(11, 101)) - 50, abs=1e-12)  # 55.5 - 50
    assert wide.lower < sharp.lower <= sharp.upper < wide.upper  # wider, so still valid
    assert lee_bounds(y, t, s, least_trimmed=3).widened is False  # 3 trimmed is enough for a rule of 3


def test_an_infinite_answer_is_refused_not_turned_into_nan_bounds():
    y, t, s = data([1, 2, 3, None], [1, 2, None, None])
    y[0] = np.inf
    with pytest.raises(ValueError, match="no outcome, or an infinite one"):
        lee_bounds(y, t, s)


def test_nobody_answering_is_refused_with_a_reason():
    y, t, s = data([1, 2, None], [None, None, None])
    with pytest.raises(ValueError, match="each group needs someone answering"):
        lee_bounds(y, t, s)


# `leebounds anycond treatment` in the Module 6 tutorial (module docstring): sexually active, HIV-positive
# respondents of Thornton (2008); anycond = bought condoms (0/1), missing for people not re-surveyed.
# Inputs: 98 offered an incentive and 24 not (Task 3). anycond was answered by 52 (Task 4), with means
# 0.2 (comparison) and 0.2 + 0.2285714 = 3/7 (programme). The only split with whole people is 10 and 42
# (2 and 18 bought condoms), and the tutorial's robust standard error confirms it (the test below).
THORNTON_ARMS = {"programme": (98, 42, 18), "comparison": (24, 10, 2)}  # people, answered, bought condoms
# printed: Number of obs. = 122, Number of selected obs. = 52, Trimming porportion = 0.0278,
# lower .2122449 (Std. Err. .2209034), upper .2408163 (Std. Err. .1947452)
STATA_THORNTON = {"share": "0.0278", "lower": ".2122449", "upper": ".2408163",
                  "se_lower": ".2209034", "se_upper": ".1947452"}


def thornton():
    """(y, treated, answered) rebuilt from the printed counts."""
    def arm(people, answered, bought):
        return [1.0] * bought + [0.0] * (answered - bought) + [None] * (people - answered)
    return data(arm(*THORNTON_ARMS["programme"]), arm(*THORNTON_ARMS["comparison"]))


def stata_divisor_gap(y, t, s) -> float:
    """Stata adds var(comparison answers, divisor n - 1) / n to each bound's variance where ours divides
    by n: the difference is var / (n (n - 1))."""
    yc = y[(t == 0) & s]
    return yc.var() / (yc.size * (yc.size - 1))


def test_stata_leebounds_printed_example_is_reproduced():
    y, t, s = thornton()
    yp, yc = y[(t == 1) & s], y[(t == 0) & s]
    hc1 = np.sqrt((yp.var() / yp.size + yc.var() / yc.size) * s.sum() / (s.sum() - 2))
    assert (yc.mean(), yp.mean() - yc.mean(), hc1) == pytest.approx((0.2, 0.2285714, 0.1506789), abs=1e-7)

    b = lee_bounds(y, t, s)
    assert (b.n_programme + b.n_comparison, b.responded_programme + b.responded_comparison) == (122, 52)
    assert b.trimmed_group == "programme"
    assert b.sharp_share == pytest.approx(float(STATA_THORNTON["share"]), abs=5e-5)
    assert b.lower == pytest.approx(float(STATA_THORNTON["lower"]), abs=5e-8)
    assert b.upper == pytest.approx(float(STATA_THORNTON["upper"]), abs=5e-8)
    # with Stata's divisor, the standard errors match to the printed digits; ours are about 2% smaller
    gap = stata_divisor_gap(y, t, s)
    assert np.sqrt(b.se_lower ** 2 + gap) == pytest.approx(float(STATA_THORNTON["se_lower"]), abs=5e-8)
    assert np.sqrt(b.se_upper ** 2 + gap) == pytest.approx(float(STATA_THORNTON["se_upper"]), abs=5e-8)
    assert 0.97 < b.se_lower / float(STATA_THORNTON["se_lower"]) < 1
