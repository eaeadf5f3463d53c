"""Survey-tool exports: which tool wrote a file, and its header rows read as one row of column names.

A charity downloads its answers from Google Forms, Microsoft Forms, SurveyMonkey, Qualtrics,
KoboToolbox or ODK Central and puts the file beside evaluation.yaml as it is. `read_header`
is the one place that decides how a file's header is read:

- `files.tool: auto` (the default): a file whose header rows are a tool's is read as that
  tool writes it (its reader, one module per tool here); any other file is a plain table
  whose header is row 1 (or `files.header_rows` rows, the first holding the names).
- `files.tool: <tool>`: the file must look like that tool's export, or it is refused, saying
  what was found.
- `files.tool: plain`: recognition is off; the file is a plain table. A SurveyMonkey or
  Qualtrics header row below row 1 that would then be read as answers is refused, saying so.

Each tool also says which of its own columns are identifiers (`identifier_kind`: "an IP
address", "a name") and which are harmless metadata (timestamps, the response's id, status,
progress, duration) that intake sets aside before the privacy screen.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from evaluations.intake.exports import google_forms, kobo, microsoft_forms, odk, qualtrics, surveymonkey
from evaluations.intake.exports.tool import ExportError, Rows, Tool, import_id_row, quoted, row, sub_header_row

# Most particular first: a Qualtrics or SurveyMonkey header row 1 could also start with "Timestamp".
TOOLS: dict[str, Tool] = {t.key: t for t in (qualtrics.TOOL, surveymonkey.TOOL, odk.TOOL, kobo.TOOL,
                                             microsoft_forms.TOOL, google_forms.TOOL)}
AUTO, PLAIN = "auto", "plain"
ROWS_NEEDED = 5  # how many of a file's first rows read_header looks at (header_rows is at most 5)
SHOWN = 6  # header cells quoted when a file is not the tool it is said to be


@dataclass(frozen=True)
class Header:
    """A file's header as intake reads it: one name per column and the rows above the first answer."""

    tool: str  # a key of TOOLS, or "plain"
    names: list[str]
    header_rows: int
    originals: list[str]  # each column's name in the export's own row 1 (before its header rows were merged)
    labels: dict[str, str] = field(default_factory=dict)  # column name -> question text, where the export has it
    paths: dict[str, str] = field(default_factory=dict)  # shortened column name -> its whole group path
    identifiers: dict[str, str] = field(default_factory=dict)  # column name -> what it identifies ("a name")
    metadata: tuple[str, ...] = ()  # the tool's harmless columns (timestamps, response ids, status)

    def short(self, name: str) -> str:
        """The column's name in the data, given its whole group path (or any other name, unchanged)."""
        return next((short for short, full in self.paths.items() if full == name), name)

    @property
    def tool_name(self) -> str:
        return TOOLS[self.tool].name if self.tool in TOOLS else "a plain table"


def detect(rows: Rows) -> str | None:
    """The tool whose export these header rows are, or None for a plain table."""
    for key, tool in TOOLS.items():
        if tool.recognise(rows):
            return key
    return None


def identifier_kind(tool: str | None, column: str) -> str | None:
    """What a tool's own column identifies ("an IP address", "an email address", "a name", "a location",
    "a user account", "a device id", "a phone number"), or None when the tool does not make it an
    identifier. `tool` None asks every tool (for a column whose file's tool is not known)."""
    tools = TOOLS.values() if tool is None else [TOOLS[tool]] if tool in TOOLS else []
    for t in tools:
        kind = t.identifier_kind(column)
        if kind:
            return kind
    return None


def is_tool_metadata(tool: str | None, column: str) -> bool:
    """A tool's own column that says how the form was filled in (when, which response, how far), never who."""
    return tool in TOOLS and TOOLS[tool].is_metadata(column)


def read_header(rows: Rows, tool: str = AUTO, header_rows: int = 1) -> Header:
    """How a CSV or Excel file's header is read, from its first rows; raises ExportError with the fix."""
    if tool == PLAIN:
        _refuse_header_read_as_answers(rows, header_rows)
        return _plain(rows, header_rows)
    if tool == AUTO:
        found = detect(rows)
        if found is None:
            return _plain(rows, header_rows)
        chosen = TOOLS[found]
    else:
        chosen = TOOLS[tool]
        if not chosen.recognise(rows):
            raise _not_this_tool(chosen, rows)
    layout = chosen.layout(rows, chosen)
    if header_rows not in (1, layout.header_rows):
        raise ExportError(f"files.header_rows is {header_rows}, but this is a {chosen.name} export, whose header "
                          f"takes {_rows(layout.header_rows)}",
                          "remove header_rows for this file in evaluation.yaml: the export's header rows are read "
                          f"as {chosen.name} writes them (or set tool: plain to read it as a plain table)")
    originals = row(rows, 0) + [""] * (len(layout.names) - len(row(rows, 0)))
    identifiers, metadata = {}, []
    for name, original in zip(layout.names, originals):
        kind = chosen.identifier_kind(original) or chosen.identifier_kind(name)
        if kind:
            identifiers[name] = kind
        elif chosen.is_metadata(original) or chosen.is_metadata(name):
            metadata.append(name)
    return Header(chosen.key, layout.names, layout.header_rows, originals, layout.labels, layout.paths, identifiers,
                  tuple(metadata))


def _plain(rows: Rows, header_rows: int) -> Header:
    names = row(rows, 0)
    return Header(PLAIN, names, header_rows, list(names))


def _rows(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"


def _refuse_header_read_as_answers(rows: Rows, header_rows: int) -> None:
    """A plain reading that would take a SurveyMonkey or Qualtrics header row for the first answers."""
    first = header_rows  # 0-based index of the first row read as answers
    if sub_header_row(rows, first):
        tool, what = TOOLS["surveymonkey"], "'Response' or 'Open-Ended Response', as the second header row of a " \
                                              "SurveyMonkey export does"
    elif import_id_row(rows, first) or import_id_row(rows, first + 1):
        tool, what = TOOLS["qualtrics"], "{\"ImportId\": ...} cells, as the header rows of a Qualtrics export do"
        if not import_id_row(rows, first):
            first += 1
    else:
        return
    raise ExportError(f"row {first + 1} holds {what}, so with tool: plain it would be read as a respondent's answers",
                      f"remove tool: plain{' and header_rows' if header_rows != 1 else ''} for this file in "
                      f"evaluation.yaml, so it is read as a {tool.name} export (its header rows become one row of "
                      f"column names)", row=first + 1)


def _not_this_tool(tool: Tool, rows: Rows) -> ExportError:
    header = row(rows, 0)
    if len(rows) < tool.header_rows:
        found = f"the file has only {_rows(len(rows))}"
    elif any(header):
        shown = ", ".join(quoted(c, 40) for c in header[:SHOWN]) + (", ..." if len(header) > SHOWN else "")
        found = f"row 1 holds {shown}"
        if tool.header_rows > 1 and not any(row(rows, 1)):
            found += ", and row 2 is empty"  # a second header row emptied or cut away
    else:
        found = "row 1 is empty"
    other = detect(rows)
    fix = (f"set tool: {other} (or auto) for this file: it looks like a {TOOLS[other].name} export" if other else
           f"check that files.path names the file downloaded from {tool.name}, unchanged; or set tool: plain to read "
           "it as a plain table whose header is row 1")
    return ExportError(f"files.tool says this is a {tool.name} export, whose header is {tool.shape}, but {found}",
                       fix, row=1)


__all__ = ["AUTO", "PLAIN", "ROWS_NEEDED", "TOOLS", "ExportError", "Header", "detect", "identifier_kind",
           "is_tool_metadata", "read_header"]
