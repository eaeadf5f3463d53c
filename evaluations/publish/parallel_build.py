"""`jupyter-book build` with Sphinx reading and writing pages on every core this process may use.

Jupyter Book 1.x's command has no option for Sphinx's ``-j`` although the function it calls,
``build_sphinx``, takes ``jobs``; this runs the command itself (its configuration, table of contents
and flags unchanged) with that function given the number of cores. Sphinx reads in parallel only
when more than five pages changed, so an incremental build after one evaluation stays serial.

    python -m evaluations.publish.parallel_build build BOOK_DIR --warningiserror --quiet --keep-going
"""
from __future__ import annotations

import ctypes
import functools
import os
import sys


JOBS_ENV = "COMMONGROUND_BOOK_JOBS"  # an operator's limit (a whole number); benchmarks/library.py compares 1 with all


def jobs() -> int:
    """COMMONGROUND_BOOK_JOBS when set, else the cores this process may run on (a container's or a CPU
    affinity's limit, not the machine's)."""
    chosen = os.environ.get(JOBS_ENV, "").strip()
    if chosen.isdigit() and int(chosen) > 0:
        return int(chosen)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _die_with(parent: int) -> None:
    """In a forked Sphinx worker: be killed when the build process dies, as the build process itself is
    (publish/book.py), so no orphaned worker writes pages into the book after a kill -9 (Linux prctl
    PR_SET_PDEATHSIG, which a fork does not inherit; the parent check closes the gap before it was set)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG = 1, SIGKILL = 9
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(1)


def main(argv: list[str]) -> int:
    os.register_at_fork(after_in_child=functools.partial(_die_with, os.getpid()))
    import jupyter_book.sphinx
    from jupyter_book.cli import main as command

    # the command imports build_sphinx from jupyter_book.sphinx when it runs
    jupyter_book.sphinx.build_sphinx = functools.partial(jupyter_book.sphinx.build_sphinx, jobs=jobs())
    try:
        command.main(args=argv, prog_name="jupyter-book")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
