"""`check` reports every kind of row-level problem at once: one note per file, column and check,
with how many rows it set aside and where, however many rows share it."""
from __future__ import annotations

from evaluations.checking import check_evaluation
from tests.test_bad_inputs import evaluation, set_cells


def test_many_rows_with_one_problem_are_one_note_with_their_count_and_first_rows(tmp_path):
    # ages given as bands in four rows (two people, both waves), and one out-of-range belonging answer
    bands = [(row, "age", "35-44") for row in (3, 15, 27, 39)]
    folder = evaluation(tmp_path, set_cells(*bands, (13, "belonging", "9")))
    report = check_evaluation(folder)
    assert report.ok, report.problems
    survey = folder / "survey.csv"
    age = [n for n in report.notes if ", column 'age'" in n]
    assert age == [f"{survey}, column 'age': 4 rows set aside (rows 3, 15, 27 and 1 more); the first, row 3: "
                   "'age' holds text, 5 characters, which is not a number or a missing-value code"]
    belonging = [n for n in report.notes if ", column 'belonging'" in n]
    assert len(belonging) == 1 and belonging[0].startswith(f"{survey}, row 13, column 'belonging': ")
    assert belonging[0].endswith("(set aside)")


def _took_part_in_words() -> bytes:
    """The base with its took_part column answered as a form's radio buttons would be."""
    from tests.test_bad_inputs import as_csv, base_table
    header, rows = base_table()
    i = header.index("took_part")
    for r in rows:
        r[i] = {"1": "I took part in the exchange", "0": "I didn\u2019t take part"}[r[i]]
    return as_csv(header, rows)


def test_a_group_question_answered_in_words_is_read_through_design_groups(tmp_path):
    from evaluations.intake.validate import read_raw, validate
    from evaluations.measures import load_measures
    from evaluations.registry import load_manifest
    from tests.test_bad_inputs import base_table

    groups = {"programme": ["I took part in the exchange"], "comparison": ["I didn't take part"]}  # straight quote
    folder = evaluation(tmp_path, _took_part_in_words(), design={"groups": groups})
    report = check_evaluation(folder)
    assert report.ok, report.problems
    manifest = load_manifest(folder)
    valid = validate(read_raw(folder, manifest), manifest, load_measures()).valid
    header, rows = base_table()
    expected = sum(r[header.index("took_part")] == "1" for r in rows)
    assert int(valid["took_part"].sum()) == expected and valid["took_part"].isin([0, 1]).all()
    # without design.groups the answers are set aside, and the fix names design.groups
    plain = evaluation(tmp_path / "plain", _took_part_in_words())
    problems = " ".join(check_evaluation(plain).problems)
    assert "list each group's answers under design.groups" in problems


def test_an_answer_listed_for_both_groups_is_refused(tmp_path):
    folder = evaluation(tmp_path, _took_part_in_words(),
                        design={"groups": {"programme": ["Yes"], "comparison": ["yes", "No"]}})
    problems = check_evaluation(folder).problems
    assert len(problems) == 1 and "design.groups lists the same answer for both groups (yes)" in problems[0]
