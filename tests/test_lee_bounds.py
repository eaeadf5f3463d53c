"""Lee (2009) trimming bounds: exact values worked by hand (with ties and a fractional trim), survey
weights as repeated people, the known true bounds of a simulated population, the standard errors
against the spread of repeated samples, and the disclosure-control widening.

No published implementation's example could be reproduced here: the Job Corps data of Lee (2009),
which the R package leebounds (vsemenova/leebounds) and Stata's `leebounds` use in their examples,
are not shipped in a form available offline (the R package's data files are over 50 MB and absent from
its stored snapshot; Stata's JC.dta is downloaded from its author's site). The checks below use values
that can be worked out exactly instead."""
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


def test_nobody_answering_is_refused_with_a_reason():
    y, t, s = data([1, 2, None], [None, None, None])
    with pytest.raises(ValueError, match="each group needs someone answering"):
        lee_bounds(y, t, s)
