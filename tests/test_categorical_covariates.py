"""Categorical covariates (evaluations/covariates.py): declared with their categories, read from words,
encoded once for every estimator, shown by name.

A simulated evaluation (seeded) in which confounding runs through an age band: older bands take part
more often and their outcome rises more over time whatever they do. The true effect is 5 points. An
estimator adjusting for the age band (declared in categories, the answers typed as a form exports
them: "16–24" with an en dash, "35 - 54" with spaces, "Prefer not to say", blank) recovers it; the
same estimator without it does not.
"""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from evaluations.checking import check_evaluation
from evaluations.estimators.plan import estimate_impacts
from evaluations.intake.panel import build_panel
from evaluations.intake.validate import read_raw, validate
from evaluations.measures import load_measures
from evaluations.publish.pages import evaluation_page
from evaluations.registry import ManifestError, load_manifest
from tests.conftest import pipeline_record

TRUE_EFFECT = 5.0
BANDS = ["16-24", "25-34", "35-54", "55+"]
AGE_BAND = {"column": "age_band", "categories": BANDS, "ordered": True}
# latent groups: the four bands, people answering "Prefer not to say" and people leaving it blank
TYPED = ["16\u201324", "25-34", "35 - 54", "55+", "Prefer not to say", ""]
SHARE = [0.28, 0.28, 0.23, 0.13, 0.05, 0.03]
TAKES_PART = [0.15, 0.30, 0.55, 0.75, 0.50, 0.50]
LEVEL = [40, 45, 50, 55, 48, 48]
TREND = [0, 3, 6, 9, 5, 5]  # the change over time without the programme: confounded with taking part


def survey(n: int = 1600, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(len(SHARE), n, p=SHARE)
    took_part = (rng.random(n) < np.take(TAKES_PART, group)).astype(int)
    before = np.take(LEVEL, group) + rng.normal(0, 5, n)
    after = before + np.take(TREND, group) + TRUE_EFFECT * took_part + rng.normal(0, 4, n)
    female = (rng.random(n) < 0.5).astype(int)
    rows = [{"person": f"P{i:04d}", "took_part": took_part[i], "age_band": TYPED[group[i]], "female": female[i],
             "wave": wave, "thermometer": int(round(y[i]))}
            for i in range(n) for wave, y in (("before", before), ("after", after))]
    return pd.DataFrame(rows)


MANIFEST = {
    "id": "age-bands-2025", "title": "Age bands", "synthetic": True,
    "programme": {"name": "Age bands", "family": "exchange_visit", "organisation": "Test", "places": ["Lambeth"],
                  "start_date": "2025-01-01", "end_date": "2025-06-30", "description": "A test."},
    "design": {"type": "did", "unit_id": "person", "treatment": "took_part", "wave": "wave", "baseline": "before",
               "follow_up": "after", "covariates": ["female", AGE_BAND]},
    "outcomes": [{"column": "thermometer", "measure": "outgroup_thermometer", "primary": True}],
    "files": [{"path": "survey.csv"}],
    "seed": 1,
}


def registration(root, data: pd.DataFrame | None = None, **design):
    folder = root / MANIFEST["id"]
    folder.mkdir(parents=True)
    m = copy.deepcopy(MANIFEST)
    m["design"].update(design)
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(m, sort_keys=False), encoding="utf-8")
    (survey() if data is None else data).to_csv(folder / "survey.csv", index=False)
    return folder


def overall(folder):
    """The primary outcome's overall estimate, through intake, the analysis panel and the design's estimator."""
    manifest, measures = load_manifest(folder), load_measures()
    panel = build_panel(validate(read_raw(folder, manifest), manifest, measures).valid, manifest, measures)
    table = estimate_impacts(panel, manifest, measures).to_table()
    return table[table["kind"] == "overall"].iloc[0]


def covers(est, truth: float) -> bool:
    return est.ci_low <= truth <= est.ci_high


# (design changes with the age band, design changes without it): each estimator with and without adjusting
ESTIMATORS = {
    "did": ({}, {"covariates": ["female"]}),
    "ancova": ({"type": "rct", "estimator": "ancova"}, {"type": "rct", "estimator": "ancova",
                                                        "covariates": ["female"]}),
    "ipw": ({"type": "matching", "estimator": "ipw"}, {"type": "matching", "estimator": "ipw",
                                                       "covariates": ["female"]}),
    "doubly_robust": ({"type": "matching", "estimator": "doubly_robust"},
                      {"type": "matching", "estimator": "doubly_robust", "covariates": ["female"]}),
    "doubly_robust_did": ({"type": "matched_did"}, {"type": "matched_did", "covariates": ["female"]}),
}


@pytest.mark.parametrize("estimator", list(ESTIMATORS))
def test_adjusting_for_the_age_band_recovers_the_true_effect_and_leaving_it_out_does_not(tmp_path, estimator):
    with_band, without = ESTIMATORS[estimator]
    adjusted = overall(registration(tmp_path / "adjusted", **with_band))
    unadjusted = overall(registration(tmp_path / "unadjusted", **without))
    assert covers(adjusted, TRUE_EFFECT), (adjusted.estimate, adjusted.ci_low, adjusted.ci_high)
    assert not covers(unadjusted, TRUE_EFFECT) and unadjusted.estimate > TRUE_EFFECT + 1, unadjusted.estimate
    assert adjusted.n_treated + adjusted.n_comparison == 1600  # "not answered" is a level: nobody set aside


def test_the_band_is_read_forgivingly_and_encoded_once_for_every_estimator(tmp_path):
    folder = registration(tmp_path)
    manifest, measures = load_manifest(folder), load_measures()
    d = manifest.design
    assert d.covariate_columns == ["female", "age_band"]
    assert d.covariates == ["female", "age_band: 25-34", "age_band: 35-54", "age_band: 55+",
                            "age_band: not answered"]  # the reference, 16-24, is left out
    panel = build_panel(validate(read_raw(folder, manifest), manifest, measures).valid, manifest, measures)
    baseline = panel[panel["period"] == 1]
    people = survey().query("wave == 'before'")
    expected = people["age_band"].map(dict(zip(TYPED, BANDS + [None, None]))).value_counts(dropna=False)
    for band in BANDS:
        assert int(baseline[f"age_band: {band}"].sum()) == int(expected[band])
        assert int((baseline["age_band"] == band).sum()) == int(expected[band])  # named as declared
    assert int(baseline["age_band: not answered"].sum()) == int(people["age_band"].isin(TYPED[4:]).sum()) > 0
    assert set(baseline["age_band"].dropna()) == set(BANDS)
    assert (baseline[[f"age_band: {b}" for b in BANDS] + ["age_band: not answered"]].sum(axis=1) == 1).all()


def test_check_refuses_an_answer_in_no_listed_category_with_where_and_the_fix(tmp_path):
    data = survey()
    data.loc[[4, 5, 90], "age_band"] = "35-44"  # a band the manifest does not list (rows 6, 7 and 92 of the file)
    folder = registration(tmp_path, data)
    report = check_evaluation(folder)
    assert report.problems == [
        f"{folder}: 'age_band' is a categorical covariate, and 3 answers match none of its categories in "
        "design.covariates (16-24, 25-34, 35-54, 55+): text, 5 characters in 3 rows (first: survey.csv row 6). "
        "Answers are matched to the categories ignoring case, spacing, punctuation and curly quotes; an empty "
        "answer, a missing_codes value and \"Prefer not to say\", \"Don't know\" or \"N/A\" are read as 'not "
        "answered'. Fix: add each answer to the categories of 'age_band' under design.covariates, correct it in "
        "the file, or list it under missing_codes if it means no answer"]


def test_check_reports_every_problem_at_once_and_says_how_to_declare_categories(tmp_path):
    data = survey()
    data.loc[[4, 5], "age_band"] = "35-44"
    data["female"] = np.where(data["female"] == 1, "Woman", "Man")  # categories declared as a number
    problems = check_evaluation(registration(tmp_path, data)).problems
    assert len(problems) == 2
    female, age_band = problems  # in the order the manifest lists them
    assert "'age_band' is a categorical covariate, and 2 answers match none of its categories" in age_band
    assert ("'female' is listed under design.covariates as a number, but it holds no number: text, "
            f"{len('Woman')} characters in") in female and "text, 3 characters in" in female
    assert "`- {column: female, categories: [every answer, the reference first]}`" in female


def test_check_refuses_a_reference_category_nobody_chose(tmp_path):
    data = survey()
    data["age_band"] = data["age_band"].replace({"16\u201324": "25-34"})
    problems = check_evaluation(registration(tmp_path, data)).problems
    assert len(problems) == 1 and problems[0].endswith(
        "'age_band': nobody in survey.csv is in its first category, '16-24', the reference the estimators compare "
        "the other categories with; list first a category people chose (e.g. the most common, or the lowest band) "
        "under design.covariates, or correct the answers")


@pytest.mark.parametrize("categories, problem", [
    (["16-24", "16 \u2013 24", "25+"], "'age_band' lists '16-24' and '16 – 24', which read as the same answer"),
    (["16-24", "Prefer not to say"], "'age_band' lists 'Prefer not to say', which is read as not answered"),
    (["16-24"], "'age_band' lists 1 category; list every answer people could give (at least two)"),
])
def test_categories_that_cannot_be_read_one_to_one_are_refused(tmp_path, categories, problem):
    folder = registration(tmp_path, covariates=[{"column": "age_band", "categories": categories}])
    with pytest.raises(ManifestError) as err:
        load_manifest(folder)
    assert any(problem in p for p in err.value.problems), err.value.problems


def test_older_manifests_keep_their_plan_and_a_plain_name_stays_a_number(tmp_path):
    folder = registration(tmp_path, covariates=["female"])
    manifest = load_manifest(folder)
    assert manifest.design.covariates == manifest.design.numeric_covariates == ["female"]
    assert manifest.analysis_plan()["design"]["covariates"] == ["female"]  # the registered plan's shape
    categorical = load_manifest(registration(tmp_path / "two")).analysis_plan()["design"]["covariates"]
    assert categorical == ["female", {"column": "age_band", "categories": BANDS, "ordered": True}]


def test_the_record_and_page_name_each_category_and_hide_a_small_one(tmp_path):
    data = survey()
    # 4 people (8 rows) in a band of their own: too few to publish, so its label is never shown
    small = data["person"].isin(["P0000", "P0001", "P0002", "P0003"])
    data.loc[small, "age_band"] = "75 and over"
    folder = registration(tmp_path, data, covariates=["female", dict(AGE_BAND, categories=BANDS + ["75 and over"])],
                          effect_modifiers=["age_band"])
    record = pipeline_record(folder).record
    rows = {r.variable: r for r in record.diagnostics.balance}
    assert [v for v in rows if v.startswith("age_band")] == [
        "age_band: 16-24", "age_band: 25-34", "age_band: 35-54", "age_band: 55+", "age_band: another group",
        "age_band: not answered"]
    assert rows["age_band: another group"].smd is None and rows["age_band: 55+"].smd is not None
    # the band's balance by name: more of the older bands took part
    assert rows["age_band: 55+"].smd > 0.25 > rows["age_band: 16-24"].smd
    assert record.design.covariates == ["female", "age_band"]
    assert record.diagnostics.overlap.covariates == ["female", "age_band"]
    published = record.model_dump(mode="json")
    shown = [published["diagnostics"]["balance"], published["diagnostics"]["overlap"], published["subgroups_skipped"],
             [e["subgroup"] for e in published["subgroups"]]]
    assert "75 and over" not in str(shown)  # the small band's label is never shown
    subgroups = {e.subgroup for e in record.subgroups}
    assert {f"age_band={b}" for b in BANDS} <= subgroups  # group effects by the band's names, never codes
    page = evaluation_page(record, tmp_path / "pages", tmp_path / "figures", tmp_path / "records").read_text()
    assert "Age band\\: 35\\-54" in page  # the subgroup table, by the band's name (subgroup_names.py)
