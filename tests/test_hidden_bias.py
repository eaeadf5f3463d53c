"""Each effect of a design resting on covariates carries its sensitivity to hidden bias: the reading is of
the estimator's own regression, moves the way the simulated confounding says it must, rests only on
publishable cells, is hidden with its estimate, and the page says what the record holds."""
from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from evaluations import disclosure
from evaluations.estimators.cross_sections import did_repeated_cross_sections
from evaluations.estimators.did import did_two_period, doubly_robust_did
from evaluations.estimators.rct import ancova
from evaluations.publish.pages import fmt_num, fmt_share
from evaluations.record_model import EvidenceRecord
from evaluations.registry import Manifest
from evaluations.sensitivity.evalue import standardised_effect_evalue
from evaluations.sensitivity.hidden_bias import hidden_bias
from tests.conftest import SAMPLES
from tests.test_designs import BASE, TWO_WAVES

def manifest(**design) -> Manifest:
    return Manifest.model_validate({**BASE, "design": {**TWO_WAVES, **design}})


def people(n: int, effect: float, seed: int, selection: float = 1.0) -> pd.DataFrame:
    """Free-school-meal pupils are likelier to take part and improve more anyway (a confounder the
    regression sees); age is unrelated to taking part."""
    rng = np.random.default_rng(seed)
    fsm = (rng.random(n) < 0.4).astype(float)
    age = rng.integers(11, 16, n).astype(float)
    treated = (rng.random(n) < 0.25 + 0.5 * selection * fsm).clip(0, 1).astype(int)
    y0 = rng.normal(3, 1, n)
    y1 = y0 + effect * treated + 0.3 * fsm + rng.normal(0, 0.8, n)
    return pd.DataFrame({"unit": np.arange(n), "treated": treated, "y0": y0, "y1": y1, "fsm": fsm, "age": age,
                         "cluster": rng.integers(0, 30, n)})


def did_reading(data: pd.DataFrame, **design):
    m = manifest(type="did", covariates=["fsm", "age"], **design)
    est = did_two_period(data, outcome="score", covariates=["fsm", "age"], cluster="cluster" in design)
    return est, hidden_bias(data, m, est)


def test_the_reading_of_a_regression_did():
    est, h = did_reading(people(1500, 0.4, seed=1))
    e = standardised_effect_evalue(est.effect_size, est.effect_size_ci_low, est.effect_size_ci_high)
    assert (h.e_value, h.e_value_limit) == (e.point, e.limit) and h.e_value > h.e_value_limit > 1
    rob = h.robustness
    assert rob.benchmark.covariate == "fsm"  # the confounder behind selection, not age
    assert 0 < rob.robustness_value_alpha < rob.robustness_value < 1
    # the benchmark's bias-adjusted estimate is what removing a confounder as strong as fsm leaves
    assert 0 < rob.benchmark.adjusted_estimate < est.estimate


def test_a_strong_observed_confounder_explains_a_weak_effect_away_but_not_a_strong_one():
    """The reading moves the known way: with the same selection on fsm, a weak effect would be explained away
    by a hidden difference weaker than fsm, a strong one needs one several times as strong."""
    _, weak = did_reading(people(2000, 0.03, seed=2))
    _, strong = did_reading(people(2000, 0.8, seed=2))
    assert weak.robustness.benchmark.times_as_strong < 1 < strong.robustness.benchmark.times_as_strong
    assert weak.robustness.robustness_value < strong.robustness.robustness_value
    assert weak.e_value < strong.e_value
    # stronger selection on fsm makes the same effect more fragile against it
    _, mild = did_reading(people(2000, 0.3, seed=3, selection=0.2))
    _, sharp = did_reading(people(2000, 0.3, seed=3, selection=1.0))
    assert sharp.robustness.benchmark.times_as_strong < mild.robustness.benchmark.times_as_strong


def test_clusters_leave_out_the_significance_robustness_value():
    _, h = did_reading(people(1500, 0.4, seed=1), cluster="school")
    assert h.robustness.robustness_value_alpha is None and h.robustness.robustness_value > 0


def test_repeated_cross_sections_and_ancova_are_refitted_term_for_term():
    data = people(1200, 0.4, seed=4)
    rcs = pd.concat([data.assign(post=0, y=data.y0), data.assign(post=1, y=data.y1)], ignore_index=True)
    m = manifest(type="did", sample="repeated_cross_section", covariates=["fsm", "age"], weights="w")
    rcs["weight"] = np.random.default_rng(4).uniform(0.5, 2, len(rcs))
    est = did_repeated_cross_sections(rcs, outcome="score", covariates=["fsm", "age"], weights=True)
    assert hidden_bias(rcs, m, est).robustness.benchmark.covariate == "fsm"
    # ANCOVA (after-only comparison) with some people missing a baseline: the missing-indicator method
    follow = data.assign(y0=data.y0.where(data.index % 7 != 0))
    m = manifest(type="matching", covariates=["fsm", "age"], estimator="ancova")
    est = ancova(follow, outcome="score", covariates=["fsm", "age"])
    assert hidden_bias(follow, m, est).robustness.robustness_value > 0


def test_a_refit_that_is_not_the_published_regression_is_refused():
    data = people(600, 0.4, seed=5)
    m = manifest(type="did", covariates=["fsm", "age"])
    est = did_two_period(data, outcome="score", covariates=["fsm"])  # not the manifest's covariates
    with pytest.raises(RuntimeError, match="not the published estimate"):
        hidden_bias(data, m, est)


def test_a_doubly_robust_estimate_carries_the_e_value_only_and_a_trial_nothing():
    data = people(800, 0.4, seed=6)
    m = manifest(type="matched_did", covariates=["fsm", "age"])
    est = doubly_robust_did(data, outcome="score", covariates=["fsm", "age"], seed=1)
    h = hidden_bias(data, m, est)
    assert h.robustness is None and h.e_value > 1
    assert hidden_bias(data, manifest(type="rct", covariates=["fsm"]), est) is None
    before_after = {k: v for k, v in TWO_WAVES.items() if k != "treatment"}
    assert hidden_bias(data, Manifest.model_validate({**BASE, "design": {**before_after, "type": "pre_post"}}),
                       est) is None


def test_a_benchmark_rests_on_ten_people_with_each_value_in_each_group():
    """`rare` tells the groups apart more than anything else, but only 6 participants have it: it cannot be
    the benchmark, and the next strongest (fsm) is named instead."""
    data = people(1500, 0.4, seed=7, selection=0.3)
    rare = np.zeros(len(data))
    rare[data.index[data.treated == 1][:6]] = 1
    rare[data.index[data.treated == 0][:300]] = 1
    data = data.assign(rare=rare, y1=data.y1 + 0.8 * rare)
    m = manifest(type="did", covariates=["fsm", "age", "rare"])
    est = did_two_period(data, outcome="score", covariates=["fsm", "age", "rare"])
    with disclosure.counting("people"):
        assert hidden_bias(data, m, est).robustness.benchmark.covariate == "fsm"
    with disclosure.counting("places"):  # each row rests on 10 people: any cell may be published
        assert hidden_bias(data, m, est).robustness.benchmark.covariate == "rare"


# --------------------------------------------------------------------------- disclosure control of the reading


READING = {"e_value": 2.1, "e_value_limit": 1.7, "robustness": {
    "partial_r2": 0.03, "robustness_value": 0.16, "robustness_value_alpha": 0.08,
    "benchmark": {"covariate": "fsm", "r2_treatment": 0.001, "r2_outcome": 0.002, "adjusted_estimate": 0.3,
                  "times_as_strong": 4.2}}}


def test_a_reading_is_blanked_with_its_estimate():
    table = pd.DataFrame({"estimate": [0.3, 0.2], "n_treated": [40, 7], "n_comparison": [50, 50],
                          "hidden_bias": [READING, READING]})
    out = disclosure.suppress_estimates(table)
    assert out["hidden_bias"].tolist() == [READING, None]


def test_a_robustness_value_beside_a_hidden_group_size_is_hidden_and_refused():
    record = {"estimates": [{"df": None, "n_treated": disclosure.NOT_SHOWN, "n_comparison": 50,
                             "hidden_bias": copy.deepcopy(READING)},
                            {"df": None, "n_treated": 40, "n_comparison": 50, "hidden_bias": copy.deepcopy(READING)}]}
    disclosure.hide_df_beside_hidden_counts(record)
    assert record["estimates"][0]["hidden_bias"] == {**READING, "robustness": disclosure.NOT_SHOWN}
    assert record["estimates"][1]["hidden_bias"] == READING  # beside published sizes: kept
    from evaluations.record_model.record import ShownEffect

    shown = {"outcome": "y", "subgroup": "all", "estimand": "ATT", "estimator": "x", "units": "scale points",
             "assumptions": "", "estimate": 0.2, "std_error": 0.1, "ci_low": 0.0, "ci_high": 0.4, "p_value": 0.05,
             "effect_size": 0.2, "effect_size_ci_low": 0.0, "effect_size_ci_high": 0.4, "n_treated": 40,
             "n_comparison": disclosure.NOT_SHOWN, "suppressed": False, "suppression_reason": "", "df": None,
             "n_clusters": None}
    with pytest.raises(ValidationError, match="robustness value is published beside a hidden group size"):
        ShownEffect(**shown, hidden_bias=READING)
    assert ShownEffect(**shown, hidden_bias={**READING, "robustness": disclosure.NOT_SHOWN}).hidden_bias.e_value == 2.1


# --------------------------------------------------------------------------- the sample library, record and page


def _records(lib) -> dict[str, dict]:
    folder = lib["book"] / "generated" / "records"
    return {key: json.loads((folder / f"{key}.json").read_text()) for key in SAMPLES}


def _text(lib, key: str) -> str:
    from tests.test_book import page, text_of

    return text_of(page(lib, key))


def test_every_effect_of_a_design_resting_on_covariates_carries_its_reading(published_library):
    records = _records(published_library)
    regressions = {"school-linking-2024", "school-linking-survey-2025", "town-exchange-2023"}
    for key, record in records.items():
        EvidenceRecord.model_validate(record)
        for e in record["estimates"]:
            reading = e["hidden_bias"]
            if key == "befriending-pre-post-2024" or e["suppressed"]:  # before and after: change, not impact
                assert reading is None, key
                continue
            assert reading["e_value"] >= reading["e_value_limit"] >= 1, key
            assert (reading["e_value_limit"] == 1) == (e["ci_low"] <= 0 <= e["ci_high"]), key
            # regression estimates only: DR DiD (ncs) and Callaway-Sant'Anna (intergenerational) have none
            assert (reading["robustness"] is not None) == (key in regressions), key
            sizes_shown = all(isinstance(e[n], int) for n in ("n_treated", "n_comparison"))
            # beside a group size secondary suppression hid (the exchange's), it would give the df back
            assert (reading["robustness"] == disclosure.NOT_SHOWN) == (key in regressions and not sizes_shown), key
            if key in regressions and sizes_shown:
                assert reading["robustness"]["benchmark"]["covariate"] in record["design"]["covariates"]
                clustered = record["design"]["cluster"] is not None
                assert (reading["robustness"]["robustness_value_alpha"] is None) == clustered


def test_the_page_says_what_the_record_holds(published_library):
    for key, record in _records(published_library).items():
        text = _text(published_library, key)
        readings = [(e, e["hidden_bias"]) for e in record["estimates"] if e["hidden_bias"]]
        assert ("How strong would hidden bias have to be?" in text) == bool(readings), key
        for e, h in readings:
            name = next(o["measure_name"] for o in record["outcomes"] if o["column"] == e["outcome"])
            section = text[text.index("Chance did not decide who took part"):]  # the section, not the contents lists
            start = section.index(f"{name}: ")
            line = section[start:section.index(").", start) + 2]
            assert f"E-value {fmt_num(h['e_value'])}" in line, (key, line)
            clear = e["ci_low"] > 0 or e["ci_high"] < 0
            assert (f"{fmt_num(h['e_value_limit'])} to make the 95% interval include no effect" in line) == clear
            assert ("the 95% interval already includes no effect" in line) == (not clear)
            rob = h["robustness"]
            if isinstance(rob, dict):
                assert f"robustness value {fmt_share(rob['robustness_value'])}" in line
                b = rob["benchmark"]
                k = b["times_as_strong"]
                said = ("no stronger than" if k is not None and k <= 1 else "more than ten times as strong as"
                        if k is None or k >= 10 else f"{fmt_num(k, 1)} times as strong as")
                assert f"{said} {b['covariate']}" in line, (key, line)
            else:
                assert "robustness value" not in line and "times as strong as" not in line


def test_the_csv_download_carries_the_reading(published_library):
    folder = published_library["book"] / "generated" / "records"
    csv = pd.read_csv(folder / "school-linking-2024.csv")
    record = _records(published_library)["school-linking-2024"]
    overall = csv[csv["subgroup"] == "all"].set_index("outcome")
    for e in record["estimates"]:
        rob = e["hidden_bias"]["robustness"]
        assert math.isclose(overall.loc[e["outcome"], "hidden_bias_e_value"], e["hidden_bias"]["e_value"])
        assert math.isclose(overall.loc[e["outcome"], "hidden_bias_robustness_value"], rob["robustness_value"])
        assert overall.loc[e["outcome"], "hidden_bias_benchmark_covariate"] == rob["benchmark"]["covariate"]
