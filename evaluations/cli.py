"""The `commonground` command: scaffold, check, register and run evaluations, and build the book.

User errors (a bad manifest, a bad file) print what to fix and exit with status 2, never a traceback.
"""
from __future__ import annotations

import functools
import os
import shutil
import sys
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape  # user text ('[/]' in a data value) must print as written, not as markup

from evaluations.files import write_text_atomic
from evaluations.placeholders import MARK
from evaluations.registry import REGISTRY_ENV, REPO_ROOT, SLUG, ManifestError, evaluation_ids, registry_path

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Common Ground: evaluate social-integration programmes and publish what works.")
out = Console(soft_wrap=True)  # messages hold paths: never wrap or cut them
err = Console(stderr=True, soft_wrap=True)
DAGSTER_HOME_DEFAULT = REPO_ROOT / ".dagster_home"
DAGSTER_YAML = """# Written by `commonground` (it replaces only a copy it wrote itself; once you edit this file, it is yours).
# Embedded default: SQLite storage in this folder. Production: Dagster's Postgres storage and run launcher.
run_queue:
  # One run at a time: each run the daemon starts is a process of up to about 0.6 GB that keeps a
  # core busy, on a machine that also serves the UI (`commonground run` runs a library on a process
  # per core itself; the production profile, deploy/dagster.yaml, runs several at once). The
  # sensors' runs wait here and start one after another; a run whose process died is failed by run
  # monitoring (below), or, if `commonground run` started it, by the dead_commonground_runs sensor
  # (orchestration/runs.py), so it never holds the queue.
  max_concurrent_runs: 1
run_monitoring:
  enabled: true
  poll_interval_seconds: 30
  max_resume_run_attempts: 0  # an evaluation is rerun whole, never resumed half-way
  # Last resort for a run nothing can check (its process on another machine): fail it after 6 hours,
  # far beyond the largest evaluation measured (about 5 minutes at a million respondents).
  max_runtime_seconds: 21600
telemetry:
  enabled: false
"""
# Texts earlier versions wrote: still ours, so they are upgraded to DAGSTER_YAML.
OLD_DAGSTER_YAMLS = ("""# Embedded default: SQLite storage in this folder, one run at a time (DuckDB has one writer).
run_queue:
  max_concurrent_runs: 1
telemetry:
  enabled: false
""", """# Written by `commonground` (it replaces only a copy it wrote itself; once you edit this file, it is yours).
# Embedded default: SQLite storage in this folder. Production: Dagster's Postgres storage and run launcher.
run_queue:
  # One run at a time: DuckDB lets one process write the warehouse at a time, and each evaluation
  # run and book run writes it. The sensors' runs wait here and start one after another; a run whose
  # process died is failed by run monitoring (below), so it never holds the queue.
  max_concurrent_runs: 1
run_launcher:
  # Dagster's default launcher, which also tells run monitoring whether the process of a run
  # started by `commonground run` is still alive (orchestration/runs.py).
  module: orchestration.runs
  class: LocalRunLauncher
run_monitoring:
  enabled: true
  poll_interval_seconds: 30
  max_resume_run_attempts: 0  # an evaluation is rerun whole, never resumed half-way
  # Last resort for a run nothing can check (its process on another machine): fail it after 6 hours,
  # far beyond the largest evaluation measured (about 5 minutes at a million respondents).
  max_runtime_seconds: 21600
telemetry:
  enabled: false
""", """# Written by `commonground` (it replaces only a copy it wrote itself; once you edit this file, it is yours).
# Embedded default: SQLite storage in this folder. Production: Dagster's Postgres storage and run launcher.
run_queue:
  # One run at a time: DuckDB lets one process write the warehouse at a time, and each evaluation
  # run and book run writes it. The sensors' runs wait here and start one after another; a run whose
  # process died is failed by run monitoring (below), or, if `commonground run` started it, by the
  # dead_commonground_runs sensor (orchestration/runs.py), so it never holds the queue.
  max_concurrent_runs: 1
run_monitoring:
  enabled: true
  poll_interval_seconds: 30
  max_resume_run_attempts: 0  # an evaluation is rerun whole, never resumed half-way
  # Last resort for a run nothing can check (its process on another machine): fail it after 6 hours,
  # far beyond the largest evaluation measured (about 5 minutes at a million respondents).
  max_runtime_seconds: 21600
telemetry:
  enabled: false
""")

# Progress is shown by this command; Dagster's own step log stays in the run (see `dagster dev`).
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # failures: our message, no traceback
RegistryOption = typer.Option(None, "--registry", "-r", help=f"Registry folder (default ${REGISTRY_ENV} or the sample library).")


def fail(message: str) -> None:
    err.print(f"[bold red]Error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(2)


def _use_registry(registry: Optional[Path]) -> Path:
    """The registry this command works on; it is passed to the Dagster definitions, never through os.environ."""
    return registry_path(registry)


def _home_path() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or DAGSTER_HOME_DEFAULT).resolve()


def dagster_home() -> Path:
    """The Dagster instance's folder ($DAGSTER_HOME, else .dagster_home), with our dagster.yaml written if it has none."""
    home = _home_path()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text(encoding="utf-8") in OLD_DAGSTER_YAMLS:
        write_text_atomic(config, DAGSTER_YAML)
    return home


TEMPLATE = """\
# evaluation.yaml: what the programme is, how it was evaluated, and where the survey files are.
# Check it with `commonground check {id}` and register it with `commonground register {id}`.
# Replace every "{mark}" with the real value: `check` refuses the file while one is left.
id: {id}                     # lower-case letters, digits and hyphens; the same as this folder's name
title: "{mark}: what the evaluation asks, in a sentence"
synthetic: false             # true only for invented data

programme:
  name: "{mark}: the programme's name"
  family: other              # exchange_visit | school_linking | youth_social_action | intergenerational | other
  organisation: "{mark}: the organisation that delivers it"
  places: ["{mark}: a town or borough"]
  start_date: "{mark}: the first day, as YYYY-MM-DD"
  end_date: "{mark}: the last day, as YYYY-MM-DD"
  cost_per_participant_gbp: "{mark}: the cost per participant in pounds (delete the line if not known)"
  description: "{mark}: what participants do, in two sentences"

design:
  type: did                  # rct | matched_did | did | matching | pre_post (before and after, no comparison group)
  # sample: repeated_cross_section  # if different people answer each wave (e.g. an anonymous survey); default panel
  unit_id: respondent_id     # column with each person's (or response's) id; it is pseudonymised at intake
  treatment: took_part       # column: 1/yes = took part, 0/no = comparison (leave out for pre_post)
  wave: wave                 # column with the survey wave
  baseline: baseline         # wave label before the programme
  follow_up: follow-up       # wave label after it
  # For a roll-out over several waves instead: waves: [w1, w2, w3, w4] and first_treated: start_wave
  # cluster: school_id       # optional: class, school or site people are grouped in
  # weights: weight          # optional: column of survey (sampling or non-response) weights, above 0
  # units: places            # if each row is a school, site or area rather than a person; then
  # people: respondents      #   the column saying how many people each row summarises (at least 10)
  covariates: [age, female]  # characteristics recorded at baseline, in numbers; one in categories is written
  #   - {{column: age_band, categories: [16-24, 25-34, 35-54, 55+], ordered: true}}  (the first is the reference;
  #     ordered: true for bands listed lowest first; an empty or "prefer not to say" answer is 'not answered')
  effect_modifiers: []       # characteristics to report effects separately for (e.g. age_group); with words for
  #   the page: - {{column: fsm, label: "Free school meals", values: {{0: "no", 1: "yes"}}}}
  # estimator: doubly_robust_did  # only to override the design's default: did, doubly_robust_did, ancova,
  #                               # difference_in_means, ps_matching, ipw, doubly_robust,
  #                               # callaway_santanna (staggered) or mean_change (pre_post)
  # matching: {{k: 1, caliper: 0.2, replace: true}}  # for ps_matching

outcomes:                    # a measure id from datasets/measures/, or your own question (below)
  - column: cohesion
    measure: local_area_cohesion
    primary: true
  # When no bank measure fits, write your own question instead of an id. It is published as your
  # own and never pooled with other evaluations (pooling needs the same question asked the same way).
  # - column: confidence
  #   primary: false
  #   measure:
  #     name: "Confidence talking to people from other backgrounds"
  #     question: "How confident do you feel starting a conversation with someone from a different background?"
  #     domain: social_bridges   # social_bridges | social_bonds | social_links | belonging | local_area_cohesion
  #                              # | loneliness | intergenerational_attitudes | intergroup_warmth | wellbeing
  #     response_type: ordinal   # ordinal | binary (codes 0 and 1) | continuous (min and max, no scale)
  #     scale:                   # each answer code and its label; quote labels such as "Yes" and "No"
  #       1: "Not at all confident"
  #       2: "Not very confident"
  #       3: "Fairly confident"
  #       4: "Very confident"
  #     min: 1                   # the smallest and largest codes; for continuous, the possible range
  #     max: 4
  #     higher_is_better: true
  #     # units: "hours a month" # continuous measures only

files:
  - path: survey.csv         # .csv, .xlsx, .sav or .dta, beside this file
    layout: long             # long: a row per person and wave; wide: a row per person
    # sheet: Responses       # for .xlsx
    # drop_columns: [name, email]   # identifying columns to remove at intake

missing_codes: [-9, "Don't know"]
seed: 20250101
"""


NEW_FROM_HELP = ("Survey exports (CSV or Excel, as downloaded from the survey tool) to write a draft from: --from a.csv "
                 "b.csv. The draft proposes the survey tool, the waves, the id, group and wave columns, each question's "
                 "measure from the bank (with its score and the runner-up), covariates, short column names and the "
                 "columns to drop; what it cannot decide is marked FILL IN, and asked at a terminal. The files are "
                 "copied into the new folder beside the draft; yours are not changed. An existing evaluation.yaml is "
                 "never overwritten.")


@app.command()
def new(evaluation_id: str = typer.Argument(..., help="Slug for the new evaluation, e.g. ncs-2025."),
        more_files: Optional[list[Path]] = typer.Argument(None, metavar="[FILE]...", show_default=False,
                                                          help="More exports after the first --from file."),
        directory: Path = typer.Option(Path("."), "--dir", help="Where to create the folder."),
        from_files: Optional[list[Path]] = typer.Option(None, "--from", help=NEW_FROM_HELP, show_default=False)):
    """Scaffold a folder with a commented evaluation.yaml; with --from, a draft written from your survey exports."""
    if not SLUG.match(evaluation_id):
        fail(f"{evaluation_id!r} is not a valid id: use lower-case letters, digits and single hyphens, e.g. 'ncs-2025'.")
    if more_files and not from_files:
        fail(f"{more_files[0]}: files are read only after --from; write `commonground new {evaluation_id} --from "
             f"{' '.join(map(str, more_files))}`.")
    folder = directory / evaluation_id
    if (folder / "evaluation.yaml").exists():
        fail(f"{folder / 'evaluation.yaml'} already exists; edit it, or choose another id.")
    if from_files:
        _new_from(evaluation_id, folder, [*from_files, *(more_files or [])])
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evaluation.yaml").write_text(TEMPLATE.format(id=evaluation_id, mark=MARK), encoding="utf-8")
    out.print(escape(f"Created {folder / 'evaluation.yaml'}. Put the survey files beside it, then run "
                     f"`commonground check {folder}`."))


def _new_from(evaluation_id: str, folder: Path, files: list[Path]) -> None:
    """The draft from the exports: asked at a terminal, else written with its marks and listed."""
    from evaluations.drafting import DraftError, draft_from
    from evaluations.drafting.asking import ask_at_terminal, copy_beside

    try:
        draft = draft_from(evaluation_id, files)
        clashes = copy_beside(files, folder, dry_run=True)
    except DraftError as e:
        fail(str(e))
    if clashes:
        fail(f"{clashes[0]} already exists and differs from the file given; move it away or choose another id.")
    for line in draft.summary:
        out.print(f"  • {escape(line)}", highlight=False)
    if sys.stdin.isatty() and draft.questions:
        ask_at_terminal(draft)
    text = draft.text()
    folder.mkdir(parents=True, exist_ok=True)
    copy_beside(files, folder)
    try:
        with open(folder / "evaluation.yaml", "x", encoding="utf-8") as fh:  # never over one written meanwhile
            fh.write(text)
    except FileExistsError:
        fail(f"{folder / 'evaluation.yaml'} was created while the questions were asked; it is left as it is.")
    out.print(escape(f"Wrote the draft {folder / 'evaluation.yaml'}, with the files copied beside it."), highlight=False)
    if draft.questions:
        out.print(escape(f"Fill in these {len(draft.questions)} value(s), marked \"{MARK}\" in the file:"), highlight=False)
        for q in draft.questions:
            out.print(f"  {escape('.'.join(map(str, q.path)))}: {escape(q.mark)}", highlight=False)
    out.print(escape(f"Check every proposal (the reason is beside each), then run `commonground check {folder}`."),
              highlight=False)


def _report(path: Path):
    from evaluations.checking import check_evaluation

    report = check_evaluation(path)
    for note in report.notes:
        out.print(f"  • {escape(note)}", highlight=False)
    if report.mdes is not None:
        out.print(f"  • The planned sample can detect effects of about {report.mdes:.2f} standard deviations "
                  "(80% power, 5% significance).", highlight=False)
    return report


@app.command()
def check(path: Path = typer.Argument(..., help="An evaluation folder or its evaluation.yaml.")):
    """Validate a manifest and its data without running anything; list every problem at once."""
    report = _report(path)
    if not report.ok:
        err.print(f"[bold red]{len(report.problems)} problem(s) to fix:[/]")
        for p in report.problems:
            err.print(f"  • {escape(p)}", highlight=False)
        raise typer.Exit(2)
    out.print(f"[green]✓[/] {escape(str(path))}: ready to register.")


@app.command()
def register(path: Path = typer.Argument(..., help="An evaluation folder to copy into the registry."),
             registry: Optional[Path] = RegistryOption,
             replace: bool = typer.Option(False, "--replace", help="Replace an evaluation registered under the same id "
                                          "from another folder (recorded in its registration.json).")):
    """Check an evaluation, copy it into the registry and record its analysis plan."""
    from evaluations.registration import register as do_register

    report = _report(path)
    if not report.ok:
        err.print(f"[bold red]Not registered: {len(report.problems)} problem(s) to fix:[/]")
        for p in report.problems:
            err.print(f"  • {escape(p)}", highlight=False)
        raise typer.Exit(2)
    reg = _use_registry(registry)
    try:
        target, doc = do_register(path, reg, replace=replace)
    except ManifestError as e:  # an id taken by another folder, or a registration.json edited by hand
        fail(str(e))
    except OSError as e:  # a full disk or a read-only registry: the copy is staged, so nothing was lost
        fail(f"{e.filename or reg}: not registered, copying into the registry failed ({e.strerror or e}); what "
             "was registered before is unchanged. Free some space or fix the folder's permissions, then run register again.")
    note = f" ({len(doc['amendments'])} amendment(s) to the plan since)" if doc["amendments"] else ""
    if replace and doc.get("replacements"):
        note += "; it replaces the evaluation registered before under this id (recorded in registration.json)"
    out.print(f"[green]✓[/] Registered {report.manifest.id} in {escape(str(target))}; analysis plan {doc['plan_sha256'][:12]} "
              f"recorded {doc['registered_at']}{note}.")


@app.command()
def run(ids: list[str] = typer.Argument(None, help="Evaluation ids (default: every registered evaluation)."),
        registry: Optional[Path] = RegistryOption):
    """Run the Dagster pipeline for evaluations (runs appear in `dagster dev`), then build the book."""
    reg = _use_registry(registry)
    home = dagster_home()
    known = evaluation_ids(reg)
    unknown = [i for i in ids or [] if i not in known]
    if unknown:
        fail(f"not registered in {reg}: {', '.join(unknown)}. Registered: {', '.join(known) or 'none'}.")
    if not known:
        fail(f"no evaluations in {reg}; register one with `commonground register <folder>`.")
    from orchestration import run_pool
    from orchestration.definitions import build_definitions
    from orchestration.partitions import evaluation_partitions
    from orchestration.resources import book_dir, warehouse_dir

    with _one_command_at_a_time(warehouse_dir()):
        instance = _instance(home)
        defs = build_definitions(registry=reg, warehouse=warehouse_dir(), book=book_dir())
        existing = set(instance.get_dynamic_partitions(evaluation_partitions.name))
        instance.add_dynamic_partitions(evaluation_partitions.name, [k for k in known if k not in existing])
        for stale in existing - set(known):
            instance.delete_dynamic_partition(evaluation_partitions.name, stale)
        failed = []
        targets = ids or known
        workers = run_pool.jobs(len(targets))
        job = defs.resolve_job_def("evaluation_job")
        # one process: this command's job and instance; workers build their own after the fork
        runner = (functools.partial(_evaluation_runner, job, instance) if workers == 1
                  else functools.partial(_worker_evaluation_runner, home, reg))
        # the workers are forked before the progress line starts its thread; leaving this block early
        # (a full disk) waits for the evaluations running, and starts no other, before the lock is let go
        with closing(run_pool.each_run(targets, runner, workers, died=lambda key, why: (key, False, "", None, why))) as runs, \
                out.status(_running(targets, workers)) as status:
            for done, (key, success, run_id, full, why) in enumerate(runs, 1):
                if full:
                    fail(full)
                if success:
                    out.print(f"[green]✓[/] {key} (run {run_id[:8]})")
                else:
                    failed.append(key)
                    out.print(f"[red]✗[/] {key}: {escape(why)}", highlight=False)
                status.update(f"[{done}/{len(targets)}] finished; {_running(targets[done:], workers)}")
            status.update("Building the evidence book…")
            book_result = _execute(defs.resolve_job_def("book_job"), instance)
    if not book_result.success:
        fail(f"the book did not build: {_failure_message(book_result)}")
    out.print(f"[green]✓[/] Evidence book: {escape(str(book_dir() / '_build' / 'html' / 'index.html'))}")
    if failed:
        fail(f"{len(failed)} evaluation(s) stopped: {', '.join(failed)}. Each line above says why and what "
             "to do; run them again once it is done. The others were published.")


def _running(targets: list[str], workers: int) -> str:
    """The progress line while `targets` run."""
    if not targets:
        return "…"
    if len(targets) == 1 or workers == 1:
        return f"{targets[0]}: intake, analysis, page…"
    return f"intake, analysis and page of {len(targets)} evaluations on {workers} processes…"


def _worker_evaluation_runner(home: Path, registry: Path):
    """`_evaluation_runner` in a worker process, with its own Dagster instance and job."""
    from dagster import DagsterInstance

    from orchestration.definitions import build_definitions
    from orchestration.resources import book_dir, warehouse_dir

    defs = build_definitions(registry=registry, warehouse=warehouse_dir(), book=book_dir())
    return _evaluation_runner(defs.resolve_job_def("evaluation_job"), DagsterInstance.from_config(str(home)))


def _evaluation_runner(job, instance):
    """key -> (key, success, run id, full-disk message or None, why it failed or None)."""
    def run_one(key: str) -> tuple[str, bool, str, str | None, str | None]:
        result = _execute_quietly(job, instance, partition_key=key)
        return key, result.success, result.run_id, _disk_full(result), None if result.success else _failure_message(result)
    return run_one


@contextmanager
def _one_command_at_a_time(warehouse: Path):
    """`run` and `book` write the warehouse and the book: a second one at the same time is refused (exit 2)."""
    from orchestration.runs import WarehouseInUse, one_command_at_a_time

    try:
        with one_command_at_a_time(warehouse):
            yield
    except WarehouseInUse as e:
        fail(str(e))


def _instance(home: Path):
    """The Dagster instance in `home`, after marking failed the runs a killed `commonground` left unfinished."""
    from dagster import DagsterInstance

    from orchestration.runs import fail_dead_runs

    instance = DagsterInstance.from_config(str(home))
    for dead in fail_dead_runs(instance):
        what = dead.tags.get("dagster/partition") or dead.job_name
        out.print(f"[yellow]•[/] run {dead.run_id[:8]} ({escape(what)}) was left unfinished by a process that "
                  "ended; marked failed.", highlight=False)
    return instance


def _execute(job, instance, **kwargs):
    """Run a job in this process, tagged with it (so a crash is recognised); a full disk stops the command."""
    result = _execute_quietly(job, instance, **kwargs)
    full = _disk_full(result)
    if full:
        fail(full)
    return result


def _execute_quietly(job, instance, **kwargs):
    from orchestration.runs import process_tags

    return job.execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET,
                                  tags=process_tags(), **kwargs)


def _errors(result):
    """Every error of the run's failed steps (and of the run itself), each followed by its causes,
    with the step (asset) it happened in."""
    for event in result.all_events:
        data = event.step_failure_data if event.is_step_failure else None
        error = data.error if data else event.job_failure_data.error if event.is_run_failure else None
        while error is not None:
            yield data, error, event.step_key
            error = error.cause or error.context


def _disk_full(result) -> str | None:
    from evaluations.files import DiskFull, disk_full_message, is_disk_full

    errors = [error for _, error, _ in _errors(result)]
    for error in errors:  # ours names what was kept; prefer it to the raw OS or DuckDB error it wraps
        if error.cls_name == DiskFull.__name__:
            return error.message.split(": ", 1)[-1].strip()
    for error in errors:
        if is_disk_full(error.message):
            return disk_full_message(error.message.strip())
    return None


# Exceptions that carry a user's problem in words (a data or manifest problem, with its fix);
# anything else is a defect of ours, reported as one line that says so.
USER_ERRORS = {"ValueError", "ManifestError", "IntakeError", "StructuralError", "DiskFull", "Failure"}


def _failure_message(result) -> str:
    """One line: the step (asset) that stopped and why, never a stack trace (that stays in Dagster's log)."""
    for data, error, step in _errors(result):
        where = f"{step}: " if step else ""
        if data and data.user_failure_data:
            return where + data.user_failure_data.description
        if (error.cls_name or "").startswith("Dagster") and (error.cause or error.context):
            continue  # Dagster's wrapper ("Error occurred while handling output"): the cause says what happened
        lines = [x.strip() for x in error.message.strip().removeprefix(f"{error.cls_name}: ").splitlines()]
        reason = " ".join(x for x in lines if x)
        if error.cls_name in USER_ERRORS:
            return where + reason
        return (f"{where}an unexpected error ({error.cls_name}: {reason}). This is a defect in Common Ground, "
                f"not in your data: please report it; the full trace is in the Dagster log of run {result.run_id[:8]} "
                "(`make dev`).")
    return "the run failed; open `dagster dev` for the details"


@app.command()
def book(registry: Optional[Path] = RegistryOption):
    """Rebuild the library pages and the HTML book from the published evaluations."""
    reg = _use_registry(registry)
    home = dagster_home()
    from orchestration.definitions import build_definitions
    from orchestration.resources import book_dir, warehouse_dir

    with _one_command_at_a_time(warehouse_dir()):
        defs = build_definitions(registry=reg, warehouse=warehouse_dir(), book=book_dir())
        result = _execute(defs.resolve_job_def("book_job"), _instance(home))
    if not result.success:
        fail(f"the book did not build: {_failure_message(result)}")
    out.print(f"[green]✓[/] Evidence book: {escape(str(book_dir() / '_build' / 'html' / 'index.html'))}")


@app.command()
def simulate(registry: Optional[Path] = RegistryOption,
             truth: Path = typer.Option(None, "--truth", help="Where to write the true effects (default datasets/sample_truth)."),
             only: list[str] = typer.Option(None, "--only", help="Simulate only these sample ids.")):
    """Write the synthetic sample library (and its true effects, kept apart from the survey files)."""
    from evaluations.simulate import SAMPLES, TRUTH_DIR, simulate_library

    unknown = [o for o in only or [] if o not in SAMPLES]
    if unknown:
        fail(f"no sample called {', '.join(unknown)}; choose from {', '.join(SAMPLES)}.")
    folders = simulate_library(registry_path(registry), truth or TRUTH_DIR, only)
    for f in folders:
        out.print(f"[green]✓[/] {escape(str(f))} (synthetic)")


def _full_disk_under_storage() -> Path | None:
    """A folder this command writes (Dagster's storage, the warehouse, the book) whose disk has no room left."""
    from orchestration.resources import book_dir, warehouse_dir

    for folder in (_home_path(), warehouse_dir(), book_dir()):
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if shutil.disk_usage(folder).free < 1024 * 1024:
            return folder
    return None


def main() -> None:
    from evaluations.files import DiskFull, disk_full_message, is_disk_full

    try:
        app()
    except ManifestError as e:
        err.print(f"[bold red]Error:[/] {escape(str(e))}", highlight=False)
        sys.exit(2)
    except Exception as e:
        # A full disk can strike outside any step too (Dagster's own SQLite storage, which may
        # call it a "disk I/O error"): the same message as inside a run, and no traceback.
        full = _full_disk_under_storage()
        if isinstance(e, DiskFull):  # ours: it says what was kept
            message = str(e)
        elif full is not None:
            message = disk_full_message(f"{full} has no space left")
        elif is_disk_full(e):
            message = disk_full_message(str(e))
        else:
            raise
        err.print(f"[bold red]Error:[/] {escape(message)}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
