"""Atomic file writes: a reader (or a crash) never sees half a document, page or figure.

Each write goes to a temporary file in the same folder (so the rename stays on one file
system), is flushed to disk, then renamed over the target with os.replace, which POSIX
makes atomic: the target is either the old file or the new one, never a mix.

Reading is the other half: a document that is damaged anyway (a disk fault, an edit by hand,
a copy cut short) is reported as a `DamagedDocument` naming the file and what is wrong, never
as a bare JSON error; and a full disk is recognised wherever it shows (`is_disk_full`), so
every command says the same thing about it.
"""
from __future__ import annotations

import errno
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: Path | str, keep_identical: bool = False):
    """Yield a temporary path beside `target`; on success it replaces `target`, on error it is removed.

    With `keep_identical`, a target that already holds the same bytes is left as it is: its
    modification time keeps saying when its content last changed, which is how Sphinx decides
    which book pages to read again (book pages and figures are written this way).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; published files are for reading
    try:
        yield Path(tmp)
        if keep_identical and _same_bytes(Path(tmp), target):
            Path(tmp).unlink()
            return
        with open(tmp, "rb+") as fh:  # what a caller wrote through its own API reaches the disk first
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_folder(target.parent)  # the rename itself survives a power cut
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _same_bytes(a: Path, b: Path) -> bool:
    return b.is_file() and a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def write_bytes_atomic(target: Path | str, data: bytes, keep_identical: bool = False) -> Path:
    with atomic_path(target, keep_identical) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text_atomic(target: Path | str, text: str, keep_identical: bool = False) -> Path:
    return write_bytes_atomic(target, text.encode("utf-8"), keep_identical)


class DamagedDocument(Exception):
    """A stored JSON document that cannot be used: cut short by a crash, damaged on disk or edited by hand.

    Raised when one document is read; where many are read at once (the book reads every
    evaluation's record) an instance stands in for each damaged one, so the rest are still used.
    """

    def __init__(self, path: Path | str, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{self.path}: {reason}")


def read_json_document(path: Path | str) -> dict:
    """A JSON object written by `write_text_atomic`; anything else is a `DamagedDocument` naming what is wrong."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise DamagedDocument(path, "it is not UTF-8 text") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        reason = "it is empty" if not text.strip() else f"it is not complete JSON ({e})"
        raise DamagedDocument(path, reason) from None
    if not isinstance(doc, dict):
        raise DamagedDocument(path, f"it holds a JSON {type(doc).__name__} where an object belongs")
    return doc


# What "no space left" looks like from the OS (errno), DuckDB ("No space left on device") and SQLite.
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_DISK_FULL_TEXT = ("no space left on device", "disk quota exceeded", "database or disk is full", "[errno 28]")


class DiskFull(OSError):
    """A write failed because the disk is full; the message says what was kept and what to do."""

    def __init__(self, what: str):
        super().__init__(errno.ENOSPC, disk_full_message(what))

    def __str__(self) -> str:
        return self.strerror


def disk_full_message(what: str) -> str:
    return f"the disk is full: {what}; free space and run again"


def is_disk_full(error: BaseException | str | None) -> bool:
    """True if `error` (an exception, with its causes, or an error's text) says the disk or quota is full."""
    seen = set()
    while isinstance(error, BaseException) and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _DISK_FULL_ERRNOS:
            return True
        if is_disk_full(str(error)):
            return True
        error = error.__cause__ or error.__context__
    return isinstance(error, str) and any(marker in error.lower() for marker in _DISK_FULL_TEXT)
