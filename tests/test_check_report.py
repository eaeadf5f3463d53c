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
