"""The registry's copy of a data file: the charity's file with its identifier columns emptied.

`register` stores this copy, never the original, so the registry holds no names, emails or IP
addresses even though a survey tool's export carries them. Only the cells under the header of each
column that files.drop_columns lists are emptied: the header rows stay as they were, so the copy is
read exactly as the export was (a survey tool is recognised by its header, and a column's position
and name do not move). Everything else is kept byte for byte where the format allows (a file with
nothing to drop is copied as it is). registration.json records the original's hash for provenance;
the original stays where the charity keeps it.
"""
from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from evaluations.intake.readers import SOURCE_FILE, SOURCE_ROW, _decode, _delimiter, read_export
from evaluations.intake.validate import dropped_columns
from evaluations.registry import DataFile, Manifest


def identifier_positions(folder: Path, spec: DataFile, manifest: Manifest) -> tuple[list[int], int]:
    """0-based positions of the columns drop_columns removes, and the number of header rows above the answers."""
    df, head = read_export(folder, spec, manifest)
    drop = dropped_columns(spec, head)
    names = [c for c in df.columns if c not in (SOURCE_FILE, SOURCE_ROW)]
    return [i for i, c in enumerate(names) if c in drop], head.header_rows


def write_screened_copy(folder: Path, spec: DataFile, manifest: Manifest, target: Path) -> None:
    """Write `spec`'s file from `folder` to `target` with the identifier columns' cells emptied."""
    source = Path(folder) / spec.path
    positions, header_rows = identifier_positions(folder, spec, manifest)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not positions:
        shutil.copy2(source, target)
        return
    {"csv": _csv, "xlsx": _xlsx, "sav": _stat, "dta": _stat}[spec.format](source, target, positions, header_rows, spec)


def _csv(source: Path, target: Path, positions: list[int], header_rows: int, spec: DataFile) -> None:
    raw = source.read_bytes()
    text, encoding = _decode(raw, spec.path)
    delimiter = _delimiter(text.split("\n", 1)[0])
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    for row in rows[header_rows:]:
        for i in positions:
            if i < len(row):
                row[i] = ""
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n" if "\r\n" in text else "\n").writerows(rows)
    bom = raw[:3] if raw.startswith(b"\xef\xbb\xbf") else b""
    target.write_bytes(bom + out.getvalue().encode(encoding))


def _xlsx(source: Path, target: Path, positions: list[int], header_rows: int, spec: DataFile) -> None:
    import openpyxl

    book = openpyxl.load_workbook(source)
    sheet = spec.sheet or book.sheetnames[0]
    for name in list(book.sheetnames):
        if name != sheet:  # intake never reads another sheet: it does not go into the registry either
            del book[name]
    ws = book[sheet]
    for row in ws.iter_rows(min_row=header_rows + 1):
        for i in positions:
            if i < len(row):
                row[i].value = None
    book.save(target)


def _stat(source: Path, target: Path, positions: list[int], header_rows: int, spec: DataFile) -> None:
    import pyreadstat

    read, write = ((pyreadstat.read_sav, pyreadstat.write_sav) if spec.format == "sav"
                   else (pyreadstat.read_dta, pyreadstat.write_dta))
    df, meta = read(str(source), user_missing=spec.format == "sav")
    for i in positions:
        col = df.columns[i]
        df[col] = "" if df[col].dtype == object else float("nan")
    labels = dict(zip(meta.column_names, meta.column_labels)) if meta.column_labels else None
    kwargs = {"column_labels": [labels.get(c) for c in df.columns] if labels else None,
              "variable_value_labels": meta.variable_value_labels or None}
    if spec.format == "sav":
        kwargs["missing_ranges"] = meta.missing_ranges or None
    write(df, str(target), **kwargs)
