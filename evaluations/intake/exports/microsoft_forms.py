"""Microsoft Forms: the responses workbook ("Open results in Excel"), or a CSV saved from it.

One header row: `ID`, `Start time`, `Completion time`, `Email`, `Name` (sometimes
`Last modified time`), then each question's text; a quiz adds `Total points`, `Quiz feedback`
and a `Points - <question>` / `Feedback - <question>` pair per question. `Email` and `Name`
hold "anonymous" when the form does not record names, but the columns are still there.

Sources: Microsoft's support article "Forms response columns are out of order" (the response
workbook, one column per question in the form's order),
https://github.com/MicrosoftDocs/SupportArticles-docs/blob/main/Microsoft365/enterprise/forms-response-columns-out-of-order.md ;
"Set up your survey so names aren't recorded when collecting responses" (the Name and Email
columns), https://support.microsoft.com/office/25dd8442-f6ba-4934-9319-99f9f867f239 . The
fixed columns' names are those the English-language workbook writes.
"""
from __future__ import annotations

import re

from evaluations.intake.exports.tool import Tool, first_row_names, row

SIGNATURE = {"id", "start time", "completion time"}


def recognise(rows) -> bool:
    return SIGNATURE <= {c.lower() for c in row(rows, 0)[:8]}


TOOL = Tool(
    key="microsoft_forms",
    name="Microsoft Forms",
    source="https://support.microsoft.com/office/25dd8442-f6ba-4934-9319-99f9f867f239",
    shape="one header row: 'ID', 'Start time', 'Completion time', 'Email', 'Name' first, then the question texts",
    header_rows=1,
    recognise=recognise,
    layout=first_row_names,
    identifiers={"email": "an email address", "name": "a name"},
    metadata=frozenset({"id", "start time", "completion time", "last modified time", "total points",
                        "quiz feedback", "language"}),
    metadata_patterns=(re.compile(r"^(Points|Feedback) - ", re.I),),
)
