"""Hostile files cost little: files beyond the published intake limits are refused before a full parse.

The limits live in evaluations/intake/readers.py (MAX_COLUMNS, MAX_CELLS, MAX_XLSX_CELLS,
MAX_XLSX_UNZIPPED_BYTES, MAX_COMPRESSION_RATIO) and are quoted in the README. The headline
case is real: a 2 MB workbook that unzips to a sheet of 1,000,000 x 40 cells, refused by
`commonground check` in a fresh process in under 10 seconds and 500 MB (a refusal guard, not
a benchmark). The other cases lower a limit so that a small file is beyond it, which runs
the same code on the same kind of file in a fraction of a second.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from evaluations.intake import readers
from tests.test_bad_inputs import CLI, as_csv, base_table, evaluation, intake, refused

AS_CSV = ("Fix: save the sheet as CSV (in Excel: File, Save As, 'CSV UTF-8'), which is read up to 20,000,000 "
          "cells, and name the .csv in files.path; or split it into several files")
COLUMNS_FIX = "Fix: keep only the columns evaluation.yaml names (and the survey's own), one column per question"
SPLIT = "Fix: split it into several files (for example one per wave) and list each one under files"

PARTS = {
    "[Content_Types].xml":
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels":
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml":
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        '<sheet name="Responses" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}
SHEET_OPEN = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
              b'spreadsheetml/2006/main">')


def workbook(path: Path, sheet_data, head: bytes = b"") -> Path:
    """A minimal .xlsx written as a stream: `sheet_data` is an iterable of byte blocks inside <sheetData>."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in PARTS.items():
            z.writestr(name, text)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(SHEET_OPEN + head + b"<sheetData>")
            for block in sheet_data:
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")
    return path


def numbers(rows: int, columns: int, refs: bool = False, prefix: bytes = b""):
    """Rows of numeric cells; without refs the cells and rows carry no r="..." (the format allows it)."""
    def cell(r, c):
        ref = b' r="%s%d"' % (readers._letters(c).encode(), r) if refs else b""
        return b"<%sc%s><%sv>1</%sv></%sc>" % (prefix, ref, prefix, prefix, prefix)
    for r in range(1, rows + 1):
        yield b"<%srow>" % prefix + b"".join(cell(r, c) for c in range(1, columns + 1)) + b"</%srow>" % prefix


# ------------------------------------------------------------------------- the headline case

def test_a_2_mb_workbook_of_40_million_cells_is_refused_in_seconds_and_little_memory(tmp_path):
    block = (b"<row>" + b"<c><v>1</v></c>" * 40 + b"</row>") * 1000
    folder = evaluation(tmp_path, None, name="survey.xlsx")
    path = workbook(folder / "survey.xlsx", (block for _ in range(1000)))  # 1,000,000 rows x 40 cells
    assert path.stat().st_size < 3 * 1024**2
    # a fresh process whose only child is `check`: its peak memory is the child's alone
    probe = ("import json, resource, subprocess, sys, time; t = time.monotonic(); "
             "p = subprocess.run(sys.argv[1:], capture_output=True, text=True, env={**__import__('os').environ, "
             "'COLUMNS': '1000'}); print(json.dumps({'seconds': time.monotonic() - t, 'code': p.returncode, "
             "'err': p.stderr, 'kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")
    result = json.loads(subprocess.run([sys.executable, "-c", probe, CLI, "check", str(folder)],
                                       capture_output=True, text=True, timeout=120, check=True).stdout)
    assert result["code"] == 2
    assert (f"  • {path}: unzipped, the workbook is 582.7 MB, above the intake limit of 200.0 MB (workbooks are "
            f"read up to 2,000,000 cells). {AS_CSV}") in result["err"]
    assert "Traceback" not in result["err"]
    assert result["seconds"] < 10
    assert result["kb"] * 1024 < 500 * 1024**2


# ------------------------------------------------------------------------------- workbooks

def test_a_zip_bomb_is_refused_by_its_compression_ratio(tmp_path):
    # 50 MB of spaces between real cells: under the size limit, but no workbook compresses 1,000 times
    folder = evaluation(tmp_path, None, name="survey.xlsx")
    workbook(folder / "survey.xlsx", [*numbers(3, 9), *(b" " * 1024**2 for _ in range(50))])
    err = refused(folder)
    assert re.fullmatch(r"survey\.xlsx: a part of the workbook \(xl/worksheets/sheet1\.xml\) unzips from [\d.]+ kB to "
                        r"50\.0 MB, more than 100 times its size; no real workbook compresses like that \(it is a "
                        r"zip bomb\)\. Fix: open the original in Excel and save it again as \.xlsx, or export it as "
                        r"CSV", str(err)), str(err)


@pytest.mark.parametrize("prefix", [b"", b"x:"], ids=["plain", "namespace prefix"])
def test_a_sheet_with_too_many_cells_is_refused_by_the_streaming_count(tmp_path, monkeypatch, prefix):
    monkeypatch.setattr(readers, "MAX_XLSX_CELLS", 100)
    folder = evaluation(tmp_path, None, name="survey.xlsx")
    # 108 cells with no references and no declared size; also in the prefixed form .NET writers use
    namespace = b' xmlns%s="http://schemas.openxmlformats.org/spreadsheetml/2006/main"' % (b":x" if prefix else b"")
    rewrite(folder / "survey.xlsx", b'<?xml version="1.0"?><%sworksheet%s><%ssheetData>' % (prefix, namespace, prefix)
            + b"".join(numbers(12, 9, prefix=prefix)) + b"</%ssheetData></%sworksheet>" % (prefix, prefix))
    assert str(refused(folder)) == f"survey.xlsx: the file holds more than 100 cells in one sheet, above the intake " \
                                   f"limit of 100 cells. {AS_CSV}"


def rewrite(path: Path, sheet: bytes) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in PARTS.items():
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", sheet)


def test_a_declared_sheet_size_beyond_the_limits_is_refused_before_counting(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_XLSX_CELLS", 100)
    folder = evaluation(tmp_path, None, name="survey.xlsx")
    workbook(folder / "survey.xlsx", numbers(2, 9, refs=True), head=b'<dimension ref="A1:AN1000000"/>')
    assert str(refused(folder)) == ("survey.xlsx: the file holds 1,000,000 rows x 40 columns = 40,000,000 cells in "
                                    f"one sheet, above the intake limit of 100 cells. {AS_CSV}")


def test_a_cell_right_of_the_column_limit_is_refused(tmp_path):
    folder = evaluation(tmp_path, None, name="survey.xlsx")
    far = b'<row r="1"><c r="A1"><v>1</v></c><c r="ALM1"><v>1</v></c></row>'  # ALM is column 1,001
    workbook(folder / "survey.xlsx", [far])
    assert str(refused(folder)) == f"survey.xlsx: a sheet has cells right of column ALL, above the intake limit of " \
                                   f"1,000 columns. {COLUMNS_FIX}"


def test_a_row_numbered_beyond_the_cell_limit_is_refused(tmp_path):
    # openpyxl would fill in two million empty rows before it: a tiny file, a huge table
    folder = evaluation(tmp_path, None, name="survey.xlsx")
    workbook(folder / "survey.xlsx", [b'<row r="1"><c><v>1</v></c></row><row r="2000001"><c><v>1</v></c></row>'])
    assert str(refused(folder)) == f"survey.xlsx: the file holds a row numbered beyond 2,000,000, above the intake " \
                                   f"limit of 2,000,000 cells. {AS_CSV}"


def test_empty_rows_filled_in_between_count_as_cells(tmp_path, monkeypatch):
    # under the row limit, but the rows openpyxl fills in make a 9-column table of 30 rows = 270 cells
    monkeypatch.setattr(readers, "MAX_XLSX_CELLS", 200)
    folder = evaluation(tmp_path, None, name="survey.xlsx")
    header = b"".join(numbers(1, 9))
    workbook(folder / "survey.xlsx", [header, b'<row r="30"><c><v>1</v></c></row>'])
    assert str(refused(folder)) == f"survey.xlsx, row 23: the file holds 23 rows x 9 columns by this row, above the " \
                                   f"intake limit of 200 cells. {AS_CSV}"


def test_too_many_shared_texts_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_XLSX_CELLS", 100)
    folder = evaluation(tmp_path, None, name="survey.xlsx")
    workbook(folder / "survey.xlsx", numbers(2, 9))
    with zipfile.ZipFile(folder / "survey.xlsx", "a") as z:
        z.writestr("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                   + b"".join(b"<si><t>%d</t></si>" % i for i in range(101)) + b"</sst>")
    assert str(refused(folder)) == f"survey.xlsx: the file holds more than 100 different texts, above the intake " \
                                   f"limit of 100 cells. {AS_CSV}"


def test_a_workbook_within_the_limits_is_still_read(tmp_path, monkeypatch):
    # the corpus workbook (written by openpyxl: refs, a declared size, shared strings) is 49 x 10 = 490 cells
    monkeypatch.setattr(readers, "MAX_XLSX_CELLS", 490)
    raw, result, _ = intake(evaluation(tmp_path, "formulas.xlsx", name="survey.xlsx"))
    assert len(raw) == 48 and len(result.quarantine) == 2
    monkeypatch.setattr(readers, "MAX_XLSX_CELLS", 489)
    assert str(refused(evaluation(tmp_path / "over", "formulas.xlsx", name="survey.xlsx"))) == (
        f"survey.xlsx: the file holds 49 rows x 10 columns = 490 cells in one sheet, above the intake limit of 489 "
        f"cells. {AS_CSV}")


# ------------------------------------------------------------------------------------- CSV

def test_a_wide_csv_is_refused_at_its_header_by_check(tmp_path):
    header, rows = base_table()
    folder = evaluation(tmp_path, as_csv(header + [f"q{i}" for i in range(992)], [r + [""] * 992 for r in rows]))
    environ = {k: v for k, v in os.environ.items() if k != "COMMONGROUND_PSEUDONYM_KEY"}
    proc = subprocess.run([CLI, "check", str(folder)], capture_output=True, text=True, timeout=120,
                          env={**environ, "COLUMNS": "1000"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert (f"  • {folder / 'survey.csv'}, row 1: this row has 1,001 columns, above the intake limit of 1,000 "
            f"columns. {COLUMNS_FIX}") in proc.stderr


def test_a_csv_above_its_byte_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    folder = evaluation(tmp_path)
    monkeypatch.setattr(readers, "MAX_CSV_BYTES", 1900)  # the base file is 1,901 bytes
    monkeypatch.setattr(readers, "_read_csv", None)  # never reached: calling it would raise TypeError
    assert str(refused(folder)) == ("survey.csv: the file is 1,901 bytes, above the intake limit of 1,900 bytes. "
                                    f"{SPLIT}")


def test_a_csv_with_too_many_cells_is_refused_before_pandas_reads_it(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_CELLS", 400)  # the base file is 49 rows x 9 columns = 441 cells
    monkeypatch.setattr(readers.pd, "read_csv", None)  # never reached: calling it would raise TypeError
    err = refused(evaluation(tmp_path))
    assert str(err) == f"survey.csv, row 45: the file holds more than 400 cells by this row, above the intake limit " \
                       f"of 400 cells. {SPLIT}"
    assert len(base_table()[1]) == 48


# --------------------------------------------------------------------------- SPSS and Stata

@pytest.mark.parametrize("data,name", [("value_labels.sav", "survey.sav"), ("panel.dta", "survey.dta")])
def test_spss_and_stata_files_are_sized_from_their_header(tmp_path, monkeypatch, data, name):
    monkeypatch.setattr(readers, "MAX_CELLS", 383)
    err = refused(evaluation(tmp_path, data, name=name))
    assert str(err) == f"{name}: the file holds 48 cases x 8 variables = 384 cells, above the intake limit of 383 " \
                       f"cells. {SPLIT}"
    monkeypatch.setattr(readers, "MAX_COLUMNS", 7)
    assert str(refused(evaluation(tmp_path / "c", data, name=name))) == (
        f"{name}: the file has 8 columns, above the intake limit of 7 columns. {COLUMNS_FIX}")


# ----------------------------------------------------------------------------- the limits

@pytest.mark.parametrize("limit", [1, 9, 10, 99, 1000, 2_000_000, 1_048_576])
def test_the_row_number_pattern_matches_exactly_the_numbers_above_the_limit(limit):
    pattern = re.compile(readers._above(str(limit), digits=True))
    for n in list(range(0, 3000)) + [limit - 1, limit, limit + 1, 10 * limit, 10 * limit - 1]:
        assert bool(pattern.fullmatch(str(n))) == (n > limit), n


@pytest.mark.parametrize("limit", [1, 26, 27, 52, 702, 703, 1000, 16384])
def test_the_column_pattern_matches_exactly_the_columns_right_of_the_limit(limit):
    pattern = re.compile(readers._above(readers._letters(limit), digits=False))
    for n in range(1, 20000):
        assert bool(pattern.fullmatch(readers._letters(n))) == (n > limit), n
