"""Qualtrics: a response data table downloaded as CSV (or TSV saved as CSV), with choice text or
numeric values.

Three header rows: row 1 the column names (`StartDate`, ..., `Q1`, `Q2_1`, embedded data by
its own name), row 2 each column's question text, row 3 its ImportId as JSON
(`{"ImportId":"QID1"}`). Whether the answers are choice text ("Definitely agree") or numeric
values (1) changes only the cells below, never these rows. The column names are kept (`Q1`);
the question text is kept as the column's label; the ImportId row is dropped.

A file whose question-text row is there but whose ImportId row is missing has been cut: its
row 3 would be read as the first response, so it is refused. A file with only row 1 (rows 2
and 3 deleted by hand) is read from row 2.

Sources: Qualtrics Support, "Understanding Your Dataset" ("CSV and TSV files come with 3 rows
of headers": the field ID, the question text, the ImportId; the respondent columns
StartDate ... UserLanguage),
https://www.qualtrics.com/support/survey-platform/data-and-analysis-module/data/download-data/understanding-your-dataset/ ;
the rows' order as importers read them (namerow 1, questionrow 2, importidrow 3),
https://search.r-project.org/CRAN/refmans/kutils/html/importQualtrics.html .
"""
from __future__ import annotations

from evaluations.intake.exports.tool import ExportError, Layout, Tool, import_id_row, padded, row, width

METADATA = ("StartDate", "EndDate", "Status", "Progress", "Duration (in seconds)", "Finished", "RecordedDate",
            "ResponseId", "DistributionChannel", "UserLanguage", "ResponseID", "ResponseSet", "Q_RecaptchaScore",
            "Q_RelevantIDDuplicate", "Q_RelevantIDDuplicateScore", "Q_RelevantIDFraudScore",
            "Q_RelevantIDLastStartDate", "Q_TotalDuration")
IDENTIFIERS = {"IPAddress": "an IP address", "RecipientLastName": "a name", "RecipientFirstName": "a name",
               "RecipientEmail": "an email address", "LocationLatitude": "a location",
               "LocationLongitude": "a location"}
# not ExternalReference: the charity's own reference for the respondent (often the id that links the
# waves), screened by its content like any column
KNOWN = {c.lower() for c in (*METADATA, *IDENTIFIERS)}


def _known_names(rows) -> list[int]:
    return [i for i, c in enumerate(row(rows, 0)) if c.lower() in KNOWN]


def _question_text_row(rows) -> bool:
    """Row 2 holds the question texts Qualtrics gives its own columns ("Start Date" over StartDate)."""
    names, texts = row(rows, 0), row(rows, 1)
    squash = [t.replace(" ", "").lower() for t in texts]
    return any(i < len(squash) and squash[i] == names[i].replace(" ", "").lower()
               for i in _known_names(rows) if names[i] not in ("Status", "Progress", "Finished"))


def recognise(rows) -> bool:
    """ImportIds in row 3 (or row 2), Qualtrics' question texts over its own columns in row 2, or, in a
    file whose rows 2 and 3 were deleted, its response columns in row 1 (ResponseId and two more)."""
    if import_id_row(rows, 2) or import_id_row(rows, 1) or _question_text_row(rows):
        return True
    known = {row(rows, 0)[i] for i in _known_names(rows)}
    return "ResponseId" in known and len(known) >= 3


def layout(rows, tool: Tool) -> Layout:
    names = padded(row(rows, 0), width(rows, 3))
    if import_id_row(rows, 2):
        texts = padded(row(rows, 1), len(names))
        return Layout(names, 3, {n: t for n, t in zip(names, texts) if n and t})
    if import_id_row(rows, 1):  # the question-text row deleted, the ImportId row kept
        return Layout(names, 2)
    if _question_text_row(rows):
        found = "ends after row 2" if len(rows) < 3 else "has no ImportId row in row 3"
        raise ExportError(f"this Qualtrics export {found}: row 1 holds the column names and row 2 the "
                          "question texts, but row 3, which holds each column's ImportId "
                          "({\"ImportId\":\"QID1\"}), is missing, so the first response could not be told "
                          "from a header row", "download the data again from Qualtrics (Data & Analysis, "
                          "Export & Import, Export data, CSV) and use the file unchanged; or delete row 2 "
                          "too, so that row 1 is the only header row", row=3)
    return Layout(names, 1)


TOOL = Tool(
    key="qualtrics",
    name="Qualtrics",
    source="https://www.qualtrics.com/support/survey-platform/data-and-analysis-module/data/download-data/"
           "understanding-your-dataset/",
    shape="three header rows: column names such as StartDate, ResponseId and Q1 in row 1, the question texts "
          "in row 2, and {\"ImportId\":...} in row 3",
    header_rows=3,
    recognise=recognise,
    layout=layout,
    identifiers={k.lower(): v for k, v in IDENTIFIERS.items()},
    metadata=frozenset(c.lower() for c in METADATA),
)
