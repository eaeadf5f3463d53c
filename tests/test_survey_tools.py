"""Survey-tool exports: recognised from their header rows, read as their tool writes them, refused with the fix.

The exports in tests/fixtures/exports/ are synthetic (written by make_exports.py there): one
small before-and-after evaluation as Google Forms, Microsoft Forms, SurveyMonkey, Qualtrics,
KoboToolbox and ODK Central export it.
"""
from __future__ import annotations

import copy
import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
import yaml

from evaluations.checking import check_evaluation
from evaluations.intake import exports
from evaluations.intake.exports import identifier_kind, is_tool_metadata
from evaluations.intake.exports.paths import shorten
from evaluations.intake.privacy import KEY_ENV
from evaluations.intake.readers import SOURCE_ROW, IntakeError, read_export
from evaluations.intake.validate import read_raw
from evaluations.registry import SURVEY_TOOLS, DataFile, ManifestError, load_manifest
from tests.test_new_from import CLI

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
PLAIN_CSV = Path(__file__).parent / "bad_inputs" / "base" / "survey.csv"
COHESION = ("To what extent do you agree or disagree that your local area is a place where people from "
            "different backgrounds get on well together?")
ACTIVITIES = "Which of these have you done in the last month? (tick all that apply)"
CODE = "What is the participant code on your Common Ground card?"

MANIFEST = {
    "id": "exports", "title": "Survey-tool exports (synthetic)", "synthetic": True,
    "programme": {"name": "Exchange (fictional)", "family": "exchange_visit", "organisation": "Test Trust (fictional)",
                  "places": ["Lambeth"], "start_date": "2024-03-01", "end_date": "2024-07-31"},
    "design": {"type": "did", "unit_id": "participant_code", "treatment": "took_part", "wave": "wave",
               "baseline": "baseline", "follow_up": "follow-up"},
    "outcomes": [{"column": "local_area", "measure": "local_area_cohesion", "primary": True},
                 {"column": "belonging", "measure": "belonging_neighbourhood"}],
    "files": [],
}
ODK_IDENTIFIERS = ["location-Latitude", "location-Longitude", "location-Altitude", "location-Accuracy", "SubmitterID",
                   "SubmitterName", "DeviceID"]
QUALTRICS_IDENTIFIERS = ["IPAddress", "RecipientLastName", "RecipientFirstName", "RecipientEmail", "LocationLatitude",
                         "LocationLongitude"]


@pytest.fixture(autouse=True)
def _synthetic_key(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)  # the fixtures are synthetic: the published key


def evaluation(tmp_path: Path, files: list[dict], design: dict | None = None, outcomes: list | None = None,
               data: dict[str, bytes] | None = None) -> Path:
    """An evaluation folder holding fixture exports (or `data`, by name) and a manifest listing `files`."""
    folder = tmp_path / "exports"
    folder.mkdir()
    m = copy.deepcopy(MANIFEST)
    m["files"] = files
    m["design"].update(design or {})
    if outcomes is not None:
        m["outcomes"] = outcomes
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(m, sort_keys=False), encoding="utf-8")
    for f in files:
        if data and f["path"] in data:
            (folder / f["path"]).write_bytes(data[f["path"]])
        elif (EXPORTS / f["path"]).is_file():
            shutil.copyfile(EXPORTS / f["path"], folder / f["path"])
    return folder


def read(name: str, data: bytes | None = None, tmp_path: Path | None = None, **file):
    """One file read as intake reads it: (table, header)."""
    folder = EXPORTS
    if data is not None:
        folder = tmp_path
        (folder / name).write_bytes(data)
    return read_export(folder, DataFile(path=name, **file), None)


def csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def as_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


# -------------------------------------------------------------------------- recognition

@pytest.mark.parametrize("name, tool, header_rows, rows", [
    ("google_forms.csv", "google_forms", 1, 115),
    ("google_sheets.xlsx", "google_forms", 1, 115),
    ("microsoft_forms.xlsx", "microsoft_forms", 1, 115),
    ("surveymonkey.csv", "surveymonkey", 2, 115),
    ("qualtrics_labels.csv", "qualtrics", 3, 115),
    ("qualtrics_numeric.csv", "qualtrics", 3, 115),
    ("kobo_programme.xlsx", "kobo", 1, 58),
    ("kobo_comparison.xlsx", "kobo", 1, 57),
    ("odk_central_baseline.csv", "odk", 1, 60),
    ("odk_central_followup.csv", "odk", 1, 55),
])
def test_each_tools_export_is_recognised_and_its_answers_start_below_its_header(name, tool, header_rows, rows):
    df, head = read(name)
    assert (head.tool, head.header_rows, len(df)) == (tool, header_rows, rows)
    assert df[SOURCE_ROW].iloc[0] == header_rows + 1  # the spreadsheet row the charity sees
    named, _ = read(name, tool=tool)  # naming the tool reads it the same way
    assert list(named.columns) == list(df.columns)


def test_a_plain_table_is_not_taken_for_an_export():
    df, head = read_export(PLAIN_CSV.parent, DataFile(path=PLAIN_CSV.name), None)
    assert (head.tool, head.header_rows, head.identifiers, head.metadata) == ("plain", 1, {}, ())
    assert list(df.columns[:3]) == ["respondent_id", "wave", "took_part"]


def test_every_tool_the_manifest_can_name_has_a_reader():
    assert set(exports.TOOLS) == set(SURVEY_TOOLS)


# ------------------------------------------------------------------- normalised names

def test_surveymonkey_header_rows_become_question_and_option():
    df, _ = read("surveymonkey.csv")
    assert list(df.columns[:10]) == ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
                                     "Email Address", "First Name", "Last Name", "Custom Data 1", CODE]
    assert COHESION in df.columns  # a one-answer question: its text alone
    assert [c for c in df.columns if c.startswith(ACTIVITIES)] == [
        f"{ACTIVITIES} - Volunteered locally", f"{ACTIVITIES} - Went to a community event",
        f"{ACTIVITIES} - Helped a neighbour", f"{ACTIVITIES} - Other (please specify)"]
    assert "Response" not in set(df[COHESION])  # row 2 is a header row, not an answer


def test_qualtrics_keeps_its_column_names_with_the_question_text_as_label_and_drops_the_import_ids():
    labels, head = read("qualtrics_labels.csv")
    numeric, _ = read("qualtrics_numeric.csv")
    assert list(labels.columns) == list(numeric.columns)
    assert list(labels.columns[17:22]) == ["Q1", "Q2", "Q3_1", "Q3_2", "Q3_3"]
    assert head.labels["Q1"] == COHESION and head.labels["Q3_2"] == f"{ACTIVITIES} - Went to a community event"
    assert not labels.drop(columns=SOURCE_ROW).apply(lambda c: c.str.contains("ImportId")).any().any()
    assert set(labels["Q1"]) <= {"Definitely agree", "Tend to agree", "Tend to disagree", "Definitely disagree"}
    assert set(numeric["Q1"]) <= {"1", "2", "3", "4"}


def test_kobo_and_odk_group_paths_are_shortened_to_the_question():
    kobo, head = read("kobo_programme.xlsx")
    assert list(kobo.columns[3:11]) == ["participant_code", "survey_round", "local_area", "belonging", "activities",
                                        "activities/volunteer", "activities/event", "activities/neighbour"]
    assert head.paths["local_area"] == "cohesion/local_area"
    odk, head = read("odk_central_baseline.csv")
    assert list(odk.columns[3:7]) == ["participant_code", "took_part", "local_area", "belonging"]
    assert "location-Latitude" in odk.columns and "meta-instanceID" in odk.columns  # the tool's own: kept whole


def test_a_group_path_can_be_renamed_by_its_whole_path():
    df, _ = read("odk_central_baseline.csv", rename={"cohesion-local_area": "cohesion"})
    assert "cohesion" in df.columns and "local_area" not in df.columns


@pytest.mark.parametrize("names, expected", [
    (["g1/age", "g2/town"], ["age", "town"]),
    (["g1/q", "g2/q", "g3/other"], ["g1/q", "g2/q", "other"]),  # the same name in two groups: whole paths
    (["q", "g1/q"], ["q", "g1/q"]),  # shortening would repeat a name the file already has
    (["Do you agree/disagree?"], ["Do you agree/disagree?"]),  # a label holding "/", not a group path
    (["g/langs", "g/langs/welsh"], ["langs", "langs/welsh"]),  # an option column keeps its question's name
    (["_id", "g/_id"], ["_id", "g/_id"]),
])
def test_group_paths_are_shortened_only_where_the_rest_is_unique(names, expected):
    assert shorten(names, "/", keep=set()) == expected


# ---------------------------------------------------------------- identifiers and metadata

@pytest.mark.parametrize("tool, column, kind", [
    ("surveymonkey", "IP Address", "an IP address"),
    ("surveymonkey", "Email Address", "an email address"),
    ("surveymonkey", "First Name", "a name"),
    ("qualtrics", "IPAddress", "an IP address"),
    ("qualtrics", "RecipientEmail", "an email address"),
    ("qualtrics", "RecipientFirstName", "a name"),
    ("qualtrics", "LocationLatitude", "a location"),
    ("kobo", "_submitted_by", "a user account"),
    ("kobo", "_home_gps_latitude", "a location"),
    ("kobo", "deviceid", "a device id"),
    ("odk", "SubmitterName", "a name"),
    ("odk", "grp-home-Longitude", "a location"),
    ("microsoft_forms", "Name", "a name"),
    ("microsoft_forms", "Email", "an email address"),
    ("google_forms", "Email address", "an email address"),
    (None, "IPAddress", "an IP address"),  # a file whose tool is not known: any tool's identifiers
    ("qualtrics", "ExternalReference", None),  # the charity's own reference (often the linking id): content decides
    ("surveymonkey", "Custom Data 1", None),
    ("qualtrics", "Q1", None),
    ("kobo", "_uuid", None),
    ("google_forms", "Name", None),  # another tool's column name means nothing here
    ("plain", "IP Address", None),
])
def test_tool_columns_that_identify_people_are_named_by_kind(tool, column, kind):
    assert identifier_kind(tool, column) == kind


@pytest.mark.parametrize("tool, column, metadata", [
    ("qualtrics", "Duration (in seconds)", True), ("qualtrics", "ResponseId", True), ("qualtrics", "Q1", False),
    ("surveymonkey", "Respondent ID", True), ("surveymonkey", "IP Address", False),
    ("kobo", "_submission_time", True), ("kobo", "today", True), ("odk", "ReviewState", True),
    ("microsoft_forms", "Points - How strongly do you feel you belong?", True), ("google_forms", "Timestamp", True),
    ("plain", "Timestamp", False),
])
def test_tool_metadata_is_told_from_answers(tool, column, metadata):
    assert is_tool_metadata(tool, column) is metadata


def test_a_files_header_says_which_of_its_columns_identify_people_and_which_are_metadata():
    _, head = read("qualtrics_numeric.csv")
    assert head.identifiers == {"IPAddress": "an IP address", "RecipientLastName": "a name",
                                "RecipientFirstName": "a name", "RecipientEmail": "an email address",
                                "LocationLatitude": "a location", "LocationLongitude": "a location"}
    assert "ExternalReference" not in head.metadata and "Status" in head.metadata


# --------------------------------------------------------------------------- refusals

def refused(name: str, data: bytes | None = None, tmp_path: Path | None = None, **file) -> str:
    with pytest.raises(IntakeError) as caught:
        read(name, data, tmp_path, **file)
    return str(caught.value)


def test_a_tool_named_for_another_tools_export_is_refused_saying_what_it_looks_like():
    assert refused("google_forms.csv", tool="qualtrics") == (
        "google_forms.csv, row 1: files.tool says this is a Qualtrics export, whose header is three header rows: "
        "column names such as StartDate, ResponseId and Q1 in row 1, the question texts in row 2, and "
        "{\"ImportId\":...} in row 3, but row 1 holds 'Timestamp', 'Email address', 'What is the participant code "
        "on your Co…', 'Which survey is this?', 'Did you take part in the Common Ground …', 'To what extent do you "
        "agree or disagree…', .... Fix: set tool: google_forms (or auto) for this file: it looks like a Google "
        "Forms export")


def test_a_tool_named_for_a_plain_table_is_refused_with_its_header(tmp_path):
    assert refused("survey.csv", PLAIN_CSV.read_bytes(), tmp_path, tool="surveymonkey") == (
        "survey.csv, row 1: files.tool says this is a SurveyMonkey export, whose header is two header rows: the "
        "question texts in row 1, and 'Response', 'Open-Ended Response' or the option texts in row 2, but row 1 "
        "holds 'respondent_id', 'wave', 'took_part', 'age', 'female', 'town', .... Fix: check that files.path "
        "names the file downloaded from SurveyMonkey, unchanged; or set tool: plain to read it as a plain table "
        "whose header is row 1")


def test_a_surveymonkey_export_read_as_plain_is_refused_with_the_way_to_read_it():
    assert refused("surveymonkey.csv", tool="plain") == (
        "surveymonkey.csv, row 2: row 2 holds 'Response' or 'Open-Ended Response', as the second header row of a "
        "SurveyMonkey export does, so with tool: plain it would be read as a respondent's answers. Fix: remove "
        "tool: plain for this file in evaluation.yaml, so it is read as a SurveyMonkey export (its header rows "
        "become one row of column names)")


def test_a_qualtrics_export_read_as_plain_is_refused_with_the_way_to_read_it():
    message = refused("qualtrics_numeric.csv", tool="plain", header_rows=2)
    assert message.startswith("qualtrics_numeric.csv, row 3: row 3 holds {\"ImportId\": ...} cells, as the header "
                              "rows of a Qualtrics export do")
    assert message.endswith("Fix: remove tool: plain and header_rows for this file in evaluation.yaml, so it is "
                            "read as a Qualtrics export (its header rows become one row of column names)")


def test_plain_with_every_header_row_skipped_reads_an_export_the_old_way():
    df, head = read("surveymonkey.csv", tool="plain", header_rows=2)
    assert head.tool == "plain" and df[SOURCE_ROW].iloc[0] == 3
    assert "(no header, column P)" in df.columns  # row 1 alone: the blank cells over a question's options


def test_header_rows_that_disagree_with_a_recognised_export_are_refused():
    assert refused("surveymonkey.csv", header_rows=3) == (
        "surveymonkey.csv: files.header_rows is 3, but this is a SurveyMonkey export, whose header takes 2 rows. "
        "Fix: remove header_rows for this file in evaluation.yaml: the export's header rows are read as "
        "SurveyMonkey writes them (or set tool: plain to read it as a plain table)")


def test_a_qualtrics_export_missing_its_import_id_row_is_refused(tmp_path):
    rows = csv_rows(EXPORTS / "qualtrics_numeric.csv")
    cut = as_csv(rows[:2] + rows[3:])
    assert refused("qualtrics.csv", cut, tmp_path) == (
        "qualtrics.csv, row 3: this Qualtrics export has no ImportId row in row 3: row 1 holds the column names and "
        "row 2 the question texts, but row 3, which holds each column's ImportId ({\"ImportId\":\"QID1\"}), is "
        "missing, so the first response could not be told from a header row. Fix: download the data again from "
        "Qualtrics (Data & Analysis, Export & Import, Export data, CSV) and use the file unchanged; or delete row 2 "
        "too, so that row 1 is the only header row")
    assert "ends after row 2" in refused("q2.csv", as_csv(rows[:2]), tmp_path)


def test_a_qualtrics_export_with_only_its_first_header_row_is_read_from_row_2(tmp_path):
    rows = csv_rows(EXPORTS / "qualtrics_numeric.csv")
    df, head = read("q.csv", as_csv(rows[:1] + rows[3:]), tmp_path)
    assert (head.tool, head.header_rows, len(df), df[SOURCE_ROW].iloc[0]) == ("qualtrics", 1, 115, 2)


def test_a_surveymonkey_export_cut_to_its_first_row_is_refused_when_named(tmp_path):
    rows = csv_rows(EXPORTS / "surveymonkey.csv")
    message = refused("sm.csv", as_csv(rows[:1]), tmp_path, tool="surveymonkey")
    assert "but the file has only 1 row" in message


@pytest.mark.parametrize("name, keep, row", [("surveymonkey.csv", 2, 3), ("qualtrics_labels.csv", 3, 4),
                                             ("odk_central_baseline.csv", 1, 2)])
def test_an_export_with_no_responses_is_refused_below_its_header(tmp_path, name, keep, row):
    message = refused(name, as_csv(csv_rows(EXPORTS / name)[:keep]), tmp_path)
    assert message == (f"{name}, row {row}: the file has a header but no data rows. Fix: put the survey answers "
                       "under the header row, one row per person and wave")


def test_an_empty_export_is_refused(tmp_path):
    assert refused("empty.csv", b"", tmp_path, tool="google_forms") == (
        "empty.csv: the file is empty. Fix: send the file with its header row and data")


# ------------------------------------------------------------------------- the manifest

def manifest_problems(tmp_path: Path, files: list[dict], **changes) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_manifest(evaluation(tmp_path, files, **changes))
    return caught.value.problems


def test_a_wave_per_file_must_be_one_of_the_designs_waves(tmp_path):
    assert manifest_problems(tmp_path, [{"path": "odk_central_baseline.csv", "wave": "before"}]) == [
        "file odk_central_baseline.csv: wave 'before' is not one of the design's waves (baseline, follow-up); use "
        "one of those labels exactly"]


def test_a_comparison_file_needs_a_design_with_a_comparison_group(tmp_path):
    problems = manifest_problems(tmp_path, [{"path": "kobo_comparison.xlsx", "group": "comparison"}],
                                 design={"type": "pre_post", "treatment": None})
    assert problems == ["file kobo_comparison.xlsx: group 'comparison' needs a comparison group, but this design "
                        "(pre_post) has none; remove group, or choose a design with one"]


@pytest.mark.parametrize("file, problem", [
    ({"path": "panel.sav", "tool": "qualtrics"},
     "files.0: file panel.sav: tool 'qualtrics' names a survey tool's CSV or Excel export, but this is a .sav file, "
     "read by its own format; remove tool"),
    ({"path": "surveymonkey.csv", "tool": "surveymonkey", "header_rows": 2},
     "files.0: file surveymonkey.csv: header_rows is for a plain table; a surveymonkey export's header rows are "
     "read as the tool writes them, so remove header_rows (or set tool: plain)"),
    ({"path": "wide.csv", "layout": "wide", "wave_suffixes": {"baseline": "_pre", "follow-up": "_post"},
      "wave": "baseline"},
     "files.0: file wide.csv: wave gives every row of a long file one wave, but this file is wide (its waves are in "
     "wave_suffixes); remove wave or layout: wide"),
    ({"path": "a.csv", "tool": "typeform"},
     "files.0.tool: Input should be 'auto', 'plain', 'google_forms', 'microsoft_forms', 'surveymonkey', "
     "'qualtrics', 'kobo' or 'odk'"),
])
def test_file_options_that_cannot_apply_are_refused(tmp_path, file, problem):
    assert manifest_problems(tmp_path, [file]) == [problem]


def test_the_new_file_options_enter_the_analysis_plan_only_when_set(tmp_path):
    plain = load_manifest(evaluation(tmp_path, [{"path": "odk_central_baseline.csv"}])).analysis_plan()
    assert set(plain["files"][0]) == {"path", "layout", "sheet", "header_rows", "wave_suffixes", "rename",
                                      "drop_columns"}  # plans registered before these options keep their hash
    shutil.rmtree(tmp_path / "exports")
    set_ = load_manifest(evaluation(tmp_path, [{"path": "odk_central_baseline.csv", "tool": "odk",
                                                "wave": "baseline"}])).analysis_plan()
    assert set_["files"][0]["tool"] == "odk" and set_["files"][0]["wave"] == "baseline"


# ------------------------------------------------------------ from export to `check`

def test_one_file_per_wave_passes_check_and_gives_each_row_its_files_wave(tmp_path):
    folder = evaluation(tmp_path, [
        {"path": "odk_central_baseline.csv", "wave": "baseline", "drop_columns": ODK_IDENTIFIERS},
        {"path": "odk_central_followup.csv", "wave": "follow-up", "drop_columns": ODK_IDENTIFIERS}])
    report = check_evaluation(folder)
    assert report.problems == []
    raw = read_raw(folder, load_manifest(folder))
    waves = raw.groupby("_source_file")["wave"].agg(lambda w: sorted(set(w)))
    assert waves.to_dict() == {"odk_central_baseline.csv": ["baseline"], "odk_central_followup.csv": ["follow-up"]}
    assert raw.groupby("_source_file").size().to_dict() == {"odk_central_baseline.csv": 60,
                                                            "odk_central_followup.csv": 55}


def test_one_file_per_group_passes_check_and_sets_each_rows_treatment(tmp_path):
    files = [{"path": f"kobo_{g}.xlsx", "group": g, "drop_columns": ["_submitted_by"]}
             for g in ("programme", "comparison")]
    folder = evaluation(tmp_path, files, design={"wave": "survey_round", "follow_up": "followup"})
    report = check_evaluation(folder)
    assert report.problems == []
    raw = read_raw(folder, load_manifest(folder))
    groups = raw.groupby("_source_file")["took_part"].agg(lambda t: sorted(set(t)))
    assert groups.to_dict() == {"kobo_comparison.xlsx": ["0"], "kobo_programme.xlsx": ["1"]}
    # the tool's own metadata (today's date, submission times) never reached the privacy screen or the table
    assert not {"today", "_submission_time", "start"} & set(raw.columns)


def test_a_qualtrics_numeric_export_passes_check(tmp_path):
    folder = evaluation(tmp_path, [{"path": "qualtrics_numeric.csv", "drop_columns": QUALTRICS_IDENTIFIERS,
                                    "rename": {"Q1": "local_area", "Q2": "belonging"}}],
                        design={"unit_id": "ExternalReference"})
    report = check_evaluation(folder)
    assert report.problems == []
    assert report.notes == ["30 programme and 30 comparison people at baseline"]


def test_a_file_wave_and_a_wave_column_cannot_both_say_it(tmp_path):
    folder = evaluation(tmp_path, [{"path": "qualtrics_numeric.csv", "wave": "baseline",
                                    "drop_columns": QUALTRICS_IDENTIFIERS,
                                    "rename": {"Q1": "local_area", "Q2": "belonging"}}],
                        design={"unit_id": "ExternalReference"})
    assert check_evaluation(folder).problems == [
        f"{folder / 'qualtrics_numeric.csv'}, row 1, column 'wave': the file has a column 'wave', and files.wave "
        "also gives every row of it the wave 'baseline'; only one can say it. Fix: remove files.wave for this file "
        "to use the column, or rename the column (files.rename) to use files.wave"]


def test_a_missing_column_is_reported_with_the_columns_the_files_have_closest_first(tmp_path):
    folder = evaluation(tmp_path, [
        {"path": "odk_central_baseline.csv", "wave": "baseline", "drop_columns": ODK_IDENTIFIERS},
        {"path": "odk_central_followup.csv", "wave": "follow-up", "drop_columns": ODK_IDENTIFIERS}],
        outcomes=[{"column": "local_aera", "measure": "local_area_cohesion", "primary": True}])
    assert check_evaluation(folder).problems == [
        f"{folder}: column 'local_aera' named in evaluation.yaml is not in the data; the files "
        "(odk_central_baseline.csv, odk_central_followup.csv) have 'local_area', 'participant_code', 'took_part', "
        "'belonging', 'wave' (closest first): write the name exactly as the file has it, or map the file's name to "
        "'local_aera' with files.rename"]


def test_a_file_lacking_the_group_column_others_get_from_files_group_says_so(tmp_path):
    files = [{"path": "kobo_programme.xlsx", "group": "programme", "drop_columns": ["_submitted_by"]},
             {"path": "kobo_comparison.xlsx", "drop_columns": ["_submitted_by"]}]
    folder = evaluation(tmp_path, files, design={"wave": "survey_round", "follow_up": "followup"})
    problem, = check_evaluation(folder).problems
    assert problem.startswith(f"{folder / 'kobo_comparison.xlsx'}, column 'took_part': column 'took_part' named in "
                              "evaluation.yaml is not in this file, though other files of this evaluation have it")
    assert problem.endswith("Fix: add the column to this file, or map its name with files.rename, or set files.group "
                            "for this file (every row then gets it)")


# ------------------------------------------------------- one broken export per reader, at `check`

def xlsx_rows(name: str, change) -> bytes:
    """A fixture workbook rewritten with `change` applied to its rows (a list of lists, row 1 first)."""
    book = openpyxl.load_workbook(EXPORTS / name)
    rows = change([list(r) for r in book.active.iter_rows(values_only=True)])
    out = openpyxl.Workbook()
    for r in rows:
        out.active.append(r)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def broken_exports() -> dict[str, bytes]:
    """Each tool's export broken the way a charity's copy gets broken, by hand or in the download."""
    google, monkey = csv_rows(EXPORTS / "google_forms.csv"), csv_rows(EXPORTS / "surveymonkey.csv")
    qualtrics = csv_rows(EXPORTS / "qualtrics_labels.csv")
    return {
        # a title typed above the header in the sheet, then downloaded
        "google_forms.csv": as_csv([["Neighbours survey: responses"] + [""] * (len(google[0]) - 1)] + google),
        # the ID column deleted in Excel
        "microsoft_forms.xlsx": xlsx_rows("microsoft_forms.xlsx", lambda rows: [r[1:] for r in rows]),
        # the second header row cut short: the last two options of the tick-all question lose their names
        "surveymonkey.csv": as_csv([monkey[0], monkey[1][:16]] + monkey[2:]),
        # the ImportId row deleted
        "qualtrics_labels.csv": as_csv(qualtrics[:2] + qualtrics[3:]),
        # exported with the submission's own fields (_uuid, _submission_time, ...) left out
        "kobo_programme.xlsx": xlsx_rows("kobo_programme.xlsx", lambda rows: [
            [c for c, name in zip(r, rows[0]) if not str(name).startswith("_")] for r in rows]),
        # the table of a repeat group, taken from the .csv.zip in place of the form's main table
        "odk_central_household.csv": as_csv([
            ["household-member_age", "household-member_relation", "PARENT_KEY", "KEY", "SET-OF-household"],
            ["34", "parent", "uuid:0a1b", "uuid:0a1b/household[1]", "uuid:0a1b/household"]]),
    }


def test_a_broken_export_of_each_tool_is_refused_by_check_all_at_once_with_the_fix(tmp_path):
    data = broken_exports()
    tools = ["google_forms", "microsoft_forms", "surveymonkey", "qualtrics", "kobo", "odk"]
    folder = evaluation(tmp_path, [{"path": p, "tool": t} for p, t in zip(data, tools)], data=data)
    proc = subprocess.run([CLI, "check", str(folder)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    said = " ".join(proc.stderr.split())
    not_the_tool = "Fix: check that files.path names the file downloaded from {tool}, unchanged; or set tool: plain " \
                   "to read it as a plain table whose header is row 1"
    expected = [
        f"{folder / 'google_forms.csv'}, row 1: files.tool says this is a Google Forms export, whose header is one "
        "header row: 'Timestamp' first, then the question texts, but row 1 holds 'Neighbours survey: responses', '', "
        "'', '', '', '', .... " + not_the_tool.format(tool="Google Forms"),
        f"{folder / 'microsoft_forms.xlsx'}, row 1: files.tool says this is a Microsoft Forms export, whose header is "
        "one header row: 'ID', 'Start time', 'Completion time', 'Email', 'Name' first, then the question texts, but "
        "row 1 holds 'Start time', 'Completion time', 'Email', 'Name', 'Last modified time', 'What is the "
        "participant code on your Co…', .... " + not_the_tool.format(tool="Microsoft Forms"),
        f"{folder / 'surveymonkey.csv'}, row 2: this header row of a SurveyMonkey export has 16 cells where row 1 "
        "has 18: it was cut short, so columns Q to R have no header in it. Fix: download the data again from "
        "SurveyMonkey and use the file unchanged",
        f"{folder / 'qualtrics_labels.csv'}, row 3: this Qualtrics export has no ImportId row in row 3: row 1 holds "
        "the column names and row 2 the question texts, but row 3, which holds each column's ImportId "
        "({\"ImportId\":\"QID1\"}), is missing, so the first response could not be told from a header row. Fix: "
        "download the data again from Qualtrics (Data & Analysis, Export & Import, Export data, CSV) and use the "
        "file unchanged; or delete row 2 too, so that row 1 is the only header row",
        f"{folder / 'kobo_programme.xlsx'}, row 1: files.tool says this is a KoboToolbox export, whose header is one "
        "header row holding _uuid, _submission_time, _index and the other submission columns, but row 1 holds "
        "'start', 'end', 'today', 'intro/participant_code', 'intro/survey_round', 'cohesion/local_area', .... "
        + not_the_tool.format(tool="KoboToolbox"),
        f"{folder / 'odk_central_household.csv'}, row 1, column 'PARENT_KEY': this is the table of a repeat group "
        "from an ODK Central download (it has PARENT_KEY), one row per repeat rather than one per submission. Fix: "
        "use the main table of the download instead: the CSV named after the form alone, whose row 1 starts with "
        "SubmissionDate",
    ]
    assert said == f"{len(expected)} problem(s) to fix: " + " ".join(f"• {e}" for e in expected)


def test_a_surveymonkey_export_whose_second_header_row_was_emptied_says_so_when_named(tmp_path):
    rows = csv_rows(EXPORTS / "surveymonkey.csv")
    message = refused("sm.csv", as_csv([rows[0], [""] * len(rows[0])] + rows[2:]), tmp_path, tool="surveymonkey")
    assert "but row 1 holds 'Respondent ID', 'Collector ID', 'Start Date', 'End Date', 'IP Address', 'Email " \
           "Address', ..., and row 2 is empty. Fix:" in message


def test_an_odk_repeat_group_table_is_refused_even_when_the_tool_is_not_named(tmp_path):
    message = refused("household.csv", broken_exports()["odk_central_household.csv"], tmp_path)
    assert message.startswith("household.csv, row 1, column 'PARENT_KEY': this is the table of a repeat group")


def test_the_identifying_columns_of_every_file_are_listed_by_one_check(tmp_path):
    folder = evaluation(tmp_path, [{"path": "odk_central_baseline.csv", "wave": "baseline"},
                                   {"path": "odk_central_followup.csv", "wave": "follow-up"}])
    problems = check_evaluation(folder).problems
    assert [p.split(": the column", 1)[0] for p in problems] == [
        f"{folder / name}, column '{column}'" for name in ("odk_central_baseline.csv", "odk_central_followup.csv")
        for column in ODK_IDENTIFIERS]
