"""Google Forms: the responses downloaded as CSV, or the linked Google Sheet saved as .xlsx.

One header row: `Timestamp` first, then `Email address` when the form collects emails, `Score`
when it is a quiz, then each question's text as its column name, in the form's order.

Source: Google Forms API, FormResponse (the fields behind those columns: createTime,
respondentEmail, totalScore), https://developers.google.com/forms/api/reference/rest/v1/forms.responses .
The column names themselves are those the English-language response sheet and its CSV
download write; the documentation consulted does not list them. A form in another language
(its timestamp column translated) is not recognised and is read as a plain table.
"""
from __future__ import annotations

from evaluations.intake.exports.tool import Tool, first_row_names, row

TIMESTAMP = "timestamp"


def recognise(rows) -> bool:
    header = row(rows, 0)
    return bool(header) and header[0].lower() == TIMESTAMP


TOOL = Tool(
    key="google_forms",
    name="Google Forms",
    source="https://developers.google.com/forms/api/reference/rest/v1/forms.responses",
    shape="one header row: 'Timestamp' first, then the question texts",
    header_rows=1,
    recognise=recognise,
    layout=first_row_names,
    identifiers={"email address": "an email address"},
    metadata=frozenset({"timestamp", "score"}),
)
