"""Effects people can picture and value for money (issue 12): the change in the share giving a
measure's positive answers, estimated by each design's own estimator on simulated data with a known
true change; the cost and WELLBY arithmetic against hand-worked values; disclosure of small shares;
and the sample library's records carrying the new fields."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from evaluations import value
from evaluations.estimators.plan import estimate_impacts
from evaluations.measure_model import OwnMeasure
from evaluations.measures import load_measures
from evaluations.registry import Manifest
from tests.conftest import pipeline_record

P_BEFORE, P_COMPARISON, P_PROGRAMME = 0.55, 0.60, 0.75  # shares agreeing; true change 15 points (did: 15)
TRUE_CHANGE = 100 * (P_PROGRAMME - P_COMPARISON)


def manifest(design_type: str, **design) -> Manifest:
    treatment = {} if design_type == "pre_post" else {"treatment": "took_part"}
    return Manifest.model_validate({
        "id": "share-test", "title": "A simulated programme", "synthetic": True,
        "programme": {"name": "Club", "family": "other", "organisation": "Test", "places": ["Here"],
                      "start_date": "2024-01-01", "end_date": "2024-06-30", "cost_per_participant_gbp": 120},
        "design": {"type": design_type, "unit_id": "id", "wave": "wave", "baseline": "before", "follow_up": "after",
                   "covariates": ["age"], **treatment, **design},
        "outcomes": [{"column": "cohesion", "measure": "local_area_cohesion", "primary": True}],
        "files": [{"path": "data.csv"}],
    })


def simulated_panel(seed: int, n: int = 3000, everyone_takes_part: bool = False) -> pd.DataFrame:
    """Answers to the cohesion question (1 Definitely agree .. 4 Definitely disagree), held as the panel
    holds them (oriented: 5 - code). Agreeing is drawn with a known probability per group and wave."""
    rng = np.random.default_rng(seed)
    treated = np.ones(n, int) if everyone_takes_part else rng.binomial(1, 0.5, n)
    age = rng.normal(0, 1, n)

    def answers(p):
        agree = rng.random(n) < p
        return np.where(agree, rng.choice([1, 2], n), rng.choice([3, 4], n))

    before = answers(np.full(n, P_BEFORE))
    after = answers(np.where(treated == 1, P_PROGRAMME, P_COMPARISON))
    base = pd.DataFrame({"unit": [f"p{i}" for i in range(n)], "treated": treated, "age": age})
    return pd.concat([base.assign(wave="before", period=1, cohesion=5.0 - before),
                      base.assign(wave="after", period=2, cohesion=5.0 - after)], ignore_index=True)


@pytest.mark.parametrize("design_type,truth", [("rct", TRUE_CHANGE), ("did", TRUE_CHANGE),
                                               ("pre_post", 100 * (P_PROGRAMME - P_BEFORE))])
def test_the_interval_of_the_change_in_the_share_covers_the_true_change(design_type, truth):
    panel = simulated_panel(seed=12, everyone_takes_part=design_type == "pre_post")
    impacts = estimate_impacts(panel, manifest(design_type), load_measures())
    (share,) = impacts.shares
    assert share.units == "percentage points" and share.outcome == "cohesion"
    assert share.ci_low <= truth <= share.ci_high
    assert share.ci_low > 0  # 3,000 people detect a 15-20 point change
    assert share.estimator == impacts.estimates[0].estimator  # the design's own estimator, not another
    (ref,) = impacts.reference_shares
    rows = panel[(panel.period == (1 if design_type == "pre_post" else 2))
                 & (panel.treated == (1 if design_type == "pre_post" else 0))]
    assert ref.answered == len(rows) and ref.positive == int((rows.cohesion >= 3).sum())  # codes 1-2 agree
    table = impacts.to_table()
    assert set(table["kind"]) >= {"overall", "share", "reference_share"}


def test_positive_answers_are_checked_against_the_scale():
    own = {"name": "Gets on", "domain": "belonging", "question": "Do you get on?", "response_type": "ordinal",
           "scale": {1: "No", 2: "Sometimes", 3: "Yes"}, "min": 1, "max": 3, "higher_is_better": True}
    assert OwnMeasure.model_validate({**own, "positive_answers": [3]}).positive_labels == ["Yes"]
    for bad, words in (([4], "code 4 is not a scale code"), ([1, 2, 3], "some, not all")):
        with pytest.raises(ValueError, match=words):
            OwnMeasure.model_validate({**own, "positive_answers": bad})
    with pytest.raises(ValueError, match="0 to max: 10"):
        OwnMeasure.model_validate({**own, "life_satisfaction": True})
    with pytest.raises(ValueError, match="national figure is published beside the bank's questions only"):
        OwnMeasure.model_validate({**own, "positive_answers": [3], "national": {"share": 0.5}})


def test_the_national_figure_is_sourced_where_the_bank_records_one():
    bank = load_measures()
    cohesion = bank["local_area_cohesion"].national
    assert (cohesion.share, cohesion.year) == (0.81, "2018/19") and cohesion.source_url.startswith("https://")
    assert all(m.national is None for k, m in bank.items() if k != "local_area_cohesion")


def test_value_for_money_arithmetic_by_hand():
    # £120 per participant, 15 more in every 100 agree: 120 / 0.15 = £800 per extra person agreeing
    assert value.cost_per_extra_person(120, 15.0) == pytest.approx(800)
    # interval 6 to 24 points: £500 (120 / 0.24) to £2,000 (120 / 0.06); no upper limit when it reaches 0
    assert value.cost_per_extra_person_interval(120, 6.0, 24.0) == (pytest.approx(500), pytest.approx(2000))
    assert value.cost_per_extra_person_interval(120, -3.0, 24.0) == (pytest.approx(500), None)
    assert value.cost_per_extra_person(120, -2.0) is None and value.cost_per_extra_person(None, 5.0) is None
    # 0.2 points of life satisfaction for one year at £13,000 per WELLBY: £2,600; against £400: 6.5
    assert value.wellby_value(0.2) == pytest.approx(2600)
    assert value.benefit_cost_ratio(value.wellby_value(0.2), 400) == pytest.approx(6.5)
    assert value.benefit_cost_ratio(2600, 0) is None
    # EEF bands: less than £80; up to £200; up to £720; up to £1,200; over £1,200
    assert [value.cost_band(c)[0] for c in (45, 79.99, 80, 200, 201, 720, 1200, 1200.01, 1400)] == \
        ["£", "£", "££", "££", "£££", "£££", "££££", "£££££", "£££££"]
    assert value.cost_band(None) is None
    assert [value.effect_size_words(g) for g in (0.0, -0.049, 0.05, 0.19, 0.2, -0.36, None, math.nan)] == \
        ["small", "small", "moderate", "moderate", "large", "large", None, None]


# ------------------------------------------------------------------ a sample evaluation's record


def sample_record(folder):
    """The record of a sample evaluation, from the same functions the Dagster assets call, and its panel."""
    from evaluations.records import code_version, data_hashes
    from evaluations.registry import load_manifest

    manifest = load_manifest(folder)
    run = pipeline_record(folder, {"code_version": code_version(), "run_id": "test", "partition": manifest.id,
                                   "data_files": data_hashes(folder, manifest), "registration": None})
    return run.record, run.panel


def test_a_sample_evaluations_record_carries_the_pictures_and_the_value_for_money(registry):
    from evaluations.publish import pictures

    record, panel = sample_record(registry / "town-exchange-2023")
    cohesion = record.outcome("cohesion")
    assert cohesion.positive_answers == ["Definitely agree", "Tend to agree"] and cohesion.national.share == 0.81
    (share,) = record.shares  # the thermometer is continuous: no positive answers, no share
    assert share.outcome == "cohesion" and share.units == "percentage points" and share.ci_low < share.ci_high
    pic = next(p for p in record.pictures if p.outcome == "cohesion")
    # the comparison group's share agreeing at follow-up, counted from the panel by hand
    last = panel[(panel.treated == 0) & (panel.period == panel.period.max())]["cohesion"].dropna()
    assert pic.reference_group == "comparison"
    assert pic.reference_share == round(float((last >= 3).mean()), 3)
    vfm = record.value_for_money
    assert (vfm.cost_per_participant_gbp, vfm.cost_band, vfm.wellby_value_gbp) == (350, "£££", 13_000)
    if share.estimate > 0:
        assert pic.cost_per_extra_person_gbp == pytest.approx(350 / (share.estimate / 100))
    assert pic.wellby_value_gbp is None  # not a life-satisfaction measure
    page = pictures.pictures_section(record)
    assert "in every 100 participants answered “Definitely agree” or “Tend to agree”" in page
    assert "against 81 in every 100 adults aged 16 and over in England ([Community Life Survey" in page
    assert "2018\\/19](https://www.ethnicity-facts-figures.service.gov.uk/" in page
    json.dumps(record.to_json())  # the new fields are plain JSON


def test_a_share_from_fewer_than_ten_people_is_hidden():
    from evaluations.disclosure import SUPPRESSED, share

    assert share(12, 30) == 0.4
    assert share(9, 30) == SUPPRESSED and share(25, 30) == SUPPRESSED  # 9 agree; 5 do not
    assert share(0, 30) == 0.0 and share(0, 0) is None


def test_a_hidden_share_change_hides_its_cost_per_extra_person():
    from evaluations import disclosure
    from evaluations.picturing import record_parts

    table = pd.DataFrame([
        {"outcome": "cohesion", "kind": "overall", "estimate": 0.3, "ci_low": 0.1, "ci_high": 0.5, "effect_size": 0.3,
         "n_treated": 8, "n_comparison": 40, "units": "scale points"},
        {"outcome": "cohesion", "kind": "share", "estimate": 12.0, "ci_low": 4.0, "ci_high": 20.0,
         "n_treated": 8, "n_comparison": 40, "units": "percentage points"},
        {"outcome": "cohesion", "kind": "reference_share", "subgroup": "comparison", "estimate": 60.0,
         "statistic": 24, "n_comparison": 40}])
    cols = [c for c in table.columns if c not in ("kind", "statistic")]
    overall = disclosure.suppress_estimates(table[table.kind == "overall"][cols]).to_dict(orient="records")
    m = manifest("rct")
    parts = record_parts(m, {"cohesion": load_measures()["local_area_cohesion"]}, table, overall, cols)
    (row,) = parts["shares"]
    assert row["suppressed"] and row["estimate"] is None and row["n_treated"] == disclosure.SUPPRESSED
    (pic,) = parts["pictures"]
    assert pic["cost_per_extra_person_gbp"] is None and pic["effect_size_words"] is None
    assert pic["reference_share"] == 0.6  # 24 of 40 agree, 16 do not: both at least 10


def test_the_methods_chapter_shows_the_yardsticks_the_pages_use():
    from evaluations.publish.pictures import methods_tables
    from evaluations.registry import REPO_ROOT

    chapter = (REPO_ROOT / "book" / "methods.md").read_text(encoding="utf-8")
    for table in methods_tables().split("\n\n"):
        assert table in chapter
    assert f"£{value.WELLBY_VALUE_GBP:,} per\nWELLBY ({value.WELLBY_PRICE_BASE}" in chapter


def test_the_built_page_and_toolkit_read_the_records_pictures(published_library):
    """One built book (the session's): the page says the record's change in the share, the toolkit its band."""
    from evaluations.record_model import EvidenceRecord

    path = published_library["book"] / "generated" / "records" / "town-exchange-2023.json"
    record = EvidenceRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
    share = record.shares[0]
    html = (published_library["html"] / "generated" / "evaluations" / "town-exchange-2023.html").read_text("utf-8")
    assert f"{abs(share.estimate):.0f} {'more' if share.estimate > 0 else 'fewer'} in every 100 participants" in html
    toolkit = next(published_library["html"].rglob("toolkit.html")).read_text("utf-8")
    assert "Moderate cost: about £350 per participant" in toolkit


def test_a_life_satisfaction_effect_is_valued_in_wellbys_against_the_cost():
    from evaluations import disclosure
    from evaluations.picturing import record_parts

    satisfaction = OwnMeasure.model_validate({
        "name": "Life satisfaction", "domain": "belonging", "question": "Overall, how satisfied are you with your "
        "life nowadays?", "response_type": "continuous", "min": 0, "max": 10, "higher_is_better": True,
        "life_satisfaction": True})
    table = pd.DataFrame([{"outcome": "satisfaction", "kind": "overall", "estimate": 0.25, "ci_low": 0.05,
                           "ci_high": 0.45, "effect_size": 0.12, "n_treated": 200, "n_comparison": 200,
                           "units": "scale points"}])
    cols = [c for c in table.columns if c != "kind"]
    overall = disclosure.suppress_estimates(table[cols]).to_dict(orient="records")
    m = manifest("rct")  # £120 per participant
    (pic,) = record_parts(m, {"satisfaction": satisfaction}, table, overall, cols)["pictures"]
    # 0.25 x £13,000 = £3,250 (0.05: £650; 0.45: £5,850); over £120: 27.08 (5.42 to 48.75)
    assert (pic["wellby_value_gbp"], pic["wellby_value_ci_low"], pic["wellby_value_ci_high"]) == \
        (pytest.approx(3250), pytest.approx(650), pytest.approx(5850))
    assert (pic["benefit_cost_ratio"], pic["benefit_cost_ratio_ci_low"], pic["benefit_cost_ratio_ci_high"]) == \
        (pytest.approx(3250 / 120), pytest.approx(650 / 120), pytest.approx(5850 / 120))
    assert pic["effect_size_words"] == "moderate" and pic["cost_per_extra_person_gbp"] is None  # no positive answers


def test_the_disclosure_audit_reads_the_share_rows():
    from evaluations import disclosure

    row = {"outcome": "cohesion", "estimate": 12.0, "n_treated": disclosure.SUPPRESSED, "n_comparison": 40}
    assert disclosure.disclosure_problems({"shares": [row]}) == [
        f"shares[0] has an estimate from {disclosure.SUPPRESSED} people in a group"]
    assert disclosure.disclosure_problems({"shares": [{**row, "estimate": None}]}) == []
