"""What Dagster and the warehouse add to one evaluation: `commonground run` against the same work done bare.

    .venv/bin/python benchmarks/run_overhead.py                      # the town-exchange sample, 3 rounds
    .venv/bin/python benchmarks/run_overhead.py --evaluation ncs-youth-2024 --rounds 5

Both sides start from nothing in a fresh process, with the evaluation alone in its own registry:

    commonground run   `commonground run <id>`: the Dagster run of its partition (intake, checks,
                       panel, estimates, diagnostics, rating, record, page; DuckDB warehouse, SQLite
                       instance) and the book
    bare science       the functions the assets call, in their order, in one process without Dagster
                       or the warehouse (tests/conftest.py `pipeline_record`), then the same page and
                       book (`book.write_evaluation`, `book.publish`)

Both build the book from nothing, so the ratio is what orchestration costs on top of the same work.
The Dagster instance exists before the clock starts (an evaluator's does; creating its SQLite
storage from nothing is a one-off few seconds).
Goal (issue 13): at most 1.3. The rounds alternate the two sides, so that a busy machine slows both;
the median of each is printed. Measure on an idle machine.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLI = str(Path(sys.executable).parent / "commonground")
BARE = """
import sys
from pathlib import Path
from evaluations.publish import book
from tests.conftest import pipeline_record

folder, book_dir = Path(sys.argv[1]), Path(sys.argv[2])
record = pipeline_record(folder).record
book.write_evaluation(record, book_dir)
_, skipped = book.publish([record], {}, book_dir)
assert not skipped, skipped
"""


def _fresh(work: Path, evaluation: str) -> dict:
    """A registry holding only `evaluation`, an empty warehouse, book and Dagster home."""
    from tests.conftest import copy_book_sources
    from evaluations.registry import DEFAULT_REGISTRY

    shutil.rmtree(work, ignore_errors=True)
    registry = work / "registry"
    shutil.copytree(DEFAULT_REGISTRY / evaluation, registry / evaluation)
    (work / "dagster_home").mkdir(parents=True)
    # the instance as `commonground` makes it (its dagster.yaml), created once
    subprocess.run([sys.executable, "-c", "import sys; from dagster import DagsterInstance; "
                    "from evaluations.cli import dagster_home; DagsterInstance.from_config(str(dagster_home()))"],
                   env={**os.environ, "DAGSTER_HOME": str(work / "dagster_home")}, check=True)
    return {**os.environ, "COMMONGROUND_REGISTRY": str(registry), "COMMONGROUND_WAREHOUSE": str(work / "warehouse"),
            "COMMONGROUND_BOOK": str(copy_book_sources(work / "book")), "DAGSTER_HOME": str(work / "dagster_home")}


def _timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluation", default="town-exchange-2023", help="a sample evaluation's id")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cg-overhead-"))
    run, bare = [], []
    try:
        for _ in range(args.rounds):
            env = _fresh(work / "run", args.evaluation)
            run.append(_timed([CLI, "run", args.evaluation], env))
            env = _fresh(work / "bare", args.evaluation)
            bare.append(_timed([sys.executable, "-c", BARE, str(Path(env["COMMONGROUND_REGISTRY"]) / args.evaluation),
                                env["COMMONGROUND_BOOK"]], env))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    r, b = statistics.median(run), statistics.median(bare)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {os.cpu_count()} cores\n")
    print(f"| {args.evaluation} (median of {args.rounds}) | seconds |")
    print("|---|---:|")
    print(f"| commonground run | {r:.1f} |")
    print(f"| bare science, page and book | {b:.1f} |")
    print(f"| **ratio** | **{r / b:.2f}** |")


if __name__ == "__main__":
    main()
