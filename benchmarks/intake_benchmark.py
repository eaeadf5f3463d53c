"""Intake at scale: one million respondent-wave rows through read, validate, reconcile and panel.

    .venv/bin/python benchmarks/intake_benchmark.py            # 500,000 people x 2 waves
    .venv/bin/python benchmarks/intake_benchmark.py --people 50000 --keep /tmp/bench

It writes a synthetic long CSV (NCS-style columns, with the mess real returns have: "don't
know" codes, impossible answers, exact duplicate rows, an undeclared free column) and its
evaluation.yaml into a temporary folder, then runs each stage in a fresh Python process so
that its time and peak memory are its own:

    read_file      parse the CSV into text columns with file row numbers
    read_raw       read_file + privacy screen + data minimisation + keyed pseudonymisation
    validate       coercion, the Great Expectations contracts, duplicates, quarantine
    reconcile      rows read = rows validated + rows quarantined, per file and wave
    build_panel    the analysis panel every estimator takes

and then all four again in one process (as `commonground check` and an in-process Dagster
run do), for the peak memory of the whole chain; and, as the peer every ratio is taken
against, a plain `pandas.read_csv` of the same file (default options) in its own process.

Peak memory is the resident set size of the stage's process, sampled every 5 ms from
/proc/self/statm while the stage runs and checked against getrusage's ru_maxrss (which
also sees allocations made and freed between samples). tracemalloc is not used: it does
not see numpy's and pandas' C allocations. The stage's inputs are loaded from a pickle
before the clock starts; "peak" includes them, because the stage needs them in memory.

Goals (2 cores): every stage together under 60 s and no stage above 4 GB; the chain in one
process at most 6 times the plain `pandas.read_csv` and under 1.5 GB (issue 13).
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STAGES = ["read_file", "read_raw", "validate", "reconcile", "build_panel"]
ALL = "all_in_one_process"  # read_raw -> validate -> reconcile -> build_panel, as `commonground check` runs them
PEER = "pandas_read_csv"  # pandas.read_csv of the same file, default options: what the ratios are taken against
EVALUATION_ID = "bench-intake"
MANIFEST = f"""\
# SYNTHETIC benchmark evaluation written by benchmarks/intake_benchmark.py: every respondent is invented.
id: {EVALUATION_ID}
title: Intake benchmark (synthetic)
synthetic: true
programme:
  name: Benchmark programme (fictional)
  family: youth_social_action
  organisation: Synthetic Benchmark Trust (fictional)
  places: [Nowhere]
  start_date: 2024-07-01
  end_date: 2024-08-31
design:
  type: matched_did
  unit_id: respondent_id
  treatment: took_part
  wave: wave
  baseline: baseline
  follow_up: 3-month follow-up
  covariates: [age, female, fsm, minority_ethnic, urban]
  effect_modifiers: [fsm]
outcomes:
  - {{column: mixing, measure: mixing_different_backgrounds, primary: true}}
  - {{column: belonging, measure: belonging_neighbourhood}}
  - {{column: rely_on, measure: someone_to_rely_on}}
  - {{column: volunteered, measure: social_action_volunteering}}
files:
  - path: survey.csv
missing_codes: [-9, "Don't know"]
valid_ranges:
  age: [15, 17]
"""


def write_evaluation(folder: Path, people: int, seed: int = 1) -> dict:
    """A long CSV with `people` x 2 waves rows (plus planted mess) and its evaluation.yaml."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evaluation.yaml").write_text(MANIFEST, encoding="utf-8")
    n = people
    ids = np.char.add("NCS-", np.char.zfill(np.arange(n).astype(str), 7))
    base = {
        "respondent_id": ids, "took_part": rng.integers(0, 2, n), "age": rng.choice([15, 16, 17], n),
        "female": rng.integers(0, 2, n), "fsm": rng.integers(0, 2, n), "minority_ethnic": rng.integers(0, 2, n),
        "urban": rng.integers(0, 2, n),
        "region": rng.choice(["North West", "West Midlands", "London", "Yorkshire"], n),  # undeclared: dropped
    }
    waves = []
    for label in ("baseline", "3-month follow-up"):
        w = pd.DataFrame(base)
        w.insert(1, "wave", label)
        w["mixing"] = rng.integers(1, 6, n).astype(object)
        w["belonging"] = rng.integers(1, 5, n).astype(object)
        w["rely_on"] = rng.integers(1, 6, n).astype(object)
        w["volunteered"] = rng.integers(0, 2, n)
        dont_know = rng.random(n) < 0.03
        w.loc[dont_know, "mixing"] = -9
        w.loc[rng.random(n) < 0.01, "belonging"] = "Don't know"
        waves.append(w)
    df = pd.concat(waves, ignore_index=True)
    planted = {"impossible": 50, "not_a_number": 50, "duplicates": 50}
    bad = rng.choice(len(df), planted["impossible"] + planted["not_a_number"], replace=False)
    df.loc[bad[:planted["impossible"]], "mixing"] = 8
    df.loc[bad[planted["impossible"]:], "rely_on"] = "n/a"
    df = pd.concat([df, df.iloc[rng.choice(len(df), planted["duplicates"], replace=False)]], ignore_index=True)
    df = df.iloc[rng.permutation(len(df))]
    df.to_csv(folder / "survey.csv", index=False, lineterminator="\n")
    return {"rows": len(df), "bytes": (folder / "survey.csv").stat().st_size, **planted}


# ------------------------------------------------------------------------------- one stage

class PeakRSS:
    """Peak resident set size of this process while the block runs (sampled + ru_maxrss)."""

    def __init__(self, interval: float = 0.005):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self._page

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.interval)

    def __enter__(self):
        self.start = self._rss()
        self.maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if maxrss > self.maxrss_before:  # the process peak was set during the block
            self.peak = max(self.peak, maxrss)


def run_stage(stage: str, work: Path) -> dict:
    from evaluations.measures import load_measures
    from evaluations.registry import load_manifest

    folder = work / EVALUATION_ID
    manifest = load_manifest(folder)
    measures = load_measures()

    def load(name):
        with open(work / f"{name}.pkl", "rb") as fh:
            return pickle.load(fh)

    def save(name, obj):
        with open(work / f"{name}.pkl", "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)

    if stage == "read_file":
        from evaluations.intake.readers import read_file
        args = ()
    elif stage == "read_raw":
        from evaluations.intake.validate import read_raw
        args = ()
    elif stage == "validate":
        from evaluations.intake.validate import validate
        args = (load("raw"),)
    elif stage == "reconcile":
        from evaluations.intake.validate import reconcile
        args = (load("raw"), load("valid"), load("quarantine"))
    elif stage == "build_panel":
        from evaluations.intake.panel import build_panel
        args = (load("valid"),)
    elif stage == PEER:
        import pandas as pd
        args = ()
    elif stage == ALL:
        from evaluations.intake.panel import build_panel
        from evaluations.intake.validate import read_raw, reconcile, validate
        args = ()
    else:
        raise SystemExit(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")

    # Warm the libraries the stage uses outside the clock (imports are not intake work).
    import great_expectations  # noqa: F401

    with PeakRSS() as mem:
        t0 = time.perf_counter()
        if stage == "read_file":
            out = read_file(folder, manifest.files[0], manifest)
        elif stage == "read_raw":
            out = read_raw(folder, manifest)
        elif stage == "validate":
            out = validate(args[0], manifest, measures)
        elif stage == "reconcile":
            out = reconcile(*args, manifest.design.wave)
        elif stage == "build_panel":
            out = build_panel(args[0], manifest, measures)
        elif stage == PEER:
            out = pd.read_csv(folder / manifest.files[0].path)
        else:
            raw = read_raw(folder, manifest)
            result = validate(raw, manifest, measures)
            reconcile(raw, result.valid, result.quarantine, manifest.design.wave)
            out = build_panel(result.valid, manifest, measures)
        seconds = time.perf_counter() - t0
    info = {"stage": stage, "seconds": seconds, "peak_rss": mem.peak, "rss_before": mem.start}
    if stage == "read_file":
        info["rows_out"] = len(out)
    elif stage == "read_raw":
        info["rows_out"] = len(out)
        save("raw", out)
    elif stage == "validate":
        info["rows_out"] = len(out.valid)
        info["quarantined"] = len(out.quarantine)
        info["by_check"] = out.quarantine.groupby("check").size().to_dict()
        from evaluations.intake.rules import check_of  # the Dagster asset check each row is counted in
        info["by_asset_check"] = out.quarantine["check"].map(lambda n: check_of(n).name).value_counts().to_dict()
        save("valid", out.valid)
        save("quarantine", out.quarantine)
    elif stage == "reconcile":
        info["rows_out"] = int(out["read"].sum())
    else:
        info["rows_out"] = len(out)
    return info


# ------------------------------------------------------------------------------- the driver

def _gb(n: int) -> str:
    return f"{n / 1024**3:.2f} GB"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--people", type=int, default=500_000, help="people, each with a baseline and a follow-up row")
    p.add_argument("--keep", type=Path, help="write the data here and keep it (default: a temporary folder)")
    p.add_argument("--stage", choices=STAGES + [ALL, PEER], help=argparse.SUPPRESS)  # internal: run one stage
    p.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.stage:
        print(json.dumps(run_stage(args.stage, args.work)))
        return 0

    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="cg-bench-")
    work = args.keep or Path(tmp.name)
    try:
        t0 = time.perf_counter()
        data = write_evaluation(work / EVALUATION_ID, args.people)
        print(f"wrote {data['rows']:,} rows ({data['bytes'] / 1024**2:.0f} MB) in {time.perf_counter() - t0:.1f} s "
              f"to {work / EVALUATION_ID}; planted {data['impossible']} impossible answers, "
              f"{data['not_a_number']} non-numbers, {data['duplicates']} exact duplicates", flush=True)
        results = []
        for stage in STAGES + [ALL, PEER]:
            proc = subprocess.run([sys.executable, __file__, "--stage", stage, "--work", str(work)],
                                  capture_output=True, text=True, cwd=ROOT)
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr, file=sys.stderr)
                return 1
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            r = results[-1]
            print(f"  {stage:<12} {r['seconds']:7.2f} s  peak {_gb(r['peak_rss'])}", flush=True)
        pipeline = [r for r in results if r["stage"] not in ("read_file", ALL)]  # read_file runs inside read_raw
        total_s = sum(r["seconds"] for r in pipeline)
        peak = max(r["peak_rss"] for r in pipeline)
        together = next(r for r in results if r["stage"] == ALL)
        peer = next(r for r in results if r["stage"] == PEER)
        print()
        print(f"| stage | seconds | peak RSS | RSS before (inputs) | rows out |")
        print(f"| --- | ---: | ---: | ---: | ---: |")
        for r in results:
            if r["stage"] in (ALL, PEER):
                continue
            note = " (inside read_raw)" if r["stage"] == "read_file" else ""
            print(f"| {r['stage']}{note} | {r['seconds']:.2f} | {_gb(r['peak_rss'])} | {_gb(r['rss_before'])} | "
                  f"{r['rows_out']:,} |")
        print(f"| **total** (read_raw..build_panel) | **{total_s:.2f}** | **{_gb(peak)}** (max) | | |")
        print(f"| all four in one process | {together['seconds']:.2f} | {_gb(together['peak_rss'])} | "
              f"{_gb(together['rss_before'])} | {together['rows_out']:,} |")
        print(f"| peer: pandas.read_csv of the file | {peer['seconds']:.2f} | {_gb(peer['peak_rss'])} | "
              f"{_gb(peer['rss_before'])} | {peer['rows_out']:,} |")
        ratio = together["seconds"] / peer["seconds"]
        v = next(r for r in results if r["stage"] == "validate")
        print(f"\nquarantined {v['quarantined']:,} rows: {v['by_check']}")
        print(f"counted in asset checks: {v['by_asset_check']} ({sum(v['by_asset_check'].values()):,} rows)")
        ok = total_s < 60 and max(peak, together["peak_rss"]) < 4 * 1024**3 and together["seconds"] < 60
        print(f"goal (< 60 s, < 4 GB): {'met' if ok else 'NOT met'} on {os.cpu_count()} cores")
        lean = ratio <= 6 and together["peak_rss"] < 1.5 * 1024**3
        print(f"all four in one process: {ratio:.1f} times pandas.read_csv of the file, peak "
              f"{_gb(together['peak_rss'])}; goal (<= 6 times, < 1.5 GB): {'met' if lean else 'NOT met'}")
        return 0 if ok else 1
    finally:
        if tmp:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
