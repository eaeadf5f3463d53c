"""Time and peak memory of a library of synthetic evaluations: full run, full book build, add, change, withdraw.

For each size, a registry of N evaluations is simulated by the project's own simulator (the
town-exchange sample with its own seed, id and title each, so each is analysed for real), then
these stages run through the `commonground` command, each in a fresh process, as an evaluator
would run them:

    full run      `commonground run`: every evaluation (on one worker process per core), then the book (from nothing)
    full run, 1 process   with --run-peer, the same library from nothing with COMMONGROUND_RUN_JOBS=1
    full book     `commonground book` after deleting the built HTML (Sphinx from scratch, on several processes)
    full book, 1 process   the same with COMMONGROUND_BOOK_JOBS=1: the peer of the parallel build
    add one       a new evaluation registered, `commonground run <new id>` (its run and the book)
    change one    one evaluation's title changed, `commonground run <id>`
    withdraw one  one evaluation's folder removed, `commonground book`
    alone         the added evaluation in an empty library, `commonground run <new id>`

With `--rounds R`, `add one` and `alone` alternate R times (another new evaluation each round, so
round r adds to a library of N + r) and "add / alone" is the ratio of their medians: one pair of runs
moves by a fifth with the machine's load.

"peak RSS" is the largest resident memory of any process of the stage (Dagster's or Sphinx's),
from `getrusage(RUSAGE_CHILDREN)` in a wrapper process per stage; "pages written" counts the
HTML pages whose file changed. "add / alone" is the issue's target (at most 1.2 at 100).

With `--book-only`, one simulated evaluation is analysed once and its record cloned N times
(ids and titles changed), and the stages run only the publishing the pipeline does after the
analysis (`book.write_evaluation` for the evaluations that ran, then `book.remove_stale` and
`book.publish`, as the evidence_page and evidence_book assets do), each in a fresh process: the
book's share of each stage, for sizes whose full runs take too long on a shared machine.

    nice -n 10 .venv/bin/python benchmarks/library.py --sizes 10,100
    nice -n 10 .venv/bin/python benchmarks/library.py --sizes 10 --run-peer
    .venv/bin/python benchmarks/library.py --sizes 100 --rounds 3
    nice -n 10 .venv/bin/python benchmarks/library.py --sizes 100,300 --book-only
    .venv/bin/python benchmarks/library.py --sizes 300 --keep /tmp/cg-library   # keep the folders
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluations.publish.parallel_build import JOBS_ENV  # noqa: E402
from orchestration.run_pool import JOBS_ENV as RUN_JOBS_ENV  # noqa: E402

CLI = str(Path(sys.executable).parent / "commonground")
# Runs a command and prints its wall time and the peak RSS (kB on Linux) of its largest process.
MEASURE = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"seconds": time.perf_counter() - t, "rc": proc.returncode,
                  "peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "tail": (proc.stdout + proc.stderr)[-2000:]}))
"""


def simulate(registry: Path, truth: Path, index: int) -> str:
    """One synthetic evaluation with its own seed, id and title; returns its id."""
    from evaluations.simulate import simulate_exchange, write_evaluation

    sim = simulate_exchange(seed=10_000 + index)
    sim.manifest["id"] = f"town-exchange-{index:03d}"
    sim.manifest["title"] = f"Town exchange number {index}: warmth across the referendum divide"
    write_evaluation(sim, registry, truth)
    return sim.manifest["id"]


class Library:
    """A registry, warehouse, book and Dagster home in one folder, and the `commonground` command over them."""

    def __init__(self, root: Path):
        from tests.conftest import copy_book_sources

        self.root = root
        self.registry, self.truth = root / "registry", root / "truth"
        self.book = copy_book_sources(root / "book")
        (root / "dagster_home").mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "COMMONGROUND_REGISTRY": str(self.registry),
                    "COMMONGROUND_WAREHOUSE": str(root / "warehouse"), "COMMONGROUND_BOOK": str(self.book),
                    "DAGSTER_HOME": str(root / "dagster_home")}

    def html_stamps(self) -> dict[str, int]:
        html = self.book / "_build" / "html"
        return {str(p): p.stat().st_mtime_ns for p in html.rglob("*.html")} if html.is_dir() else {}

    def measure(self, *args: str) -> dict:
        return self.measure_command(CLI, *args)

    def measure_command(self, *command: str, env: dict | None = None) -> dict:
        before = self.html_stamps()
        proc = subprocess.run([sys.executable, "-c", MEASURE, *command], env={**self.env, **(env or {})},
                              capture_output=True, text=True, check=True)
        result = json.loads(proc.stdout)
        if result["rc"] != 0:
            raise SystemExit(f"`{' '.join(command)[:300]}` failed in {self.root}:\n{result['tail']}")
        after = self.html_stamps()
        result["written"] = sum(1 for page, stamp in after.items() if before.get(page) != stamp)
        return result


def publish_step(spec: dict) -> None:
    """One publishing stage (in its own process): write the pages of `write`, then the book of `records`."""
    from evaluations.publish import book
    from evaluations.record_model import EvidenceRecord

    def load(path: str) -> EvidenceRecord:
        return EvidenceRecord.model_validate_json(Path(path).read_text(encoding="utf-8"))
    book_dir = Path(spec["book"])
    for path in spec["write"]:
        book.write_evaluation(load(path), book_dir)
    if spec["records"] is None:  # the pages only, as the evaluations' runs write them
        return
    records = [load(path) for path in spec["records"]]
    book.remove_stale({r.id for r in records}, book_dir)
    _, skipped = book.publish(records, {}, book_dir)
    if skipped:
        raise SystemExit(f"not published: {skipped}")


class BookOnly(Library):
    """A book published from cloned records: the stages' publishing without the analysis."""

    def __init__(self, root: Path, base_record):
        super().__init__(root)
        self.base, self.records = base_record, root / "records"
        self.records.mkdir(exist_ok=True)

    def record(self, index: int, title: str | None = None) -> str:
        record = self.base.model_copy(update={
            "id": f"town-exchange-{index:03d}",
            "title": title or f"Town exchange number {index}: warmth across the referendum divide"})
        path = self.records / f"{record.id}.json"
        path.write_text(record.model_dump_json(), encoding="utf-8")
        return str(path)

    def publish(self, records: list[str] | None, write: list[str], env: dict | None = None) -> dict:
        spec = json.dumps({"book": str(self.book), "records": records, "write": write})
        return self.measure_command(sys.executable, str(Path(__file__).resolve()), "--step", spec, env=env)


def base_record(work: Path):
    """The record of one simulated evaluation, analysed by the functions the pipeline's assets call."""
    from tests.conftest import pipeline_record

    registry = work / "base-registry"
    evaluation_id = simulate(registry, work / "base-truth", 0)
    return pipeline_record(registry / evaluation_id).record


def _add_row(rows: list[dict], n: int, stage: str, result: dict) -> None:
    """One stage's measurement: kept for the table and printed as it comes."""
    rows.append({"evaluations": n, "stage": stage, "seconds": result["seconds"],
                 "peak_mb": result["peak_kb"] / 1024, "written": result["written"]})
    print(f"  {n:>4} {stage:<13} {result['seconds']:8.1f} s {result['peak_kb'] / 1024:7.0f} MB "
          f"{result['written']:>5} pages written", flush=True)


def _seconds(rows: list[dict], stage: str) -> float:
    """A stage's time, by its name: the median if it ran more than once (--rounds)."""
    return statistics.median(r["seconds"] for r in rows if r["stage"] == stage)


def book_only_size(n: int, work: Path, base) -> list[dict]:
    rows = []
    row = partial(_add_row, rows, n)

    lib = BookOnly(work / f"book-{n}", base)
    records = [lib.record(i) for i in range(n)]
    row("write pages", lib.publish(None, records))  # each evaluation's page, figures and downloads
    row("full book", lib.publish(records, []))
    # the peer: the same build from nothing with Sphinx on one process (evaluations/publish/parallel_build.py)
    shutil.rmtree(lib.book / "_build")
    row("full book, 1 process", lib.publish(records, [], env={JOBS_ENV: "1"}))
    new = lib.record(n)
    records.append(new)
    row("add one", lib.publish(records, [new]))
    records[0] = lib.record(0, title="Town exchange number 0 (revised title)")
    row("change one", lib.publish(records, [records[0]]))
    del records[1]
    row("withdraw one", lib.publish(records, []))
    alone = BookOnly(work / f"book-alone-{n}", base)
    row("alone", alone.publish([alone.record(n)], [alone.record(n)]))
    ratio = _seconds(rows, "add one") / _seconds(rows, "alone")
    rows.append({"evaluations": n, "stage": "add / alone", "ratio": ratio})
    print(f"  {n:>4} add one / alone = {rows[-1]['ratio']:.2f} (the book's share)", flush=True)
    return rows


def run_size(n: int, work: Path, run_peer: bool, rounds: int = 1) -> list[dict]:
    rows = []
    row = partial(_add_row, rows, n)

    lib = Library(work / f"library-{n}")
    ids = [simulate(lib.registry, lib.truth, i) for i in range(n)]
    row("full run", lib.measure("run"))
    if run_peer:  # the same library from nothing, its evaluations run one after another in one process
        serial = Library(work / f"library-{n}-serial")
        for i in range(n):
            simulate(serial.registry, serial.truth, i)
        row("full run, 1 process", serial.measure_command(CLI, "run", env={RUN_JOBS_ENV: "1"}))
        shutil.rmtree(serial.root)
    shutil.rmtree(lib.book / "_build")
    row("full book", lib.measure("book"))
    shutil.rmtree(lib.book / "_build")
    row("full book, 1 process", lib.measure_command(CLI, "book", env={JOBS_ENV: "1"}))
    # add one and alone alternate, `rounds` times: each round registers another new evaluation and runs
    # it in the library and in an empty library of its own, so both sides see the same machine's load
    for r in range(rounds):
        new = simulate(lib.registry, lib.truth, n + r)
        row("add one", lib.measure("run", new))
        alone = Library(work / f"alone-{n}-{r}")
        simulate(alone.registry, alone.truth, n + r)
        row("alone", alone.measure("run", new))
    manifest = lib.registry / ids[0] / "evaluation.yaml"
    text = manifest.read_text(encoding="utf-8")
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    doc = yaml.safe_load(text)
    doc["title"] += " (revised title)"
    manifest.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    row("change one", lib.measure("run", ids[0]))
    shutil.rmtree(lib.registry / ids[1])
    row("withdraw one", lib.measure("book"))
    add, by_itself = _seconds(rows, "add one"), _seconds(rows, "alone")
    what = f"medians of {rounds} alternating rounds" if rounds > 1 else "one round"
    print(f"  {n:>4} add one / alone = {add / by_itself:.2f} ({what}; target at most 1.2 at 100 evaluations)",
          flush=True)
    rows.append({"evaluations": n, "stage": "add / alone", "ratio": add / by_itself})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| evaluations | stage | seconds | peak RSS | HTML pages written |", "| ---: | --- | ---: | ---: | ---: |"]
    for r in rows:
        if "ratio" in r:
            lines.append(f"| {r['evaluations']} | **add one / alone** | **{r['ratio']:.2f}** | | |")
        else:
            lines.append(f"| {r['evaluations']} | {r['stage']} | {r['seconds']:.1f} | {r['peak_mb']:.0f} MB "
                         f"| {r['written']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10,100,300", help="library sizes, comma-separated (default 10,100,300)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary folder)")
    parser.add_argument("--book-only", action="store_true", help="cloned records, publishing stages only")
    parser.add_argument("--run-peer", action="store_true",
                        help="also run the whole library on one process (COMMONGROUND_RUN_JOBS=1), from nothing")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run `add one` and `alone` this many times, alternating; their medians are compared")
    parser.add_argument("--step", help=argparse.SUPPRESS)  # one publishing stage, run by --book-only
    args = parser.parse_args()
    if args.step:
        return publish_step(json.loads(args.step))
    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.keep or Path(tempfile.mkdtemp(prefix="cg-library-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    rows = []
    try:
        base = base_record(work) if args.book_only else None
        for n in sizes:
            rows += book_only_size(n, work, base) if args.book_only else run_size(n, work, args.run_peer, args.rounds)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} cores; {time.time() - started:.0f} s in all\n")
    print(table(rows))


if __name__ == "__main__":
    main()
