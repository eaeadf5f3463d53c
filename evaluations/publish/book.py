"""Write the library pages and build the Jupyter Book (1.x, Sphinx: builds offline)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from evaluations.measures import load_measures
from evaluations.publish.library import gap_map_page, measure_page, measures_index, toolkit_page
from evaluations.publish.pages import evaluation_page
from evaluations.records import estimates_csv
from evaluations.registry import REPO_ROOT

BOOK_DIR = REPO_ROOT / "book"


class BookBuildError(Exception):
    pass


def generated_dir(book_dir: Path = BOOK_DIR) -> Path:
    return Path(book_dir) / "generated"


def write_evaluation(record: dict, book_dir: Path = BOOK_DIR) -> Path:
    """The record (JSON, CSV), its figures and its page under book/generated/."""
    gen = generated_dir(book_dir)
    records = gen / "records"
    records.mkdir(parents=True, exist_ok=True)
    (records / f"{record['id']}.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    estimates_csv(record).to_csv(records / f"{record['id']}.csv", index=False, lineterminator="\n")
    return evaluation_page(record, gen / "evaluations", gen / "figures", records)


def remove_stale(keep_ids: set[str], book_dir: Path = BOOK_DIR) -> list[str]:
    """Delete pages of evaluations no longer registered, so the book never shows withdrawn results."""
    gen = generated_dir(book_dir)
    removed = []
    for page in sorted((gen / "evaluations").glob("*.md")):
        if page.stem not in keep_ids:
            removed.append(page.stem)
            page.unlink()
            for f in list((gen / "records").glob(f"{page.stem}.*")) + list((gen / "figures").glob(f"{page.stem}-*")):
                f.unlink()
    return removed


def write_library(records: list[dict], book_dir: Path = BOOK_DIR) -> list[Path]:
    """Pages across evaluations: the toolkit, the gap map, and a page per measure in the bank."""
    gen = generated_dir(book_dir)
    measures = load_measures()
    summaries, pages = {}, []
    for m in measures.values():
        page, summaries[m.id] = measure_page(m, records, gen / "measures", gen / "figures")
        pages.append(page)
    return [toolkit_page(records, gen / "toolkit.md"), gap_map_page(records, gen / "gap_map.md"),
            measures_index(measures, summaries, gen / "measures.md"), *pages]


def build(book_dir: Path = BOOK_DIR) -> Path:
    """Run `jupyter-book build`; Sphinx rebuilds only pages whose sources changed."""
    exe = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-book")
    if exe is None:
        raise BookBuildError("jupyter-book is not installed; run `make install`")
    proc = subprocess.run([exe, "build", str(book_dir), "--warningiserror", "--quiet"],
                          capture_output=True, text=True, cwd=book_dir)
    if proc.returncode != 0:
        raise BookBuildError(f"jupyter-book build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return Path(book_dir) / "_build" / "html" / "index.html"
