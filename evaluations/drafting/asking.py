"""The draft's open questions asked at a terminal, and the exports copied beside the draft.

At a terminal each open question is asked with its options (and checked: a date must be a
date, a cost a number, a choice one of its options); the answers are written in place of the
marks. Without a terminal nothing is asked: the marks stay, and the command lists them.
"""
from __future__ import annotations

import filecmp
import shutil
from datetime import date
from pathlib import Path

import typer

from evaluations.drafting.draft import Draft, Question


def ask_at_terminal(draft: Draft, prompt=typer.prompt, confirm=typer.confirm) -> None:
    """Ask every open question of the draft and write the answers in."""
    typer.echo(f"{len(draft.questions)} question(s) the files cannot answer:")
    for q in list(draft.questions):
        draft.answer(q, ask(q, prompt, confirm))


def ask(q: Question, prompt=typer.prompt, confirm=typer.confirm):
    label = f"{'.'.join(map(str, q.path))}: {q.what}" + (" (press Enter if not known)" if q.optional else "")
    if q.kind == "yes_no":
        return confirm(label, default=True)
    while True:
        default = "" if q.optional else q.default or (q.options[0] if q.kind == "choice" and q.options else None)
        answer = prompt(label, default=default, show_default=default is not None and not q.optional).strip()
        if not answer and q.optional:
            return None
        if q.kind == "date":
            try:
                return date.fromisoformat(answer).isoformat()
            except ValueError:
                typer.echo("Write the date as YYYY-MM-DD, e.g. 2025-01-31.")
                continue
        if q.kind == "number":
            try:
                return float(answer)
            except ValueError:
                typer.echo("Write a number of pounds, e.g. 180, or press Enter if it is not known.")
                continue
        if q.kind == "choice" and q.options and answer not in q.options:
            typer.echo(f"Write one of: {', '.join(q.options)}.")
            continue
        if answer:
            return answer


def copy_beside(files: list[Path], folder: Path, dry_run: bool = False) -> list[Path]:
    """Copy each file into the evaluation folder; returns the files already there with other content
    (then nothing is copied: a file of the charity's is never overwritten)."""
    clashes, todo = [], []
    for source in files:
        target = folder / source.name
        if target.exists():
            if not (target.resolve() == source.resolve() or filecmp.cmp(source, target, shallow=False)):
                clashes.append(target)
            continue
        todo.append((source, target))
    if not dry_run and not clashes:
        for source, target in todo:
            shutil.copyfile(source, target)
    return clashes
