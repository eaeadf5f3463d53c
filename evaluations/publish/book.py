"""Write the evaluation and library pages and build the Jupyter Book (1.x, Sphinx: builds offline).

One evaluation cannot take the book down: an evaluation whose page cannot be written or
built is replaced by a short "not published" page giving the reason, and the rest of the
book is built and published. Every file is written atomically, and one lock file keeps two
runs (two `commonground run`s, or the Dagster daemon and a user) from writing or building
the book at the same time.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from evaluations.files import write_text_atomic
from evaluations.measures import load_measures
from evaluations.publish.library import gap_map_page, measure_page, measures_index, toolkit_page
from evaluations.publish.pages import evaluation_page, unpublished_page
from evaluations.publish.parallel_build import DIE_WITH
from evaluations.publish.text import cell, neutralise
from evaluations.record_model import EvidenceRecord, schema_file_name
from evaluations.records import estimates_csv
from evaluations.registry import REPO_ROOT, SLUG

BOOK_DIR = REPO_ROOT / "book"
LOCK_TIMEOUT_SECONDS = 30 * 60  # a full build of a large library takes minutes; a held lock longer than this is stuck
MAX_BUILD_ATTEMPTS = 5  # each failed attempt sets aside at least one evaluation page


class BookBuildError(Exception):
    pass


def generated_dir(book_dir: Path = BOOK_DIR) -> Path:
    return Path(book_dir) / "generated"


def _status_path(book_dir: Path, evaluation_id: str) -> Path:
    return generated_dir(book_dir) / "status" / f"{evaluation_id}.json"


def book_lock(book_dir: Path = BOOK_DIR) -> FileLock:
    """The lock every writer of the book holds. An OS file lock: a killed process releases it."""
    path = Path(book_dir) / ".book.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path), timeout=LOCK_TIMEOUT_SECONDS)


@contextmanager
def _locked(book_dir: Path):
    lock = book_lock(book_dir)
    try:
        lock.acquire()
    except Timeout:
        raise BookBuildError(f"another run has been writing the book in {book_dir} for over "
                             f"{LOCK_TIMEOUT_SECONDS // 60} minutes; wait for it to finish, or stop it, "
                             "then run again") from None
    try:
        yield
    finally:
        lock.release()


def write_evaluation(record: EvidenceRecord, book_dir: Path = BOOK_DIR) -> Path:
    """The record (JSON, CSV), its figures and its page under book/generated/.

    The downloads are neutralised for spreadsheets (text.cell); the page escapes as it writes.
    If anything fails, the evaluation gets a "not published" page and the error is raised.
    """
    gen = generated_dir(book_dir)
    records = gen / "records"
    rid = record.id
    with _locked(book_dir):
        try:
            write_text_atomic(records / f"{rid}.json",
                              json.dumps(neutralise(record.to_json()), indent=2, sort_keys=True) + "\n", keep_identical=True)
            table = estimates_csv(record)
            table.columns = [cell(str(c)) for c in table.columns]
            buffer = io.StringIO()
            table.map(cell).to_csv(buffer, index=False, lineterminator="\n")
            write_text_atomic(records / f"{rid}.csv", buffer.getvalue(), keep_identical=True)
            page = evaluation_page(record, gen / "evaluations", gen / "figures", records)
        except Exception as error:
            try:
                _set_unpublished(book_dir, rid, "its page could not be written; an evaluator can see why in the "
                                                "Dagster run of this evaluation")
            except Exception as notice_error:  # e.g. the disk is full: the first error is the one to report
                raise error from notice_error
            raise
        write_text_atomic(_status_path(book_dir, rid), json.dumps({"published": True}) + "\n", keep_identical=True)
    return page


def _set_unpublished(book_dir: Path, evaluation_id: str, reason: str) -> None:
    """Replace an evaluation's page by a notice, and drop its downloads and figures."""
    if not SLUG.match(evaluation_id):  # ids name files here; registered ids are always slugs
        raise ValueError(f"not an evaluation id: {evaluation_id!r}")
    gen = generated_dir(book_dir)
    for f in list((gen / "records").glob(f"{evaluation_id}.*")) + list((gen / "figures").glob(f"{evaluation_id}-*")):
        f.unlink(missing_ok=True)
    unpublished_page(evaluation_id, reason, gen / "evaluations")
    write_text_atomic(_status_path(book_dir, evaluation_id), json.dumps({"published": False, "reason": reason}) + "\n",
                      keep_identical=True)


def unpublished(book_dir: Path = BOOK_DIR) -> dict[str, str]:
    """Evaluations whose page is a "not published" notice, with the reason."""
    out = {}
    for path in sorted((generated_dir(book_dir) / "status").glob("*.json")):
        try:
            status = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            status = {"published": False, "reason": "its publishing status was damaged; it is rebuilt on the next run"}
        if not status.get("published"):
            out[path.stem] = status.get("reason", "")
    return out


def remove_stale(keep_ids: set[str], book_dir: Path = BOOK_DIR) -> list[str]:
    """Delete pages of evaluations no longer registered, so the book never shows withdrawn results."""
    gen = generated_dir(book_dir)
    removed = []
    with _locked(book_dir):
        for page in sorted((gen / "evaluations").glob("*.md")):
            if page.stem not in keep_ids:
                removed.append(page.stem)
                page.unlink()
                for f in (list((gen / "records").glob(f"{page.stem}.*")) + list((gen / "figures").glob(f"{page.stem}-*"))
                          + [_status_path(book_dir, page.stem)]):
                    f.unlink(missing_ok=True)
    return removed


def publish(records: list[EvidenceRecord], not_published: dict[str, str], book_dir: Path = BOOK_DIR) -> tuple[Path, dict[str, str]]:
    """Library pages and the HTML book; returns the index and every evaluation not published, with why.

    `not_published` names evaluations whose record could not be read (it is rebuilt by the
    next run of that evaluation). If Sphinx fails on an evaluation's page, that page is set
    aside as not published and the book is built again without it.
    """
    with _locked(book_dir):
        for evaluation_id, reason in not_published.items():
            _set_unpublished(book_dir, evaluation_id, reason)
        for attempt in range(MAX_BUILD_ATTEMPTS):
            skipped = unpublished(book_dir)
            write_library([r for r in records if r.id not in skipped], book_dir, skipped)
            failure = _build(book_dir)
            if failure is None:
                return Path(book_dir) / "_build" / "html" / "index.html", skipped
            culprits = sorted(set(re.findall(r"generated/evaluations/([a-z0-9-]+)\.md", failure)) - set(skipped))
            if not culprits:
                raise BookBuildError(f"jupyter-book build failed:\n{failure[-4000:]}")
            for evaluation_id in culprits:
                _set_unpublished(book_dir, evaluation_id, "its page could not be built; an evaluator can see why "
                                                          "in the Dagster run of the book")
        raise BookBuildError(f"jupyter-book build failed after {MAX_BUILD_ATTEMPTS} attempts:\n{failure[-4000:]}")


def write_library(records: list[EvidenceRecord], book_dir: Path = BOOK_DIR, not_published: dict[str, str] | None = None) -> list[Path]:
    """Pages across evaluations: the toolkit, the gap map, and a page per measure in the bank."""
    gen = generated_dir(book_dir)
    measures = load_measures()
    summaries, pages = {}, []
    for m in measures.values():
        page, summaries[m.id] = measure_page(m, records, gen / "measures", gen / "figures")
        pages.append(page)
    return [toolkit_page(records, gen / "toolkit.md", not_published or {}), gap_map_page(records, gen / "gap_map.md"),
            measures_index(measures, summaries, gen / "measures.md"), *pages]


def write_schema(book_dir: Path = BOOK_DIR) -> Path:
    """The records' JSON Schema beside the JSON downloads, under its versioned name (methods.md links it)."""
    schema = EvidenceRecord.model_json_schema()
    return write_text_atomic(generated_dir(book_dir) / "records" / schema_file_name(),
                             json.dumps(schema, indent=2, sort_keys=True) + "\n", keep_identical=True)


def _build(book_dir: Path) -> str | None:
    """Run `jupyter-book build`; the log if it failed. Sphinx reads again only the sources whose file changed
    (pages, figures and downloads are rewritten only when their bytes change) and writes those pages and the
    pages whose navigation they change (evaluations/publish/navigation.py).
    The schema is written first: the methods page links it, and a missing download fails the build."""
    write_schema(book_dir)
    if importlib.util.find_spec("jupyter_book") is None:
        raise BookBuildError("jupyter-book is not installed; run `make install`")
    # `jupyter-book build`, with Sphinx on several processes, killed with this process (parallel_build.py)
    command = [sys.executable, "-m", "evaluations.publish.parallel_build", DIE_WITH, str(os.getpid()),
               "build", str(book_dir), "--warningiserror", "--quiet", "--keep-going"]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=book_dir)
    return None if proc.returncode == 0 else f"{proc.stdout}\n{proc.stderr}"


def build(book_dir: Path = BOOK_DIR) -> Path:
    """Build the book from the pages already written (no evaluation is set aside)."""
    with _locked(book_dir):
        failure = _build(book_dir)
    if failure is not None:
        raise BookBuildError(f"jupyter-book build failed:\n{failure[-4000:]}")
    return Path(book_dir) / "_build" / "html" / "index.html"
