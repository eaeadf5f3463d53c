"""`register` stores screened copies: the registry holds no direct identifiers, runs read the copy
exactly as they read the charity's file, and registration.json keeps each original's hash."""
from __future__ import annotations

import json

import pandas as pd
import pyreadstat
import pytest

from evaluations.checking import check_evaluation
from evaluations.intake.validate import read_raw
from evaluations.registration import REGISTRATION_NAME, register
from evaluations.registry import file_hash, load_manifest
from tests.test_survey_tools import ODK_IDENTIFIERS, QUALTRICS_IDENTIFIERS, evaluation

IDENTIFYING = ("@example.org", "192.0.2.", "198.51.100.", "Test Person")


def _registered(tmp_path, folder):
    target, doc = register(folder, tmp_path / "registry")
    return target, json.loads((target / REGISTRATION_NAME).read_text(encoding="utf-8"))


def _same_rows(source, copy):
    a = read_raw(source, load_manifest(source))
    b = read_raw(copy, load_manifest(copy))
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.mark.parametrize("files, design", [
    ([{"path": "odk_central_baseline.csv", "wave": "baseline", "drop_columns": ODK_IDENTIFIERS},
      {"path": "odk_central_followup.csv", "wave": "follow-up", "drop_columns": ODK_IDENTIFIERS}], {}),
    ([{"path": "qualtrics_numeric.csv", "drop_columns": QUALTRICS_IDENTIFIERS,
       "rename": {"Q1": "local_area", "Q2": "belonging"}}], {"unit_id": "ExternalReference"}),
    ([{"path": f"kobo_{g}.xlsx", "group": g, "drop_columns": ["_submitted_by"]} for g in ("programme", "comparison")],
     {"wave": "survey_round", "follow_up": "followup"}),
], ids=["odk-csv", "qualtrics-csv", "kobo-xlsx"])
def test_the_registry_copy_has_its_identifier_columns_emptied_and_reads_the_same(tmp_path, files, design):
    folder = evaluation(tmp_path, files, design=design)
    assert check_evaluation(folder).ok
    originals = {f["path"]: (folder / f["path"]).read_bytes() for f in files}
    target, doc = _registered(tmp_path, folder)
    for f in files:
        copy = target / f["path"]
        if f["path"].endswith(".csv"):
            text = copy.read_text(encoding="utf-8-sig")
            header = text.splitlines()[0]
            for column in f["drop_columns"]:
                assert column in header  # the header stays: the copy is read as the export was
        else:
            text = "\n".join(",".join("" if v is None else str(v) for v in row)
                             for row in pd.read_excel(copy, header=None).itertuples(index=False))
        assert not [s for s in IDENTIFYING if s in text], f"{f['path']} still holds an identifier"
        assert (folder / f["path"]).read_bytes() == originals[f["path"]]  # the charity's file is untouched
    assert doc["original_files"] == [{"path": f["path"], "sha256": file_hash(folder / f["path"])} for f in files]
    assert check_evaluation(target).ok
    _same_rows(folder, target)


def test_an_identifier_the_original_holds_in_plain_sight_is_really_there_before_screening():
    # the fixtures carry the identifiers the test above proves are gone (else it could not fail)
    from tests.test_survey_tools import EXPORTS
    text = (EXPORTS / "odk_central_baseline.csv").read_text(encoding="utf-8-sig")
    assert "Test Person" in text or "@example.org" in text


def test_a_file_with_nothing_to_drop_is_copied_byte_for_byte(tmp_path):
    from tests.test_bad_inputs import evaluation as base_evaluation
    folder = base_evaluation(tmp_path)
    target, doc = _registered(tmp_path, folder)
    for name in ("survey.csv", "evaluation.yaml"):
        assert (target / name).read_bytes() == (folder / name).read_bytes()
    assert doc["original_files"] == [{"path": "survey.csv", "sha256": file_hash(folder / "survey.csv")}]


def test_an_spss_file_keeps_its_value_labels_and_loses_its_email_column(tmp_path):
    from tests.test_bad_inputs import BASE_CSV, BASE_MANIFEST, ID, evaluation as base_evaluation
    base = pd.read_csv(BASE_CSV, dtype=str)
    df = base.copy()
    df["email"] = [f"test.person.{i}@example.org" for i in range(len(df))]
    for col in df.columns.drop("email"):
        numbers = pd.to_numeric(df[col], errors="coerce")
        if numbers.notna().sum() == df[col].notna().sum():
            df[col] = numbers
    folder = base_evaluation(tmp_path, None, name="survey.sav", file={"drop_columns": ["email"]})
    outcome = BASE_MANIFEST["outcomes"][0]["column"]
    labels = {outcome: {1.0: "one", 2.0: "two"}} if pd.api.types.is_numeric_dtype(df[outcome]) else {}
    pyreadstat.write_sav(df, str(folder / "survey.sav"), variable_value_labels=labels)
    assert check_evaluation(folder).ok, check_evaluation(folder).problems
    target, doc = _registered(tmp_path, folder)
    copy, meta = pyreadstat.read_sav(str(target / "survey.sav"))
    assert (copy["email"].fillna("") == "").all()
    assert meta.variable_value_labels == labels
    pd.testing.assert_frame_equal(copy.drop(columns="email"), pyreadstat.read_sav(str(folder / "survey.sav"))[0]
                                  .drop(columns="email"))
    _same_rows(folder, target)
    assert ID == target.name
