"""ODK Central: submissions downloaded as CSV (the main table of the .csv.zip, or "CSV file only").

One header row: `SubmissionDate` first, then the form's questions named by their group path
joined by "-" (`about_you-age`, `meta-instanceID`), then `KEY`, `SubmitterID`,
`SubmitterName`, `AttachmentsPresent`, `AttachmentsExpected`, `Status`, `ReviewState`,
`DeviceID`, `Edits`, `FormVersion`. A geopoint question adds `<path>-Latitude`,
`<path>-Longitude`, `<path>-Altitude`, `<path>-Accuracy`.

The .csv.zip also holds a table per repeat group (`<form>-<repeat>.csv`: the repeat's questions,
`PARENT_KEY`, `KEY`), one row per repeat; given one of those, the reader refuses it and names
the main table.

Group paths are shortened to the question's own name where it is unique (paths.py). XLSForm
names may themselves hold "-"; such a question in a group is shortened at its last "-" too,
so refer to it by the name shown in `commonground check`, or read the file with `tool: plain`.

Sources: ODK Central, "Managing Form Submissions" (downloading submissions as CSV),
https://docs.getodk.org/central-submissions/ ; the CSV's columns (SubmissionDate first, the
values block, KEY holding the instanceID), the ODK export format,
https://github.com/getodk/briefcase/blob/master/docs/export-format.md .
"""
from __future__ import annotations

import re

from evaluations.intake.exports.paths import shorten
from evaluations.intake.exports.tool import ExportError, Layout, Tool, row

SEPARATOR = "-"
SIGNATURE = {"SubmissionDate", "KEY", "meta-instanceID", "SubmitterID", "SubmitterName", "AttachmentsPresent",
             "AttachmentsExpected", "ReviewState", "FormVersion"}


REPEAT = {"PARENT_KEY", "KEY"}  # a repeat group's table: one row per repeat, linked to its submission


def recognise(rows) -> bool:
    header = set(row(rows, 0))
    return len(SIGNATURE & header) >= 2 or REPEAT <= header


def layout(rows, tool: Tool) -> Layout:
    names = row(rows, 0)
    if REPEAT <= set(names):
        raise ExportError("this is the table of a repeat group from an ODK Central download (it has PARENT_KEY), "
                          "one row per repeat rather than one per submission", "use the main table of the "
                          "download instead: the CSV named after the form alone, whose row 1 starts with "
                          "SubmissionDate", row=1, column="PARENT_KEY")
    keep = {n for n in names if tool.is_metadata(n) or tool.identifier_kind(n)}
    short = shorten(names, SEPARATOR, keep)
    return Layout(short, 1, paths={s: n for s, n in zip(short, names) if s != n})


TOOL = Tool(
    key="odk",
    name="ODK Central",
    source="https://docs.getodk.org/central-submissions/",
    shape="one header row starting with SubmissionDate and holding KEY, SubmitterID, SubmitterName and "
          "ReviewState",
    header_rows=1,
    recognise=recognise,
    layout=layout,
    identifiers={"submittername": "a name", "submitterid": "a user account", "deviceid": "a device id",
                 "username": "a user account", "phonenumber": "a phone number", "simserial": "a device id",
                 "subscriberid": "a device id"},
    identifier_patterns=((re.compile(r"-(Latitude|Longitude|Altitude|Accuracy)$"), "a location"),),
    metadata=frozenset({"submissiondate", "key", "meta-instanceid", "meta-instancename", "meta-audit",
                        "attachmentspresent", "attachmentsexpected", "status", "reviewstate", "edits",
                        "formversion", "isvalidated", "start", "end", "today", "instanceid"}),
)
