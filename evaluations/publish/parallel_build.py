"""`jupyter-book build` with Sphinx reading and writing pages on the cores this process may use.

Jupyter Book 1.x's command has no option for Sphinx's ``-j`` although the function it calls,
``build_sphinx``, takes ``jobs``; this runs the command itself (its configuration, table of contents
and flags unchanged) with that function given `jobs()` processes. Sphinx reads in parallel only
when more than five pages changed (an incremental build after one evaluation reads on one process)
and writes on jobs - 1 workers.

    python -m evaluations.publish.parallel_build [--die-with PID] build BOOK_DIR --warningiserror --quiet --keep-going

With ``--die-with PID`` the build, and every process it forks, is killed when process PID ends
(kill -9 included; evaluations/child_processes.py `die_with`), so an orphaned Sphinx never writes
into the book while the next run holds its lock.
"""
from __future__ import annotations

import functools
import os
import sys

from evaluations.child_processes import chosen_jobs, die_with, usable_cores


DIE_WITH = "--die-with"
JOBS_ENV = "COMMONGROUND_BOOK_JOBS"  # an operator's limit (a whole number); benchmarks/library.py compares 1 with all


def jobs() -> int:
    """COMMONGROUND_BOOK_JOBS when set, else one more than the cores this process may run on (a
    container's or a CPU affinity's limit, not the machine's): Sphinx writes pages on jobs - 1 worker
    processes while its main process resolves each page and adds it to the search index, so with
    -j 2 on two cores one core wrote every page (a 51-page build: 12.0 s against 12.3 s on one
    process; with 3, 10.8-12.1 s against 13.6-14.0 s)."""
    return chosen_jobs(JOBS_ENV) or usable_cores() + 1


def main(argv: list[str]) -> int:
    if argv[:1] == [DIE_WITH]:
        die_with(int(argv[1]))
        argv = argv[2:]
    os.register_at_fork(after_in_child=functools.partial(die_with, os.getpid()))
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
