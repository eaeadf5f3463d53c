"""HonestDiD's relative-magnitudes bounds wired into a staggered design's record and page (issue 11).

The bounds (evaluations/designs/staggered.py: trend_drift_bounds) come from a universal-base refit
whose event-time covariance is the influence functions' (estimators/staggered/effect.py:
universal_event_study); the record publishes them as it publishes the event study (records.py:
_trend_drift) and the page words the breakdown value (publish/pages.py: trend_drift_sentence).
Simulated panels from tests/test_staggered.py: five waves, cohorts starting in waves 2, 3 and 4, so
the universal-base event study has two pre-start event times (-3, -2) besides the base period.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from evaluations import disclosure
from evaluations.designs.staggered import DRIFT_MBAR, trend_drift_bounds
from evaluations.estimators.plan import Impacts
from evaluations.estimators.staggered import callaway_santanna, universal_event_study
from evaluations.publish.pages import _trend_drift, trend_drift_sentence
from evaluations.record_model.record import Outcome, TrendDrift
from evaluations.records import _event_study, _trend_drift as published_bounds
from tests.test_staggered import SIM, simulate_panel

COLUMNS = dict(unit="id", time="wave", first_treated="start")
TRUE_EFFECT = 0.5  # simulate_panel's constant effect


def _e0(result):
    return next(a for a in result.by_event_time if a.label == "e=0")


def test_parallel_trends_bounds_contain_the_true_effect():
    panel = simulate_panel(seed=2024)
    bounds = trend_drift_bounds(panel, outcome="y", **COLUMNS)
    assert (bounds.first_event_time, bounds.last_event_time) == (-3, 3)
    assert bounds.lower < TRUE_EFFECT < bounds.upper
    # zero lies far outside: only a post-start drift several times the largest pre-start one reaches it
    assert bounds.breakdown_mbar > 1
    # the target is the published (varying-base) event study's e = 0 point: post-start cells agree
    e0 = _e0(callaway_santanna(panel, **SIM))
    assert bounds.estimate == pytest.approx(e0.estimate, abs=1e-12)
    assert bounds.std_error == pytest.approx(e0.std_error, rel=1e-12)
    # the robust interval allows for drift, so it is wider than the pointwise one
    assert bounds.lower < e0.ci_low and bounds.upper > e0.ci_high


def test_diverging_trends_break_the_pointwise_interval_but_not_the_bounds():
    # the programme sites' outcomes drift up 0.3 a wave: the e = 0 estimate is 0.5 + 0.3, and the
    # drift after the start is as large as before it, inside relative magnitudes with Mbar = 1
    panel = simulate_panel(seed=2024, pre_trend=0.3)
    e0 = _e0(callaway_santanna(panel, **SIM))
    assert e0.ci_low > TRUE_EFFECT + 0.2
    bounds = trend_drift_bounds(panel, outcome="y", **COLUMNS)
    assert bounds.lower < TRUE_EFFECT < bounds.upper


def test_event_time_covariance_is_the_standard_errors_formula_with_clusters():
    panel = simulate_panel(seed=7, cluster_shock_sd=0.3)
    study = universal_event_study(panel, outcome="y", cluster="cluster", **COLUMNS)
    fit = callaway_santanna(panel, cluster="cluster", base_period="universal", **SIM)
    ses = {a.label: a.std_error for a in fit.by_event_time}
    for k, e in enumerate(study.times):
        if e == -1:  # the base period: 0 by construction, no variance, no estimate
            assert study.estimates[k] is None and study.covariance[k, k] == 0
            continue
        assert math.sqrt(study.covariance[k, k]) == pytest.approx(ses[f"e={e}"], rel=1e-12)
    assert np.allclose(study.covariance, study.covariance.T)
    assert study.smallest_comparison[study.times.index(-1)] == 0


def test_one_pre_start_event_time_gives_no_bounds():
    panel = simulate_panel(seed=2024)
    panel = panel[panel["start"] != 4]  # cohorts 2 and 3: only e = -2 before the base period
    assert trend_drift_bounds(panel, outcome="y", **COLUMNS) is None


def _published(panel):
    """The bounds as the record publishes them, from the impacts table of one outcome."""
    impacts = Impacts(staggered={"y": callaway_santanna(panel, **SIM)},
                      trend_drift=[trend_drift_bounds(panel, outcome="y", **COLUMNS)])
    table = impacts.to_table()
    with disclosure.counting("people"):
        return table, published_bounds(table, _event_study(table))


def test_the_record_publishes_the_bounds():
    table, published = _published(simulate_panel(seed=2024))
    row = table[table["kind"] == "trend_drift"].iloc[0]
    assert published["y"] == {"first_event_time": -3, "last_event_time": 3, "estimate": row.estimate,
                              "mbar": DRIFT_MBAR, "lower": row.ci_low, "upper": row.ci_high,
                              "breakdown_mbar": row.statistic}
    TrendDrift.model_validate(published["y"])


def test_a_small_cohort_withholds_the_bounds_with_the_event_study():
    panel = simulate_panel(seed=2024)
    six = panel.loc[panel["start"] == 4, "id"].unique()[:6]
    panel = panel[(panel["start"] != 4) | panel["id"].isin(six)]
    table, published = _published(panel)
    assert table.loc[table["kind"] == "trend_drift", "n_treated"].iloc[0] == 6
    with disclosure.counting("people"):
        assert _event_study(table) == {}
    assert published == {}


def test_a_blank_event_time_withholds_the_bounds():
    table, _ = _published(simulate_panel(seed=2024))
    table.loc[(table["kind"] == "event_time") & (table["subgroup"] == "e=1"), "estimate"] = math.nan
    with disclosure.counting("people"):
        event_study = _event_study(table)
        assert "y" in event_study  # the event study itself is still published, with a blank point
        assert published_bounds(table, event_study) == {}


def _outcome(name: str) -> Outcome:
    return Outcome(column="y", measure="m", own_measure=False, measure_name=name, domain="d", domain_name="D",
                   primary=True, question="q", scale=None, higher_is_better=True, response_type="continuous",
                   units="points", scale_min=0, scale_max=10)


def test_the_page_sentence_reads_the_records_value():
    bounds = TrendDrift(first_event_time=-3, last_event_time=3, estimate=-0.4, mbar=1.0, lower=-0.8, upper=-0.1,
                        breakdown_mbar=1.35)
    outcome = _outcome("<b>Lonely</b> *often*")
    sentence = trend_drift_sentence(outcome, bounds)
    assert sentence == (r"**\<b\>Lonely\<\/b\> \*often\*:** the effect in the first wave after a site started stays "
                        "below zero unless the groups' trends drifted apart after the start by more than 1.35 times "
                        "the largest drift seen before it.")
    none = trend_drift_sentence(outcome, bounds.model_copy(update={"breakdown_mbar": None}))
    assert "even if the groups' trends had stayed exactly parallel" in none and "times" not in none
    section = _trend_drift(SimpleNamespace(outcomes=[outcome], trend_drift={"y": bounds}))
    assert f"- {sentence}" in section
    assert _trend_drift(SimpleNamespace(outcomes=[outcome], trend_drift={})) == ""


def test_the_staggered_sample_page_words_its_records_bounds(published_library):
    # the session's published sample library (conftest): nothing runs again for this test
    import json
    from html import unescape

    from evaluations.publish.pages import fmt_num
    from tests.test_book import page, text_of

    record = json.loads((published_library["book"] / "generated" / "records" / "intergenerational-2023.json")
                        .read_text())
    bounds = record["trend_drift"]
    assert set(bounds) == {o["column"] for o in record["outcomes"]}  # three waves before the last sites started
    text = unescape(text_of(page(published_library, "intergenerational-2023")))
    # loneliness, ages getting on and cohesion stay clear of zero at Mbar = 1; life satisfaction's first-wave
    # effect only up to a drift 0.40 times the largest before the start, so its Mbar = 1 interval reaches zero
    clear = {c for c, b in bounds.items() if b["lower"] > 0}
    assert clear == {"loneliness", "ages_get_on", "cohesion"}
    for column, b in bounds.items():
        name = next(o["measure_name"] for o in record["outcomes"] if o["column"] == column)
        assert b["estimate"] > 0 and (b["lower"] > 0) == (b["breakdown_mbar"] >= 1)
        assert (f"{name}: the effect in the first wave after a site started stays above zero unless the groups' "
                f"trends drifted apart after the start by more than {b['breakdown_mbar']:.2f} times") in text
        assert f"{fmt_num(b['lower'])} to {fmt_num(b['upper'])}; breakdown value" in text
