"""What every worker process `commonground` forks shares: the cores it may use, how many an environment
variable asks for, and dying with its parent."""
from __future__ import annotations

import ctypes
import os


def usable_cores() -> int:
    """The cores this process may run on (a container's or a CPU affinity's limit, not the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def chosen_jobs(variable: str) -> int | None:
    """The positive whole number an environment variable sets a process count to, else None (unset,
    empty or not a positive whole number: the caller's default applies)."""
    chosen = os.environ.get(variable, "").strip()
    return int(chosen) if chosen.isdigit() and int(chosen) > 0 else None


def die_with(parent: int) -> None:
    """In a forked worker: be killed when `parent` dies, so a `kill -9` of the command leaves no worker
    writing the book or the warehouse behind it (Linux prctl PR_SET_PDEATHSIG, which a fork does not
    inherit; the parent check closes the gap before it was set)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG = 1, SIGKILL = 9
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(1)
