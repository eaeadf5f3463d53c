"""The synthetic sample library: reproducible from its seeds, messy like real returns, truths kept apart."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml

from evaluations.simulate import (SAMPLES, SURVEY_TERMS, VISITS, draw_befriending, draw_school_linking_survey,
                                  simulate_befriending, simulate_library, simulate_school_linking_survey, write_file)
from evaluations.registry import DEFAULT_REGISTRY, REPO_ROOT, load_manifest
from tests.conftest import TRUTH_DIR


def _read(path):
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if path.suffix == ".xlsx":
        return pd.read_excel(path, dtype=str)
    reader = pyreadstat.read_sav if path.suffix == ".sav" else pyreadstat.read_dta
    df, meta = reader(str(path))
    return df


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    simulate_library(root / "registry", root / "truth")
    return root


@pytest.mark.parametrize("evaluation_id", sorted(SAMPLES))
def test_simulation_reproduces_the_committed_library_from_its_seed(regenerated, evaluation_id):
    shipped = DEFAULT_REGISTRY / evaluation_id
    again = regenerated / "registry" / evaluation_id
    assert (again / "evaluation.yaml").read_text() == (shipped / "evaluation.yaml").read_text()
    assert (again / "registration.json").read_text() == (shipped / "registration.json").read_text()
    for f in load_manifest(shipped).files:
        pd.testing.assert_frame_equal(_read(again / f.path), _read(shipped / f.path))
    assert (regenerated / "truth" / f"{evaluation_id}.json").read_text() == (TRUTH_DIR / f"{evaluation_id}.json").read_text()


def test_truths_are_kept_apart_from_the_survey_files():
    for evaluation_id in SAMPLES:
        folder = DEFAULT_REGISTRY / evaluation_id
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            ["evaluation.yaml", "registration.json"] + [f.path for f in load_manifest(folder).files])
        assert (TRUTH_DIR / f"{evaluation_id}.json").exists()
        assert "synthetic" in (folder / "evaluation.yaml").read_text().splitlines()[0].lower()


def test_ncs_sample_has_thousands_of_young_people_and_a_third_lost_by_follow_up():
    df = _read(DEFAULT_REGISTRY / "ncs-youth-2024" / "survey.csv")
    base = df[df["wave"] == "baseline"].drop_duplicates("respondent_id")
    follow = set(df.loc[df["wave"] == "3-month follow-up", "respondent_id"])
    assert 2000 <= (base["ncs_participant"] == "1").sum() <= 4000
    lost = 1 - base["respondent_id"].isin(follow).mean()
    assert 0.30 <= lost <= 0.40
    assert (df["mixing"] == "-9").sum() > 50          # "don't know" answers
    assert df.duplicated().sum() == 4                  # exact duplicate rows
    assert (df["mixing"] == "8").sum() == 2            # impossible answers on a 1-5 scale


def test_exchange_has_a_few_dozen_people_per_town():
    df = _read(DEFAULT_REGISTRY / "town-exchange-2023" / "exchange_survey.xlsx").drop_duplicates()
    per_town = df[df["Took part"] == "Yes"].groupby("Town").size()
    assert set(per_town.index) == {"Lambeth", "Boston"} and per_town.between(20, 60).all()


def test_school_linking_is_clustered_with_two_age_groups():
    df = _read(DEFAULT_REGISTRY / "school-linking-2024" / "pupil_survey.sav")
    assert df["school_id"].nunique() >= 20 and df["class_id"].nunique() == 2 * df["school_id"].nunique()
    assert set(df["age_group"].unique()) == {1.0, 2.0}
    sub = TRUTH_DIR.joinpath("school-linking-2024.json").read_text()
    assert '"age_group=7-9"' in sub


def test_intergenerational_rolls_out_over_five_waves():
    df = _read(DEFAULT_REGISTRY / "intergenerational-2023" / "panel.dta")
    assert df["wave"].nunique() == 5
    starts = set(df["start_wave"].unique())
    assert len(starts - {""}) == 3 and "" in starts   # three start waves and never-treated sites


# --------------------------------------------------------------------------- samples for the newer designs
# An anonymous survey (different pupils each term, with non-response weights) and a before-and-after
# study with no comparison group. They are checked from their simulation, not the shipped folder,
# so these tests hold whatever the registry holds.

NEW_SAMPLES = {"school-linking-survey-2025": simulate_school_linking_survey,
               "befriending-pre-post-2024": simulate_befriending}
SURVEY_SEED, BEFRIENDING_SEED = 2106, 2107


@pytest.fixture(scope="module")
def survey():
    return simulate_school_linking_survey()


@pytest.fixture(scope="module")
def befriending():
    return simulate_befriending()


@pytest.mark.parametrize("evaluation_id", sorted(NEW_SAMPLES))
def test_new_sample_is_registered_and_the_same_from_the_same_seed(evaluation_id):
    make = NEW_SAMPLES[evaluation_id]
    assert SAMPLES[evaluation_id] is make
    a, b = make(), make()
    assert a.manifest == b.manifest and a.manifest["id"] == evaluation_id and a.manifest["synthetic"] is True
    assert a.truth == b.truth and a.truth["id"] == evaluation_id
    for name, df in a.files.items():
        pd.testing.assert_frame_equal(df, b.files[name])
    other = make(a.manifest["seed"] + 1)
    assert other.truth["att"] != a.truth["att"]
    assert not all(df.equals(other.files[name]) for name, df in a.files.items())
    assert "(fictional)" in a.manifest["programme"]["name"] and "(fictional)" in a.manifest["programme"]["organisation"]


def test_anonymous_survey_asks_different_pupils_each_term(survey, tmp_path):
    m = survey.manifest
    assert m["design"] == {
        "type": "did", "sample": "repeated_cross_section", "unit_id": "response_id", "treatment": "linked_school",
        "wave": "term", "baseline": SURVEY_TERMS[0], "follow_up": SURVEY_TERMS[1], "cluster": "school_id",
        "weights": "weight", "covariates": ["female", "fsm"]}
    assert 40 <= m["programme"]["cost_per_participant_gbp"] <= 60
    df = survey.files["pupil_survey.csv"]
    write_file(df, tmp_path / "pupil_survey.csv")
    back = pd.read_csv(tmp_path / "pupil_survey.csv")
    pd.testing.assert_frame_equal(back, df)
    assert set(back["term"]) == set(SURVEY_TERMS)
    ids = {t: set(g["response_id"]) for t, g in back.groupby("term")}
    assert not ids[SURVEY_TERMS[0]] & ids[SURVEY_TERMS[1]]           # nobody is linked across terms
    clean = back.drop_duplicates()
    assert len(back) - len(clean) == 2 and clean["response_id"].is_unique
    assert clean.groupby("term").size().between(1500, 2500).all()
    assert 25 <= clean["school_id"].nunique() <= 30
    arm = clean.groupby("school_id")["linked_school"].agg(["nunique", "first"])
    assert (arm["nunique"] == 1).all() and 0.3 <= arm["first"].mean() <= 0.7   # a property of the school
    assert {"female", "fsm"} <= set(clean.columns) and set(clean["fsm"]) == {0, 1}


def test_survey_weights_are_positive_and_follow_school_and_free_school_meals(survey):
    df = survey.files["pupil_survey.csv"].drop_duplicates()
    assert np.isfinite(df["weight"]).all() and (df["weight"] > 0).all()
    assert df.groupby("school_id")["weight"].mean().nunique() > 20            # varies between schools
    by_cell = df.groupby(["term", "school_id", "fsm"])["weight"].first().unstack("fsm")
    assert (by_cell[1] > by_cell[0]).mean() > 0.9    # pupils on free school meals answer less, so count for more
    assert df.groupby(["term", "school_id", "fsm"])["weight"].nunique().max() == 1


def test_anonymous_survey_has_modest_mess_that_intake_sets_aside(survey):
    df = survey.files["pupil_survey.csv"]
    for col in ("comfort", "mixing"):
        assert 20 <= (df[col] == -9).sum() <= 0.05 * len(df)                   # "don't know"
    assert (df["comfort"] == 7).sum() == 2 and (df["mixing"] == 0).sum() == 2  # impossible on 1-5 scales
    assert survey.manifest["missing_codes"] == [-9]


def test_survey_truth_is_the_population_effect_the_weights_stand_for(survey):
    pupils, answers = draw_school_linking_survey(np.random.default_rng(SURVEY_SEED))
    shipped = survey.files["pupil_survey.csv"].drop_duplicates().sort_values("response_id")
    assert len(shipped) == len(answers)
    np.testing.assert_allclose(shipped["weight"].to_numpy(), answers["weight"].round(4).to_numpy())
    # Weighted answers reproduce each school's roll by free school meals, term by term.
    on_roll = pupils.groupby(["school", "fsm"]).size()
    for term, got in answers.groupby("term"):
        np.testing.assert_allclose(got.groupby(["school", "fsm"])["weight"].sum().reindex(on_roll.index), on_roll)
    linked = pupils["linked"] == 1
    summer = answers[(answers["term"] == 1) & (answers["linked"] == 1)]
    who = pupils.iloc[summer["pupil"]]
    w = summer["weight"].to_numpy()
    n_effective = w.sum() ** 2 / (w ** 2).sum()
    for o in ("comfort", "mixing"):
        population = pupils.loc[linked, f"{o}_y1"] - pupils.loc[linked, f"{o}_y0"]
        assert survey.truth["att"][o] == pytest.approx(population.mean(), abs=1e-6)
        effect = who[f"{o}_y1"].to_numpy() - who[f"{o}_y0"].to_numpy()
        noise = effect.std() / np.sqrt(n_effective)
        assert abs(np.average(effect, weights=w) - survey.truth["att"][o]) < 3 * noise   # weighted: the population
        assert survey.truth["att_respondents"][o] == pytest.approx(effect.mean(), abs=1e-6)
        assert survey.truth["att"][o] - effect.mean() > 6 * noise                      # unweighted: biased down
        fsm = {f: survey.truth["subgroups"][f"fsm={f}"][o] for f in (0, 1)}
        assert fsm[1] > fsm[0] + 0.3


def _did_of_means(df: pd.DataFrame, outcome: str, weighted: bool) -> float:
    ok = df[df[outcome].between(1, 5)]
    w = ok["weight"] if weighted else pd.Series(1.0, index=ok.index)
    means = {key: np.average(g[outcome], weights=w[g.index]) for key, g in ok.groupby(["linked_school", "term"])}
    before, after = SURVEY_TERMS
    return (means[1, after] - means[1, before]) - (means[0, after] - means[0, before])


def test_weighting_the_shipped_survey_moves_its_estimate_towards_the_truth(survey):
    df = survey.files["pupil_survey.csv"].drop_duplicates()
    for o in ("comfort", "mixing"):
        weighted, unweighted = _did_of_means(df, o, True), _did_of_means(df, o, False)
        assert abs(weighted - survey.truth["att"][o]) < abs(unweighted - survey.truth["att"][o])
        assert weighted - unweighted > 0.05


def test_befriending_follows_the_same_members_with_no_comparison_group(befriending, tmp_path):
    m = befriending.manifest
    assert m["design"] == {"type": "pre_post", "unit_id": "member_id", "wave": "visit", "baseline": VISITS[0],
                           "follow_up": VISITS[1], "covariates": ["age", "lives_alone"]}
    assert "treatment" not in m["design"] and 300 <= m["programme"]["cost_per_participant_gbp"] <= 600
    spec = m["files"][0]
    df = befriending.files[spec["path"]]
    write_file(df, tmp_path / spec["path"], sheet=spec["sheet"])
    back = pd.read_excel(tmp_path / spec["path"], sheet_name=spec["sheet"])
    pd.testing.assert_frame_equal(back, df)
    assert list(back.columns) == ["member_id", "visit", "age", "lives_alone", "loneliness", "feel_lonely"]
    clean = back.drop_duplicates()
    assert len(back) - len(clean) == 2 and not clean.duplicated(["member_id", "visit"]).any()
    joined = set(clean.loc[clean["visit"] == VISITS[0], "member_id"])
    stayed = set(clean.loc[clean["visit"] == VISITS[1], "member_id"])
    assert 150 <= len(joined) <= 250 and stayed < joined                      # the same people, minus those lost
    assert 0.10 <= 1 - len(stayed) / len(joined) <= 0.20
    assert (back["loneliness"] == 12).sum() == 2 and (back["age"] == 7).sum() == 2   # impossible values
    assert (back["feel_lonely"] == -9).sum() >= 5


def test_befriending_truth_separates_the_change_from_the_programme_effect(befriending):
    t = befriending.truth
    assert "not the programme's impact" in t["note"] and t["note"].startswith("SYNTHETIC")
    members = draw_befriending(np.random.default_rng(BEFRIENDING_SEED))
    kept = members[members["followed"]]
    measures = {o["column"]: yaml.safe_load((REPO_ROOT / "datasets" / "measures" / f"{o['measure']}.yaml").read_text())
                for o in befriending.manifest["outcomes"]}
    for o in ("loneliness", "feel_lonely"):
        better = 1 if measures[o]["higher_is_better"] else -1  # truths are oriented: higher = better
        assert t["mean_change"][o] == pytest.approx(better * (kept[f"{o}_y1"] - kept[f"{o}_pre"]).mean(), abs=1e-6)
        assert t["att"][o] == pytest.approx(better * (kept[f"{o}_y1"] - kept[f"{o}_y0"]).mean(), abs=1e-6)
        assert t["mean_change"][o] == pytest.approx(t["att"][o] + t["change_without_programme"][o], abs=2e-6)
        # Visits help, and loneliness would have eased anyway: the before-and-after change overstates the effect.
        assert t["att"][o] > 0.2 and t["change_without_programme"][o] > 0.3
        assert t["mean_change"][o] > 1.5 * t["att"][o]
    assert measures["loneliness"]["higher_is_better"] is False     # UCLA-3: a lower score is less lonely
    # What the shipped file shows, once its mess is set aside, is the recorded true change.
    df = befriending.files["befriending_checkins.xlsx"].drop_duplicates()
    df = df[df["age"].between(60, 105)]
    for o in ("loneliness", "feel_lonely"):
        lo, hi = measures[o]["min"], measures[o]["max"]
        wide = df[df[o].between(lo, hi)].pivot(index="member_id", columns="visit", values=o).dropna()
        better = 1 if measures[o]["higher_is_better"] else -1
        assert better * (wide[VISITS[1]] - wide[VISITS[0]]).mean() == pytest.approx(t["mean_change"][o], abs=0.1)
