"""Disclosure control: small numbers never published; planted personal data never leaves intake."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from evaluations import disclosure
from evaluations.registry import DEFAULT_REGISTRY
from tests.conftest import copy_book_sources


def test_counts_below_ten_are_suppressed_and_zero_is_kept():
    assert [disclosure.count(n) for n in (0, 1, 9, 10, 250)] == [0, "fewer than 10", "fewer than 10", 10, 250]


def test_estimates_from_fewer_than_ten_people_are_blanked_with_a_reason():
    table = pd.DataFrame([{"outcome": "a", "estimate": 0.4, "ci_low": 0.1, "ci_high": 0.7, "p_value": 0.01,
                           "n_treated": 9, "n_comparison": 40},
                          {"outcome": "b", "estimate": 0.2, "ci_low": 0.0, "ci_high": 0.4, "p_value": 0.05,
                           "n_treated": 12, "n_comparison": 40}])
    out = disclosure.suppress_estimates(table)
    assert out.loc[0, "estimate"] is None and out.loc[0, "ci_low"] is None and out.loc[0, "n_treated"] == "fewer than 10"
    assert "fewer than 10" in out.loc[0, "suppression_reason"]
    assert out.loc[1, "estimate"] == 0.2 and out.loc[1, "n_treated"] == 12


def test_secondary_suppression_stops_recovery_by_subtraction():
    shown = disclosure.suppress_cells({"a": 4, "b": 30, "c": 55}, total=89)
    assert shown == {"a": "fewer than 10", "b": "fewer than 10", "c": 55}
    assert disclosure.suppress_cells({"a": 4, "b": 3, "c": 55}, total=62)["c"] == 55  # two hidden already


def test_record_guard_finds_small_counts_anywhere():
    assert disclosure.check_no_small_numbers({"flow": {"programme": {"baseline": 7}}, "n_treated": 50}) == \
        ["flow.programme.baseline = 7"]


CANARIES = {"names": ["Canarina Zebedee-Quill", "Bartholomew Canaryfeather"],
            "emails": ["canary.zebedee@example.org", "b.canaryfeather@example.org"]}


def _plant_canaries(folder: Path) -> list[str]:
    """Names and emails in columns the manifest drops; distinctive respondent ids everywhere."""
    path = folder / "exchange_survey.xlsx"
    df = pd.read_excel(path, sheet_name="Responses", dtype=object)
    ids = {old: f"CANARYID{i:04d}" for i, old in enumerate(df["Participant ID"].unique())}
    df["Participant ID"] = df["Participant ID"].map(ids)
    df.insert(1, "Full name", [CANARIES["names"][i % 2] + f" {i}" for i in range(len(df))])
    df.insert(2, "Email", [CANARIES["emails"][i % 2] for i in range(len(df))])
    df.to_excel(path, sheet_name="Responses", index=False)
    m = yaml.safe_load((folder / "evaluation.yaml").read_text())
    m["files"][0]["drop_columns"] = ["Full name", "Email"]
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(m, sort_keys=False))
    return sorted(ids.values())


def test_planted_names_emails_and_ids_appear_nowhere_published(tmp_path):
    registry = tmp_path / "registry"
    shutil.copytree(DEFAULT_REGISTRY / "town-exchange-2023", registry / "town-exchange-2023")
    ids = _plant_canaries(registry / "town-exchange-2023")
    env = {**os.environ, "COMMONGROUND_REGISTRY": str(registry), "COMMONGROUND_WAREHOUSE": str(tmp_path / "warehouse"),
           "COMMONGROUND_BOOK": str(copy_book_sources(tmp_path / "book")), "DAGSTER_HOME": str(tmp_path / "dh")}
    proc = subprocess.run([str(Path(sys.executable).parent / "commonground"), "run"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    canaries = [s.encode() for s in CANARIES["emails"] + ids] + [n.split()[0].encode() for n in CANARIES["names"]]
    searched = 0
    for root in (tmp_path / "book" / "_build", tmp_path / "book" / "generated", tmp_path / "warehouse"):
        for f in root.rglob("*"):
            if f.is_file():
                data = f.read_bytes()
                searched += 1
                leaked = [c.decode() for c in canaries if c in data]
                assert not leaked, (f, leaked)
    assert searched > 50  # pages, figures, records, the DuckDB file and the JSON documents were all read
    # DuckDB compresses strings, so a byte search of its file proves little: ask it, column by column.
    import duckdb

    with duckdb.connect(str(tmp_path / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        columns = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                              "where data_type = 'VARCHAR'").fetchall()
        assert len(columns) > 10
        for schema, table, column in columns:
            hits = con.execute(f'select count(*) from {schema}.{table} where "{column}" ilike \'%canary%\'').fetchone()[0]
            assert hits == 0, (schema, table, column)
    page = (tmp_path / "book" / "_build" / "html" / "generated" / "evaluations" / "town-exchange-2023.html").read_text()
    assert "Lambeth-Boston" in page  # the evaluation itself was published


def test_threshold_rule_agrees_with_acro(tmp_path, monkeypatch):
    """ACRO (AI-SDC's output checker) applied to the same frequency tables suppresses the same cells."""
    import logging

    import numpy as np
    from acro import ACRO

    monkeypatch.chdir(tmp_path)  # ACRO may write its session files in the working directory
    logging.getLogger("acro").setLevel(logging.ERROR)
    rng = np.random.default_rng(7)
    acro = ACRO(suppress=True)
    checked = 0
    for _ in range(20):
        counts = rng.integers(1, 30, size=(2, 3))
        rows = [(g, w) for gi, g in enumerate(["programme", "comparison"]) for wi, w in enumerate(["base", "mid", "follow"])
                for _ in range(counts[gi, wi])]
        df = pd.DataFrame(rows, columns=["group", "wave"])
        theirs = acro.crosstab(df["group"], df["wave"])
        for g in theirs.index:
            for w in theirs.columns:
                ours = disclosure.count(int(((df["group"] == g) & (df["wave"] == w)).sum()))
                assert (ours == disclosure.SUPPRESSED) == bool(pd.isna(theirs.loc[g, w])), (g, w, ours, theirs.loc[g, w])
                checked += 1
    assert checked == 120
