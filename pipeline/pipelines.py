"""The declared pipelines. Evening: master data (dimensions); morning: facts, the business
constants and the backup. Each step is a small function over the loader, dbt, or an ops module."""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from loader import datasets as ds
from loader.land import land
from loader.lock import LockHeld, run_lock
from loader.settings import Settings
from loader.sinks import open_sink
from loader.sources import open_source
from pipeline import alerts
from pipeline import warehouse as wh
from pipeline.constants import publish_constants
from pipeline.dbt import DbtResult, run_dbt
from pipeline.history import RunHistory
from pipeline.redact import redact
from pipeline.rollups import refresh_rollups_step
from pipeline.runner import (
    Observer,
    RunReport,
    Step,
    StepOutcome,
    StepResult,
    check_deadline,
    run_steps,
)
from pipeline.telemetry import dbt_node_timings, tracing_for

log = logging.getLogger("datawiz.dbt")

WINDOWS = ("evening", "morning")


@dataclass
class RunContext:
    """Who a run is: its id (in the ledger, run history, traces and alerts) and start time
    (the `updated_at` of the business constants: set again when the run gets the lock, so a
    run that waited for it does not date its constants from before the wait)."""

    run_id: str
    pipeline: str
    started_at: datetime


def new_run(pipeline: str) -> RunContext:
    now = datetime.now(UTC)
    run_id = os.environ.get("DATAWIZ_RUN_ID") or (
        f"{now:%Y%m%dT%H%M%SZ}-{pipeline}-{secrets.token_hex(2)}"
    )
    return RunContext(run_id, pipeline, now)


# a load that runs longer prints where it is, this often (cron's log shows a long load moving)
PROGRESS_EVERY_SECONDS = 60.0


def _print_now(line: str) -> None:
    print(line, flush=True)  # stdout is a file under cron: the line must not wait in a buffer


def load_progress(step: str, every: float, echo: Callable[[str], None] = _print_now):
    """A progress callback for `land`, called as each file is done: at most every `every`
    seconds, one line in the shape of the step lines (`running` for the status) with the files
    and rows landed so far. It also stops the load once the step's timeout has passed."""
    started = last = time.monotonic()
    rows = 0

    def show(done: int, total: int, result) -> None:
        nonlocal last, rows
        check_deadline()  # the step's timeout passed: stop here, not after the next file
        rows += result.rows or 0
        now = time.monotonic()
        if done < total and now - last >= every:
            last = now
            landed = f"{rows:,} rows"
            echo(
                f"{step:<18} {'running':<7} {now - started:7.1f}s  {landed:>14}  "
                f"{done} of {total} files done"
            )

    return show


# a load whose files failed transiently lands them again this many times, after 2 s, 4 s, ...
LOAD_RETRIES = 2
LOAD_RETRY_BACKOFF_SECONDS = 2.0


def load_step(
    settings: Settings,
    window: str,
    run_id: str | None = None,
    progress_every: float = PROGRESS_EVERY_SECONDS,
    retry_backoff: float = LOAD_RETRY_BACKOFF_SECONDS,
) -> StepOutcome:
    """Land the window's new files. Files that failed transiently (a lost connection, an I/O
    error; not a bad file, which is quarantined) are landed again within the step, up to
    LOAD_RETRIES times: the day's builds need not wait for the next run. Whatever still failed
    fails the step (the builds after it are skipped; the next run picks the files up)."""
    source = open_source(settings.source, settings)
    sink = open_sink(settings)
    try:

        def land_once():
            return land(
                source,
                sink,
                ds.select(window),
                batch_rows=settings.batch_rows,
                run_id=run_id or os.environ.get("DATAWIZ_RUN_ID"),
                progress=load_progress(f"load-{window}", progress_every),
            )

        report = land_once()
        for attempt in range(LOAD_RETRIES):
            if not any(r.transient for r in report.of("failed")):
                break
            time.sleep(retry_backoff * 2**attempt)
            # lands what is not in the ledger yet: the files that failed (and any new one)
            again = land_once()
            report.results = [r for r in report.results if r.status != "failed"] + again.results
    finally:
        sink.close()
    failed, quarantined = report.of("failed"), report.of("quarantined")
    detail = report.summary()
    for r in failed + quarantined:
        detail += f"; {r.status} {r.file.path}: {r.error}"
    return StepOutcome(detail, report.rows, ok=not failed, warning=bool(quarantined))


def dbt_build_args(window: str, full_refresh: bool = False) -> list[str]:
    """`dbt build` of a window: its models and data tests. Unit tests check the SQL, not the
    data (CI runs them: tests/test_dbt_*.py); the table-level audits (tag `audit`) run in the
    evening's audit step instead."""
    args = [
        "build", "--select", f"tag:{window}", "--exclude", "tag:audit",
        "--exclude-resource-type", "unit_test",
    ]  # fmt: skip
    return [*args, "--full-refresh"] if full_refresh else args


AUDIT_ARGS = ["test", "--select", "tag:audit", "--exclude-resource-type", "unit_test"]


def dbt_build_step(settings: Settings, window: str, full_refresh: bool = False) -> StepOutcome:
    args = dbt_build_args(window, full_refresh)
    result = run_dbt(args, settings, timeout=step_timeout(settings, "dbt"))
    return dbt_outcome(result)


AUDITED_FACTS = ("fct_secondary_sales", "fct_primary_dispatch")


def audit_step(settings: Settings) -> StepOutcome:
    """The daily audits (dbt tests tagged `audit`): the facts' table-level tests (whole-fact key
    uniqueness, reconciliation with every landed row), whose cost grows with the history held,
    so they run once a day in the evening, not in the morning build; and a dimension held back
    on an older drop for days (an error here, where the evening build only warns). Skipped
    until the facts exist."""
    if settings.target == "duckdb" and not wh.duckdb_exists(settings):
        return StepOutcome("no warehouse yet: nothing to audit", skipped=True)
    with wh.connect(settings) as con:
        rows = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('marts', 'raw')"
        )
    tables = {f"{schema}.{name}" for schema, name in rows}
    missing = sorted(f for f in AUDITED_FACTS if f"marts.{f}" not in tables)
    if missing:
        detail = f"no facts to audit yet ({', '.join(missing)} not built)"
        if "raw.fis" in tables or "raw.fid" in tables:
            # fact extracts landed, yet no morning build has made the facts: say so
            return StepOutcome(detail + " although fact extracts have landed", None, warning=True)
        return StepOutcome(detail, skipped=True)
    return dbt_outcome(run_dbt(AUDIT_ARGS, settings, timeout=step_timeout(settings, "dbt")))


def _node_name(node: dict) -> str:
    """`test.datawiz.not_null_x_y.85eb0e1d23` -> `not_null_x_y`: what a person can search for."""
    parts = node.get("unique_id", "?").split(".")
    if len(parts) >= 4 and parts[0] == "test" and len(parts[-1]) == 10:
        parts = parts[:-1]
    return parts[-1]


def dbt_outcome(result: DbtResult) -> StepOutcome:
    """A dbt command's result as a step outcome: counts, the first failures, the tests that
    warned (for the run history and the alert), and the node timings (for the trace)."""
    for node in result.nodes:  # `-v`: a line per node
        log.info(
            "dbt %s %s %.2fs",
            _node_name(node),
            node.get("status"),
            node.get("execution_time") or 0.0,
        )
    detail = result.summary()
    if not result.ok:
        detail += "; " + " | ".join(result.failures()[:5])
    warned = [_node_name(n) for n in result.nodes if n.get("status") == "warn"]
    if warned:
        detail += "; warn: " + ", ".join(warned[:5]) + (", ..." if len(warned) > 5 else "")
    return StepOutcome(
        detail,
        result.rows,
        ok=result.ok,
        warning=bool(warned),
        children=dbt_node_timings(result.nodes),
    )


def backup_step(settings: Settings, *, only_remote: bool = True) -> StepOutcome:
    """Mirror the landing area to DATAWIZ_BACKUP_DIR. In the morning pipeline it runs for an
    Azure source only (a local landing folder is already a local copy)."""
    if only_remote and not settings.source.startswith("az://"):
        return StepOutcome("source is a local folder: nothing to back up", skipped=True)
    from pipeline.backup import backup

    report = backup(settings.source, settings.backup_dir, settings.backup_retention_days, settings)
    detail = report.summary()
    for path, error in report.failed[:5]:
        detail += f"; failed {path}: {error}"
    return StepOutcome(detail, None, ok=report.ok)


def freshness_step(settings: Settings, window: str) -> StepOutcome:
    """dbt source freshness of the window's datasets (on `_loaded_at`, thresholds in the sources
    YAML): stale extracts warn (e-mailed with DATAWIZ_ALERT_ON=warning), and the build still
    runs on what there is."""
    names = [d.name for d in ds.select(window)]
    args = ["source", "freshness", "--select", *[f"source:landing.{n}" for n in names]]
    result = run_dbt(args, settings, timeout=step_timeout(settings, "dbt"))
    stale = [
        f"{n['unique_id'].rsplit('.', 1)[-1]}: {n.get('status')} (last load "
        f"{str(n.get('max_loaded_at', '?'))[:19]})"
        for n in result.nodes
        if n.get("status") not in ("pass", None)
    ]
    detail = result.summary() + ("; " + ", ".join(stale) if stale else "")
    return StepOutcome(
        detail, None, ok=result.count("error") == 0 and result.ok, warning=bool(stale)
    )


def step_timeout(settings: Settings, step: str) -> float:
    """A step's timeout in seconds: `DATAWIZ_<STEP>_TIMEOUT_SECONDS`, from the environment or
    `.env` like every setting (Settings)."""
    return float(getattr(settings, f"{step}_timeout_seconds"))


def steps_for(
    window: str, settings: Settings, full_refresh: bool = False, run: RunContext | None = None
) -> list[Step]:
    run = run or new_run(window)
    steps: list[Step] = []
    steps.append(
        Step(
            f"load-{window}",
            lambda: load_step(settings, window, run.run_id),
            retries=2,
            timeout=step_timeout(settings, "load"),
            window=window,
        )
    )
    if any(d.kind == "fact" for d in ds.select(window)):
        steps.append(
            Step(
                f"freshness-{window}",
                lambda: freshness_step(settings, window),
                needs=(f"load-{window}",),
                required=False,
                window=window,
            )
        )
    steps.append(
        Step(
            f"dbt-{window}",
            lambda: dbt_build_step(settings, window, full_refresh),
            retries=1,
            needs=(f"load-{window}",),
            window=window,
        )
    )
    if window == "morning":
        steps.append(
            Step(
                "constants",
                lambda: publish_constants(settings, run.started_at),
                retries=2,
                timeout=step_timeout(settings, "constants"),
                needs=(f"dbt-{window}",),
                window=window,
            )
        )
        # last: a slow or failing backup (a first copy of a large container, its retries) must
        # not hold back the facts and the constants; it needs nothing before it (the loader only
        # reads the extracts), and a failure warns (e-mailed with DATAWIZ_ALERT_ON=warning)
        steps.append(
            Step(
                "backup",
                lambda: backup_step(settings),
                retries=2,
                timeout=step_timeout(settings, "backup"),
                required=False,
                window=window,
            )
        )
    if window == "evening":
        # the facts' table-level audits, daily (they do not read the dimensions); a failure
        # fails the run and alerts
        steps.append(
            Step(
                "audit",
                lambda: audit_step(settings),
                retries=1,
                timeout=step_timeout(settings, "dbt"),
                window=window,
            )
        )
        # last: the BI rollups (materialized views on StarRocks) over the facts; they do not
        # depend on the evening's dimensions, and a failed refresh leaves yesterday's rollup in
        # place, so it warns (e-mailed with DATAWIZ_ALERT_ON=warning) without failing the
        # master-data run
        steps.append(
            Step(
                "refresh-rollups",
                lambda: refresh_rollups_step(settings),
                retries=1,
                timeout=step_timeout(settings, "rollups"),
                required=False,
                window=window,
            )
        )
    return steps


def rerun_command(command: str, settings: Settings) -> str:
    """The command line that repeats a run with the same settings (for alerts)."""
    args = ["python", "orchestrate.py", *command.split(), "--target", settings.target]
    if command.startswith("run"):
        args += ["--source", settings.source]
    if settings.target == "duckdb":
        args += ["--duckdb-path", settings.duckdb_path]
    return shlex.join(args)


def default_observers(settings: Settings, steps: Sequence[Step], command: str) -> list[Observer]:
    """Run history, then traces (if an endpoint is set), then the alert e-mail (last, so it
    goes out after everything else has been recorded)."""
    observers: list[Observer] = [RunHistory(settings, [s.name for s in steps])]
    tracing = tracing_for(settings)
    if tracing is not None:
        observers.append(tracing)
    rerun = redact(rerun_command(command, settings), settings)
    observers.append(alerts.EmailAlerts(settings, rerun, tracing=tracing is not None))
    return observers


def execute(
    run: RunContext,
    steps: list[Step],
    settings: Settings,
    *,
    command: str,
    echo=print,
    observers: Sequence[Observer] | None = None,
    budget: float | None = None,
) -> RunReport:
    """Run declared steps under the lock, with run history, traces and alerts (`budget`: the
    whole run's seconds, see run_steps). A run that waited for the lock in vain raises LockHeld
    (exit 2) after an alert e-mail: it did not run."""
    alerts.check_settings(settings)
    try:
        with run_lock(settings, command, echo):
            run.started_at = datetime.now(UTC)
            if observers is None:
                observers = default_observers(settings, steps, command)
            return run_steps(
                run.pipeline,
                steps,
                echo=echo,
                observers=observers,
                run_id=run.run_id,
                scrub=lambda text: redact(text, settings),
                budget=budget,
            )
    except LockHeld as exc:
        if exc.wait:  # a scheduled run that did not happen: say so (cron's mail may be off)
            _alert_not_started(run, settings, command, redact(str(exc), settings))
        raise


def _alert_not_started(run: RunContext, settings: Settings, command: str, why: str) -> None:
    """The alert e-mail of a run that could not start: one failed step, `lock`."""
    now = datetime.now(UTC)
    report = RunReport(run.pipeline, run_id=run.run_id, started_at=run.started_at)
    report.results.append(StepResult("lock", "failed", 0.0, None, why, 1, now, now))
    report.finished_at = now
    rerun = redact(rerun_command(command, settings), settings)
    alerts.EmailAlerts(settings, rerun).run_finished(report)


def run_pipeline(
    window: str, settings: Settings, full_refresh: bool = False, echo=print, observers=None
) -> RunReport:
    windows = WINDOWS if window == "all" else (window,)
    run = new_run(window)
    steps = [s for w in windows for s in steps_for(w, settings, full_refresh, run)]
    command = f"run {window}" + (" --full-refresh" if full_refresh else "")
    return execute(run, steps, settings, command=command, echo=echo, observers=observers)
