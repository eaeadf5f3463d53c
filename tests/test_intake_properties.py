"""Property-based intake tests: corrupt a small valid evaluation at random, and intake never crashes.

Whatever Hypothesis does to the survey file (cells flipped to random text, numbers, empties,
missing-value codes or formulas; rows duplicated, deleted or shuffled; saved in another
encoding, as Excel, or as a CSV with no quoting at all), intake either stops with one of
the project's own errors (IntakeError, StructuralError, ManifestError: a message naming the
file) or it finishes and then every row read is accounted for exactly once:

    rows read = rows validated + rows quarantined, per file and wave (reconcile), and
    the validated and quarantined rows are exactly the rows read, by file and row number;
    every quarantined row has a check, a reason, a file and a row number;
    a row's number is the row it came from in the file as written.
"""
from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from evaluations.intake.privacy import KEY_ENV, SYNTHETIC_KEY, pseudonyms
from evaluations.intake.values import describe_value, to_numbers
from evaluations.intake.readers import SOURCE_FILE, SOURCE_ROW, IntakeError
from evaluations.intake.validate import FALSE_WORDS, TRUE_WORDS, read_raw, reconcile, unaccounted, validate
from evaluations.measures import load_measures
from evaluations.registry import ManifestError, load_manifest

ID = "prop-intake"
HEADER = ["person", "wave", "group", "age", "female", "site", "mixing", "belonging", "notes_ok"]
WAVE, GROUP = HEADER.index("wave"), HEADER.index("group")
MANIFEST = {
    "id": ID, "title": "Property-test evaluation (synthetic)", "synthetic": True,
    "programme": {"name": "Property programme (fictional)", "family": "other", "organisation": "Nobody (fictional)",
                  "places": ["Nowhere"], "start_date": "2024-01-01", "end_date": "2024-06-30"},
    "design": {"type": "did", "unit_id": "person", "treatment": "group", "wave": "wave", "baseline": "before",
               "follow_up": "after", "covariates": ["age", "female"], "effect_modifiers": ["site"]},
    "outcomes": [{"column": "mixing", "measure": "mixing_different_backgrounds", "primary": True},
                 {"column": "belonging", "measure": "belonging_neighbourhood"}],
    "files": [{"path": "survey.csv"}],
    "missing_codes": [-9, "Don't know"],
    "valid_ranges": {"age": [16, 90]},
}
PEOPLE = 22  # 11 per group: two people set aside in a group leave it below the minimum of 10


def valid_rows() -> list[list[str]]:
    rows = []
    for w, wave in enumerate(["before", "after"]):
        for i in range(PEOPLE):
            rows.append([f"ID{i:03d}", wave, str(i % 2), str(30 + i), str((i // 2) % 2), ["North", "South"][i % 2],
                         str(1 + (i + w) % 5), str(1 + (2 * i + w) % 4), "ok"])
    return rows


MESSY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
CELL = st.one_of(
    MESSY_TEXT,
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "-9", "-9.0", "Don't know", "n/a", "=1+1", '=HYPERLINK("x","y")', "1e400",
                     "before", "after", "BEFORE", "yes", "no", "0", "1", "2", "3", "4", "5", "8", "\x07", '"', ",",
                     ";", "\n", "\r\n", "\x00", "jane.doe@example.org", "07700 900123", "SW1A 1AA", "£5"]),
)


@st.composite
def corruptions(draw):
    rows = valid_rows()
    header = list(HEADER)
    for _ in range(draw(st.integers(0, 8))):
        op = draw(st.sampled_from(["cell"] * 6 + ["duplicate", "delete", "shuffle", "header"]))
        if not rows:
            break
        i = draw(st.integers(0, len(rows) - 1))
        if op == "header":  # a renamed, emptied or repeated column name
            header[draw(st.integers(0, len(header) - 1))] = draw(st.one_of(CELL, st.sampled_from(HEADER)))
        elif op == "cell":
            rows[i][draw(st.integers(0, len(HEADER) - 1))] = draw(CELL)
        elif op == "duplicate":
            rows.insert(draw(st.integers(0, len(rows))), list(rows[i]))
        elif op == "delete":
            del rows[i]
        else:
            order = draw(st.permutations(range(len(rows))))
            rows = [rows[j] for j in order]
    fmt = draw(st.sampled_from(["csv"] * 5 + ["naive csv", "xlsx"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return header, rows, fmt, encoding


def write(folder: Path, header: list[str], rows: list[list[str]], fmt: str, encoding: str) -> tuple[str, str]:
    """The survey file as a charity might send it; returns its name and the encoding really used."""
    if fmt == "xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        for r in [header] + rows:
            sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) for v in r])  # cells Excel itself cannot hold
        book.save(folder / "survey.xlsx")
        return "survey.xlsx", "xlsx"
    if fmt == "naive csv":  # joined with commas, no quoting: ragged rows and stray quotes
        text = "".join(",".join(r) + "\n" for r in [header] + rows)
    else:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([header] + rows)
        text = buffer.getvalue()
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        encoding = "utf-8"
        data = text.encode(encoding, errors="surrogatepass")
    (folder / "survey.csv").write_bytes(data)
    return "survey.csv", encoding


@pytest.fixture(autouse=True)
def _synthetic_key(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(corruptions())
def test_corrupted_evaluations_fail_cleanly_or_reconcile_exactly(case):
    header, rows, fmt, encoding = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / ID
        folder.mkdir()
        name, used = write(folder, header, rows, fmt, encoding)
        manifest = dict(MANIFEST, files=[{"path": name}])
        (folder / "evaluation.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
        m = load_manifest(folder)
        try:
            raw = read_raw(folder, m)
            result = validate(raw, m, load_measures())
        except (IntakeError, ManifestError) as err:  # StructuralError is an IntakeError
            event(f"{fmt}: stopped ({type(err).__name__}: {getattr(err, 'problem', '')[:300]})")
            assert str(err).startswith((name, "(all data files)")), str(err)
            assert "Fix:" in str(err)
            return
        table = reconcile(raw, result.valid, result.quarantine, "wave")
        assert unaccounted(table).empty  # every file and wave adds up
        event(f"{fmt}: reconciled, {'some' if len(result.quarantine) else 'no'} rows quarantined")

    q, valid = result.quarantine, result.valid
    assert table["read"].sum() == len(raw) == len(valid) + len(q)
    # the same rows, not just the same counts: every row read is validated or quarantined, once
    read_ids = list(zip(raw[SOURCE_FILE], raw[SOURCE_ROW]))
    out_ids = list(zip(valid[SOURCE_FILE], valid[SOURCE_ROW])) + list(zip(q[SOURCE_FILE], q[SOURCE_ROW]))
    assert len(set(read_ids)) == len(read_ids) and sorted(out_ids) == sorted(read_ids)
    assert q["check"].str.len().gt(0).all() and q["reason"].str.len().gt(10).all()
    assert (q[SOURCE_FILE] == name).all() and (q[SOURCE_ROW] >= 2).all()
    # row numbers point back at the row as written (blank rows are skipped, so rows are found by number)
    if used in ("utf-8", "utf-8-sig", "utf-16", "xlsx") and fmt != "naive csv" and header == HEADER:
        clean = (lambda v: ILLEGAL_CHARACTERS_RE.sub("", v).strip()) if fmt == "xlsx" else str.strip
        cells = [rows[r - 2] for r in raw[SOURCE_ROW]]
        # a cell that fails its type is kept only as its kind and length
        assert raw["wave"].tolist() == [stored(clean(c[WAVE]), clean(c[WAVE]) in ("before", "after")) for c in cells]
        assert raw["group"].tolist() == [stored(clean(c[GROUP]), is_treatment(clean(c[GROUP]))) for c in cells]
        ids = [clean(c[0]) for c in cells]
        hashed = pseudonyms(ids, SYNTHETIC_KEY.encode(), ID)
        assert raw["person"].tolist() == [p if i else "" for i, p in zip(ids, hashed)]  # an empty id stays empty
    # validated rows hold only what the contract allows
    assert set(valid["wave"]) <= {"before", "after"} and set(valid["group"]) <= {0.0, 1.0}
    assert valid["mixing"].dropna().isin([1, 2, 3, 4, 5]).all()
    assert valid["age"].between(16, 90).all() and np.isfinite(valid["age"]).all()


def stored(value: str, valid: bool) -> str:
    """What raw_survey keeps of a cell: the value when it is valid for its column, else its description."""
    return value if valid or value == "" else describe_value(value)


def is_treatment(value: str) -> bool:
    number = to_numbers(pd.Series([value]))[0]
    return value.lower() in TRUE_WORDS | FALSE_WORDS or (not value.startswith("=") and number in (0, 1))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["both", "before", "after", "none"]), min_size=PEOPLE, max_size=PEOPLE),
       st.sampled_from(["", "x", "7", "-9"]))
def test_wide_files_reconcile_per_file_and_wave(answered, bad):
    """A wide file: whoever answered nothing in a wave has no row for it, and nobody vanishes."""
    header = ["person", "group", "age", "female", "site", "mixing_pre", "belonging_pre", "mixing_post",
              "belonging_post"]
    rows = []
    for i, which in enumerate(answered):
        pre = ["3", "2"] if which in ("both", "before") else ["", ""]
        post = ["4", "1"] if which in ("both", "after") else ["", ""]
        rows.append([f"W{i:02d}", "1", "40", "1", "North"] + pre + post)
    if bad:
        rows[0][5] = bad  # person 0's baseline answer: a letter, an impossible code or a missing-value code
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / ID
        folder.mkdir()
        (folder / "survey.csv").write_text("".join(",".join(r) + "\n" for r in [header] + rows), encoding="utf-8")
        manifest = dict(MANIFEST, files=[{"path": "survey.csv", "layout": "wide",
                                           "wave_suffixes": {"before": "_pre", "after": "_post"}}],
                        design=dict(MANIFEST["design"], type="pre_post", treatment=None, effect_modifiers=[]))
        (folder / "evaluation.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
        m = load_manifest(folder)
        raw = read_raw(folder, m)
        try:
            result = validate(raw, m, load_measures())
        except IntakeError as err:  # e.g. nobody answered at all: the outcome columns are empty
            assert "empty in every row" in str(err), str(err)
            return
        table = reconcile(raw, result.valid, result.quarantine, "wave")
    said_before = [any(r[5:7]) for r in rows]
    said_after = [any(r[7:9]) for r in rows]
    read = table.set_index("wave")["read"].to_dict()
    assert read.get("before", 0) == sum(b or not a for b, a in zip(said_before, said_after))
    assert read.get("after", 0) == sum(said_after)
    assert sorted(set(raw[SOURCE_ROW])) == list(range(2, PEOPLE + 2))  # every person in the file is counted
    if bad in ("x", "7"):
        assert result.quarantine[SOURCE_ROW].tolist() == [2] and result.quarantine["wave"].tolist() == ["before"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab ,;\t\n\"\ré1")), max_size=60), st.sampled_from([",", ";", "\t"]))
def test_cells_per_record_counted_without_the_csv_module_are_the_csv_modules_count(text, delimiter):
    """The fast count of cells per record (no quote, no carriage return) is what the csv module finds
    record by record; with a quote or a carriage return the file is left to the csv module."""
    from evaluations.intake.readers import _csv_record_lengths, _unquoted_record_lengths

    fast = _unquoted_record_lengths(text, delimiter)
    if '"' in text or "\r" in text:
        assert fast is None
        return
    assert fast is not None
    assert fast.tolist() == _csv_record_lengths(text, delimiter, "survey.csv").tolist()
