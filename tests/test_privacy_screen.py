"""The privacy screen names every identifying column of a file in one `check`, each for what it is.

Survey tools export an IP address, an email, first and last names, a location and free text side by
side (SurveyMonkey, Qualtrics); a charity should fix them all after one run of `check`, and be told
an IP address is an IP address, not a postcode.
"""
from __future__ import annotations

import pytest

from evaluations.checking import check_evaluation
from evaluations.intake.privacy import column_words, screen_columns
from evaluations.intake.readers import IntakeError
from tests.test_bad_inputs import PRIVACY_FIX, base_table, as_csv, evaluation

WHAT = "the column looks like it holds {kind}, which must not leave the charity"


@pytest.mark.parametrize("column, kind", [
    ("IP Address", "an IP address"),  # SurveyMonkey
    ("IPAddress", "an IP address"),  # Qualtrics
    ("LocationLatitude", "a location"),
    ("LocationLongitude", "a location"),
    ("RecipientLastName", "a name"),
    ("RecipientEmail", "an email address"),
    ("E-mail", "an email address"),
    ("_submitted_by", "a user account"),  # KoboToolbox
    ("SubmitterName", "a name"),  # ODK Central
])
def test_survey_tool_identifier_columns_are_named_for_what_they_hold(column, kind):
    import pandas as pd
    df = pd.DataFrame({column: ["x"] * 3, "_source_file": "f.csv", "_source_row": [2, 3, 4]})
    with pytest.raises(IntakeError) as err:
        screen_columns(df, "f.csv", declared=set(), drop=set())
    assert err.value.column == column and err.value.problem == WHAT.format(kind=kind)


@pytest.mark.parametrize("column", ["Respondent ID", "Start time", "Duration (in seconds)", "shipping",
                                    "belonging_pre", "lonely", "meta-instanceID"])
def test_ordinary_columns_pass(column):
    import pandas as pd
    df = pd.DataFrame({column: ["1", "2", "3"], "_source_file": "f.csv", "_source_row": [2, 3, 4]})
    assert list(screen_columns(df, "f.csv", declared=set(), drop=set()).columns) == list(df.columns)


def test_column_words_split_camel_case_and_spaces():
    assert column_words("RecipientLastName") == "recipient_last_name"
    assert column_words("IP Address") == "ip_address"
    assert column_words("IPAddress") == "ip_address"


def test_an_ip_address_under_another_name_is_found_by_its_content(tmp_path):
    folder = evaluation(tmp_path, _with({"origin": {7: "198.51.100.23"}}))
    report = check_evaluation(folder)
    assert report.problems == [f"{folder / 'survey.csv'}, row 7, column 'origin': "
                               f"{WHAT.format(kind='an IP address')}. {PRIVACY_FIX}"]


def test_check_lists_every_identifying_column_of_a_file_at_once(tmp_path):
    data = _with({"IP Address": {i: "192.0.2.1" for i in range(2, 50)},
                  "Email Address": {3: "test.person@example.org"},
                  "First Name": {i: "Test" for i in range(2, 50)},
                  "contact": {9: "07700 900123"}})
    folder = evaluation(tmp_path, data)
    report = check_evaluation(folder)
    where = folder / "survey.csv"
    assert report.problems == [
        f"{where}, column 'IP Address': {WHAT.format(kind='an IP address')}. {PRIVACY_FIX}",
        f"{where}, column 'Email Address': {WHAT.format(kind='an email address')}. {PRIVACY_FIX}",
        f"{where}, column 'First Name': {WHAT.format(kind='a name')}. {PRIVACY_FIX}",
        f"{where}, row 9, column 'contact': {WHAT.format(kind='a phone number')}. {PRIVACY_FIX}",
    ]
    # dropping them all, as the fix says, makes the folder ready
    folder2 = evaluation(tmp_path / "again", data,
                         file={"drop_columns": ["IP Address", "Email Address", "First Name", "contact"]})
    assert check_evaluation(folder2).problems == []


def _with(columns: dict[str, dict[int, str]]) -> bytes:
    """The bad-input base survey with extra columns, values by spreadsheet row."""
    header, rows = base_table()
    names = list(columns)
    return as_csv(header + names, [r + [columns[n].get(i + 2, "") for n in names] for i, r in enumerate(rows)])
