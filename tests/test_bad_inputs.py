"""The bad-input corpus: every way a charity's files go wrong, and exactly what the user sees.

Each case is a committed file in tests/bad_inputs/ (where the bytes matter: encodings,
malformed CSV, Excel, SPSS, Stata; written by tests/bad_inputs/make_corpus.py) or a named
mutation of the corpus's small valid evaluation, tests/bad_inputs/base/ (24 invented
people, 2 waves; spreadsheet row 2 is P01's baseline row, row 26 P01's follow-up row).

A case ends in one of three ways, and the test asserts which, word for word:
  refused      IntakeError naming the file, row, column and the fix;
  structural   StructuralError listing every problem with the data as a whole;
  quarantined  the run goes on; these rows are set aside, each with its check and reason,
               and rows read = rows validated + rows quarantined, per file and wave.
"""
from __future__ import annotations

import copy
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evaluations.intake import readers
from evaluations.intake.privacy import KEY_ENV
from evaluations.intake.readers import IntakeError
from evaluations.intake.validate import StructuralError, read_raw, reconcile, validate
from evaluations.measures import load_measures
from evaluations.registry import ManifestError, load_manifest

CORPUS = Path(__file__).parent / "bad_inputs"
BASE_MANIFEST = yaml.safe_load((CORPUS / "base" / "evaluation.yaml").read_text(encoding="utf-8"))
BASE_CSV = CORPUS / "base" / "survey.csv"
ID = BASE_MANIFEST["id"]
CLI = str(Path(sys.executable).parent / "commonground")

PRIVACY_FIX = ("Fix: delete the column from the file, or list it under files.drop_columns in evaluation.yaml "
               "so it is removed at intake")
SEPARATOR_FIX = ("Fix: check the separators (',') and quotes on that row: a cell holding the separator must be "
                 "enclosed in quotes")
STRUCTURAL_FIX = ". Fix: correct the data or evaluation.yaml as each problem says, then run again"
MIXING_CODES = ("'mixing' is not one of the valid codes [1, 2, 3, 4, 5] for 'Mixing socially with people from "
                "different backgrounds' (or a missing-value code)")
BELONGING_CODES = ("'belonging' is not one of the valid codes [1, 2, 3, 4] for 'Belonging to the neighbourhood' "
                   "(or a missing-value code)")
SAME_WAVE_TWICE = "the same person has different answers twice in one wave: keep the right one and delete the other"
MISSING_FEMALE = ("column 'female' named in evaluation.yaml is not in the data; survey.csv has 'respondent_id', "
                  "'wave', 'took_part', 'age', 'town', 'mixing', 'belonging', 'region': write the name exactly as "
                  "the file has it, or map the file's name to 'female' with files.rename")
WIDE = {"layout": "wide", "wave_suffixes": {"baseline": "_pre", "follow-up": "_post"}}


@pytest.fixture(autouse=True)
def _no_key_from_the_environment(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)  # the synthetic corpus uses the published synthetic key


# ------------------------------------------------------------------ named mutations of base/

def base_table() -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(BASE_CSV.open(encoding="utf-8", newline="")))
    return header, rows


def as_csv(header: list[str], rows: list[list[str]]) -> bytes:
    return "".join(",".join(r) + "\n" for r in [header] + rows).encode()


def set_cells(*cells: tuple[int, str, str]) -> bytes:
    """The base with (spreadsheet row, column, new text) changed; row 2 is the first data row."""
    header, rows = base_table()
    for row, column, value in cells:
        rows[row - 2][header.index(column)] = value
    return as_csv(header, rows)


def add_column(name: str, values: dict[int, str]) -> bytes:
    """The base with one more column, `values` by spreadsheet row, empty elsewhere."""
    header, rows = base_table()
    return as_csv(header + [name], [r + [values.get(i + 2, "")] for i, r in enumerate(rows)])


def drop_column(name: str) -> bytes:
    header, rows = base_table()
    i = header.index(name)
    return as_csv(header[:i] + header[i + 1:], [r[:i] + r[i + 1:] for r in rows])


def append_rows(*rows_to_add: list[str]) -> bytes:
    """New rows at the end of the file: the first is spreadsheet row 50."""
    header, rows = base_table()
    return as_csv(header, rows + [list(r) for r in rows_to_add])


def copy_of_row(row: int, **changes: str) -> list[str]:
    header, rows = base_table()
    out = list(rows[row - 2])
    for column, value in changes.items():
        out[header.index(column)] = value
    return out


def long_cell() -> bytes:
    return add_column("extra", {4: "x" * 40_000})


def every_row(column: str, value: str) -> bytes:
    header, rows = base_table()
    return set_cells(*[(i + 2, column, value) for i in range(len(rows))])


# -------------------------------------------------------------------------- running intake

def evaluation(tmp_path: Path, data: bytes | str | None = "base/survey.csv", *, name: str = "survey.csv",
               file: dict | None = None, design: dict | None = None, **manifest) -> Path:
    """An evaluation folder: the base manifest (with changes) and one data file (corpus file or bytes)."""
    folder = tmp_path / ID
    folder.mkdir(parents=True)
    m = copy.deepcopy(BASE_MANIFEST)
    m["files"][0].update({"path": name, **(file or {})})
    m["design"].update(design or {})
    m.update(manifest)
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(m, sort_keys=False), encoding="utf-8")
    if isinstance(data, bytes):
        (folder / name).write_bytes(data)
    elif data is not None:
        shutil.copyfile(CORPUS / data, folder / name)
    return folder


def intake(folder: Path):
    """read_raw -> validate -> reconcile, as the pipeline runs them."""
    manifest = load_manifest(folder)
    raw = read_raw(folder, manifest)
    result = validate(raw, manifest, load_measures())
    table = reconcile(raw, result.valid, result.quarantine, manifest.design.wave)
    return raw, result, table


def refused(folder: Path) -> IntakeError:
    with pytest.raises(IntakeError) as caught:
        intake(folder)
    assert not isinstance(caught.value, StructuralError), caught.value
    return caught.value


def structural(folder: Path) -> list[str]:
    with pytest.raises(StructuralError) as caught:
        intake(folder)
    return caught.value.problems


def quarantined(result) -> list[tuple]:
    q = result.quarantine
    return list(zip(q["_source_file"], q["_source_row"], q["wave"], q["check"], q["column"], q["value"], q["reason"]))


# ------------------------------------------------------------------------------- refused

REFUSED = [
    # (case, data, evaluation changes, the exact message, row, column)
    ("unclosed quote", "unclosed_quote.csv", {},
     "survey.csv, row 7: a quote (\") opened in this row is never closed, so the rest of the file would be read "
     "as one cell. Fix: close the quote, or remove it; a quote inside a cell is written twice (\"\")", 7, None),
    ("ragged row with an extra cell", "ragged_long_row.csv", {},
     f"survey.csv, row 5: this row has 10 cells but the header has 9. {SEPARATOR_FIX}", 5, None),
    ("ragged row with cells missing", "ragged_short_row.csv", {},
     f"survey.csv, row 9: this row has 7 cells but the header has 9. {SEPARATOR_FIX}", 9, None),
    ("empty file", "empty.csv", {},
     "survey.csv: the file is empty. Fix: send the file with its header row and data", None, None),
    ("file of blank lines", "blank.csv", {},
     "survey.csv: the file is empty. Fix: send the file with its header row and data", None, None),
    ("a blank row above the header", b"\n" + BASE_CSV.read_bytes(), {},
     "survey.csv, row 1: the first row is blank; the header row must be row 1. Fix: delete the blank rows above "
     "the header", 1, None),
    ("header only", "header_only.csv", {},
     "survey.csv, row 2: the file has a header but no data rows. Fix: put the survey answers under the header "
     "row, one row per person and wave", 2, None),
    ("binary garbage named .csv", "binary_garbage.csv", {},
     "survey.csv: this is not a text CSV file (it holds binary data). Fix: export the data as CSV, or name the "
     "real format (.xlsx, .sav, .dta) in files.path", None, None),
    ("an .xlsx workbook named .csv", "formulas.xlsx", {},
     "survey.csv: this is not a text CSV file (it holds binary data). Fix: export the data as CSV, or name the "
     "real format (.xlsx, .sav, .dta) in files.path", None, None),
    ("garbage named .xlsx", "binary_garbage.csv", {"name": "survey.xlsx"},
     "survey.xlsx: this is not a readable .xlsx workbook (BadZipFile). Fix: open it in Excel and save it again "
     "as .xlsx", None, None),
    ("garbage named .sav", "binary_garbage.csv", {"name": "survey.sav"},
     "survey.sav: this is not a readable .sav file (Invalid file, or file has unsupported features). Fix: save "
     "it again from SPSS/Stata as .sav", None, None),
    ("a cell longer than a spreadsheet cell can be", long_cell(), {},
     "survey.csv, row 4: a cell is longer than 32,767 characters, the most a spreadsheet cell can hold, so it is "
     "not a survey answer. Fix: remove the over-long text from that row (it was probably pasted by mistake), or "
     "check that every quote is closed", 4, None),
    ("bytes that are neither UTF-8 nor Windows-1252", "undecodable.csv",
     {"design": {"effect_modifiers": ["town", "fee"]}},
     "survey.csv, row 6: the text cannot be read: byte 0x81 is not UTF-8 or Windows-1252 text. Fix: open it in "
     "Excel and save it again as 'CSV UTF-8 (Comma delimited)'", 6, None),
    ("the same column name twice", add_column("mixing", {}), {},
     "survey.csv, column 'mixing': the header has 'mixing' twice, which both become column 'mixing'. Fix: give "
     "every column a different name (check files.rename in evaluation.yaml)", None, "mixing"),
    ("wrong sheet name", "formulas.xlsx", {"name": "survey.xlsx", "file": {"sheet": "Sheet1"}},
     "survey.xlsx: there is no sheet named 'Sheet1' (sheets: Responses, Notes). Fix: set files.sheet in "
     "evaluation.yaml to one of those sheet names", None, None),
    ("wide file missing one wave's column", "wide_missing_wave_column.csv", {"file": WIDE},
     "survey.csv, column 'belonging_post': the wide layout needs column 'belonging_post', which is not in the "
     "file. Fix: name each outcome column <outcome><wave suffix>, as files.wave_suffixes says",
     None, "belonging_post"),
    ("planted email address", add_column("contact", {8: "jane.doe@example.org"}), {},
     f"survey.csv, row 8, column 'contact': the column looks like it holds an email address, which must not "
     f"leave the charity. {PRIVACY_FIX}", 8, "contact"),
    ("planted postcode", add_column("area", {9: "SW1A 1AA"}), {},
     f"survey.csv, row 9, column 'area': the column looks like it holds a full postcode, which must not leave "
     f"the charity. {PRIVACY_FIX}", 9, "area"),
    ("planted phone number", add_column("contact_number", {10: "07700 900123"}), {},
     f"survey.csv, row 10, column 'contact_number': the column looks like it holds a phone number, which must "
     f"not leave the charity. {PRIVACY_FIX}", 10, "contact_number"),
    ("an email address as a declared answer", set_cells((11, "town", "jane.doe@example.org")), {},
     f"survey.csv, row 11, column 'town': the column looks like it holds an email address, which must not "
     f"leave the charity. {PRIVACY_FIX}", 11, "town"),
    ("an email address in a column with no header", add_column("", {8: "jane.doe@example.org"}), {},
     f"survey.csv, row 8, column '(no header, column J)': the column looks like it holds an email address, which "
     f"must not leave the charity. {PRIVACY_FIX}", 8, "(no header, column J)"),
    ("name column", add_column("first_name", {i: "Jane" for i in range(2, 50)}), {},
     f"survey.csv, column 'first_name': the column looks like it holds a name, which must not leave the "
     f"charity. {PRIVACY_FIX}", None, "first_name"),
    ("date-of-birth column", add_column("date_of_birth", {i: "01/02/2003" for i in range(2, 50)}), {},
     f"survey.csv, column 'date_of_birth': the column looks like it holds a date of birth, which must not "
     f"leave the charity. {PRIVACY_FIX}", None, "date_of_birth"),
    ("a date of birth under another name", add_column("born", {11: "14/03/2008"}), {},
     f"survey.csv, row 11, column 'born': the column looks like it holds a date of birth, which must not "
     f"leave the charity. {PRIVACY_FIX}", 11, "born"),
    ("free-text column", add_column("how_was_it", {i: "It was a lovely day out and I met new people from the "
                                                      "other town" for i in range(20, 40)}), {},
     f"survey.csv, row 20, column 'how_was_it': the column looks like it holds free text, which must not "
     f"leave the charity. {PRIVACY_FIX}", 20, "how_was_it"),
]


@pytest.mark.parametrize("case,data,changes,message,row,column", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_with_file_row_column_and_fix(tmp_path, case, data, changes, message, row, column):
    err = refused(evaluation(tmp_path, data, **changes))
    assert str(err) == message
    assert (err.file, err.row, err.column) == (changes.get("name", "survey.csv"), row, column)


def test_a_missing_data_file_names_where_to_put_it(tmp_path):
    folder = evaluation(tmp_path, None)
    err = refused(folder)
    assert str(err) == (f"survey.csv: the file named in evaluation.yaml is not there. Fix: copy it into {folder} "
                        "or correct files.path")


def test_a_file_above_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    folder = evaluation(tmp_path)
    assert BASE_CSV.stat().st_size == 1901
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 1900)
    err = refused(folder)
    assert str(err) == ("survey.csv: the file is 1,901 bytes, above the intake limit of 1,900 bytes. Fix: split it "
                        "into several files (for example one per wave) and list each one under files")
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 1901)  # at the limit exactly: read
    assert len(intake(folder)[0]) == 48


def test_a_symlink_out_of_the_evaluation_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere.csv"
    shutil.copyfile(BASE_CSV, outside)
    folder = evaluation(tmp_path, None)
    (folder / "survey.csv").symlink_to(outside)
    err = refused(folder)
    assert str(err) == ("survey.csv: the path points outside the evaluation folder. Fix: put the file beside "
                        "evaluation.yaml and name it relative to that folder")


def test_a_second_file_lacking_a_column_the_first_has_is_named(tmp_path):
    folder = evaluation(tmp_path)
    m = yaml.safe_load((folder / "evaluation.yaml").read_text())
    m["files"].append({"path": "late_returns.csv"})
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(m))
    (folder / "late_returns.csv").write_bytes(drop_column("female"))
    err = refused(folder)
    assert str(err) == ("late_returns.csv, column 'female': column 'female' named in evaluation.yaml is not in "
                        "this file, though other files of this evaluation have it; this file has 'respondent_id', "
                        "'wave', 'took_part', 'age', 'town', 'mixing', 'belonging', 'region'. Fix: add the column to "
                        "this file, or map its name with files.rename")


def test_a_real_evaluation_without_the_pseudonym_key_names_the_variable(tmp_path):
    err = refused(evaluation(tmp_path, synthetic=False))
    assert err.file == "(environment)"
    assert str(err) == (
        "(environment): COMMONGROUND_PSEUDONYM_KEY is not set, so respondent ids cannot be pseudonymised. "
        "Fix: set COMMONGROUND_PSEUDONYM_KEY to a long random secret kept outside the repository (the same one "
        "every run, so people link across waves), e.g. `export COMMONGROUND_PSEUDONYM_KEY=$(python -c 'import "
        "secrets; print(secrets.token_hex(32))')`")


def test_with_the_key_set_ids_are_hashed_with_it(tmp_path, monkeypatch):
    folder = evaluation(tmp_path, synthetic=False)
    monkeypatch.setenv(KEY_ENV, "a-long-test-secret-that-is-not-the-synthetic-one")
    keyed = read_raw(folder, load_manifest(folder))
    monkeypatch.delenv(KEY_ENV)
    synthetic = read_raw(evaluation(tmp_path / "s"), load_manifest(tmp_path / "s" / ID))
    assert keyed["respondent_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert not set(keyed["respondent_id"]) & set(synthetic["respondent_id"])
    assert keyed["respondent_id"].nunique() == 24


# --------------------------------------------------------------------- manifest problems

def test_a_files_path_out_of_the_folder_is_refused_in_the_manifest(tmp_path):
    with pytest.raises(ManifestError) as caught:
        load_manifest(evaluation(tmp_path, name="../survey.csv", data=None))
    assert caught.value.problems == [
        "files.0.path: files path '../survey.csv' points outside the evaluation folder; put the file beside "
        "evaluation.yaml and give its name relative to that folder"]


@pytest.mark.parametrize("manifest,problem", [
    ("not_yaml.yaml", "line 4, column 1: not valid YAML (found unexpected end of stream); check indentation and quotes"),
    ("not_utf8.yaml", "is not UTF-8 text; save it as UTF-8"),
], ids=["not YAML", "not UTF-8"])
def test_a_manifest_that_is_not_yaml_says_where(tmp_path, manifest, problem):
    folder = tmp_path / ID
    folder.mkdir()
    shutil.copyfile(CORPUS / manifest, folder / "evaluation.yaml")
    with pytest.raises(ManifestError) as caught:
        load_manifest(folder)
    assert caught.value.problems == [problem]
    assert str(caught.value) == f"{folder / 'evaluation.yaml'}:\n  - {problem}"


# ---------------------------------------------------------------------------- structural

STRUCTURAL = [
    ("unknown wave label", set_cells((10, "wave", "Baseline")), {},
     ["'wave' holds a wave label that is not in evaluation.yaml (baseline, follow-up): found text, 8 "
      "characters (survey.csv row 10); use exactly the labels in evaluation.yaml or correct design.waves / baseline / "
      "follow_up"]),
    ("missing required column", drop_column("female"), {},
     [MISSING_FEMALE]),
    ("all-missing outcome column", every_row("belonging", ""), {},
     ["column 'belonging' is empty in every row of survey.csv (or holds only missing-value codes), so there is "
      "nothing to analyse; fill it in, or take it out of evaluation.yaml"]),
    ("covariate holding only missing-value codes", every_row("age", "-9"), {},
     ["column 'age' is empty in every row of survey.csv (or holds only missing-value codes), so there is "
      "nothing to analyse; fill it in, or take it out of evaluation.yaml"]),
    ("every problem at once", drop_column("female").replace(b"follow-up", b"Follow up"), {},
     [MISSING_FEMALE,
      "'wave' holds a wave label that is not in evaluation.yaml (baseline, follow-up): found text, 9 "
      "characters (survey.csv row 26) and 23 more rows; use exactly the labels in evaluation.yaml or correct "
      "design.waves / baseline / "
      "follow_up"]),
    ("too few rows left after quarantine",
     set_cells(*[(r, "took_part", "maybe") for r in (2, 3, 4, 26, 27, 28)]), {},
     ["too few rows left: the programme group has 9 people after 6 rows were quarantined; at least 10 are "
      "needed (most often treatment_is_0_or_1, 6 row(s), e.g. survey.csv row 2: 'took_part' holds text, 5 characters; "
      "use 1/yes for took part, 0/no for comparison, or list each group's answers under design.groups; see the "
      "quarantine table for the rest)"]),
    ("second header row read as data (header_rows not set)", "two_header_rows.xlsx",
     {"name": "survey.xlsx", "file": {"sheet": "Responses"}},
     ["'wave' holds a wave label that is not in evaluation.yaml (baseline, follow-up): found text, 11 characters "
      "(survey.xlsx row 2); use exactly the labels in evaluation.yaml or correct design.waves / baseline / "
      "follow_up"]),
    ("SPSS wave labels that are not the manifest's", "labels_not_waves.sav", {"name": "survey.sav"},
     ["'wave' holds a wave label that is not in evaluation.yaml (baseline, follow-up): found text, 15 characters "
      "(survey.sav row 1) and 47 more rows; use exactly the labels in evaluation.yaml or "
      "correct design.waves / baseline / follow_up"]),
]


@pytest.mark.parametrize("case,data,changes,problems", STRUCTURAL, ids=[c[0] for c in STRUCTURAL])
def test_structural_problems_are_listed_together(tmp_path, case, data, changes, problems):
    assert structural(evaluation(tmp_path, data, **changes)) == problems


def test_a_structural_error_reads_as_one_message(tmp_path):
    with pytest.raises(StructuralError) as caught:
        intake(evaluation(tmp_path, drop_column("female")))
    assert str(caught.value) == "(all data files): " + MISSING_FEMALE + STRUCTURAL_FIX


# --------------------------------------------------------------------------- quarantined

QUARANTINED = [
    # (case, data, evaluation changes, rows set aside: (file, row, wave, check, column, value, reason))
    ("non-numeric text in a numeric column", set_cells((12, "mixing", "a lot")), {},
     [("survey.csv", 12, "baseline", "mixing_is_a_number", "mixing", "text, 5 characters",
       "'mixing' holds text, 5 characters, which is not a number or a missing-value code")]),
    ("personal text typed into a score is kept only as its kind and length",
     set_cells((12, "mixing", "call 07700 900123 now"), (13, "age", "=HYPERLINK(\"jane.doe@example.org\")")), {},
     [("survey.csv", 12, "baseline", "mixing_is_a_number", "mixing", "text, 21 characters",
       "'mixing' holds text, 21 characters, which is not a number or a missing-value code"),
      ("survey.csv", 13, "baseline", "formula_cell", "age", "formula, 34 characters",
       "'age' holds a spreadsheet formula (formula, 34 characters); formulas are never evaluated: type the value "
       "itself (in Excel: Copy, then Paste Special, Values)")]),
    # pandas' number parser crashes the process (segmentation fault) on this exponent: it is never handed one
    ("a number with a huge exponent", set_cells((12, "mixing", "9e367914291352"), (13, "took_part", "9e367914291352")),
     {}, [("survey.csv", 12, "baseline", "mixing_is_a_number", "mixing", "text, 14 characters",
           "'mixing' holds text, 14 characters, which is not a number or a missing-value code"),
          ("survey.csv", 13, "baseline", "treatment_is_0_or_1", "took_part", "text, 14 characters",
           "'took_part' holds text, 14 characters; use 1/yes for took part, 0/no for comparison, or list each "
           "group's answers under design.groups")]),
    ("out-of-range codes", set_cells((13, "mixing", "7"), (14, "age", "120"), (40, "belonging", "0")), {},
     [("survey.csv", 13, "baseline", "mixing_valid", "mixing", "number, 1 character", MIXING_CODES),
      ("survey.csv", 14, "baseline", "age_in_range", "age", "number, 3 characters",
       "'age' is outside the plausible range 16 to 90 given in evaluation.yaml"),
      ("survey.csv", 40, "follow-up", "belonging_valid", "belonging", "number, 1 character", BELONGING_CODES)]),
    ("a treatment that is neither yes nor no", set_cells((15, "took_part", "maybe")), {},
     [("survey.csv", 15, "baseline", "treatment_is_0_or_1", "took_part", "text, 5 characters",
       "'took_part' holds text, 5 characters; use 1/yes for took part, 0/no for comparison, or list each "
           "group's answers under design.groups")]),
    ("same person twice in a wave with different answers", append_rows(copy_of_row(4, mixing="1")), {},
     [("survey.csv", 4, "baseline", "one_row_per_unit_and_wave", "respondent_id", "text, 16 characters",
       SAME_WAVE_TWICE),
      ("survey.csv", 50, "baseline", "one_row_per_unit_and_wave", "respondent_id", "text, 16 characters",
       SAME_WAVE_TWICE)]),
    ("exact duplicate rows", append_rows(copy_of_row(30), copy_of_row(30)), {},
     [("survey.csv", 50, "follow-up", "exact_duplicate", "", "", "exact copy of survey.csv row 30"),
      ("survey.csv", 51, "follow-up", "exact_duplicate", "", "", "exact copy of survey.csv row 30")]),
    ("treatment switching within a person", set_cells((31, "took_part", "0")), {},
     [("survey.csv", 7, "baseline", "treatment_constant_within_unit", "took_part", "number, 1 character",
       "this person is recorded as both taking part and not in 'took_part'; correct the group in every wave"),
      ("survey.csv", 31, "follow-up", "treatment_constant_within_unit", "took_part", "number, 1 character",
       "this person is recorded as both taking part and not in 'took_part'; correct the group in every wave")]),
    ("an empty id and an empty wave", set_cells((16, "respondent_id", ""), (41, "wave", "")), {},
     [("survey.csv", 16, "baseline", "unit_id_recorded", "respondent_id", "empty",
       "'respondent_id' is empty: every row needs the respondent's id"),
      ("survey.csv", 41, "", "wave_recorded", "wave", "empty",
       "'wave' is empty: say which survey wave this row belongs to")]),
    ("control characters and a typed formula", "hostile_cells.csv", {},
     [("survey.csv", 3, "baseline", "control_characters", "mixing", "text with a control character, 2 characters",
       "'mixing' holds text with a control character, 2 characters, with a control character nobody types; "
       "retype the value"),
      ("survey.csv", 5, "baseline", "formula_cell", "belonging", "formula, 18 characters",
       "'belonging' holds a spreadsheet formula (formula, 18 characters); formulas are never evaluated: type "
       "the value itself (in Excel: Copy, then Paste Special, Values)")]),
    ("spreadsheet formulas with no cached value", "formulas.xlsx", {"name": "survey.xlsx"},
     [("survey.xlsx", 4, "baseline", "formula_cell", "mixing", "formula, 4 characters",
       "'mixing' holds a spreadsheet formula (formula, 4 characters); formulas are never evaluated: type the "
       "value itself (in Excel: Copy, then Paste Special, Values)"),
      ("survey.xlsx", 6, "baseline", "formula_cell", "belonging", "formula, 54 characters",
       "'belonging' holds a spreadsheet formula (formula, 54 characters); formulas are never evaluated: type "
       "the value itself (in Excel: Copy, then Paste Special, Values)")]),
    ("blank lines keep the file's row numbers", "blank_rows.csv", {},
     [("survey.csv", 13, "baseline", "mixing_valid", "mixing", "number, 1 character", MIXING_CODES)]),
    ("xlsx with two header rows", "two_header_rows.xlsx",
     {"name": "survey.xlsx", "file": {"sheet": "Responses", "header_rows": 2}},
     [("survey.xlsx", 10, "baseline", "mixing_valid", "mixing", "number, 1 character", MIXING_CODES)]),
    ("SPSS .sav with value labels", "value_labels.sav", {"name": "survey.sav"},
     [("survey.sav", 7, "baseline", "mixing_valid", "mixing", "number, 1 character", MIXING_CODES)]),
    ("SPSS .sav whose waves the manifest names by code", "value_labels.sav",
     {"name": "survey.sav", "design": {"baseline": "1", "follow_up": "2"}},
     [("survey.sav", 7, "1", "mixing_valid", "mixing", "number, 1 character", MIXING_CODES)]),
    ("Stata .dta with a missing value", "panel.dta", {"name": "survey.dta"},
     [("survey.dta", 7, "baseline", "belonging_valid", "belonging", "number, 1 character", BELONGING_CODES),
      ("survey.dta", 9, "baseline", "age_recorded", "age", "empty",
       "covariate 'age' is empty, so this row cannot be compared like with like")]),
    ("wide file", "wide.csv", {"file": WIDE},
     [("survey.csv", 7, "follow-up", "belonging_valid", "belonging", "number, 1 character", BELONGING_CODES)]),
]


@pytest.mark.parametrize("case,data,changes,expected", QUARANTINED, ids=[c[0] for c in QUARANTINED])
def test_quarantined_rows_carry_file_row_check_and_reason(tmp_path, case, data, changes, expected):
    raw, result, table = intake(evaluation(tmp_path, data, **changes))
    q = result.quarantine
    assert quarantined(result) == expected
    assert len(raw) == len(result.valid) + len(q)
    assert (table["read"] == table["validated"] + table["quarantined"]).all()
    assert q["unit"].where(q["unit"] != "", "0" * 16).str.fullmatch(r"[0-9a-f]{16}").all()  # pseudonyms only


def test_raw_rows_keep_valid_cells_and_describe_the_rest(tmp_path):
    raw, _, _ = intake(evaluation(tmp_path, set_cells((12, "mixing", "call 07700 900123 now"), (13, "mixing", "-9"),
                                                      (14, "took_part", "maybe"), (15, "town", "=1+1"))))
    rows = raw.set_index("_source_row")
    assert rows.loc[[12, 13, 14, 15, 16], ["mixing", "took_part", "town"]].values.tolist() == [
        ["text, 21 characters", "1", "Lambeth"], ["-9", "1", "Boston"], ["2", "text, 5 characters", "Lambeth"],
        ["4", "0", "formula, 4 characters"], ["1", "0", "Boston"]]  # valid cells and missing-value codes stay
    assert not raw.isin(["call 07700 900123 now", "maybe", "=1+1"]).any(axis=None)


def test_missing_value_codes_are_missing_answers_not_quarantined(tmp_path):
    data = set_cells((17, "mixing", "-9"), (18, "mixing", "Don't know"), (19, "belonging", "-9.0"),
                     (20, "belonging", " don't know "), (21, "age", "-9"))
    raw, result, table = intake(evaluation(tmp_path, data))
    assert result.missing_answers == {"mixing": 2, "belonging": 2}
    assert result.valid["mixing"].isna().sum() == 2 and result.valid["belonging"].isna().sum() == 2
    # a covariate given as a missing-value code is missing, and a row without its covariates is set aside
    assert quarantined(result) == [("survey.csv", 21, "baseline", "age_recorded", "age", "number, 2 characters",
                                    "covariate 'age' is empty, so this row cannot be compared like with like")]


def test_reconciliation_holds_per_file_and_wave_for_a_wide_file(tmp_path):
    raw, result, table = intake(evaluation(tmp_path, "wide.csv", file=WIDE))
    assert table.to_dict("records") == [
        {"file": "survey.csv", "wave": "baseline", "read": 24, "validated": 24, "quarantined": 0},
        {"file": "survey.csv", "wave": "follow-up", "read": 22, "validated": 21, "quarantined": 1}]
    # P04 answered nothing at follow-up (attrition); P05 answered nothing at all, yet is still counted
    p05 = raw[raw["_source_row"] == 6]
    assert p05["wave"].tolist() == ["baseline"] and p05[["mixing", "belonging"]].eq("").all(axis=None)
    assert sorted(raw.loc[raw["_source_row"] == 5, "wave"]) == ["baseline"]


def test_reconciliation_counts_a_row_with_no_wave(tmp_path):
    _, _, table = intake(evaluation(tmp_path, set_cells((41, "wave", ""))))
    assert table.to_dict("records") == [
        {"file": "survey.csv", "wave": "(no wave)", "read": 1, "validated": 0, "quarantined": 1},
        {"file": "survey.csv", "wave": "baseline", "read": 24, "validated": 24, "quarantined": 0},
        {"file": "survey.csv", "wave": "follow-up", "read": 23, "validated": 23, "quarantined": 0}]


def test_formula_cells_are_read_as_formulas_not_as_values(tmp_path):
    """openpyxl leaves no cached value; pandas' reader would have made these cells silently empty."""
    folder = evaluation(tmp_path, "formulas.xlsx", name="survey.xlsx")
    manifest = load_manifest(folder)
    df = readers.read_file(folder, manifest.files[0], manifest)
    assert df.loc[df["_source_row"] == 4, "mixing"].tolist() == ["=1+1"]
    assert df.loc[df["_source_row"] == 3, "link"].tolist() == ['=HYPERLINK("https://example.org","more")']
    assert pd.isna(pd.read_excel(folder / "survey.xlsx").loc[2, "mixing"])  # the gap this closes: silently missing
    assert "link" not in read_raw(folder, manifest).columns  # undeclared: never reaches the warehouse


# ------------------------------------------------------------------------ read correctly

@pytest.mark.parametrize("data", ["fee_cp1252.csv", "fee_utf8_bom.csv", "fee_utf16.csv"],
                         ids=["Windows-1252", "UTF-8 with BOM", "UTF-16 tab-separated"])
def test_excel_encodings_read_pound_signs_correctly(tmp_path, data):
    folder = evaluation(tmp_path, data, design={"effect_modifiers": ["town", "fee"]})
    raw, result, _ = intake(folder)
    assert list(raw.columns[:2]) == ["respondent_id", "took_part"]  # no byte-order mark glued to a name
    assert sorted(raw["fee"].unique()) == ["£0", "£25"]
    assert result.quarantine.empty and len(result.valid) == 48
    assert (raw.loc[raw["took_part"] == "1", "fee"] == "£25").all()


def test_a_semicolon_separated_csv_reads_as_the_comma_one(tmp_path):
    semicolons, _, _ = intake(evaluation(tmp_path / "a", "semicolons.csv"))
    commas, _, _ = intake(evaluation(tmp_path / "b"))
    pd.testing.assert_frame_equal(semicolons, commas)


def test_spss_value_labels_become_the_manifest_wave_labels(tmp_path):
    raw, result, _ = intake(evaluation(tmp_path, "value_labels.sav", name="survey.sav"))
    assert sorted(raw["wave"].unique()) == ["baseline", "follow-up"]
    assert sorted(raw["town"].unique()) == ["Boston", "Lambeth"]  # a labelled effect modifier reads as its label
    assert sorted(raw["took_part"].unique()) == ["0", "1"]  # the treatment stays coded
    assert sorted(raw["mixing"].unique()) == ["1", "2", "3", "4", "5", "6"]  # outcomes stay the measure's codes


@pytest.mark.parametrize("column,value", [("contact", "jane.doe@example.org"), ("area", "SW1A 1AA"),
                                          ("contact_number", "07700 900123")])
def test_an_identifier_listed_in_drop_columns_is_removed_at_intake(tmp_path, column, value):
    folder = evaluation(tmp_path, add_column(column, {8: value}), file={"drop_columns": [column]})
    raw, result, _ = intake(folder)
    assert column not in raw.columns
    assert not raw.isin([value]).any(axis=None)
    assert result.quarantine.empty and len(result.valid) == 48


def test_drop_columns_may_use_the_name_in_the_file_or_the_renamed_one(tmp_path):
    data = add_column("Email", {8: "jane.doe@example.org"})
    for i, drop in enumerate(["Email", "email"]):
        folder = evaluation(tmp_path / str(i), data, file={"rename": {"Email": "email"}, "drop_columns": [drop]})
        assert "email" not in read_raw(folder, load_manifest(folder)).columns


# ----------------------------------------------------------------------------- the CLI

def cg_check(folder: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    proc = subprocess.run([CLI, "check", str(folder)], capture_output=True, text=True, timeout=120,
                          env={**environ, "COLUMNS": "200", **(env or {})})
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


@pytest.mark.parametrize("case", ["unclosed quote", "planted email address", "missing key", "not YAML"])
def test_check_exits_2_with_the_message_and_no_traceback(tmp_path, case):
    if case == "not YAML":
        folder = tmp_path / ID
        folder.mkdir()
        shutil.copyfile(CORPUS / "not_yaml.yaml", folder / "evaluation.yaml")
        expected = (f"{folder / 'evaluation.yaml'}: line 4, column 1: not valid YAML (found unexpected end of "
                    "stream); check indentation and quotes")
    elif case == "missing key":
        folder = evaluation(tmp_path, synthetic=False)
        expected = "(environment): COMMONGROUND_PSEUDONYM_KEY is not set"
    else:
        data, message = {
            "unclosed quote": ("unclosed_quote.csv", "row 7: a quote (\") opened in this row is never closed"),
            "planted email address": (add_column("contact", {8: "jane.doe@example.org"}),
                                      "row 8, column 'contact': the column looks like it holds an email address"),
        }[case]
        folder = evaluation(tmp_path, data)
        expected = f"{folder / 'survey.csv'}, {message}"
    proc = cg_check(folder)
    assert proc.returncode == 2
    assert "1 problem(s) to fix" in proc.stderr
    assert f"  • {expected}" in proc.stderr


def test_check_survives_markup_in_a_data_value(tmp_path):
    proc = cg_check(evaluation(tmp_path, set_cells((10, "wave", "[/]"))))
    assert proc.returncode == 2 and "found text, 3 characters (survey.csv row 10)" in proc.stderr
