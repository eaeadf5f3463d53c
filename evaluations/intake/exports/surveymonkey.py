"""SurveyMonkey: "All responses data" exported as CSV or XLSX.

Two header rows. Row 1 holds each question's text over its first column and nothing over the
rest of its columns; row 2 says what each column holds: "Response" (one answer), "Open-Ended
Response" (typed text) or, for a question with several columns (checkboxes, a matrix, an
"Other (please specify)" box), the option or row text. Respondent metadata comes first:
`Respondent ID`, `Collector ID`, `Start Date`, `End Date`, `IP Address`, `Email Address`,
`First Name`, `Last Name`, `Custom Data 1`.

The two rows become one name per column: the question text, and " - " and the option text
where row 2 names an option ("How did you hear about us? - A friend").

Sources: the fields of a response (collector_id, ip_address, email_address, first_name,
last_name, custom_variables), SurveyMonkey API as documented at
https://docs.memberjunction.org/api/interfaces/_memberjunction_actions-bizapps-formbuilders.SurveyMonkeyResponse.html ;
the two header rows and their "Response" / "Open-Ended Response" cells, as the readers of
SurveyMonkey exports handle them: https://github.com/mattroumaya/doubleheadr and
https://gist.github.com/sfirke/c26a90d13d43b2c4a4c5e5c3a8b372a5 .
"""
from __future__ import annotations

from evaluations.intake.exports.tool import SUB_HEADERS, Layout, Tool, padded, row, sub_header_row, width

OPTION_SEPARATOR = " - "


def recognise(rows) -> bool:
    return sub_header_row(rows, 1)


def layout(rows, tool: Tool) -> Layout:
    n = width(rows, 2)
    questions, options = padded(row(rows, 0), n), padded(row(rows, 1), n)
    names, question = [], ""
    for text, option in zip(questions, options):
        if text:
            question = text
        elif not option:
            question = ""  # an unnamed column ends the question before it
        if option in SUB_HEADERS or not option:
            names.append(text)
        else:
            names.append(f"{question}{OPTION_SEPARATOR}{option}" if question else option)
    return Layout(names, 2)


TOOL = Tool(
    key="surveymonkey",
    name="SurveyMonkey",
    source="https://github.com/mattroumaya/doubleheadr",
    shape="two header rows: the question texts in row 1, and 'Response', 'Open-Ended Response' or the "
          "option texts in row 2",
    header_rows=2,
    recognise=recognise,
    layout=layout,
    identifiers={"ip address": "an IP address", "email address": "an email address", "first name": "a name",
                 "last name": "a name"},
    # not Custom Data N: it carries whatever the charity put in the link (often a participant code), so
    # it is neither dropped nor called an identifier here, and the privacy screen reads its content
    metadata=frozenset({"respondent id", "collector id", "start date", "end date"}),
)
