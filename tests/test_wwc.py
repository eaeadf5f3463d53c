"""The What Works Clearinghouse rules: baseline equivalence (|g| <= 0.05 satisfies, <= 0.25 only with
adjustment, above fails) on Hedges' g / the Cox index, the attrition boundaries, and how both reach the
rating and the published record of a real sample evaluation."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluations.diagnostics import attrition_boundary as boundary
from evaluations.diagnostics.equivalence import baseline_equivalence, effect_size, overall, verdict

# --------------------------------------------------------------------------- the equivalence rule


@pytest.mark.parametrize("g, adjusted, expected", [
    (0.0, False, "satisfied"),
    (0.05, False, "satisfied"),  # at the limit: satisfies
    (-0.05, False, "satisfied"),
    (0.0500001, False, "not_satisfied"),  # just above, unadjusted
    (0.0500001, True, "satisfied_with_adjustment"),
    (-0.25, True, "satisfied_with_adjustment"),  # at the upper limit, adjusted
    (0.25, False, "not_satisfied"),
    (0.2500001, True, "not_satisfied"),  # above 0.25 fails whatever the adjustment
    (-1.3, True, "not_satisfied"),
    (None, True, None),
    (math.nan, False, None),
])
def test_the_rule_at_its_boundaries(g, adjusted, expected):
    assert verdict(g, adjusted) == expected


def test_every_characteristic_must_satisfy_the_rule():
    assert overall(["satisfied", "satisfied"]) == "satisfied"
    assert overall(["satisfied", None, "satisfied_with_adjustment"]) == "satisfied_with_adjustment"
    assert overall(["satisfied_with_adjustment", "not_satisfied", "satisfied"]) == "not_satisfied"
    assert overall([None, None]) is None


def test_hedges_g_has_the_small_sample_correction():
    # treated 5, 6, 7 and comparison 4, 5, 6: difference 1, pooled SD 1, N = 6: g = 1 - 3 / (4 * 6 - 9) = 0.8
    # (the baselinr documentation's own example, hedges_g(c(5,6,7,4,5,6), c(1,1,1,0,0,0)) = 0.8)
    assert effect_size([5, 6, 7], [4, 5, 6]) == pytest.approx(0.8, abs=1e-12)


def test_cox_index_for_a_yes_no_characteristic():
    # shares 3/4 and 1/4: (logit 0.75 - logit 0.25) / 1.65 = 2 ln 3 / 1.65, no small-sample correction
    assert effect_size([1, 1, 1, 0], [1, 0, 0, 0]) == pytest.approx(2 * math.log(3) / 1.65, abs=1e-12)
    # a share of 1 has no logit: Hedges' g of the 0/1 values is used, so a large gap still counts
    assert effect_size([1, 1, 1, 1], [1, 0, 0, 0]) > 0.25


def test_survey_weights_act_as_repeated_people():
    # weights 2 on a person are that person twice for the means; the SDs use weights as analytic weights
    rows = baseline_equivalence(pd.DataFrame({"treated": [1, 1, 1, 0, 0, 0], "x": [5.0, 6, 7, 4, 5, 6],
                                              "y0": [1.0, 1, 0, 0, 0, 1]}),
                                ["x"], "score", adjusted_covariates={"x"}, adjusts_baseline_outcome=False)
    x, score = rows["rows"]
    assert x["g"] == pytest.approx(0.8) and x["verdict"] == "not_satisfied" and x["adjusted"]  # > 0.25
    assert score["variable"] == "score" and score["kind"] == "baseline outcome"
    assert score["g"] == pytest.approx((math.log(2) - math.log(0.5)) / 1.65)
    assert score["smallest_category"] == 1 and (score["n_treated"], score["n_comparison"]) == (3, 3)


def test_the_rule_reads_the_people_analysed_and_the_design_s_adjustment():
    rng = np.random.default_rng(3)
    n = 4000
    treated = rng.binomial(1, 0.5, n)
    sample = pd.DataFrame({"treated": treated, "close": rng.normal(0.1 * treated, 1),  # g about 0.1
                           "far": rng.normal(0.5 * treated, 1), "y0": rng.normal(0, 1, n)})
    out = baseline_equivalence(sample, ["close", "far"], "y", adjusted_covariates=set(),
                               adjusts_baseline_outcome=True)
    by = {r["variable"]: r for r in out["rows"]}
    assert 0.05 < by["close"]["g"] < 0.25 and by["close"]["verdict"] == "not_satisfied"  # not adjusted for
    assert by["far"]["g"] > 0.25 and by["far"]["verdict"] == "not_satisfied"
    assert by["y"]["kind"] == "baseline outcome" and by["y"]["verdict"] in ("satisfied", "satisfied_with_adjustment")
    adjusted = baseline_equivalence(sample.drop(columns="far"), ["close"], "y", adjusted_covariates={"close"},
                                    adjusts_baseline_outcome=True)
    assert adjusted["rows"][0]["verdict"] == "satisfied_with_adjustment"
    assert adjusted["verdict"] in ("satisfied", "satisfied_with_adjustment")
    assert out["verdict"] == "not_satisfied"


# --------------------------------------------------------------------------- the attrition boundaries


@pytest.mark.parametrize("overall_, differential, cautious, optimistic", [
    (0.00, 0.057, "low", "low"),  # the first row: 5.7 and 10.0 points
    (0.00, 0.058, "high", "low"),
    (0.10, 0.063, "low", "low"),  # 6.3 / 10.9
    (0.10, 0.064, "high", "low"),
    (0.10, 0.109, "high", "low"),
    (0.10, 0.110, "high", "high"),
    (0.30, 0.041, "low", "low"),  # 4.1 / 8.2
    (0.30, 0.06, "high", "low"),  # baselinr's documented example: high if cautious, low if optimistic
    (0.08, 0.03, "low", "low"),  # baselinr's other documented example: low under the cautious boundary
    (0.57, 0.0, "low", "low"),  # the cautious table's last row (0.0 points)
    (0.58, 0.0, "high", "low"),  # beyond it: high whatever the differential
    (0.65, 0.003, "high", "low"),  # the optimistic table's last row (0.3 points)
    (0.66, 0.0, "high", "high"),
    (0.144, 0.014, "low", "low"),  # 14% overall: 6.0 points; exactly 1.4 points reads as 1.4
])
def test_attrition_is_low_or_high_by_the_published_boundaries(overall_, differential, cautious, optimistic):
    assert boundary.verdict(overall_, differential, "cautious") == cautious
    assert boundary.verdict(overall_, differential, "optimistic") == optimistic


def test_the_boundary_tables_are_whole():
    assert len(boundary.CAUTIOUS) == 58 and len(boundary.OPTIMISTIC) == 66  # overall 0-57% and 0-65%
    assert boundary.max_differential(0.10, "cautious") == pytest.approx(0.063)
    assert boundary.max_differential(0.58, "cautious") is None
    assert boundary.verdict(float("nan"), 0.0, "cautious") is None


# --------------------------------------------------------------------------- through the rating and the record


@pytest.fixture(scope="module")
def ncs(ncs_sample):
    """The NCS-style sample (matched DiD): 34% attrition overall, 7.6 points between the groups."""
    run = ncs_sample
    return run.panel, run.manifest, run.diagnostics, run.rating, run.record


def test_the_wwc_verdicts_land_in_the_rating_and_the_record(ncs):
    panel, manifest, diagnostics, rating, record = ncs
    att = diagnostics.attrition
    # counted from the sample: 964 of 3,069 participants and 788 of 2,021 comparison people lost
    assert (att.programme.baseline_only, att.programme.baseline) == (964, 3069)
    assert (att.comparison.baseline_only, att.comparison.baseline) == (788, 2021)
    assert diagnostics.wwc_attrition.model_dump() == {"boundary": "cautious", "verdict": "high",
                                                      "max_differential": 0.035}  # 34% overall: 3.5 points
    assert rating.reasons[2].endswith("By the What Works Clearinghouse standard (cautious boundary, for programmes "
                                      "that could change who answers the follow-up), attrition is high.")
    assert ("Attrition is high by the What Works Clearinghouse standard (cautious boundary): with 34% of people lost "
            "overall, the groups' attrition may differ by at most 3.5 percentage points, and they differed by 7.6 "
            "percentage points, so the people left may no longer be comparable.") in record.rating.downgrades
    assert rating.padlocks == rating.initial - len(rating.downgrades)
    published = record.diagnostics
    assert published.wwc_attrition.verdict == "high" and published.wwc_attrition.max_differential == 0.035
    # baseline equivalence among the people analysed for mixing, weighted by the doubly robust estimator's weights
    be = published.baseline_equivalence
    assert [r.variable for r in be.rows] == [*manifest.design.covariates, "mixing"]
    primary = record.overall("mixing")
    assert all((r.n_treated, r.n_comparison) == (primary.n_treated, primary.n_comparison) for r in be.rows)
    assert be.verdict == diagnostics.baseline_equivalence.verdict != "not_satisfied"
    assert not any("not alike at baseline" in x for x in rating.downgrades)


def test_lee_bounds_are_published_beside_each_effect(ncs):
    panel, manifest, diagnostics, rating, record = ncs
    bounds = {b.outcome: b for b in record.diagnostics.attrition_bounds}
    assert set(bounds) == {o.column for o in manifest.outcomes}
    for b in bounds.values():
        assert b.compared == "change" and b.trimmed_group == "programme" and not b.suppressed
        assert b.ci_low < b.lower <= b.upper < b.ci_high
    # the bounds hold the simple difference in mean change among the people who answered both waves
    first = panel[panel["period"] == 1].set_index("unit")
    last = panel[panel["period"] == 2].set_index("unit")
    both = first.index.intersection(last.index)
    change = (last.loc[both, "mixing"] - first.loc[both, "mixing"]).dropna()
    treated = first.loc[change.index, "treated"] == 1
    naive = change[treated].mean() - change[~treated].mean()
    assert bounds["mixing"].lower < naive < bounds["mixing"].upper


def test_disclosure_control_hides_a_small_group_s_g_and_verdict_and_small_bounds():
    from evaluations import disclosure

    rows = disclosure.equivalence_rows([
        {"variable": "age", "kind": "covariate", "g": 0.1234, "adjusted": True, "verdict": "satisfied_with_adjustment",
         "n_treated": 40, "n_comparison": 35, "smallest_category": None},
        {"variable": "female", "kind": "covariate", "g": 0.4, "adjusted": False, "verdict": "not_satisfied",
         "n_treated": 40, "n_comparison": 35, "smallest_category": 4}])  # 4 women in one group
    assert rows[0] == {"variable": "age", "g": 0.123, "n_treated": 40, "n_comparison": 35, "suppressed": False,
                       "suppression_reason": "", "kind": "covariate", "adjusted": True,
                       "verdict": "satisfied_with_adjustment"}
    assert rows[1]["g"] is None and rows[1]["verdict"] is None and rows[1]["suppressed"]
    bound = {"outcome": "y", "compared": "change", "lower": 0.1, "upper": 0.5, "ci_low": 0.0, "ci_high": 0.6,
             "trimmed_group": "programme", "widened": True, "trimmed_share_lower": 0.5, "trimmed_share_upper": 0.5,
             "responded_programme": 20, "responded_comparison": 30}
    shown, hidden = disclosure.attrition_bounds_rows([bound, {**bound, "responded_programme": 19}])
    assert (shown["lower"], shown["upper"], shown["suppressed"]) == (0.1, 0.5, False)  # 10 kept of 20
    assert hidden["lower"] is None and hidden["ci_high"] is None and hidden["suppressed"]  # 9.5 kept of 19
    assert disclosure.least_trimmed() == disclosure.THRESHOLD
