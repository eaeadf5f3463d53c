"""The design picks the estimator, and the manifest may override it: a simulated after-only
comparison (the `matching` design) with a known effect, run through the plan, the
diagnostics (overlap, DoWhy refutations of the estimator actually used) and the rating."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy.special import expit

from evaluations.diagnostics.report import run_diagnostics
from evaluations.estimators.plan import estimate_impacts
from evaluations.measures import load_measures
from evaluations.rating import rate
from evaluations.registry import Manifest

TRUE_ATT = 0.4  # constant effect, so the ATT is the effect


def manifest(**design) -> Manifest:
    return Manifest.model_validate({
        "id": "after-only-test", "title": "A simulated after-only comparison", "synthetic": True,
        "programme": {"name": "Club", "family": "other", "organisation": "Test", "places": ["Here"],
                      "start_date": "2024-01-01", "end_date": "2024-06-30"},
        "design": {"type": "matching", "unit_id": "id", "treatment": "took_part", "wave": "wave",
                   "baseline": "before", "follow_up": "after", "covariates": ["age", "fsm"], **design},
        "outcomes": [{"column": "score", "measure": "mixing_different_backgrounds", "primary": True}],
        "files": [{"path": "data.csv"}],
    })


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """Older pupils and pupils without free school meals join more often and also score higher."""
    rng = np.random.default_rng(31)
    n = 1600
    age, fsm = rng.normal(0, 1, n), rng.binomial(1, 0.3, n).astype(float)
    treated = rng.binomial(1, expit(-0.4 + 0.9 * age - 0.8 * fsm))
    before = 3 + 0.6 * age - 0.5 * fsm + rng.normal(0, 0.8, n)
    after = 3.1 + 0.6 * age - 0.5 * fsm + TRUE_ATT * treated + rng.normal(0, 0.8, n)
    base = pd.DataFrame({"unit": [f"p{i}" for i in range(n)], "treated": treated, "age": age, "fsm": fsm})
    return pd.concat([base.assign(wave="before", period=1, score=before),
                      base.assign(wave="after", period=2, score=after)], ignore_index=True)


def test_matching_design_matches_on_the_follow_up_score_and_is_refuted_with_that_estimator(panel):
    m = manifest()
    impacts = estimate_impacts(panel, m, load_measures())
    (est,) = impacts.estimates
    assert est.outcome == "score" and est.estimand == "ATT"
    assert est.estimator.startswith("Propensity-score matching (1:1 NN, caliper 0.2 SD, with replacement")
    assert est.ci_low <= TRUE_ATT <= est.ci_high
    naive = panel[panel.period == 2].groupby("treated")["score"].mean().diff().iloc[-1]
    assert naive > TRUE_ATT + 0.3  # selection on age and fsm: the raw gap is far off, matching is not

    diag = run_diagnostics(panel, m, impacts.to_table())
    assert {r.name for r in diag.refutations} == {"placebo treatment", "random common cause", "data subset"}
    assert all(r.original_effect == pytest.approx(est.estimate, abs=1e-9) for r in diag.refutations)
    assert diag.failed_refutations == []
    assert diag.overlap.applies is True and diag.overlap.limited is False
    assert not any("robustness" in x for x in rate(m, diag).downgrades)


@pytest.mark.parametrize("estimator, name", [("ipw", "Inverse-probability weighting"),
                                             ("doubly_robust", "Doubly robust AIPW"),
                                             ("did", "Difference-in-differences")])
def test_the_manifest_overrides_the_designs_estimator(panel, estimator, name):
    (est,) = estimate_impacts(panel, manifest(estimator=estimator), load_measures()).estimates
    assert est.estimator.startswith(name), est.estimator
    assert est.ci_low <= TRUE_ATT <= est.ci_high


def test_matching_options_come_from_the_manifest(panel):
    (est,) = estimate_impacts(panel, manifest(matching={"k": 3, "caliper": None}), load_measures()).estimates
    assert est.estimator.startswith("Propensity-score matching (1:3 NN, no caliper, with replacement")


@pytest.mark.parametrize("design, fix", [
    ({"cluster": "school"}, "use design.estimator: doubly_robust"),
    ({"covariates": []}, "design.covariates must list them"),
    ({"type": "did", "estimator": "ancova", "waves": ["a", "b", "c"], "first_treated": "start",
      "baseline": None, "follow_up": None}, "remove design.estimator"),
    ({"estimator": "propensity"}, "ps_matching"),
])
def test_an_estimator_that_cannot_fit_the_design_is_refused_with_the_fix(design, fix):
    with pytest.raises(ValidationError, match=fix):
        manifest(**design)


def test_choosing_another_estimator_after_registration_is_a_plan_deviation(tmp_path):
    import json
    from datetime import datetime, timezone

    from evaluations.registration import REGISTRATION_NAME, plan_deviations, registration_document

    doc = registration_document(manifest(), datetime(2024, 1, 1, tzinfo=timezone.utc))
    (tmp_path / REGISTRATION_NAME).write_text(json.dumps(doc))
    assert plan_deviations(tmp_path, manifest(matching={"k": 1, "caliper": 0.2})) == []  # the defaults, spelled out
    (change,) = plan_deviations(tmp_path, manifest(estimator="ipw"))
    assert change.startswith("design.estimator was None when registered on 2024-01-01 and is now 'ipw'")


def test_the_forest_cross_check_runs_on_a_subsample_of_very_large_evaluations(monkeypatch):
    import evaluations.designs.two_wave as two_wave
    import evaluations.estimators.plan as plan

    rng = np.random.default_rng(5)
    n = 2400
    age, fsm = rng.normal(0, 1, n), rng.binomial(1, 0.3, n).astype(float)
    treated = rng.binomial(1, expit(0.5 * age))
    before = 3 + 0.5 * age + rng.normal(0, 0.8, n)
    after = before + 0.1 + (0.2 + 0.3 * fsm) * treated + rng.normal(0, 0.5, n)
    base = pd.DataFrame({"unit": [f"p{i}" for i in range(n)], "treated": treated, "age": age, "fsm": fsm})
    panel = pd.concat([base.assign(wave="before", period=1, score=before),
                       base.assign(wave="after", period=2, score=after)], ignore_index=True)
    monkeypatch.setattr(two_wave, "FOREST_CHECK_MAX", 2100)
    impacts = plan.estimate_impacts(panel, manifest(type="did", effect_modifiers=["fsm"]), load_measures())
    forest = [g for g in impacts.subgroup_checks if "subsample" in g.estimator]
    assert len(forest) == 2 and all("random subsample of 2,100 people" in g.estimator for g in forest)
    assert sum(g.n_treated + g.n_comparison for g in forest) == 2100
    assert sum(g.n_treated + g.n_comparison for g in impacts.subgroups) == n  # the published GATEs use everyone
