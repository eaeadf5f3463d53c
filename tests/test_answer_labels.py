"""Answers in words become codes through the measure's labels (evaluations/intake/labels.py).

Real files written to tmp_path from the bad-input corpus's small valid evaluation
(tests/bad_inputs/base: 24 people, 2 waves, spreadsheet rows 2-49; 'mixing' is
mixing_different_backgrounds, 1-5, 'belonging' is belonging_neighbourhood, 1-4), run through
read_raw -> validate and `commonground check` as the pipeline and the charity run them.
"""
from __future__ import annotations

import copy

import pandas as pd
import pyreadstat
import pytest
from pydantic import ValidationError

from evaluations.checking import check_evaluation
from evaluations.intake.labels import MISSING_WORDS, compare_labels, file_value_labels, label_problems, read_answers
from evaluations.intake.privacy import KEY_ENV
from evaluations.intake.validate import StructuralError, intake_report, read_raw, reconcile, validate
from evaluations.measures import OwnMeasure, load_measures
from evaluations.registry import load_manifest
from tests.test_bad_inputs import BASE_MANIFEST, as_csv, base_table, cg_check, evaluation, intake

BANK = load_measures()
BELONGING = BANK["belonging_neighbourhood"].scale  # 1 = Very strongly ... 4 = Not at all strongly
REVERSED = {1: "Not at all strongly", 2: "Not very strongly", 3: "Fairly strongly", 4: "Very strongly"}
REORDERED = {1: "Fairly strongly", 2: "Very strongly", 3: "Not very strongly", 4: "Not at all strongly"}


@pytest.fixture(autouse=True)
def _synthetic_key(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)  # the corpus is synthetic: its published key


def with_words(column: str, words: dict, scale: dict[int, str]) -> tuple[bytes, dict[int, float]]:
    """The base with `column` written in words: every answer as its label, except the rows in `words`, whose
    text is given (a str) or made from the row's code and label (a function).

    Returns the file and each row's original code (what the labels must come back as)."""
    header, rows = base_table()
    i = header.index(column)
    codes = {}
    for n, r in enumerate(rows, start=2):
        code = int(r[i])
        codes[n] = float(code)
        word = words.get(n, scale[code])
        r[i] = word(code, scale[code]) if callable(word) else word
    return as_csv(header, rows), codes


def valid_by_row(result, column: str) -> dict[int, float]:
    v = result.valid.set_index("_source_row")[column]
    return {int(k): (None if pd.isna(x) else float(x)) for k, x in v.items()}


# ------------------------------------------------------------------------------ matching

@pytest.mark.parametrize("measure_id", [k for k, m in BANK.items() if m.scale])
def test_every_bank_label_reads_as_its_own_code_and_no_two_labels_share_a_key(measure_id):
    scale = BANK[measure_id].scale
    assert label_problems(scale) == []
    answers = read_answers(pd.Series(list(scale.values())), scale)
    assert answers.codes.tolist() == [float(c) for c in scale]
    shouted = read_answers(pd.Series([f"  {v.upper()}. " for v in scale.values()]), scale)
    assert shouted.codes.tolist() == [float(c) for c in scale]


VARIANTS = [
    ("local_area_cohesion", " tend  to DISAGREE ", 3),
    ("local_area_cohesion", "Tend to disagree.", 3),
    ("local_area_cohesion", "Tend\u00a0to disagree", 3),  # a non-breaking space, as web forms paste it
    ("local_area_cohesion", "1 - Definitely agree", 1),  # a survey tool's numbered answer
    ("local_area_cohesion", "(4) Definitely disagree", 4),
    ("loneliness_ons", "Often / always", 1),
    ("loneliness_ons", "often or always", 1),
    ("loneliness_ons", "Often & Always", 1),
    ("loneliness_ons", "Hardly-ever", 4),
    ("intergenerational_attitudes", "Neither agree, nor disagree", 3),
    ("social_action_volunteering", "yes", 1),
    ("belonging_neighbourhood", "not_at_all_strongly", 4),  # an XLSForm choice name, as Kobo and ODK export it
    ("loneliness_ons", "often_or_always", 1),
]


@pytest.mark.parametrize("measure_id,text,code", VARIANTS, ids=[v[1] for v in VARIANTS])
def test_common_variants_of_a_label_read_as_its_code(measure_id, text, code):
    answers = read_answers(pd.Series([text]), BANK[measure_id].scale)
    assert answers.codes.tolist() == [code] and answers.from_words.tolist() == [True]


@pytest.mark.parametrize("text", ["Tend to disagre", "4 - Definitely agree", "Agree", "Definitely", "3", ""])
def test_other_wordings_match_nothing(text):
    answers = read_answers(pd.Series([text]), BANK["local_area_cohesion"].scale)
    assert answers.from_words.tolist() == [False] and answers.dont_know.tolist() == [False]


def test_dont_know_words_are_missing_unless_the_measure_gives_them_a_code():
    texts = list(MISSING_WORDS) + ["Don\u2019t know", "dont know", "n/a", "not sure"]
    answers = read_answers(pd.Series(texts), BANK["local_area_cohesion"].scale)
    assert answers.dont_know.tolist() == [True] * (len(texts) - 1) + [False]  # "not sure" can be a scale's middle
    assert not answers.from_words.any()


def test_a_scale_whose_labels_cannot_be_told_apart_is_refused():
    base = {"name": "Own", "domain": "belonging", "question": "How often?", "response_type": "ordinal",
            "min": 1, "max": 3, "higher_is_better": True}
    with pytest.raises(ValidationError, match="the labels of codes 1 and 2 .* read as the same answer"):
        OwnMeasure.model_validate({**base, "scale": {1: "Often/always", 2: "often or always", 3: "Never"}})
    with pytest.raises(ValidationError, match="the label of code 3 .* is a \"don't know\"-type answer"):
        OwnMeasure.model_validate({**base, "scale": {1: "Often", 2: "Never", 3: "Don't know"}})
    with pytest.raises(ValidationError, match="the label of code 1 is the number 2"):
        OwnMeasure.model_validate({**base, "scale": {1: "2", 2: "Some", 3: "Never"}})


# ------------------------------------------------------------------------------ intake

def test_an_evaluation_answered_in_words_goes_through_intake_with_exact_counts(tmp_path):
    words = {2: lambda c, label: label.upper(), 3: lambda c, label: f" {label.replace(' ', '  ')}. ",
             4: "Don\u2019t know", 5: "DK", 6: "Prefer not to say", 7: "N/A", 8: "",
             9: lambda c, label: f"{c} - {label}", 10: lambda c, label: str(c), 11: lambda c, label: label.lower()}
    data, codes = with_words("belonging", words, BELONGING)
    raw, result, table = intake(evaluation(tmp_path, data))
    missing = {4, 5, 6, 7, 8}
    assert result.answers["belonging"] == {"from_words": 42, "dont_know": 4, "mapped_by_label": []}
    assert result.missing_answers["belonging"] == 4  # the blank row (8) is empty, not a "don't know"
    assert result.answers["mixing"] == {"from_words": 0, "dont_know": 0, "mapped_by_label": []}
    # the words come back as their codes; row 10's number stays a number
    assert valid_by_row(result, "belonging") == {r: None if r in missing else c for r, c in codes.items()}
    assert result.quarantine.empty and table["quarantined"].sum() == 0
    assert intake_report(result, table)["answers"]["belonging"]["from_words"] == 42
    report = check_evaluation(evaluation(tmp_path / "again", data))
    assert report.ok, report.problems
    assert "'belonging': 42 answers in words read as the measure's codes; 4 \"don't know\"-type answers counted " \
           "as missing" in report.notes


def test_an_answer_matching_no_label_is_refused_at_check_naming_the_rows_labels_and_fix(tmp_path):
    words = {12: "Quite strongly", 13: "Quite strongly", 30: "Quite strongly", 14: "strongly"}
    data, _ = with_words("belonging", words, BELONGING)
    folder = evaluation(tmp_path, data)
    with pytest.raises(StructuralError):
        intake(folder)  # `run` stops on it too: validate is the one place that decides
    report = check_evaluation(folder)
    [problem] = report.problems
    assert problem == (
        f"{folder}: 'belonging' is answered in words, and 4 answers match none of the labels of the measure "
        "'Belonging to the neighbourhood' (1 = Very strongly, 2 = Fairly strongly, 3 = Not very strongly, "
        "4 = Not at all strongly): text, 14 characters in 3 rows (first: survey.csv row 12); text, 8 characters "
        "in 1 row (survey.csv row 14). Words are matched to the labels ignoring case, spacing, punctuation and "
        "curly quotes, and \"Don't know\", \"Prefer not to say\", \"N/A\" count as missing. Fix: write each answer "
        "as one of these labels or its code; list an answer that means no answer under missing_codes; or if you "
        "asked your own question with other answers, declare your own measure with its labels under "
        "outcomes[].measure (see `commonground new`)")
    proc = cg_check(folder)
    assert proc.returncode == 2
    assert "text, 14 characters in 3 rows (first: survey.csv row 12)" in proc.stderr.replace("\n", "")
    assert "Quite strongly" not in proc.stdout + proc.stderr  # what was typed is shown only as its kind and length


def test_a_stray_word_in_a_column_of_numbers_is_only_set_aside(tmp_path):
    header, rows = base_table()
    rows[10][header.index("belonging")] = "Quite strongly"  # row 12; every other answer is a code
    raw, result, _ = intake(evaluation(tmp_path, as_csv(header, rows)))
    assert result.quarantine[["_source_row", "check"]].values.tolist() == [[12, "belonging_is_a_number"]]
    assert not raw.isin(["Quite strongly"]).any(axis=None)  # not a label: stored only as its description


def test_a_charitys_own_measure_maps_its_own_labels(tmp_path):
    scale = {1: "Hardly ever", 2: "Now & then", 3: "Most weeks", 4: "Every week"}
    own = {"name": "Neighbours met", "domain": "belonging", "question": "How often do you meet neighbours?",
           "response_type": "ordinal", "scale": scale, "min": 1, "max": 4, "higher_is_better": True}
    outcomes = copy.deepcopy(BASE_MANIFEST["outcomes"])
    outcomes[1]["measure"] = own
    data, _ = with_words("belonging", {20: "now and then", 21: "EVERY WEEK", 22: "Weekly"}, scale)
    folder = evaluation(tmp_path, data, outcomes=outcomes)
    with pytest.raises(StructuralError, match="1 answer matches none of the labels of the measure 'Neighbours met' "
                                              r"\(1 = Hardly ever, 2 = Now & then, 3 = Most weeks, 4 = Every week\): "
                                              r"text, 6 characters in 1 row \(survey.csv row 22\)"):
        intake(folder)
    variants = {n: lambda c, label: label.upper().replace("&", "and") for n in range(2, 50, 3)}
    data, codes = with_words("belonging", variants, scale)
    _, result, _ = intake(evaluation(tmp_path / "ok", data, outcomes=outcomes))
    assert result.answers["belonging"]["from_words"] == 48
    assert valid_by_row(result, "belonging") == codes


# ------------------------------------------------------------------ SPSS value labels

def spss_evaluation(tmp_path, belonging_labels: dict, cells: dict[int, float] | None = None):
    """The base as an SPSS file whose 'belonging' codes carry `belonging_labels`; cells: case -> new code.

    Returns the folder and each case's original code (an SPSS file's rows are its case numbers, from 1)."""
    header, rows = base_table()
    df = pd.DataFrame(rows, columns=header)
    for col in ("took_part", "age", "female", "mixing", "belonging"):
        df[col] = pd.to_numeric(df[col])
    for row, code in (cells or {}).items():
        df.loc[row - 1, "belonging"] = code
    folder = evaluation(tmp_path, None, name="survey.sav")
    pyreadstat.write_sav(df, str(folder / "survey.sav"), variable_value_labels={"belonging": belonging_labels})
    return folder, {n: float(c) for n, c in enumerate(pd.to_numeric(pd.DataFrame(rows, columns=header)["belonging"]),
                                                          start=1)}


def spss_intake(folder):
    manifest = load_manifest(folder)
    raw = read_raw(folder, manifest)
    result = validate(raw, manifest, BANK, file_value_labels(folder, manifest, BANK))
    return result, reconcile(raw, result.valid, result.quarantine, manifest.design.wave)


def test_value_labels_in_the_reverse_order_are_refused_at_check(tmp_path):
    folder, _ = spss_evaluation(tmp_path, REVERSED)
    with pytest.raises(StructuralError, match="the value labels run the other way"):
        spss_intake(folder)
    [problem] = check_evaluation(folder).problems
    assert problem == (
        f"{folder}: survey.sav, column 'belonging': the value labels run the other way from the measure 'Belonging "
        "to the neighbourhood': the file has 1 = Not at all strongly, 2 = Not very strongly, 3 = Fairly strongly, "
        "4 = Very strongly; the measure has 1 = Very strongly, 2 = Fairly strongly, 3 = Not very strongly, "
        "4 = Not at all strongly. Intake never turns codes round by itself, since either the codes or the labels "
        "are wrong and only you know which. Fix: if the labels are right, recode the answers to the measure's codes "
        "(in SPSS: RECODE belonging (1=4) (2=3) (3=2) (4=1)) and correct the labels; if the codes are right, "
        "correct the value labels")


def test_value_labels_in_another_order_are_read_by_label_and_reported(tmp_path):
    folder, codes = spss_evaluation(tmp_path, {**REORDERED, 7: "Too few people here", 8: "Prefer not to say"},
                                   cells={14: 8, 15: 7})
    result, table = spss_intake(folder)
    swap = {1.0: 2.0, 2.0: 1.0, 3.0: 3.0, 4.0: 4.0}
    assert valid_by_row(result, "belonging") == {r: None if r == 14 else swap[c] for r, c in codes.items() if r != 15}
    assert result.quarantine[["_source_row", "check"]].values.tolist() == [[15, "belonging_is_labelled"]]
    assert result.answers["belonging"] == {"from_words": 0, "dont_know": 1, "mapped_by_label": ["survey.sav"]}
    assert result.missing_answers["belonging"] == 1
    assert intake_report(result, table)["answers"]["belonging"]["mapped_by_label"] == ["survey.sav"]
    notes = check_evaluation(folder).notes
    assert ("'belonging': 1 \"don't know\"-type answer counted as missing; the codes in survey.sav are labelled in "
            "another order than the measure's, so each was read by its label") in notes


def test_value_labels_in_the_measures_order_change_nothing(tmp_path):
    folder, codes = spss_evaluation(tmp_path, {1: "Very strongly", 4: "Not at all strongly"})
    result, _ = spss_intake(folder)
    assert valid_by_row(result, "belonging") == codes
    assert result.answers["belonging"] == {"from_words": 0, "dont_know": 0, "mapped_by_label": []}


def test_labels_matching_in_part_and_in_another_order_are_refused():
    lc = compare_labels("s.sav", "belonging", "belonging", {1: "Fairly strongly", 2: "Very strongly", 3: "Lots"},
                        BELONGING)
    assert lc.order == "conflict"
    assert compare_labels("s.sav", "b", "b", REVERSED, BELONGING).order == "reversed"
    assert compare_labels("s.sav", "b", "b", REORDERED, BELONGING).recode == {1.0: 2.0, 2.0: 1.0, 3.0: 3.0, 4.0: 4.0}
