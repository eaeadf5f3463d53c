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
from tests.conftest import copy_book_sources, warehouse_database


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


def _families(partitions=(), nesting=()):
    fam = disclosure.Families()
    for total, parts in partitions:
        fam.partition(total, parts)
    for outer, inner in nesting:
        fam.nest(outer, inner)
    return fam


def test_partition_rule_hides_the_next_smallest_part_until_the_hidden_parts_make_ten():
    fam = _families(partitions=[("t", ["a", "b", "c"])])
    counts = lambda cells: {k: disclosure.count(v) for k, v in cells.items()}  # noqa: E731
    assert disclosure.protect(counts({"t": 89, "a": 4, "b": 30, "c": 55}), fam) == \
        {"t": 89, "a": "fewer than 10", "b": "not shown", "c": 55}
    # 4 + 3 hidden would still be 7 by subtraction: hide the next smallest (55) as well
    assert disclosure.protect(counts({"t": 62, "a": 4, "b": 3, "c": 55}), fam) == \
        {"t": 62, "a": "fewer than 10", "b": "fewer than 10", "c": "not shown"}
    assert disclosure.protect(counts({"t": 70, "a": 6, "b": 5, "c": 59}), fam)["c"] == 59  # 11 hidden: safe
    # people in no published part count as hidden: 40 + 45 of 91 leaves 6
    assert disclosure.protect(counts({"t": 91, "a": 40, "b": 45}), _families([("t", ["a", "b"])])) == \
        {"t": 91, "a": "not shown", "b": 45}
    # 7 in the part and 8 in no part: 15 hidden people, nothing to add
    assert disclosure.protect(counts({"t": 15, "a": 7}), _families([("t", ["a"])])) == {"t": 15, "a": "fewer than 10"}


def test_nesting_rule_hides_the_smaller_of_two_counts_one_to_nine_apart():
    fam = _families(nesting=[("registered", "baseline"), ("baseline", "analysed")])
    assert disclosure.protect({"registered": 60, "baseline": 55, "analysed": 40}, fam) == \
        {"registered": 60, "baseline": "not shown", "analysed": 40}
    # containment is transitive: 60 - 52 = 8 even with 55 hidden
    assert disclosure.protect({"registered": 60, "baseline": 55, "analysed": 52}, fam) == \
        {"registered": 60, "baseline": "not shown", "analysed": "not shown"}
    assert disclosure.protect({"registered": 60, "baseline": 60, "analysed": 50}, fam) == \
        {"registered": 60, "baseline": 60, "analysed": 50}


def test_a_hidden_total_given_back_by_its_parts_is_hidden_again():
    fam = _families(partitions=[("overall", ["x", "y"])], nesting=[("stage", "overall")])
    # overall 56 is 4 short of the stage; its parts 30 + 26 would give it back
    assert disclosure.protect({"stage": 60, "overall": 56, "x": 30, "y": 26}, fam) == \
        {"stage": 60, "overall": "not shown", "x": 30, "y": "not shown"}


def test_labels_of_small_categories_are_replaced():
    assert disclosure.hide_label("town=Zebedee Quillfeather") == "town=another group"
    assert disclosure.hide_label("Zebedee") == "another group"


def test_balance_rows_need_ten_in_each_group_and_each_value_of_a_yes_no_variable():
    rows = [{"variable": "age", "mean_treated": 40.123456, "mean_comparison": 41.0, "smd": -0.1, "n_treated": 50,
             "n_comparison": 9, "smallest_category": None},
            {"variable": "female", "mean_treated": 0.98, "mean_comparison": 0.5, "smd": 1.2, "n_treated": 50,
             "n_comparison": 40, "smallest_category": 1},
            {"variable": "urban", "mean_treated": 0.4, "mean_comparison": 0.5, "smd": -0.2, "n_treated": 50,
             "n_comparison": 40, "smallest_category": 20}]
    out = disclosure.balance_rows(rows)
    assert out[0] == {"variable": "age", "mean_treated": None, "mean_comparison": None, "smd": None, "n_treated": 50,
                      "n_comparison": "fewer than 10", "suppressed": True,
                      "suppression_reason": "Not shown: based on fewer than 10 people in a group."}
    assert out[1]["suppressed"] and out[1]["mean_treated"] is None  # 49 women and 1 man
    assert out[2]["mean_treated"] == 0.4 and not out[2]["suppressed"]


def test_attrition_rates_rest_on_ten_lost_and_ten_kept():
    att = {"programme": {"baseline": 60, "baseline_only": 4, "attrition_rate": 4 / 60},
           "comparison": {"baseline": 50, "baseline_only": 12, "attrition_rate": 12 / 50},
           "overall_attrition": 16 / 110, "differential_attrition": 12 / 50 - 4 / 60}
    # the overall rate less the comparison group's would give the 4 back
    assert disclosure.attrition_rates(att) == {"overall": "not shown", "differential": "not shown",
                                               "programme": "fewer than 10", "comparison": 0.24}


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

    with duckdb.connect(str(warehouse_database(tmp_path / "warehouse", "town-exchange-2023")), read_only=True) as con:
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
