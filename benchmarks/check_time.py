"""How long `commonground check` takes on each sample evaluation, from a fresh process.

    .venv/bin/python benchmarks/check_time.py            # 5 runs of each, the median printed
    .venv/bin/python benchmarks/check_time.py --runs 9

Goal (issue 13): under 2 s on a sample. A fresh `commonground` process is what a charity
waits for, so each run is a new process and the time includes Python's start and every import.
The peer in the same run is a process that only imports pandas and reads the sample's data
files with `pandas.read_csv` / `pandas.read_spss` (the least any check of those files must do);
the ratio check / peer says how much the check itself costs. Measure on an idle machine.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "commonground")
READERS = {".csv": "read_csv", ".sav": "read_spss", ".dta": "read_stata", ".xlsx": "read_excel"}


def _seconds(command: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr}")
    return elapsed


def _peer(folder: Path) -> list[str]:
    files = [p for p in sorted(folder.iterdir()) if p.suffix in READERS]
    reads = "; ".join(f"pandas.{READERS[p.suffix]}({str(p)!r})" for p in files)
    return [sys.executable, "-c", f"import pandas; {reads}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folders = sorted(p for p in (ROOT / "datasets" / "evaluations").iterdir() if (p / "evaluation.yaml").is_file())
    print(f"| sample | check (median of {args.runs}) | read the files with pandas | ratio |")
    print("|---|---|---|---|")
    for folder in folders:
        check = statistics.median(_seconds([CLI, "check", str(folder)]) for _ in range(args.runs))
        peer = statistics.median(_seconds(_peer(folder)) for _ in range(args.runs))
        print(f"| {folder.name} | {check:.2f} s | {peer:.2f} s | {check / peer:.2f} |")


if __name__ == "__main__":
    main()
