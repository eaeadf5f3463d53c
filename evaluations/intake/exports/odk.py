"""ODK Central: submissions downloaded as CSV (the main table of the .csv.zip, or "CSV file only").

One header row: `SubmissionDate` first, then the form's questions named by their group path
joined by "-" (`about_you-age`, `meta-instanceID`), then `KEY`, `SubmitterID`,
`SubmitterName`, `AttachmentsPresent`, `AttachmentsExpected`, `Status`, `ReviewState`,
`DeviceID`, `Edits`, `FormVersion`. A geopoint question adds `<path>-Latitude`,
`<path>-Longitude`, `<path>-Altitude`, `<path>-Accuracy`.

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
from evaluations.intake.exports.tool import Layout, Tool, row

SEPARATOR = "-"
SIGNATURE = {"SubmissionDate", "KEY", "meta-instanceID", "SubmitterID", "SubmitterName", "AttachmentsPresent",
             "AttachmentsExpected", "ReviewState", "FormVersion"}


def recognise(rows) -> bool:
    return len(SIGNATURE & set(row(rows, 0))) >= 2


def layout(rows, tool: Tool) -> Layout:
    names = row(rows, 0)
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
