"""Evaluations run on several processes at once, for `commonground run` of a library.

Each evaluation stays its own Dagster run (its partition of evaluation_job, as `dagster dev` shows
it), executed in process. Its work is Python that holds one core (pandas, statsmodels, EconML,
Great Expectations, Dagster's own bookkeeping), so a library of evaluations run one after another
leaves the other cores idle. `each_run` forks workers after the command has imported the pipeline,
so a worker starts at once instead of importing it again, and hands each the next evaluation.

What the workers share is built for it: each evaluation has its own warehouse file (in the
one-file layout, `orchestration.warehouse.connect` waits its turn, and each write is one short
transaction), the instance's SQLite storage locks per write, and each evaluation writes only its
own documents and page. The book is built once, after all of them, by the command itself.

A worker dies with the command (`die_with`): `kill -9` of `commonground run` leaves its runs
STARTED with the worker's pid in their tags, which the next command marks failed, as it does
for a run it executed itself. Numerical libraries in a worker use cores / workers threads, so
two workers on two cores do not each start two OpenMP threads.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from evaluations.child_processes import chosen_jobs, die_with, usable_cores

JOBS_ENV = "COMMONGROUND_RUN_JOBS"  # an operator's limit (a whole number); 1 runs them one after another

# The runner of this worker process, built once by `_start` (fork: never pickled).
_runner: Callable[[str], tuple] | None = None


def jobs(targets: int) -> int:
    """COMMONGROUND_RUN_JOBS when set, else the cores this process may use; never more than the targets."""
    return max(1, min(chosen_jobs(JOBS_ENV) or usable_cores(), targets))


def _start(make_runner: Callable[[], Callable[[str], tuple]], threads: int, parent: int) -> None:
    global _runner
    die_with(parent)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)  # stays for the worker's life (BLAS and OpenMP pools)
    _runner = make_runner()


def _run(key: str) -> tuple:
    return _runner(key)


def each_run(keys: list[str], make_runner: Callable[[], Callable[[str], tuple]], workers: int,
             died: Callable[[str, str], tuple]) -> Iterable[tuple]:
    """`runner(key)` for every key, as each finishes, on `workers` processes (in this one when 1);
    close the result when done (`contextlib.closing`).

    `make_runner()` builds the runner in each process (its Dagster instance and job); `died(key,
    reason)` stands for the outcome of a key whose worker ended without giving one (killed by the
    operating system, out of memory), so the command can report it like any failed evaluation.
    The workers are forked here, before the caller starts any thread of its own (a progress line).
    """
    if workers <= 1:
        return _one_by_one(keys, make_runner)
    threads = max(1, usable_cores() // workers)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_start,
                               initargs=(make_runner, threads, os.getpid()))
    return _AsFinished(pool, {pool.submit(_run, key): key for key in keys}, died)


def _one_by_one(keys: list[str], make_runner: Callable[[], Callable[[str], tuple]]) -> Iterator[tuple]:
    runner = make_runner()
    for key in keys:
        yield runner(key)


class _AsFinished:
    """The workers' outcomes in the order they finish; `close()` (always called, `contextlib.closing`)
    cancels what has not started and waits for what runs, so nothing outlives the command's lock."""

    def __init__(self, pool: ProcessPoolExecutor, futures: dict, died: Callable[[str, str], tuple]):
        self.pool, self.futures, self.died = pool, futures, died

    def __iter__(self) -> Iterator[tuple]:
        for future in as_completed(self.futures):
            try:
                yield future.result()
            except BrokenProcessPool:
                yield self.died(self.futures[future], "the process running it ended before finishing it (stopped "
                                                      "by the operating system, for example when the machine ran "
                                                      "out of memory)")

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
