"""Write the committed bad-input corpus (tests/bad_inputs/): the files whose bytes matter.

    .venv/bin/python tests/bad_inputs/make_corpus.py

Every file is derived from one small valid evaluation, base/ (24 invented people, two
waves, 48 rows). Text files come out byte for byte the same on every run; the Excel,
SPSS and Stata files hold the same cells each run (their containers carry timestamps).
Cases that do not depend on bytes (a planted email, a duplicated id, ...) are made in
tests/test_bad_inputs.py by a named mutation of base/survey.csv instead.

Everything here is synthetic. The only personal-looking values are in the tests, and
they are the obviously fake jane.doe@example.org, 07700 900123 and SW1A 1AA.
"""
from __future__ import annotations

import random
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat

HERE = Path(__file__).resolve().parent
HEADER = ["respondent_id", "wave", "took_part", "age", "female", "town", "mixing", "belonging", "region"]
WAVES = ["baseline", "follow-up"]

MANIFEST = """\
# SYNTHETIC: the base of the bad-input corpus (tests/bad_inputs/make_corpus.py); every person is invented.
id: bad-input
title: Bad-input corpus base (synthetic)
synthetic: true
programme:
  name: Corpus programme (fictional)
  family: exchange_visit
  organisation: Synthetic Test Trust (fictional)
  places: [Lambeth, Boston]
  start_date: 2024-01-01
  end_date: 2024-06-30
design:
  type: did
  unit_id: respondent_id
  treatment: took_part
  wave: wave
  baseline: baseline
  follow_up: follow-up
  covariates: [age, female]
  effect_modifiers: [town]
outcomes:
  - {column: mixing, measure: mixing_different_backgrounds, primary: true}
  - {column: belonging, measure: belonging_neighbourhood}
files:
  - path: survey.csv
missing_codes: [-9, "Don't know"]
valid_ranges:
  age: [16, 90]
"""


def base_rows() -> list[list[str]]:
    """24 people (P01-P12 took part, P13-P24 did not), a baseline and a follow-up row each."""
    rows = []
    for w, wave in enumerate(WAVES):
        for i in range(1, 25):
            rows.append([f"P{i:02d}", wave, "1" if i <= 12 else "0", str(20 + i), str(i % 2),
                         "Lambeth" if i % 3 else "Boston", str(1 + (i * 7 + w) % 5), str(1 + (i * 3 + w) % 4),
                         "North" if i % 2 else "South"])
    return rows


def csv_text(header: list[str], rows: list[list[str]], sep: str = ",") -> str:
    return "".join(sep.join(r) + "\n" for r in [header] + rows)


def with_fee(rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """The base with a `fee` column holding pound signs: '£25' for participants, '£0' otherwise."""
    return HEADER + ["fee"], [r + ["£25" if r[2] == "1" else "£0"] for r in rows]


def write(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


def main() -> None:
    rows = base_rows()
    (HERE / "base").mkdir(exist_ok=True)
    (HERE / "base" / "evaluation.yaml").write_text(MANIFEST, encoding="utf-8")
    write("base/survey.csv", csv_text(HEADER, rows).encode())

    # ---- malformed CSV
    lines = csv_text(HEADER, rows).splitlines(keepends=True)
    unclosed = [list(r) for r in rows]
    unclosed[5][5] = '"' + unclosed[5][5]  # row 7: a quote opened, never closed
    write("unclosed_quote.csv", csv_text(HEADER, unclosed).encode())
    long_row = list(lines)
    long_row[4] = long_row[4].replace(",Lambeth,", ",Lambeth, Lambeth North,")  # row 5: an unquoted comma
    write("ragged_long_row.csv", "".join(long_row).encode())
    short_row = list(lines)
    short_row[8] = ",".join(short_row[8].rstrip("\n").split(",")[:7]) + "\n"  # row 9: two cells missing
    write("ragged_short_row.csv", "".join(short_row).encode())
    write("empty.csv", b"")
    write("blank.csv", b"\n  \n\r\n")
    write("header_only.csv", (",".join(HEADER) + "\n").encode())
    write("binary_garbage.csv", random.Random(7).randbytes(2048))
    planted = [list(r) for r in rows]
    planted[9][6] = "9"  # an impossible answer in the row after the blank ones
    blank_lines = csv_text(HEADER, planted).splitlines(keepends=True)
    blank_lines[10:10] = ["\n", ",,,,,,,,\n"]  # rows 11 and 12 are empty; the planted row is row 13
    write("blank_rows.csv", "".join(blank_lines).encode())

    # ---- hostile content
    hostile = [list(r) for r in rows]
    hostile[1][6] = "4\x07"                       # row 3: a bell character in an answer
    hostile[2][8] = "\x1b[31mSouth\x1b[0m"        # row 4: terminal colour codes in an undeclared column
    hostile[3][7] = "=cmd|' /C calc'!A0"          # row 5: a spreadsheet (DDE) formula typed into a CSV
    write("hostile_cells.csv", csv_text(HEADER, hostile).encode())

    # ---- encodings: the same answers, with pound signs, as Excel saves them
    fee_header, fee_rows = with_fee(rows)
    write("fee_cp1252.csv", csv_text(fee_header, fee_rows).encode("cp1252"))
    write("fee_utf8_bom.csv", csv_text(fee_header, fee_rows).encode("utf-8-sig"))
    write("fee_utf16.csv", csv_text(fee_header, fee_rows, sep="\t").encode("utf-16"))  # Excel's "Unicode Text"
    undecodable = csv_text(fee_header, fee_rows).encode("cp1252").splitlines(keepends=True)
    undecodable[5] = undecodable[5].replace(b"\xa325", b"\xa325\x81")  # row 6: a byte no encoding here maps
    write("undecodable.csv", b"".join(undecodable))
    write("semicolons.csv", csv_text(HEADER, rows, sep=";").encode())

    # ---- Excel
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Responses"
    ws.append(HEADER)
    ws.append(["Respondent", "Survey wave", "Took part (1 = yes)", "Age in years", "Female (1 = yes)", "Town",
               "How often do you mix...? (1-5)", "How strongly do you belong...? (1-4)", "Region"])
    for r in rows:
        ws.append([int(v) if v.isdigit() else v for v in r])
    ws.cell(row=10, column=7, value=9)  # row 10: an impossible answer on a 1-5 scale
    book.create_sheet("Notes").append(["Collected by the fictional Synthetic Test Trust"])
    book.save(HERE / "two_header_rows.xlsx")

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Responses"
    ws.append(HEADER + ["link"])
    for r in rows:
        ws.append([int(v) if v.isdigit() else v for v in r] + [""])
    ws["G4"] = "=1+1"                                                  # row 4, mixing
    ws["H6"] = '=HYPERLINK("https://example.org/answers","see answer")'  # row 6, belonging
    ws["J3"] = '=HYPERLINK("https://example.org","more")'             # row 3, an undeclared column
    book.create_sheet("Notes").append(["Formulas written by openpyxl: no cached values"])
    book.save(HERE / "formulas.xlsx")

    # ---- SPSS and Stata
    frame = pd.DataFrame(rows, columns=HEADER).drop(columns=["region"])
    numeric = frame.assign(**{c: pd.to_numeric(frame[c]) for c in ["took_part", "age", "female", "mixing", "belonging"]})
    coded = numeric.assign(wave=numeric["wave"].map({"baseline": 1, "follow-up": 2}),
                           town=numeric["town"].map({"Lambeth": 1, "Boston": 2}))
    coded.loc[6, "mixing"] = 6  # case 7: an impossible answer
    pyreadstat.write_sav(coded, str(HERE / "value_labels.sav"), variable_value_labels={
        "wave": {1: "baseline", 2: "follow-up"}, "town": {1: "Lambeth", 2: "Boston"},
        "took_part": {0: "Comparison", 1: "Took part"}, "mixing": {1: "Never", 5: "Every day"}})
    pyreadstat.write_sav(coded, str(HERE / "labels_not_waves.sav"), variable_value_labels={
        "wave": {1: "Wave 1 (spring)", 2: "Wave 2 (summer)"}, "town": {1: "Lambeth", 2: "Boston"}})
    stata = numeric.copy()
    stata.loc[6, "belonging"] = 5  # case 7: an impossible answer on a 1-4 scale
    stata["age"] = stata["age"].astype(float)
    stata.loc[8, "age"] = float("nan")  # case 9: Stata's missing value "."
    pyreadstat.write_dta(stata, str(HERE / "panel.dta"))

    # ---- wide layout: one row per person, outcomes suffixed by wave
    base = pd.DataFrame(rows, columns=HEADER)
    pre, post = base[base["wave"] == "baseline"], base[base["wave"] == "follow-up"]
    wide = pre.drop(columns=["wave", "mixing", "belonging"]).assign(
        mixing_pre=pre["mixing"].to_numpy(), belonging_pre=pre["belonging"].to_numpy(),
        mixing_post=post["mixing"].to_numpy(), belonging_post=post["belonging"].to_numpy())
    wide.loc[wide.index[3], ["mixing_post", "belonging_post"]] = ""  # P04: no follow-up answers (attrition)
    wide.loc[wide.index[4], ["mixing_pre", "belonging_pre", "mixing_post", "belonging_post"]] = ""  # P05: nothing
    wide.loc[wide.index[5], "belonging_post"] = "7"  # P06: an impossible follow-up answer
    write("wide.csv", csv_text(list(wide.columns), wide.astype(str).values.tolist()).encode())
    missing = wide.drop(columns=["belonging_post"])
    write("wide_missing_wave_column.csv", csv_text(list(missing.columns), missing.astype(str).values.tolist()).encode())

    # ---- manifests that are not YAML
    write("not_yaml.yaml", b"id: bad-input\ntitle: \"Unclosed quote\ndesign: {type: did\n")
    write("not_utf8.yaml", "id: bad-input\ntitle: Caf\u00e9 \u00a3 survey\n".encode("cp1252"))


if __name__ == "__main__":
    main()
