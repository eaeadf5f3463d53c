"""Read a charity's survey file into one long table of text values, with every row's origin.

Everything is read as text: types are coerced later, explicitly, so a stray "n/a" in a
number column becomes a quarantined row with its reason, never a silent cast. Row numbers
are the ones the charity sees when it opens the file: the spreadsheet row for CSV and
Excel files (the header is row 1), the case number for SPSS and Stata files.

A CSV or Excel file's header rows are read by evaluations/intake/exports/: a survey tool's export
(Google Forms, Microsoft Forms, SurveyMonkey, Qualtrics, KoboToolbox, ODK Central) is recognised
and its header rows become one row of column names; any other file is a plain table.

Spreadsheet formulas are read as the formula text ("=1+1"), never evaluated and never
replaced by the value Excel last cached, so a formula cell is set aside with its reason.

A file beyond the published limits below is refused before it is parsed: the sizes are
read from the file's own structure (a workbook's zip directory and a streaming count of its
sheets' cells, a CSV's records as the csv module meets them, an SPSS/Stata file's header),
so a small file that would expand to millions of cells costs seconds and little memory.
"""
from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from evaluations.covariates import category_key
from evaluations.intake.exports import PLAIN, ROWS_NEEDED, ExportError, Header, read_header
from evaluations.registry import DataFile, Manifest

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
# ---- Published intake limits (README, "Registering an evaluation"); every refusal quotes its limit.
MAX_FILE_BYTES = 2 * 1024**3
# A CSV is read whole into memory (bytes, then text) before its cells are counted: cap what that costs.
MAX_CSV_BYTES = 512 * 1024**2
MAX_COLUMNS = 1_000  # columns in any file: a survey has tens, a thousand is already generous
MAX_CELLS = 20_000_000  # cells (rows x columns) of a CSV, SPSS or Stata file: a million rows x 20 columns
# Excel is read cell by cell (openpyxl), so workbooks get a tenth of that; larger data goes in as CSV.
MAX_XLSX_CELLS = 2_000_000
MAX_XLSX_UNZIPPED_BYTES = 200 * 1024**2  # a workbook's parts, unzipped, as its zip directory declares
# Real workbooks compress 5-30 times; far more is a zip bomb (a tiny file unpacking to gigabytes).
MAX_COMPRESSION_RATIO = 100
COMPRESSION_CHECKED_FROM = 1024**2  # tiny parts compress extremely well and cost nothing: judge only big ones
# The most characters a spreadsheet cell holds (Excel's limit): a longer CSV cell is not a survey answer.
MAX_CELL_CHARS = 32_767
DELIMITERS = [",", ";", "\t", "|"]


class IntakeError(Exception):
    """A problem with a data file that stops this evaluation: names the file, row, column and fix."""

    def __init__(self, file: str, problem: str, fix: str, row: int | None = None, column: str | None = None):
        self.file, self.problem, self.fix, self.row, self.column = file, problem, fix, row, column
        shown = f"'{column}'" if column and column.isprintable() else repr(column)  # no raw control characters
        where = file + (f", row {row}" if row is not None else "") + (f", column {shown}" if column else "")
        super().__init__(f"{where}: {problem}. Fix: {fix}")


class IntakeErrors(IntakeError):
    """The problems of several files at once (each IntakeError in `errors`), so one `check` lists them all."""

    def __init__(self, errors: list[IntakeError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.file, first.problem, first.fix, first.row, first.column)
        self.args = ("\n".join(str(e) for e in errors),)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


# ------------------------------------------------------------------------------------ CSV

SAVE_AS_UTF8 = "open it in Excel and save it again as 'CSV UTF-8 (Comma delimited)'"


def _decode(raw: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (with or without a byte-order mark), UTF-16, else Windows-1252 as Excel writes it on UK PCs."""
    if raw.startswith(b"\xef\xbb\xbf"):
        candidates = [("utf-8", raw[3:])]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = [("utf-16", raw)]
    elif b"\x00" in raw[:4096]:
        head = raw[:4096]
        # UTF-16 saved without a byte-order mark: every other byte of plain text is zero
        if len(raw) % 2 == 0 and not any(head[1::2]):
            candidates = [("utf-16-le", raw)]
        elif len(raw) % 2 == 0 and not any(head[0::2]):
            candidates = [("utf-16-be", raw)]
        else:
            raise IntakeError(name, "this is not a text CSV file (it holds binary data)",
                              "export the data as CSV, or name the real format (.xlsx, .sav, .dta) in files.path")
    else:
        candidates = [("utf-8", raw), ("cp1252", raw)]
    for i, (encoding, data) in enumerate(candidates):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as e:
            if i + 1 < len(candidates):
                continue
            row = data[:e.start].decode(encoding, errors="replace").count("\n") + 1
            tried = "UTF-8 or Windows-1252" if len(candidates) == 2 else encoding.upper()
            raise IntakeError(name, f"the text cannot be read: byte 0x{data[e.start]:02X} is not {tried} text",
                              SAVE_AS_UTF8, row=row) from None
    raise AssertionError("unreachable")


def _first_line(text: str) -> str:
    """text.lstrip("\r\n").split("\n", 1)[0], without copying the whole text twice."""
    start = len(text) - len(text.lstrip("\r\n")) if text[:1] in ("\r", "\n") else 0
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


def _delimiter(header_line: str) -> str:
    """The separator the header row uses most (Excel writes ';' where the decimal mark is a comma)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties go to the earlier (more common) separator
    return best if counts[best] else ","


def _record_lengths(text: str, delimiter: str, name: str) -> np.ndarray:
    """Cells per record (a spreadsheet row), checking quotes and cell sizes; the record number is the row.

    The column and cell limits are checked record by record, so a file beyond them is refused
    before pandas builds anything.
    """
    lengths = _unquoted_record_lengths(text, delimiter)
    return lengths if lengths is not None else _csv_record_lengths(text, delimiter, name)


def _csv_record_lengths(text: str, delimiter: str, name: str) -> np.ndarray:
    """`_record_lengths` by the csv module, record by record: quotes, carriage returns and the limits."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    lengths: list[int] = []
    add = lengths.append
    cells = 0
    previous = csv.field_size_limit(MAX_CELL_CHARS)
    try:
        for record in reader:
            n = len(record)
            add(n)
            cells += n
            if n > MAX_COLUMNS:
                raise _too_many_columns(name, n, row=len(lengths))
            if cells > MAX_CELLS:
                raise _too_many_cells(name, MAX_CELLS, f"more than {MAX_CELLS:,} cells by this row", SPLIT,
                                      row=len(lengths))
    except csv.Error as e:
        row = len(lengths) + 1
        message = str(e)
        if "field larger than field limit" in message:
            raise IntakeError(name, f"a cell is longer than {MAX_CELL_CHARS:,} characters, the most a spreadsheet "
                                    "cell can hold, so it is not a survey answer",
                              "remove the over-long text from that row (it was probably pasted by mistake), "
                              "or check that every quote is closed", row=row) from None
        if "unexpected end of data" in message:
            raise IntakeError(name, "a quote (\") opened in this row is never closed, so the rest of the file "
                                    "would be read as one cell",
                              "close the quote, or remove it; a quote inside a cell is written twice (\"\")",
                              row=row) from None
        raise IntakeError(name, f"the CSV could not be parsed ({message})",
                          "check the quotes in that row: a cell with a separator or quote in it is "
                          "enclosed in quotes, and a quote inside it is written twice (\"\")", row=row) from None
    finally:
        csv.field_size_limit(previous)
    return np.asarray(lengths, dtype=np.int64)


def _unquoted_record_lengths(text: str, delimiter: str) -> np.ndarray | None:
    """Cells per record without the csv module's per-record loop, for the commonest file: no quote and
    no carriage return, so every line is one record and every separator ends a cell (cells = separators
    + 1; an empty line is a record of 0 cells, as the csv module counts it). None (read it record by
    record) for any other file, or one near a limit, so every refusal keeps its row number and wording.

    The separators and newlines are counted in the text's UTF-8 bytes with numpy, a block at a time: in
    UTF-8 no byte of a non-ASCII character is below 0x80, so each "\\n" and separator is one byte of its own.
    """
    if '"' in text or "\r" in text:
        return None
    data = np.frombuffer(text.encode("utf-8", errors="surrogatepass"), dtype=np.uint8)
    sep = ord(delimiter)
    newlines, before, seen = [], [], 0  # each newline's position, the separators before it, separators so far
    for start in range(0, len(data), _COUNTED_AT_ONCE):
        block = data[start:start + _COUNTED_AT_ONCE]
        separators_here, at = np.flatnonzero(block == sep), np.flatnonzero(block == 10)
        newlines.append(at + start)
        before.append(np.searchsorted(separators_here, at) + seen)
        seen += len(separators_here)
    ends = np.concatenate(newlines) if newlines else np.zeros(0, dtype=np.int64)  # where each line ends
    separators = np.concatenate(before) if before else np.zeros(0, dtype=np.int64)  # ... separators by then
    if len(data) and data[-1] != 10:  # the last line has no newline; one that does ends the file, no empty line
        ends = np.append(ends, len(data))
        separators = np.append(separators, seen)
    sizes = ends - np.concatenate(([0], ends[:-1] + 1))[:len(ends)]  # bytes: 0 exactly when the line is empty
    lengths = np.diff(separators, prepend=0) + 1
    lengths[sizes == 0] = 0
    if len(lengths) and (lengths.max() > MAX_COLUMNS or lengths.sum() > MAX_CELLS):
        return None
    if len(lengths) and sizes.max() > MAX_CELL_CHARS:  # in bytes: a line of non-ASCII text has fewer characters
        return None if text.isascii() else _line_by_line_record_lengths(text, delimiter)
    return lengths.astype(np.int64, copy=False)


_COUNTED_AT_ONCE = 1 << 22  # bytes of a CSV counted in one block (at most 8 bytes a byte for its positions)


def _line_by_line_record_lengths(text: str, delimiter: str) -> np.ndarray | None:
    """`_unquoted_record_lengths` line by line in Python, for a text with no quote and no carriage return:
    exact in characters where a line's bytes are beyond MAX_CELL_CHARS (and the reference in tests)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last record
    sizes = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    lengths = np.fromiter((line.count(delimiter) for line in lines), dtype=np.int64, count=len(lines)) + 1
    lengths[sizes == 0] = 0
    if len(lines) and (sizes.max() > MAX_CELL_CHARS or lengths.max() > MAX_COLUMNS or lengths.sum() > MAX_CELLS):
        return None
    return lengths


def _read_csv(path: Path, spec: DataFile) -> tuple[pd.DataFrame, Header]:
    raw = path.read_bytes()
    text, _ = _decode(raw, spec.path)
    if not text or text.isspace():  # as `not text.strip()`, without copying the whole text
        raise IntakeError(spec.path, "the file is empty", "send the file with its header row and data")
    nul = text.find("\x00")
    if nul >= 0:
        raise IntakeError(spec.path, "the file holds a NUL character (binary data) inside the text",
                          SAVE_AS_UTF8 + "; a CSV holds only text", row=text.count("\n", 0, nul) + 1)
    delimiter = _delimiter(_first_line(text))
    lengths = _record_lengths(text, delimiter, spec.path)
    # Records before the header (blank lines at the top) would shift every row number: refuse them.
    if lengths[0] == 0:
        raise IntakeError(spec.path, "the first row is blank; the header row must be row 1",
                          "delete the blank rows above the header", row=1)
    try:
        # The text as UTF-8 bytes: pandas' C parser reads bytes, and encodes a text stream to them chunk by
        # chunk, a third of its time on a million rows; these are the same bytes (every text decodes without
        # a lone surrogate), so the table is the same.
        df = pd.read_csv(io.BytesIO(text.encode("utf-8")), encoding="utf-8", sep=delimiter, header=None, dtype=str,
                         keep_default_na=False, na_filter=False, skip_blank_lines=False, engine="c")
    except (pd.errors.ParserError, ValueError):
        df = None
    if df is None or len(df) != len(lengths):
        # pandas and the csv module disagree on where records end (a stray quote mid-cell):
        # the csv module's reading is the one whose row numbers were checked, so use it.
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        width = int(lengths.max())
        df = pd.DataFrame([r + [""] * (width - len(r)) for r in records], dtype=object)
    head = _header(df, spec)
    _refuse_cut_header_row(lengths, head, spec)
    width = int(lengths[:head.header_rows if head.tool != PLAIN else 1].max())  # a tool's header rows: the widest
    body = df.iloc[head.header_rows:]
    body_lengths = lengths[head.header_rows:]
    blank = _blank_rows(body)
    ragged = np.flatnonzero((body_lengths != width) & ~blank)
    if len(ragged):
        i = int(ragged[0])
        raise IntakeError(spec.path, f"this row has {body_lengths[i]} cells but the header has {width}",
                          f"check the separators ('{_show_delimiter(delimiter)}') and quotes on that row: a cell "
                          "holding the separator must be enclosed in quotes", row=i + head.header_rows + 1)
    return _with_rows(body, _names(head, df.shape[1]), blank, spec, head.header_rows), head


def _refuse_cut_header_row(lengths: np.ndarray, head: Header, spec: DataFile) -> None:
    """A survey tool writes every header row of its CSV as wide as row 1; a shorter one was cut (by hand, or a
    broken download), and the columns past its end would lose their header (a SurveyMonkey option's name)."""
    if head.tool == PLAIN:
        return
    full = int(lengths[0])
    for i in range(1, min(head.header_rows, len(lengths))):
        if int(lengths[i]) < full:
            n = int(lengths[i])
            raise IntakeError(spec.path, f"this header row of a {head.tool_name} export has {n} cells where row 1 "
                              f"has {full}: it was cut short, so columns {_letters(n + 1)} to "
                              f"{_letters(full)} have no header in it", f"download the data again from "
                              f"{head.tool_name} and use the file unchanged", row=i + 1)


def _header(grid: pd.DataFrame, spec: DataFile) -> Header:
    """The file's header rows read as its survey tool writes them (exports/), or as a plain table's."""
    top = [[_cell_text(v) for v in grid.iloc[i]] for i in range(min(ROWS_NEEDED, len(grid)))]
    try:
        return read_header(top, spec.tool, spec.header_rows)
    except ExportError as e:
        raise IntakeError(spec.path, e.problem, e.fix, row=e.row, column=e.column) from None


def _names(head: Header, width: int) -> list[str]:
    return (head.names + [""] * width)[:width]


def _with_rows(body: pd.DataFrame, header: list[str], blank: np.ndarray, spec: DataFile,
               header_rows: int) -> pd.DataFrame:
    """The data rows under their header names, blank rows left out, each with its spreadsheet row number."""
    keep = ~blank
    for name in header:
        if name.strip() in (SOURCE_ROW, SOURCE_FILE):
            raise IntakeError(spec.path, f"the column name {name!r} is reserved for intake", "rename that column",
                              row=1, column=name)
    if keep.all() and body.shape[1] and not pd.get_option("future.infer_string"):
        # no blank row: the cells copied at once (the text a reader returns needs no type inferred), not column
        # by column and then stacked into one block, which costs twice as much
        out = body.copy()
        out.index = pd.RangeIndex(len(out))
    else:
        out = pd.DataFrame({i: body.iloc[:, i].to_numpy()[keep] for i in range(body.shape[1])})
    out.columns = header
    out[SOURCE_ROW] = np.flatnonzero(keep) + header_rows + 1
    return out


def _show_delimiter(d: str) -> str:
    return {"\t": "tab"}.get(d, d)


def _blank_rows(df: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is empty or spaces (a blank line or an empty spreadsheet row)."""
    if df.shape[1] == 0 or len(df) == 0:
        return np.ones(len(df), dtype=bool)
    first = df.iloc[:, 0].to_numpy(dtype=object)
    if pd.api.types.infer_dtype(first, skipna=False) == "string":  # all text (the CSV reader's): no copy as str
        spaces = np.fromiter(map(str.isspace, first), dtype=bool, count=len(first))
    else:
        spaces = pd.Series(first, dtype=object).astype(str).str.isspace().to_numpy()
    candidate = np.flatnonzero(pd.isna(first) | (first == "") | spaces)
    blank = np.zeros(len(df), dtype=bool)
    if len(candidate):
        cells = df.iloc[candidate].map(_cell_text)  # only rows whose first cell is empty: few
        blank[candidate] = cells.apply(lambda c: c.str.strip().eq(""), axis=0).all(axis=1).to_numpy()
    return blank


def _too_many_columns(file: str, found: int, row: int | None = None) -> IntakeError:
    return IntakeError(file, f"{'this row has' if row else 'the file has'} {found:,} columns, above the intake "
                             f"limit of {MAX_COLUMNS:,} columns",
                       "keep only the columns evaluation.yaml names (and the survey's own), one column per question",
                       row=row)


SPLIT = "split it into several files (for example one per wave) and list each one under files"


def _too_many_cells(file: str, limit: int, found: str, fix: str, row: int | None = None) -> IntakeError:
    return IntakeError(file, f"the file holds {found}, above the intake limit of {limit:,} cells", fix, row=row)


# ----------------------------------------------------------------------------------- Excel

AS_CSV = ("save the sheet as CSV (in Excel: File, Save As, 'CSV UTF-8'), which is read up to "
          f"{MAX_CELLS:,} cells, and name the .csv in files.path; or split it into several files")
_TAG_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?")  # an element, with or without a namespace prefix
_CELL = re.compile(_TAG_START.pattern + rb"c[\s/>]")
_ROW = re.compile(_TAG_START.pattern + rb"row[\s/>]")
_SHARED_STRING = re.compile(_TAG_START.pattern + rb"si[\s/>]")
_DIMENSION = re.compile(_TAG_START.pattern + rb"dimension\s[^>]*?ref\s*=\s*[\"']([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?")
LONGEST_TAG = 1024**2  # no real sheet has an element this long; a longer one is refused, not buffered


def _letters(n: int) -> str:
    """1 -> A, 27 -> AA: the column letters a spreadsheet shows."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _above(limit: str, digits: bool) -> str:
    """A regex for the numbers (or column letters, A=1 .. Z=26, AA=27 ...) that count higher than `limit`.

    Both orders are by length first, then alphabetically, so a longer string is higher and a
    string of the same length is higher where it first differs.
    """
    alphabet = "0123456789" if digits else "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    first = "[1-9]" if digits else "[A-Z]"
    every = "[0-9]" if digits else "[A-Z]"
    options = [f"{first}{every}{{{len(limit)},}}"]
    for i, ch in enumerate(limit):
        higher = alphabet[alphabet.index(ch) + 1:]
        if higher:
            options.append(f"{limit[:i]}[{higher[0]}-{higher[-1]}]{every}{{{len(limit) - i - 1}}}")
    return "(?:" + "|".join(options) + ")"


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


@functools.lru_cache(maxsize=4)
def _beyond(max_columns: int, max_rows: int) -> tuple[re.Pattern, re.Pattern]:
    """A cell reference right of the column limit (r="ALM7"), a row number below the row limit (r="2000001")."""
    wide = re.compile(rb"\sr\s*=\s*[\"']" + _above(_letters(max_columns), digits=False).encode() + rb"[0-9]")
    far = re.compile(rb"\sr\s*=\s*[\"']0*" + _above(str(max_rows), digits=True).encode() + rb"[\"']")
    return wide, far


def _check_workbook(path: Path, spec: DataFile) -> None:
    """Refuse a workbook beyond the limits from its zip directory and a streaming count, before openpyxl opens it."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise IntakeError(spec.path, f"this is not a readable .xlsx workbook ({type(e).__name__})",
                          "open it in Excel and save it again as .xlsx") from None
    with archive:
        parts = archive.infolist()
        unzipped = sum(p.file_size for p in parts)  # zipfile never unpacks more than a part declares
        if unzipped > MAX_XLSX_UNZIPPED_BYTES:
            raise IntakeError(spec.path, f"unzipped, the workbook is {_size(unzipped)}, above the intake limit of "
                                         f"{_size(MAX_XLSX_UNZIPPED_BYTES)} (workbooks are read up to "
                                         f"{MAX_XLSX_CELLS:,} cells)", AS_CSV)
        for p in parts:
            if p.file_size > COMPRESSION_CHECKED_FROM and p.file_size > MAX_COMPRESSION_RATIO * max(p.compress_size, 1):
                raise IntakeError(spec.path, f"a part of the workbook ({p.filename}) unzips from "
                                             f"{_size(p.compress_size)} to {_size(p.file_size)}, more than "
                                             f"{MAX_COMPRESSION_RATIO} times its size; no real workbook compresses "
                                             "like that (it is a zip bomb)",
                                  "open the original in Excel and save it again as .xlsx, or export it as CSV")
        for p in parts:
            name = p.filename.lower()
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                _count_sheet(archive, p, spec)
            elif name.endswith("sharedstrings.xml"):
                n = _count(archive, p, spec, {_SHARED_STRING: MAX_XLSX_CELLS})[_SHARED_STRING]
                if n > MAX_XLSX_CELLS:
                    raise _too_many_cells(spec.path, MAX_XLSX_CELLS, f"more than {MAX_XLSX_CELLS:,} different texts",
                                          AS_CSV)


def _count_sheet(archive: zipfile.ZipFile, part: zipfile.ZipInfo, spec: DataFile) -> None:
    def first(chunk: bytes) -> None:  # the size the sheet declares, when it does
        m = _DIMENSION.search(chunk)
        if m and m.group(3):
            columns = _column_number(m.group(3).decode()) - _column_number(m.group(1).decode()) + 1
            rows = int(m.group(4)) - int(m.group(2)) + 1
            if columns > MAX_COLUMNS:
                raise _too_many_columns(spec.path, columns)
            if columns * rows > MAX_XLSX_CELLS:
                raise _too_many_cells(spec.path, MAX_XLSX_CELLS, f"{rows:,} rows x {columns:,} columns = "
                                                                 f"{rows * columns:,} cells in one sheet", AS_CSV)

    wide, far = _beyond(MAX_COLUMNS, MAX_XLSX_CELLS)  # a row beyond the cell limit makes a table beyond it

    def each(chunk: bytes) -> None:
        if wide.search(chunk):
            raise IntakeError(spec.path, f"a sheet has cells right of column {_letters(MAX_COLUMNS)}, above the intake "
                                         f"limit of {MAX_COLUMNS:,} columns",
                              "keep only the columns evaluation.yaml names (and the survey's own), one column per "
                              "question")
        if far.search(chunk):
            raise _too_many_cells(spec.path, MAX_XLSX_CELLS, f"a row numbered beyond {MAX_XLSX_CELLS:,}", AS_CSV)

    counts = _count(archive, part, spec, {_CELL: MAX_XLSX_CELLS, _ROW: MAX_XLSX_CELLS}, first, each)
    if counts[_CELL] > MAX_XLSX_CELLS:
        raise _too_many_cells(spec.path, MAX_XLSX_CELLS, f"more than {MAX_XLSX_CELLS:,} cells in one sheet", AS_CSV)
    if counts[_ROW] > MAX_XLSX_CELLS:
        raise _too_many_cells(spec.path, MAX_XLSX_CELLS, f"more than {MAX_XLSX_CELLS:,} rows in one sheet", AS_CSV)


def _count(archive: zipfile.ZipFile, part: zipfile.ZipInfo, spec: DataFile, limits: dict, first=None, each=None,
           chunk_size: int = 1024**2) -> dict:
    """Stream one part, counting each pattern's matches; stop as soon as a count passes its limit.

    The text is cut at the last '<' of each chunk so that no element is split between two
    chunks (attribute values hold no '<'); regex.subn counts without making a match object.
    """
    counts = dict.fromkeys(limits, 0)
    carry = b""
    try:
        with archive.open(part) as stream:
            while True:
                chunk = stream.read(chunk_size)
                data = carry + chunk
                cut = data.rfind(b"<") if chunk else len(data)
                if cut < 0:
                    cut = len(data)
                whole, carry = data[:cut], data[cut:]
                if len(carry) > LONGEST_TAG:
                    raise IntakeError(spec.path, f"the workbook part {part.filename} holds an element longer than "
                                                 f"{_size(LONGEST_TAG)}, which no spreadsheet writes",
                                      "open the original in Excel and save it again as .xlsx")
                if first is not None:
                    first(whole)
                    first = None
                if each is not None:
                    each(whole)
                for pattern, limit in limits.items():
                    counts[pattern] += pattern.subn(b"", whole)[1]
                    if counts[pattern] > limit:
                        return counts
                if not chunk:
                    return counts
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as e:
        raise IntakeError(spec.path, f"this is not a readable .xlsx workbook ({type(e).__name__})",
                          "open it in Excel and save it again as .xlsx") from None


def _read_xlsx(path: Path, spec: DataFile) -> tuple[pd.DataFrame, Header]:
    import openpyxl

    _check_workbook(path, spec)

    try:
        # data_only=False: a formula cell reads as its formula text, never as a computed or cached value
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as e:  # openpyxl and zipfile raise many types for a corrupt file
        raise IntakeError(spec.path, f"this is not a readable .xlsx workbook ({type(e).__name__})",
                          "open it in Excel and save it again as .xlsx") from None
    try:
        sheet = spec.sheet or book.sheetnames[0]
        if sheet not in book.sheetnames:
            raise IntakeError(spec.path, f"there is no sheet named {sheet!r} (sheets: {', '.join(book.sheetnames)})",
                              "set files.sheet in evaluation.yaml to one of those sheet names")
        ws = book[sheet]
        ws.reset_dimensions()  # do not trust the stored sheet size: read every row that is there
        try:
            rows = _sheet_rows(ws, spec)
        except IntakeError:
            raise
        except Exception as e:
            raise IntakeError(spec.path, f"the sheet {sheet!r} could not be read ({type(e).__name__})",
                              "open it in Excel and save it again as .xlsx") from None
    finally:
        book.close()
    if not rows or not any(v is not None and str(v).strip() for v in rows[0]):
        raise IntakeError(spec.path, f"the sheet {sheet!r} has no header in row 1",
                          "put the column names in row 1 and the answers below them", row=1)
    width = max(len(r) for r in rows)
    grid = pd.DataFrame([r + (None,) * (width - len(r)) for r in rows], dtype=object)
    head = _header(grid, spec)
    body = grid.iloc[head.header_rows:]
    body = pd.DataFrame({i: _texts(body.iloc[:, i]) for i in range(width)})
    return _with_rows(body, _names(head, width), _blank_rows(body), spec, head.header_rows), head


def _sheet_rows(ws, spec: DataFile) -> list[tuple]:
    """The sheet's rows, refusing it as soon as its grid (rows x widest row) passes the cell limit.

    The pre-count bounds the cells a sheet has; this bounds the empty cells and rows openpyxl
    fills in between them, which become cells of the table too.
    """
    rows, width = [], 0
    for r in ws.iter_rows(values_only=True):
        rows.append(tuple(_formula_text(v) for v in r))
        width = max(width, len(r))
        if width > MAX_COLUMNS:
            raise _too_many_columns(spec.path, width, row=len(rows))
        if width * len(rows) > MAX_XLSX_CELLS:
            raise _too_many_cells(spec.path, MAX_XLSX_CELLS, f"{len(rows):,} rows x {width:,} columns by this row",
                                  AS_CSV, row=len(rows))
    return rows


def _formula_text(v):
    # array and data-table formulas are objects holding their text
    if v is not None and not isinstance(v, (str, int, float, bool)) and hasattr(v, "text"):
        return f"={v.text}" if not str(v.text).startswith("=") else v.text
    return v


# ------------------------------------------------------------------------------ SPSS/Stata

def _read_stat(path: Path, spec: DataFile, manifest: Manifest) -> pd.DataFrame:
    # imported here, not at the top: only SPSS/Stata files need it, and `check` of a CSV or
    # workbook should not pay its import (about 0.1 s of the 2 s goal, issue 13)
    import pyreadstat

    reader = pyreadstat.read_sav if spec.format == "sav" else pyreadstat.read_dta
    try:
        # the header says how big the data are: refuse before reading a single case
        _, meta = reader(str(path), metadataonly=True)
        columns, rows = len(meta.column_names), meta.number_rows
        if columns > MAX_COLUMNS:
            raise _too_many_columns(spec.path, columns)
        if rows is not None and rows * columns > MAX_CELLS:
            raise _too_many_cells(spec.path, MAX_CELLS, f"{rows:,} cases x {columns:,} variables = "
                                                        f"{rows * columns:,} cells", SPLIT)
        # a file that does not record its number of cases is read only as far as the limit
        cap = MAX_CELLS // max(columns, 1) + 1
        df, meta = reader(str(path), apply_value_formats=False, user_missing=True, row_limit=cap)
        if len(df) >= cap:
            raise _too_many_cells(spec.path, MAX_CELLS, f"more than {MAX_CELLS:,} cells", SPLIT)
    except IntakeError:
        raise
    except Exception as e:  # pyreadstat raises ReadstatError and others for corrupt files
        raise IntakeError(spec.path, f"this is not a readable .{spec.format} file ({str(e).strip() or type(e).__name__})",
                          f"save it again from SPSS/Stata as .{spec.format}") from None
    # Value labels stay as codes for outcomes (the measure bank's codes); categorical design
    # columns get their labels so waves and subgroups read as the charity named them.
    design = manifest.design
    labelled = {design.wave, design.first_treated, design.cluster, *design.effect_modifiers,
                *design.categorical_covariates} - {None}
    wave_columns = {design.wave, design.first_treated} - {None}
    waves = set(design.wave_labels)
    categories = {c: {category_key(v) for v in cats} for c, cats in design.categorical_covariates.items()}
    out = pd.DataFrame({c: _texts(df[c]) for c in df.columns})
    for col in df.columns:
        labels = meta.variable_value_labels.get(col)
        target = spec.rename.get(col, col)
        if not labels or target not in labelled:
            continue
        labels = {k: str(v).strip() for k, v in labels.items()}
        if target in wave_columns:
            codes = set(out[col]) - {""}
            if codes <= waves and not (set(labels.values()) & waves):
                continue  # evaluation.yaml names the waves by their codes, not their labels
        if target in categories:
            codes = {category_key(c) for c in set(out[col]) - {""}}
            if codes <= categories[target] and not {category_key(v) for v in labels.values()} & categories[target]:
                continue  # design.covariates lists the categories by their codes, not their labels
        out[col] = _texts(df[col], labels)
    out[SOURCE_ROW] = np.arange(len(df)) + 1  # statistical files have no header row: case number
    blank = _blank_rows(out.drop(columns=[SOURCE_ROW]))
    return out.iloc[~blank].reset_index(drop=True)


# -------------------------------------------------------------------------------- any file

def _cell_text(v) -> str:
    """A spreadsheet or statistical-file cell as the text a person would type (3.0 -> "3")."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return str(v)


def _texts(values: pd.Series, labels: dict | None = None) -> np.ndarray:
    """A column as text, converting each distinct value once (fast on a million rows)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if labels:
        texts = [labels.get(u, _cell_text(u)) for u in uniques]
    else:
        texts = [_cell_text(u) for u in uniques]
    table = np.array(texts + [""], dtype=object)  # code -1 (missing) -> ""
    return table[codes]


def _column_names(df: pd.DataFrame, spec: DataFile) -> pd.DataFrame:
    """Trimmed header names; a column with no header is named by its position (or dropped when empty)."""
    names, keep = [], []
    for i, c in enumerate(df.columns):
        name = str(c).strip() if c is not None else ""
        if c == SOURCE_ROW:
            names.append(c)
            keep.append(True)
            continue
        if not name:
            name = f"(no header, column {_letters(i + 1)})"
            keep.append(bool(pd.Series(df.iloc[:, i]).astype(str).str.strip().ne("").any()))
        else:
            keep.append(True)
        names.append(name)
    if not all(keep):  # (when every column is kept, df is the reader's own frame: renamed in place)
        df = df.iloc[:, [i for i, k in enumerate(keep) if k]].copy()  # a frame of its own, not a slice's
    df.columns = [n for n, k in zip(names, keep) if k]
    return df


def read_file(folder: Path, spec: DataFile, manifest: Manifest) -> pd.DataFrame:
    """One data file as text columns (renamed per the manifest), plus its name and row numbers."""
    return read_export(folder, spec, manifest)[0]


def renames(spec: DataFile, head: Header) -> dict[str, str]:
    """files.rename as it applies to this file: a group-path column (Kobo, ODK) may be named by its
    shortened name or by its whole path."""
    by_path = {short: spec.rename[full] for short, full in head.paths.items()
               if full in spec.rename and short not in spec.rename}
    return {**by_path, **spec.rename}


def read_export(folder: Path, spec: DataFile, manifest: Manifest) -> tuple[pd.DataFrame, Header]:
    """read_file, and how the file's header was read (its survey tool, identifiers and metadata)."""
    path = (Path(folder) / spec.path).resolve()
    if not path.is_relative_to(Path(folder).resolve()):
        raise IntakeError(spec.path, "the path points outside the evaluation folder",
                          "put the file beside evaluation.yaml and name it relative to that folder")
    if not path.is_file():
        raise IntakeError(spec.path, "the file named in evaluation.yaml is not there",
                          f"copy it into {folder} or correct files.path")
    size = path.stat().st_size
    most = min(MAX_FILE_BYTES, MAX_CSV_BYTES) if spec.format == "csv" else MAX_FILE_BYTES
    if size > most:
        shown, limit = (_size(size), _size(most))
        if shown == limit:  # close to the limit: say it in bytes
            shown, limit = f"{size:,} bytes", f"{most:,} bytes"
        raise IntakeError(spec.path, f"the file is {shown}, above the intake limit of {limit}", SPLIT)
    if size == 0:
        raise IntakeError(spec.path, "the file is empty", "send the file with its header row and data")
    if spec.format == "csv":
        df, head = _read_csv(path, spec)
    elif spec.format == "xlsx":
        df, head = _read_xlsx(path, spec)
    else:
        df = _read_stat(path, spec, manifest)
        head = Header(PLAIN, [c for c in df.columns if c != SOURCE_ROW], 0, [])
    df = _column_names(df, spec)
    originals = list(df.columns)
    mapping = renames(spec, head)  # df.rename(columns=mapping), without copying every column
    df.columns = pd.Index([mapping.get(c, c) for c in df.columns], name=df.columns.name, tupleize_cols=False)
    seen: dict[str, str] = {}
    for original, name in zip(originals, df.columns):
        if name in seen:
            both = f"{seen[name]!r} and {original!r}" if seen[name] != original else f"{name!r} twice"
            raise IntakeError(spec.path, f"the header has {both}, which both become column {name!r}",
                              "give every column a different name (check files.rename in evaluation.yaml)",
                              column=name)
        seen[name] = original
    if len(df) == 0:
        raise IntakeError(spec.path, "the file has a header but no data rows",
                          "put the survey answers under the header row, one row per person and wave",
                          row=head.header_rows + 1)
    df[SOURCE_FILE] = spec.path
    df.index = pd.RangeIndex(len(df))  # reset_index(drop=True), without copying every column
    return df, head


def to_long(df: pd.DataFrame, spec: DataFile, manifest: Manifest) -> pd.DataFrame:
    """Wide files (one row per person, outcome columns suffixed by wave) become one row per person and wave.

    A wave row is kept when any of its outcome cells holds something; a person with no
    follow-up answers simply has no follow-up row (that is attrition, counted later). A
    person with no answers in any wave keeps one row, in the first wave, so that nobody
    in the file disappears without being counted.
    """
    if spec.layout == "long":
        return df
    design = manifest.design
    outcome_cols = [o.column for o in manifest.outcomes]
    wave_cols = {f"{c}{sfx}" for c in outcome_cols for sfx in spec.wave_suffixes.values()}
    missing = sorted(c for c in wave_cols if c not in df.columns)
    if missing:
        raise IntakeError(spec.path, f"the wide layout needs column {missing[0]!r}, which is not in the file",
                          "name each outcome column <outcome><wave suffix>, as files.wave_suffixes says",
                          column=missing[0])
    unit_level = [c for c in df.columns if c not in wave_cols and c != design.wave]
    answered = {}
    for label, sfx in spec.wave_suffixes.items():
        answered[label] = np.column_stack(
            [df[f"{c}{sfx}"].astype(str).str.strip().ne("").to_numpy() for c in outcome_cols]).any(axis=1)
    nothing = ~np.logical_or.reduce(list(answered.values()))
    parts = []
    for i, label in enumerate(design.wave_labels):
        sfx = spec.wave_suffixes[label]
        keep = answered[label] | (nothing if i == 0 else False)
        part = df.loc[keep, unit_level].copy()
        for c in outcome_cols:
            part[c] = df.loc[keep, f"{c}{sfx}"]
        part[design.wave] = label
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
