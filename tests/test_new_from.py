"""`commonground new ID --from FILE...`: a draft evaluation.yaml from survey exports, which `check` accepts once
only its marked values are filled in.

The exports are the synthetic fixtures of tests/fixtures/exports/ (make_exports.py there): one small
before-and-after evaluation (60 people, half in the programme, 55 followed up) answering two bank
questions, as each survey tool exports it.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evaluations.checking import check_evaluation
from evaluations.drafting import draft_from
from evaluations.drafting.asking import ask_at_terminal
from evaluations.drafting.matching import rank
from evaluations.drafting.yamltext import inline
from evaluations.intake.privacy import KEY_ENV
from evaluations.measures import load_measures
from evaluations.placeholders import MARK, unresolved
from evaluations.registry import load_manifest
from tests.export_simulation import BELONGING, CODE, COHESION, TOOK_PART, WHICH

CLI = str(Path(sys.executable).parent / "commonground")
EXPORTS = Path(__file__).parent / "fixtures" / "exports"
QUALTRICS_IDENTIFIERS = ["IPAddress", "RecipientLastName", "RecipientFirstName", "RecipientEmail", "LocationLatitude",
                         "LocationLongitude"]
ODK_IDENTIFIERS = ["location-Latitude", "location-Longitude", "location-Altitude", "location-Accuracy", "SubmitterID",
                   "SubmitterName", "DeviceID"]
WORDS = {"baseline": "Before the exchange", "follow_up": "After the exchange"}
CODES = {"baseline": "baseline", "follow_up": "follow-up"}
# What the draft must propose for each fixture: the tool, the id column as the file has it, the group and
# wave (a column, or one per file), the bank measure of each outcome column as the file has it, the columns
# to drop. The names the draft gives these columns are checked by `check` reading the data with them.
EXPECTED = {
    "google_forms": dict(files=["google_forms.csv"], tool="google_forms", unit=CODE, group=TOOK_PART, wave=WHICH,
                         labels=WORDS, outcomes={COHESION: "local_area_cohesion", BELONGING: "belonging_neighbourhood"},
                         drop=[["Email address"]]),
    "google_sheets": dict(files=["google_sheets.xlsx"], tool="google_forms", unit=CODE, group=TOOK_PART, wave=WHICH,
                          labels=WORDS, outcomes={COHESION: "local_area_cohesion",
                                                  BELONGING: "belonging_neighbourhood"}, drop=[["Email address"]]),
    "microsoft_forms": dict(files=["microsoft_forms.xlsx"], tool="microsoft_forms", unit=CODE, group=TOOK_PART,
                            wave=WHICH, labels=WORDS, outcomes={COHESION: "local_area_cohesion",
                                                                BELONGING: "belonging_neighbourhood"},
                            drop=[["Email", "Name"]]),
    "surveymonkey": dict(files=["surveymonkey.csv"], tool="surveymonkey", unit=CODE, group=TOOK_PART, wave=WHICH,
                         labels=WORDS, outcomes={COHESION: "local_area_cohesion", BELONGING: "belonging_neighbourhood"},
                         drop=[["IP Address", "Email Address", "First Name", "Last Name"]]),
    "qualtrics_labels": dict(files=["qualtrics_labels.csv"], tool="qualtrics", unit="ExternalReference",
                             group="took_part", wave="wave", labels=CODES,
                             outcomes={"Q1": "local_area_cohesion", "Q2": "belonging_neighbourhood"},
                             drop=[QUALTRICS_IDENTIFIERS]),
    "qualtrics_numeric": dict(files=["qualtrics_numeric.csv"], tool="qualtrics", unit="ExternalReference",
                              group="took_part", wave="wave", labels=CODES,
                              outcomes={"Q1": "local_area_cohesion", "Q2": "belonging_neighbourhood"},
                              drop=[QUALTRICS_IDENTIFIERS]),
    "kobo": dict(files=["kobo_programme.xlsx", "kobo_comparison.xlsx"], tool="kobo", unit="participant_code",
                 group={"kobo_programme.xlsx": "programme", "kobo_comparison.xlsx": "comparison"}, wave="survey_round",
                 labels={"baseline": "baseline", "follow_up": "followup"},
                 outcomes={"local_area": "local_area_cohesion", "belonging": "belonging_neighbourhood"},
                 drop=[["_submitted_by"], ["_submitted_by"]]),
    "odk": dict(files=["odk_central_baseline.csv", "odk_central_followup.csv"], tool="odk", unit="participant_code",
                group="took_part", wave={"odk_central_baseline.csv": "baseline", "odk_central_followup.csv": "follow-up"},
                labels=CODES, outcomes={"local_area": "local_area_cohesion", "belonging": "belonging_neighbourhood"},
                drop=[ODK_IDENTIFIERS, ODK_IDENTIFIERS]),
}
# The values only the charity can give, and only those, are marked in every fixture's draft.
MARKED = {"title", "programme.name", "programme.family", "programme.organisation", "programme.places.0",
          "programme.start_date", "programme.end_date", "programme.cost_per_participant_gbp", "programme.description",
          "outcomes.0.primary", "outcomes.1.primary"}
FILLED = {"title": "Does the exchange help neighbours get on? (synthetic)", "programme.name": "Town Exchange",
          "programme.family": "exchange_visit", "programme.organisation": "Example Trust",
          "programme.places.0": "Lambeth", "programme.start_date": "2024-03-11", "programme.end_date": "2024-06-28",
          "programme.cost_per_participant_gbp": 180, "programme.description": "Residents visit another town.",
          "outcomes.0.primary": True, "outcomes.1.primary": False}


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "a-test-key-for-the-synthetic-fixtures")


def cg(*args, cwd=None):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd,
                          stdin=subprocess.DEVNULL)  # no terminal: the draft is written with its marks


def fill_in(path: Path, values: dict) -> None:
    """Replace each marked value in the draft's text, in place (its comments and other values kept)."""
    text = path.read_text(encoding="utf-8")
    for where, mark in unresolved(yaml.safe_load(text)):
        text = text.replace(inline(mark), inline(values[".".join(map(str, where))]), 1)
    path.write_text(text, encoding="utf-8")


def in_file(file: dict, column: str) -> str:
    """A column's name in the manifest: the file's own, or what files.rename makes it."""
    return file.get("rename", {}).get(column, column)


@pytest.mark.parametrize("fixture", list(EXPECTED))
def test_a_draft_from_each_tools_export_passes_check_once_its_marks_are_filled_in(tmp_path, fixture):
    want = EXPECTED[fixture]
    proc = cg("new", "drafted", "--dir", tmp_path, "--from", *[EXPORTS / f for f in want["files"]])
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "drafted"
    draft = yaml.safe_load((folder / "evaluation.yaml").read_text(encoding="utf-8"))
    files, design = draft["files"], draft["design"]
    first = files[0]
    # the proposals that could be wrong
    assert [f["path"] for f in files] == want["files"] and {f["tool"] for f in files} == {want["tool"]}
    assert design["unit_id"] == in_file(first, want["unit"])
    assert design["type"] == "did" and (design["baseline"], design["follow_up"]) == tuple(want["labels"].values())
    if isinstance(want["group"], dict):  # one file per group
        assert {f["path"]: f["group"] for f in files} == want["group"] and "group" not in str(design["treatment"])
    else:
        assert design["treatment"] == in_file(first, want["group"])
    if isinstance(want["wave"], dict):  # one file per wave
        assert {f["path"]: f["wave"] for f in files} == want["wave"]
    else:
        assert design["wave"] == in_file(first, want["wave"])
    assert {o["column"]: o["measure"] for o in draft["outcomes"]} == {
        in_file(first, c): m for c, m in want["outcomes"].items()}
    assert [f.get("drop_columns", []) for f in files] == want["drop"]
    # what is left to the charity, and only that, is marked, and listed one per line
    marked = {".".join(map(str, where)) for where, _ in unresolved(draft)}
    assert marked == MARKED
    listed = [line.strip() for line in proc.stdout.splitlines() if f": {MARK}: " in line]
    assert [line.split(":", 1)[0] for line in listed] == sorted(MARKED, key=[*FILLED].index)
    report = check_evaluation(folder)
    assert not report.ok and all("still says \"FILL IN" in p for p in report.problems)
    assert len(report.problems) == len(MARKED)
    fill_in(folder / "evaluation.yaml", FILLED)
    report = check_evaluation(folder)
    assert report.problems == []
    assert report.notes[-1] == "30 programme and 30 comparison people at baseline"
    manifest = load_manifest(folder)
    assert [o.primary for o in manifest.outcomes] == [True, False]


# ------------------------------------------------------------------ what the draft cannot decide

def plain_export(tmp_path: Path, name: str = "survey.csv", **changes) -> Path:
    """The Google Forms fixture as a plain table (no Timestamp): short column names, the waves and groups
    as `changes` say (column -> {answer: new answer}, or column -> None to leave it out)."""
    df = pd.read_csv(EXPORTS / "google_forms.csv", dtype=str, keep_default_na=False).drop(columns=["Timestamp"])
    df = df.rename(columns={CODE: "code", WHICH: "survey", TOOK_PART: "group", COHESION: "cohesion",
                            BELONGING: "belonging", "Email address": "email"})
    for column, recode in changes.items():
        df = df.drop(columns=[column]) if recode is None else df.assign(**{column: df[column].replace(recode)})
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def marks(d) -> dict[str, str]:
    return {".".join(map(str, q.path)): q.what for q in d.questions}


def test_waves_whose_names_do_not_say_which_came_first_are_left_to_the_charity(tmp_path):
    path = plain_export(tmp_path, survey={"Before the exchange": "Spring term", "After the exchange": "Summer term"})
    d = draft_from("drafted", [path])
    open_ = marks(d)
    assert open_["design.baseline"] == "the wave before the programme (one of: 'Spring term', 'Summer term')"
    assert open_["design.follow_up"] == "the wave after it (one of: 'Spring term', 'Summer term')"
    # the rest was still found: the id, group and wave columns, and the measures
    assert (d.manifest["design"]["unit_id"], d.manifest["design"]["wave"], d.manifest["design"]["treatment"]) == (
        "code", "survey", "group")
    assert [o["measure"] for o in d.manifest["outcomes"]] == ["local_area_cohesion", "belonging_neighbourhood"]
    assert d.manifest["files"][0]["drop_columns"] == ["email"] and "tool" not in d.manifest["files"][0]
    folder = write(tmp_path, d, path)
    fill_in(folder / "evaluation.yaml", {**FILLED, "design.baseline": "Spring term", "design.follow_up": "Summer term"})
    assert check_evaluation(folder).problems == []


def test_which_answer_of_a_group_question_in_its_own_words_means_which_is_left_to_the_charity(tmp_path):
    path = plain_export(tmp_path, group={"Yes": "I took part in the exchange", "No": "I didn\u2019t take part"})
    d = draft_from("drafted", [path])
    assert d.manifest["design"]["treatment"] == "group"
    asked = marks(d)
    answers = "'I didn\u2019t take part' or 'I took part in the exchange'"
    assert asked["design.groups.programme.0"] == f"the answer meaning took part: {answers}"
    assert asked["design.groups.comparison.0"] == f"the answer meaning did not take part: {answers}"
    folder = write(tmp_path, d, path)
    fill_in(folder / "evaluation.yaml", {**FILLED, "design.groups.programme.0": "I took part in the exchange",
                                         "design.groups.comparison.0": "I didn't take part"})
    report = check_evaluation(folder)
    assert report.problems == []
    assert report.notes[-1] == "30 programme and 30 comparison people at baseline"


def test_a_group_column_intake_cannot_read_as_took_part_is_left_to_the_charity(tmp_path):
    path = plain_export(tmp_path, group={"Yes": "Lambeth", "No": "Boston"})
    path.write_text(path.read_text(encoding="utf-8").replace("group", "town", 1), encoding="utf-8")
    d = draft_from("drafted", [path])
    assert marks(d)["design.treatment"] == (
        "the column saying who took part (1 or yes) and who is in the comparison group (0 or no) (one of: 'town'); "
        "with no comparison group, delete this line and set type: pre_post")


def test_one_file_per_group_whose_names_do_not_say_which_is_left_to_the_charity(tmp_path):
    whole = pd.read_csv(plain_export(tmp_path), dtype=str, keep_default_na=False)
    paths = []
    for answer, name in (("Yes", "site_a.csv"), ("No", "site_b.csv")):
        paths.append(tmp_path / name)
        whole[whole["group"] == answer].drop(columns=["group"]).to_csv(paths[-1], index=False)
    d = draft_from("drafted", paths)
    assert marks(d)["files.0.group"] == marks(d)["files.1.group"] == "who answered this file (programme or comparison)"
    folder = write(tmp_path, d, *paths)
    fill_in(folder / "evaluation.yaml", {**FILLED, "files.0.group": "programme", "files.1.group": "comparison"})
    report = check_evaluation(folder)
    assert report.problems == [] and report.notes[-1] == "30 programme and 30 comparison people at baseline"


def test_two_columns_that_could_each_be_the_id_are_left_to_the_charity(tmp_path):
    df = pd.read_csv(plain_export(tmp_path), dtype=str, keep_default_na=False)
    df.insert(1, "ref", df["code"].str.replace("CG-", "R", regex=False))  # both named like ids
    df.to_csv(tmp_path / "survey.csv", index=False)
    d = draft_from("drafted", [tmp_path / "survey.csv"])
    assert marks(d)["design.unit_id"] == ("the column with each person's id (the same in every wave) "
                                          "(one of: 'ref', 'code')")  # in the file's order


def test_a_question_as_close_to_two_measures_is_left_to_the_charity(tmp_path):
    codes = {"Definitely agree": "1", "Tend to agree": "2", "Tend to disagree": "3", "Definitely disagree": "4"}
    df = pd.read_csv(plain_export(tmp_path, cohesion=codes), dtype=str, keep_default_na=False)
    df.rename(columns={"cohesion": "People get on well together"}).to_csv(tmp_path / "survey.csv", index=False)
    d = draft_from("drafted", [tmp_path / "survey.csv"])
    assert marks(d)["outcomes.0.measure"] == (
        "the bank measure this question is (intergenerational_attitudes, score 0.78 or local_area_cohesion, score "
        "0.78, too close to tell)")
    assert d.manifest["files"][0]["rename"]["People get on well together"] == "people_get_well"
    folder = write(tmp_path, d, tmp_path / "survey.csv")
    fill_in(folder / "evaluation.yaml", {**FILLED, "outcomes.0.measure": "local_area_cohesion"})
    assert check_evaluation(folder).problems == []
    # a short name is matched through the measure's id and name; the runner-up is shown beside it
    ranked = rank("local_area", pd.Series(["1", "2", "3", "4"]), load_measures())
    assert [(m.measure, m.score) for m in ranked[:2]] == [("local_area_cohesion", 0.9),
                                                         ("influence_local_decisions", 0.73)]


def write(tmp_path: Path, d, *paths: Path) -> Path:
    folder = tmp_path / "drafted"
    folder.mkdir()
    for p in paths:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "evaluation.yaml").write_text(d.text(), encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------- at a terminal

def test_at_a_terminal_the_open_questions_are_asked_and_the_answers_written_in(tmp_path):
    d = draft_from("drafted", [EXPORTS / "qualtrics_labels.csv"])
    answers = {"title": "Does the exchange help?", "programme.name": "Town Exchange", "programme.family": "exchange_visit",
               "programme.organisation": "Example Trust", "programme.places.0": "Lambeth",
               "programme.start_date": "2024-03-11", "programme.end_date": "2024-06-28",
               "programme.cost_per_participant_gbp": "", "programme.description": "Residents visit."}
    asked = []

    def prompt(label, **kw):
        asked.append(label.split(":", 1)[0])
        return answers[label.split(":", 1)[0]]

    def confirm(label, default):
        asked.append(label.split(":", 1)[0])
        return label.startswith("outcomes.0.")

    ask_at_terminal(d, prompt=prompt, confirm=confirm)
    assert asked == sorted(MARKED, key=[*FILLED].index) and d.questions == []
    folder = write(tmp_path, d, EXPORTS / "qualtrics_labels.csv")
    written = yaml.safe_load((folder / "evaluation.yaml").read_text(encoding="utf-8"))
    assert unresolved(written) == [] and written["title"] == "Does the exchange help?"
    assert "cost_per_participant_gbp" not in written["programme"]  # not answered: the optional field is left out
    assert [o["primary"] for o in written["outcomes"]] == [True, False]
    assert check_evaluation(folder).problems == []


# ------------------------------------------------------------------------------ user text is data

HOSTILE = ["What is your code?\nid: injected", "# not a comment", "yes", "- item", "&anchor *alias",
           "!!python/object/apply:os.system ['echo']", "a: b", "line\u2028separator", "{x: 1}", "'quoted' \"twice\""]


def test_column_names_are_written_as_data_whatever_they_hold(tmp_path):
    rows = range(40)  # 20 people, each in two waves; each hostile column is the same for a person
    df = pd.DataFrame({name: [f"v{i}" if r % 4 < 2 else f"w{i}" for r in rows] for i, name in enumerate(HOSTILE)})
    df.insert(0, COHESION, ["Definitely agree", "Tend to agree", "Tend to agree"] * 13 + ["Definitely agree"])
    df.insert(0, "wave", ["baseline", "follow-up"] * 20)
    df.insert(0, "code", [f"P{r // 2}" for r in rows])
    df.to_csv(tmp_path / "odd.csv", index=False)
    d = draft_from("drafted", [tmp_path / "odd.csv"])
    text = d.text()
    written = yaml.safe_load(text)
    assert written == d.manifest and list(written) == ["id", "title", "synthetic", "programme", "design", "outcomes",
                                                       "files", "missing_codes", "seed"]
    # each hostile name reached the draft as text: quoted inside a value, or in a comment of one line
    treatment = written["design"]["treatment"]
    assert all(repr(name) in treatment for name in HOSTILE if "comment" not in name)
    assert written["files"][0]["drop_columns"] == ["# not a comment"]  # the privacy screen's word "comment"
    assert "(one of: 'survey'" not in treatment and COHESION[:20] not in treatment  # an outcome is never offered
    note, = [line for line in text.splitlines() if "answered in categories" in line and "id: injected" in line]
    assert note.startswith("    - column: ") and "# proposed: 'What is your code?\\nid: injected'" in note  # one line


# ------------------------------------------------------------------------------------- refusals

def test_files_a_draft_cannot_be_written_from_are_refused_with_the_fix(tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_text('a,b\n1,"unclosed\n', encoding="utf-8")
    proc = cg("new", "drafted", "--dir", tmp_path, "--from", bad)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert " ".join(proc.stderr.split()) == (f"Error: {bad}, row 2: a quote (\") opened in this row is never closed, "
                                             "so the rest of the file would be read as one cell. Fix: close the quote, "
                                             "or remove it; a quote inside a cell is written twice (\"\")")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello", encoding="utf-8")
    proc = cg("new", "drafted", "--dir", tmp_path, "--from", notes)
    assert proc.returncode == 2 and "Fix: save it as CSV or Excel (.xlsx)" in proc.stderr
    assert not (tmp_path / "drafted").exists()  # nothing written for a refused file
    assert cg("new", "drafted", "--dir", tmp_path, "--from", EXPORTS / "google_forms.csv").returncode == 0
    proc = cg("new", "drafted", "--dir", tmp_path, "--from", EXPORTS / "google_forms.csv")
    assert proc.returncode == 2 and "evaluation.yaml already exists" in proc.stderr  # never overwritten
