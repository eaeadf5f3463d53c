"""The synthetic sample library: reproducible from its seeds, messy like real returns, truths kept apart."""
from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest

from evaluations.simulate import SAMPLES, simulate_library
from evaluations.registry import DEFAULT_REGISTRY, load_manifest
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
