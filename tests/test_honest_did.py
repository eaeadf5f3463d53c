"""Relative-magnitudes bounds (evaluations/sensitivity/honest_did.py) against R HonestDiD's own outputs.

tests/data/honest_did/ holds the inputs and R's results: the README's Medicaid example (printed to
three significant figures, and the full values from the README's knitr cache) and the bundled
BCdata_EventStudy example on R's +-20 sd grid.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from evaluations.sensitivity import honest_did as hd

DATA = Path(__file__).parent / "data" / "honest_did"


def _load(name):
    return json.loads((DATA / name).read_text())


def _printed(value: float, text: str) -> bool:
    """value shows as `text` at text's precision (R's tibble: three significant figures)."""
    decimals = len(text.split(".")[1])
    return f"{value:.{decimals}f}" == text


def test_r_normal_stream_matches_r():
    # set.seed(0); rnorm(5) and set.seed(123); rnorm(3) in R
    assert np.allclose(hd.r_normal_draws(5, 0), [1.2629543, -0.3262334, 1.3297993, 1.2724293, 0.4146414], atol=5e-8)
    assert np.allclose(hd.r_normal_draws(3, 123), [-0.56047565, -0.23017749, 1.55870831], atol=5e-9)


def test_medicaid_first_period_matches_the_readme():
    case = _load("medicaid_event_study.json")
    study = hd.EventStudy.of(case["betahat"], case["sigma"], case["n_pre"])
    first = case["first_period"]
    results = hd.sensitivity(study, first["mbar"])
    for r, lb, ub, r_lb, r_ub in zip(results, first["printed_lb"], first["printed_ub"], first["r_lb"], first["r_ub"]):
        assert _printed(r.lower, lb) and _printed(r.upper, ub), (r, lb, ub)
        # the same grid point as R's (steps of ~3.6e-4; betahat and sigma were re-estimated from the data)
        assert r.lower == pytest.approx(r_lb, abs=1e-7) and r.upper == pytest.approx(r_ub, abs=1e-7)
        assert not r.open_ended
    # the README: significant up to Mbar = 1.5, not at 2
    assert [r.excludes_zero() for r in results] == [True, True, True, False]


def test_medicaid_average_of_post_periods():
    case = _load("medicaid_event_study.json")
    avg = case["average"]
    study = hd.EventStudy.of(case["betahat"], case["sigma"], case["n_pre"], avg["l_vec"])
    for r, r_lb, r_ub in zip(hd.sensitivity(study, avg["mbar"]), avg["r_lb"], avg["r_ub"]):
        assert r.lower == pytest.approx(r_lb, abs=1e-7) and r.upper == pytest.approx(r_ub, abs=1e-7)


def test_bc_example_on_rs_symmetric_grid_is_exact():
    case = _load("bc_event_study.json")
    study = hd.EventStudy.of(case["betahat"], case["sigma"], case["n_pre"])
    sd = study.sd_theta()
    for mbar, r_lb, r_ub in zip(case["mbar"], case["r_lb"], case["r_ub"]):
        r = hd.robust_interval(study, mbar, grid_lb=-20 * sd, grid_ub=20 * sd)
        assert r.lower == pytest.approx(r_lb, abs=1e-12) and r.upper == pytest.approx(r_ub, abs=1e-12)
    # at Mbar = 2 R's set reaches the grid's top: flagged, not silently cut
    assert r.open_ended


def test_breakdown_lies_where_the_sets_start_to_include_zero():
    case = _load("medicaid_event_study.json")
    study = hd.EventStudy.of(case["betahat"], case["sigma"], case["n_pre"])
    breakdown = hd.breakdown_mbar(study, step=0.05)
    assert 1.5 <= breakdown < 2.0  # the README's table: excludes zero at 1.5, not at 2
    assert hd.robust_interval(study, breakdown).excludes_zero()
    assert not hd.robust_interval(study, breakdown + 0.05).excludes_zero()


def test_one_post_period_at_mbar_zero_is_the_conditional_interval():
    """With one post-period and Mbar = 0 the post trend may not move at all: the C-LF set is the
    estimate +- z(1 - a/2) sd, a = (alpha - kappa) / (1 - kappa), kappa = alpha / 10 (the
    conditional test's truncation at zero halves its size), to within a grid step."""
    rng = np.random.default_rng(3)
    root = rng.normal(size=(4, 4))
    sigma = (root @ root.T + np.eye(4)) * 1e-4
    betahat = np.array([0.01, -0.02, 0.005, 0.3])
    study = hd.EventStudy.of(betahat, sigma, 3)
    r = hd.robust_interval(study, 0.0)
    grid = study.grid(0.0)
    a = (0.05 - 0.005) / (1 - 0.005)
    half = stats.norm.ppf(1 - a / 2) * math.sqrt(sigma[3, 3])
    step = grid[1] - grid[0]
    assert abs(r.lower - (0.3 - half)) <= step and abs(r.upper - (0.3 + half)) <= step


def test_event_times_drop_the_reference_and_inherit_suppression():
    case = _load("bc_event_study.json")
    betahat, sigma = np.array(case["betahat"]), np.array(case["sigma"])
    times = [-5, -4, -3, -2, -1, 0, 1, 2, 3]  # BC's 4 pre- and 4 post-periods around the reference -1
    estimates = list(betahat[:4]) + [0.0] + list(betahat[4:])
    cov = np.zeros((9, 9))
    keep = [0, 1, 2, 3, 5, 6, 7, 8]
    cov[np.ix_(keep, keep)] = sigma
    study = hd.from_event_times(times, estimates, cov)
    assert study.n_pre == 4 and np.array_equal(study.betahat, betahat) and np.array_equal(study.sigma, sigma)
    assert study.l_vec.tolist() == [1, 0, 0, 0]
    assert hd.from_event_times(times, estimates, cov, average=True).l_vec.tolist() == [0.25] * 4

    withheld_e2 = estimates.copy()
    withheld_e2[7] = None  # e = 2 suppressed: the first effect uses e = 0 and 1 only; the average none
    cut = hd.from_event_times(times, withheld_e2, cov)
    assert cut.n_post == 2 and np.array_equal(cut.betahat, betahat[:6])
    assert hd.from_event_times(times, withheld_e2, cov, average=True) is None
    withheld_pre = estimates.copy()
    withheld_pre[1] = None  # a pre-period suppressed: the largest pre-programme drift is unknown
    assert hd.from_event_times(times, withheld_pre, cov) is None
    assert hd.from_event_times(times[3:], estimates[3:], cov[3:, 3:]) is None  # one pre-period only
    with pytest.raises(ValueError, match="consecutive"):
        hd.from_event_times([-3, -2, -1, 0, 2], [0.1, 0.1, 0.0, 0.2, 0.3], np.eye(5))


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="pre-period"):
        hd.EventStudy.of([0.1, 0.2], np.eye(2), 0)
    with pytest.raises(ValueError, match="sigma"):
        hd.EventStudy.of([0.1, 0.2, 0.3], np.eye(2), 1)
    with pytest.raises(ValueError, match="finite"):
        hd.EventStudy.of([0.1, math.nan, 0.3], np.eye(3), 1)
    with pytest.raises(ValueError, match="not all zero"):
        hd.EventStudy.of([0.1, 0.2, 0.3], np.eye(3), 1, [0, 0])
