"""KoboToolbox: form data exported as XLS(X) or CSV ("XML values and headers" or labels).

One header row. Questions inside groups are named by their path, the groups joined by "/" by
default (`about_you/age`); submission metadata columns start with an underscore: `_id`,
`_uuid`, `_submission_time`, `_validation_status`, `_index`, `__version__`, `_submitted_by`,
`_status`, `_notes`, `_tags`; the form's own metadata questions (`start`, `end`, `today`,
`deviceid`, `username`) come first when the form has them, and a geopoint question adds
`_<name>_latitude`, `_<name>_longitude`, `_<name>_altitude`, `_<name>_precision`.

Group paths are shortened to the question's own name where it is unique (paths.py).

Sources: the export options (include groups in headers, group separator "/" by default,
"XML values and headers" or a label language),
https://rdrr.io/cran/KoboconnectR/man/kobo_export_create.html (a wrapper of
https://support.kobotoolbox.org/api.html) ; the submission fields (_submission_time,
_validation_status), https://docs.n8n.io/integrations/nodes/n8n-nodes-base.kobotoolbox/ .
"""
from __future__ import annotations

import re

from evaluations.intake.exports.paths import shorten
from evaluations.intake.exports.tool import Layout, Tool, row

SEPARATOR = "/"
SUBMISSION = ("_id", "_uuid", "_submission_time", "_validation_status", "_index", "__version__", "_submitted_by",
              "_status", "_notes", "_tags", "_attachments", "_xform_id_string", "_parent_index", "_parent_table_name")
SIGNATURE = {"_uuid", "_submission_time", "_validation_status", "_index", "__version__", "_submitted_by", "_status"}


def recognise(rows) -> bool:
    return len(SIGNATURE & set(row(rows, 0))) >= 2


def layout(rows, tool: Tool) -> Layout:
    names = row(rows, 0)
    keep = {n for n in names if tool.is_metadata(n) or tool.identifier_kind(n)}
    short = shorten(names, SEPARATOR, keep)
    return Layout(short, 1, paths={s: n for s, n in zip(short, names) if s != n})


TOOL = Tool(
    key="kobo",
    name="KoboToolbox",
    source="https://rdrr.io/cran/KoboconnectR/man/kobo_export_create.html",
    shape="one header row holding _uuid, _submission_time, _index and the other submission columns",
    header_rows=1,
    recognise=recognise,
    layout=layout,
    identifiers={"_submitted_by": "a user account", "username": "a user account", "deviceid": "a device id",
                 "simserial": "a device id", "subscriberid": "a device id", "phonenumber": "a phone number",
                 "_geolocation": "a location"},
    identifier_patterns=((re.compile(r"^_.+_(latitude|longitude|altitude|precision)$", re.I), "a location"),),
    metadata=frozenset({*SUBMISSION, "start", "end", "today", "audit", "audit_url", "meta/instanceid",
                        "meta/rootuuid", "meta/deprecatedid", "meta/instancename", "formhub/uuid"}),
)
