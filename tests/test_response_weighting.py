"""Inverse-probability-of-response weighting (evaluations/diagnostics/response_weighting.py): on a simulated
panel where who answers the follow-up depends on the baseline answer, differently in each group (missing at
random), the completers' difference-in-differences is biased and the weighted one recovers the known effect;
survey weights act as repeated people; with no one lost it is the design's own estimate; disclosure control."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from evaluations import disclosure
from evaluations.designs import design_of
from evaluations.diagnostics.response_weighting import (MIN_RESPONSE_PROBABILITY, by_outcome, response_model,
                                                         reweighted_estimate, started)
from evaluations.estimators.plan import Impacts
from evaluations.registry import Manifest
from tests.test_designs import BASE, TWO_WAVES

EFFECT = 0.5


def manifest(**design) -> Manifest:
    return Manifest.model_validate({**BASE, "design": {**TWO_WAVES, "type": "did", **design}})


def simulated_panel(n: int, seed: int, lose: bool = True, weights: np.ndarray | None = None) -> pd.DataFrame:
    """Each person's change regresses to the mean (change = EFFECT * treated - 0.5 e0 + noise), and answering
    the follow-up rises with the baseline answer among participants and falls with it among comparison people:
    the completers' DiD is pulled below EFFECT, while answering depends only on the group and y0 (MAR)."""
    rng = np.random.default_rng(seed)
    treated = rng.binomial(1, 0.5, n)
    person, e0 = rng.normal(0, 1, n), rng.normal(0, 1, n)
    y0 = person + e0
    y1 = person + 0.5 * e0 + EFFECT * treated + rng.normal(0, 0.5, n)
    slope = np.where(treated == 1, 1.0, -1.0)
    answered = rng.binomial(1, expit(1.0 + slope * y0 / np.sqrt(2))).astype(bool) if lose else np.ones(n, bool)
    units = [f"p{i}" for i in range(n)]
    base = pd.DataFrame({"unit": units, "period": 1, "treated": treated, "score": y0})
    follow = pd.DataFrame({"unit": units, "period": 2, "treated": treated, "score": y1})[answered]
    panel = pd.concat([base, follow], ignore_index=True)
    if weights is not None:
        panel["weight"] = panel["unit"].map(dict(zip(units, weights))).astype(float)
    return panel.sort_values(["unit", "period"]).reset_index(drop=True)


def design_estimate(panel: pd.DataFrame, m: Manifest):
    out = Impacts()
    design_of(m.design).estimate(panel, "score", m, "scale points", out)
    return out.estimates[0]


@pytest.fixture(scope="module")
def lost():
    return simulated_panel(6000, seed=11)


def test_weighting_recovers_the_known_effect_the_completers_miss(lost):
    m = manifest()
    completers = design_estimate(lost, m)
    assert completers.estimate < EFFECT - 0.15 and completers.ci_high < EFFECT  # biased by who answered
    row = reweighted_estimate(lost, m, "score")
    assert row.not_estimated is None
    assert row.ci_low < EFFECT < row.ci_high and abs(row.estimate - EFFECT) < 0.06
    # estimating the response model (rather than knowing it) lowers the variance here, as Wooldridge (2007)
    # shows it must asymptotically when the model is right and there are no survey weights
    assert row.std_error < row.std_error_known_weights
    assert (row.n_programme + row.n_comparison, row.responded_programme + row.responded_comparison) == (
        6000, int((lost["period"] == 2).sum()))
    assert row.smallest_probability >= MIN_RESPONSE_PROBABILITY


def test_survey_weights_act_as_repeated_people():
    n = 1500
    copies = np.random.default_rng(5).integers(1, 4, n)
    weighted = simulated_panel(n, seed=3, weights=copies)
    people = weighted.loc[weighted.index.repeat(weighted["unit"].map(dict(zip(
        [f"p{i}" for i in range(n)], copies))).to_numpy())].drop(columns="weight")
    people["unit"] = people["unit"] + "-" + people.groupby(["unit", "period"]).cumcount().astype(str)
    people = people.sort_values(["unit", "period"]).reset_index(drop=True)
    with_weights = reweighted_estimate(weighted, manifest(weights="w"), "score")
    repeated = reweighted_estimate(people, manifest(), "score")
    assert with_weights.estimate == pytest.approx(repeated.estimate, rel=1e-6)
    assert with_weights.smallest_probability == pytest.approx(repeated.smallest_probability, rel=1e-6)
    base, answered = started(weighted, manifest(weights="w"), "score")
    model = response_model(base, answered, ["y0"])
    assert np.all(model.weights[answered] > base["weight"].to_numpy()[answered])  # 1/p > 1 for everyone


def test_with_no_one_lost_it_is_the_design_s_own_estimate():
    panel = simulated_panel(800, seed=2, lose=False)
    m = manifest()
    own = design_estimate(panel, m)
    row = reweighted_estimate(panel, m, "score")
    assert row.estimate == pytest.approx(own.estimate, rel=1e-12)
    assert row.std_error == pytest.approx(own.std_error, rel=1e-12)
    assert (row.ci_low, row.ci_high) == pytest.approx((own.ci_low, own.ci_high), rel=1e-12)
    assert by_outcome(panel, m) == []  # nothing to re-weight: no row on the page


def test_extreme_weights_are_refused_not_trimmed(lost):
    # answering made nearly impossible for low baseline answers: someone who answered has p below 1 in 20
    rng = np.random.default_rng(4)
    first = lost[lost["period"] == 1].set_index("unit")
    follow = first.assign(period=2, score=first["score"] + rng.normal(0, 1, len(first)))
    answered = rng.binomial(1, expit(1 + 3 * first["score"])).astype(bool)
    panel = pd.concat([first, follow[answered]]).reset_index()
    row = reweighted_estimate(panel, manifest(), "score")
    assert row.not_estimated == "extreme_weights" and row.estimate is None
    assert row.smallest_probability < MIN_RESPONSE_PROBABILITY


def test_matching_takes_no_weights_so_has_no_row(lost):
    panel = lost.assign(x=np.random.default_rng(1).normal(size=len(lost)))
    row = reweighted_estimate(panel, manifest(type="matching", covariates=["x"]), "score")
    assert row.not_estimated == "unweighted_estimator" and row.estimate is None


ROW = {"outcome": "score", "estimate": 0.2134, "ci_low": 0.0811, "ci_high": 0.3456, "not_estimated": None,
       "n_programme": 100, "n_comparison": 100, "responded_programme": 80, "responded_comparison": 70}


@pytest.mark.parametrize("change, shown", [
    ({}, True),
    ({"responded_programme": 91}, False),  # 9 programme people did not answer: their model rests on them
    ({"responded_programme": 100}, True),  # none lost in a group: no model there
    ({"responded_comparison": 9, "n_comparison": 9}, False),  # fewer than 10 answered
])
def test_disclosure_control_publishes_a_row_only_when_each_group_s_model_rests_on_ten(change, shown):
    (row,) = disclosure.response_weighting_rows([{**ROW, **change}])
    assert row["suppressed"] is not shown
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == ((0.213, 0.081, 0.346) if shown else (None,) * 3)
    assert set(row) == {"outcome", "estimate", "ci_low", "ci_high", "not_estimated", "suppressed",
                        "suppression_reason"}  # never the counts or the response probabilities



def test_the_row_reaches_the_record_and_the_page_beside_the_lee_bounds(published_library):
    """The cluster-randomised school-linking sample (DiD with covariates, 28 schools), as the pipeline stored and
    published it: the primary outcome's row, to 3 decimals, worded on its page under the Lee bounds."""
    import json

    from evaluations.record_model import Diagnostics, EvidenceRecord

    key = "school-linking-2024"
    documents = published_library["warehouse"] / "documents"
    stored = Diagnostics.model_validate(json.loads((documents / "diagnostics" / f"{key}.json").read_text()))
    (row,) = stored.response_weighting
    assert row.outcome == "comfort" and row.not_estimated is None and row.df == 27  # t on G - 1, as the DiD's
    assert row.std_error != row.std_error_known_weights  # the response model's estimation enters
    record = EvidenceRecord.model_validate(json.loads((documents / "evidence_record" / f"{key}.json").read_text()))
    (published,) = record.diagnostics.response_weighting
    assert (published.estimate, published.ci_low, published.ci_high) == tuple(
        round(v, 3) for v in (row.estimate, row.ci_low, row.ci_high)) and not published.suppressed
    page = (published_library["book"] / "generated" / "evaluations" / f"{key}.md").read_text(encoding="utf-8")
    assert page.index("Lee bounds") < page.index(
        f"weighting those who answered to look like everyone who started: **+{published.estimate:.2f}** scale "
        f"points (95% interval {published.ci_low:.2f} to {published.ci_high:.2f})")
