"""Read a charity's survey file into one long table of text values, with every row's origin.

Everything is read as text: types are coerced later, explicitly, so a stray "n/a" in a
number column becomes a quarantined row with its reason, never a silent cast.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from evaluations.registry import DataFile, Manifest

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
MAX_FILE_BYTES = 2 * 1024**3


class IntakeError(Exception):
    """A problem with a data file that stops this evaluation: names the file, row, column and fix."""

    def __init__(self, file: str, problem: str, fix: str, row: int | None = None, column: str | None = None):
        self.file, self.problem, self.fix, self.row, self.column = file, problem, fix, row, column
        where = file + (f", row {row}" if row is not None else "") + (f", column '{column}'" if column else "")
        super().__init__(f"{where}: {problem}. Fix: {fix}")


def _decode(raw: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (with or without a byte-order mark), else Windows-1252 as Excel writes it on UK PCs."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as e:
        raise IntakeError(name, f"the text encoding is not UTF-8 or Windows-1252 (byte {e.start})",
                          "save the file as 'CSV UTF-8' from Excel") from None


def _read_csv(path: Path, spec: DataFile) -> pd.DataFrame:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IntakeError(spec.path, "this is not a text CSV file (it holds binary data)",
                          "export the data as CSV, or name the real format (.xlsx, .sav, .dta) in files.path")
    text, _ = _decode(raw, spec.path)
    if not text.strip():
        raise IntakeError(spec.path, "the file is empty", "send the file with its header row and data")
    sample = text[:65536]
    try:
        delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        df = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                         skiprows=range(1, spec.header_rows), skip_blank_lines=True, engine="python")
    except (pd.errors.ParserError, csv.Error) as e:
        raise IntakeError(spec.path, f"the CSV could not be parsed ({str(e).strip()})",
                          "check that every row has the same number of separators and quotes are closed") from None
    # header is file row 1, extra header rows follow; pandas skipped blank lines, so count them back
    df[SOURCE_ROW] = _csv_row_numbers(text, delimiter, spec.header_rows, len(df))
    return df


def _csv_row_numbers(text: str, delimiter: str, header_rows: int, n: int) -> np.ndarray:
    rows, line_no = [], 0
    for record in csv.reader(io.StringIO(text), delimiter=delimiter):
        line_no += 1
        if line_no <= header_rows:
            continue
        if record and any(cell.strip() for cell in record):
            rows.append(line_no)
    rows = rows[:n] + list(range(line_no + 1, line_no + 1 + max(0, n - len(rows))))
    return np.asarray(rows, dtype=np.int64)


def _read_xlsx(path: Path, spec: DataFile) -> pd.DataFrame:
    try:
        sheets = pd.ExcelFile(path, engine="openpyxl")
    except Exception as e:  # openpyxl raises many types for a corrupt file
        raise IntakeError(spec.path, f"this is not a readable .xlsx workbook ({type(e).__name__})",
                          "open it in Excel and save it again as .xlsx") from None
    sheet = spec.sheet or sheets.sheet_names[0]
    if sheet not in sheets.sheet_names:
        raise IntakeError(spec.path, f"there is no sheet named {sheet!r} (sheets: {', '.join(sheets.sheet_names)})",
                          "set files.sheet in evaluation.yaml to one of those sheet names")
    df = sheets.parse(sheet, dtype=object, header=0, skiprows=range(1, spec.header_rows), keep_default_na=False)
    df = df.map(_cell_text)
    df[SOURCE_ROW] = np.arange(len(df)) + spec.header_rows + 1
    return df


def _read_stat(path: Path, spec: DataFile, manifest: Manifest) -> pd.DataFrame:
    reader = pyreadstat.read_sav if spec.format == "sav" else pyreadstat.read_dta
    try:
        df, meta = reader(str(path), apply_value_formats=False, user_missing=True)
    except Exception as e:  # pyreadstat raises ReadstatError and others for corrupt files
        raise IntakeError(spec.path, f"this is not a readable .{spec.format} file ({str(e).strip() or type(e).__name__})",
                          f"save it again from SPSS/Stata as .{spec.format}") from None
    # Value labels stay as codes for outcomes (the measure bank's codes); categorical design
    # columns get their labels so waves and subgroups read as the charity named them.
    design = manifest.design
    labelled = {design.wave, design.first_treated, design.cluster, *design.effect_modifiers} - {None}
    labelled = {spec.rename.get(c, c) for c in labelled} | labelled
    out = pd.DataFrame({c: df[c].map(_cell_text) for c in df.columns})
    for col in df.columns:
        labels = meta.variable_value_labels.get(col)
        target = spec.rename.get(col, col)
        if labels and (col in labelled or target in labelled):
            out[col] = [labels.get(v, _cell_text(v)) if v == v else "" for v in df[col]]
    out[SOURCE_ROW] = np.arange(len(df)) + 1  # statistical files have no header row: case number
    return out


def _cell_text(v) -> str:
    """A spreadsheet or statistical-file cell as the text a person would type (3.0 -> "3")."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def read_file(folder: Path, spec: DataFile, manifest: Manifest) -> pd.DataFrame:
    """One data file as text columns (renamed per the manifest), plus its name and row numbers."""
    path = (Path(folder) / spec.path).resolve()
    if not path.is_relative_to(Path(folder).resolve()):
        raise IntakeError(spec.path, "the path points outside the evaluation folder",
                          "put the file beside evaluation.yaml and name it relative to that folder")
    if not path.is_file():
        raise IntakeError(spec.path, "the file named in evaluation.yaml is not there",
                          f"copy it into {folder} or correct files.path")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise IntakeError(spec.path, "the file is larger than 2 GB", "split it into several files and list each one")
    if path.stat().st_size == 0:
        raise IntakeError(spec.path, "the file is empty", "send the file with its header row and data")
    if spec.format == "csv":
        df = _read_csv(path, spec)
    elif spec.format == "xlsx":
        df = _read_xlsx(path, spec)
    else:
        df = _read_stat(path, spec, manifest)
    df.columns = [str(c).strip() for c in df.columns]
    dupes = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dupes:
        raise IntakeError(spec.path, f"the header repeats the column name {dupes[0]!r}",
                          "give every column a different name", column=dupes[0])
    df = df.rename(columns=spec.rename)
    df[SOURCE_FILE] = spec.path
    return df.reset_index(drop=True)


def to_long(df: pd.DataFrame, spec: DataFile, manifest: Manifest) -> pd.DataFrame:
    """Wide files (one row per person, outcome columns suffixed by wave) become one row per person and wave.

    A wave row is kept when any of its outcome cells holds something; a person with no
    follow-up answers simply has no follow-up row (that is attrition, counted later).
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
    unit_level = [c for c in df.columns if c not in wave_cols]
    parts = []
    for label, sfx in spec.wave_suffixes.items():
        part = df[unit_level].copy()
        for c in outcome_cols:
            part[c] = df[f"{c}{sfx}"]
        part[design.wave] = label
        answered = part[outcome_cols].apply(lambda s: s.astype(str).str.strip().ne("")).any(axis=1)
        parts.append(part[answered])
    return pd.concat(parts, ignore_index=True)
