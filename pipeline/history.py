"""Run history: the table ops.run_history in the warehouse (state lives next to the data).

Append-only, written as the run goes: a `run` row when a run starts (status `running`), a
`step` row as each step ends, and a final `run` row with the verdict. A run that has no final
row was interrupted (killed, machine lost) unless its process is still alive. Times are UTC
(naive timestamps). `python orchestrate.py status` prints the last runs from it.

A rerun needs no special mode: the loader skips files its ledger already holds and dbt's
incremental models are idempotent, so running the pipeline again picks up where the failed run
stopped. The history makes that visible: a run that follows a failed or interrupted run of the
same steps says "rerun after <run id> (failed at <step>)".

Writing history never fails a pipeline: an unreachable warehouse costs a warning, not a run.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from loader.settings import Settings
from pipeline import warehouse
from pipeline.redact import redact
from pipeline.runner import Observer, RunReport, Step, StepResult, one_line

log = logging.getLogger("datawiz.history")

TABLE = "ops.run_history"
COLUMNS = (
    "run_id",
    "kind",
    "step",
    "pipeline",
    "status",
    "started_at",
    "finished_at",
    "seconds",
    "row_count",
    "attempts",
    "detail",
    "host",
    "target",
    "recorded_at",
)
DETAIL_LIMIT = 4000

_DDL_DUCKDB = """
create table if not exists ops.run_history (
    run_id varchar not null,
    kind varchar not null,
    step varchar not null,
    pipeline varchar not null,
    status varchar not null,
    started_at timestamp,
    finished_at timestamp,
    seconds double,
    row_count bigint,
    attempts integer,
    detail varchar,
    host varchar,
    target varchar,
    recorded_at timestamp not null
)
"""

_DDL_STARROCKS = """
create table if not exists ops.run_history (
    run_id varchar(96) not null,
    kind varchar(8) not null,
    step varchar(96) not null,
    pipeline varchar(32) not null,
    status varchar(16) not null,
    started_at datetime,
    finished_at datetime,
    seconds double,
    row_count bigint,
    attempts int,
    detail varchar(65533),
    `host` varchar(255),
    target varchar(16),
    recorded_at datetime not null
)
duplicate key(run_id, kind, step)
distributed by hash(run_id) buckets 1
{properties}
"""

_RECENT = """
with

runs as (
    select
        run_id,
        min(recorded_at) as first_recorded_at
    from ops.run_history
    where kind = 'run'
    group by run_id
),

latest as (
    select run_id
    from runs
    order by first_recorded_at desc
    limit {limit}
),

final as (
    select
        history.run_id,
        history.kind,
        history.step,
        history.pipeline,
        history.status,
        history.started_at,
        history.finished_at,
        history.seconds,
        history.row_count,
        history.attempts,
        history.detail,
        history.{host},
        history.target,
        history.recorded_at
    from ops.run_history as history
    inner join latest
        on history.run_id = latest.run_id
)

select * from final order by recorded_at
"""


def _utc_naive(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def ensure_table(con: warehouse.Connection, settings: Settings) -> None:
    if con.dialect == "duckdb":
        con.execute("create schema if not exists ops")
        con.execute(_DDL_DUCKDB)
    else:
        con.execute("create database if not exists ops")
        con.execute(_DDL_STARROCKS.format(properties=warehouse.starrocks_properties(settings)))


@dataclass
class StepRecord:
    step: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    seconds: float | None
    rows: int | None
    attempts: int | None
    detail: str


@dataclass
class RunRecord:
    run_id: str
    pipeline: str
    status: str  # running | interrupted | ok | warn | failed
    started_at: datetime | None
    finished_at: datetime | None
    seconds: float | None
    rows: int | None
    detail: str
    host: str
    target: str
    steps: list[StepRecord] = field(default_factory=list)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fold(rows: Sequence[tuple]) -> list[RunRecord]:
    """History rows (in recorded order) -> one RunRecord per run, newest first."""
    runs: dict[str, RunRecord] = {}
    for row in rows:
        r = dict(zip(COLUMNS, row, strict=True))
        run = runs.get(r["run_id"])
        if run is None:
            run = runs[r["run_id"]] = RunRecord(
                r["run_id"],
                r["pipeline"],
                r["status"],
                r["started_at"],
                None,
                None,
                None,
                r["detail"] or "",
                r["host"] or "",
                r["target"] or "",
            )
        if r["kind"] == "step":
            run.steps.append(
                StepRecord(
                    r["step"],
                    r["status"],
                    r["started_at"],
                    r["finished_at"],
                    r["seconds"],
                    r["row_count"],
                    r["attempts"],
                    r["detail"] or "",
                )
            )
        elif r["status"] != "running":  # the final run row
            run.status = r["status"]
            run.finished_at = r["finished_at"]
            run.seconds = r["seconds"]
            run.rows = r["row_count"]
            run.detail = r["detail"] or ""
        else:
            run.detail = r["detail"] or ""
    for run in runs.values():
        if run.status == "running":
            pid = _pid_of(run.detail)
            here = run.host == socket.gethostname()
            if here and (pid is None or not _pid_alive(pid)):
                run.status = "interrupted"
    return sorted(runs.values(), key=lambda r: r.started_at or datetime.min, reverse=True)


def _pid_of(detail: str) -> int | None:
    for word in detail.replace(",", " ").split():
        if word.startswith("pid="):
            try:
                return int(word[4:])
            except ValueError:
                return None
    return None


def recent_runs(settings: Settings, limit: int = 10) -> list[RunRecord]:
    """The last `limit` runs with their steps, newest first ([] when nothing was recorded)."""
    if settings.target == "duckdb" and not warehouse.duckdb_exists(settings):
        return []
    with warehouse.connect(settings, read_only=True) as con:
        if not _table_exists(con):
            return []
        rows = con.execute(_RECENT.format(limit=int(limit), host=con.quote("host")))
    return _fold(rows)


def overdue(settings: Settings, max_age_hours: float, windows: Sequence[str]) -> list[str]:
    """What a health check should know: each window (run on its own or by `run all`) with no
    run started within `max_age_hours`, and each run that has been running that long. The
    whole history counts, not only the runs `status` lists."""
    history = recent_runs(settings, limit=1000)
    now = _utc_naive(datetime.now(UTC))  # started_at is naive UTC on both targets
    findings = []
    for window in windows:
        started = [r.started_at for r in history if r.pipeline in (window, "all") and r.started_at]
        if not started:
            findings.append(f"no {window} run recorded")
        elif (hours := (now - max(started)).total_seconds() / 3600) > max_age_hours:
            findings.append(f"the latest {window} run started {hours:.1f} h ago")
    for run in history:
        if run.status == "running" and run.started_at:
            hours = (now - run.started_at).total_seconds() / 3600
            if hours > max_age_hours:
                findings.append(
                    f"the {run.pipeline} run {run.run_id} has been running {hours:.1f} h"
                )
    return findings


def _table_exists(con: warehouse.Connection) -> bool:
    rows = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'ops' and table_name = 'run_history'"
    )
    return bool(rows and rows[0][0])


def prune(settings: Settings, keep_days: int | None = None, now: datetime | None = None) -> int:
    """Delete history rows older than keep_days (DATAWIZ_HISTORY_KEEP_DAYS); return how many."""
    keep = settings.history_keep_days if keep_days is None else keep_days
    cutoff = _utc_naive(now or datetime.now(UTC)) - timedelta(days=keep)
    cutoff_text = cutoff.strftime("%Y-%m-%d %H:%M:%S")
    with warehouse.connect(settings) as con:
        if not _table_exists(con):
            return 0
        # a plain literal: StarRocks deletes from a Duplicate Key table only by `column op
        # value` ("Right expr of binary predicate should be value" for a cast)
        where = f"recorded_at < '{cutoff_text}'"
        n = con.execute(f"select count(*) from {TABLE} where {where}")[0][0]
        if n:
            con.execute(f"delete from {TABLE} where {where}")
    return int(n)


class RunHistory(Observer):
    """Writes ops.run_history as the run goes (see the module docstring)."""

    def __init__(self, settings: Settings, steps: Sequence[str] = ()):
        self.settings = settings
        self.steps = set(steps)
        self.host = socket.gethostname()
        self.note = ""  # "rerun after ..." when the last run of these steps failed
        self.run_id = ""
        self.pipeline = ""

    def _insert(self, con: warehouse.Connection, **values) -> None:
        row = {c: values.get(c) for c in COLUMNS}
        for c in ("started_at", "finished_at", "recorded_at"):
            row[c] = _utc_naive(row[c])
        if row["detail"]:
            row["detail"] = redact(one_line(row["detail"], DETAIL_LIMIT), self.settings)
        row["host"], row["target"] = self.host, self.settings.target
        marks = ", ".join("?" for _ in COLUMNS)
        columns = ", ".join(con.quote(c) for c in COLUMNS)
        con.execute(f"insert into {TABLE} ({columns}) values ({marks})", row.values())

    def _write(self, what: str, **values) -> None:
        try:
            with warehouse.connect(self.settings) as con:
                if what == "start":
                    ensure_table(con, self.settings)
                self._insert(con, **values, recorded_at=datetime.now(UTC))
        except Exception as exc:  # noqa: BLE001 - see module docstring
            log.warning("run history not written (%s): %s", what, redact(exc, self.settings))

    def previous_failure(self) -> str:
        """'rerun after <id> (failed at <step>)' if the latest earlier run sharing a step with
        this one (or, having recorded no step, of the same pipeline) did not finish well."""
        try:
            runs = recent_runs(self.settings, limit=20)
        except Exception as exc:  # noqa: BLE001 - see module docstring
            log.warning("run history not read: %s", redact(exc, self.settings))
            return ""
        for run in runs:
            if run.run_id == self.run_id:
                continue
            if run.steps and self.steps and not self.steps & {s.step for s in run.steps}:
                continue
            if not run.steps and run.pipeline != self.pipeline:
                continue
            if run.status in ("failed", "interrupted"):
                stopped = next(
                    (s.step for s in run.steps if s.status == "failed"),
                    run.steps[-1].step if run.steps else "start",
                )
                verb = "failed" if run.status == "failed" else "interrupted"
                return f"rerun after {run.run_id} ({verb} at {stopped})"
            return ""
        return ""

    def run_started(self, report: RunReport) -> None:
        self.run_id, self.pipeline = report.run_id, report.pipeline
        self.note = self.previous_failure()
        detail = f"pid={os.getpid()}" + (f", {self.note}" if self.note else "")
        self._write(
            "start",
            run_id=report.run_id,
            kind="run",
            step=report.pipeline,
            pipeline=report.pipeline,
            status="running",
            started_at=report.started_at,
            detail=detail,
        )

    def step_finished(self, step: Step, result: StepResult) -> None:
        self._write(
            "step",
            run_id=self.run_id,
            kind="step",
            step=result.name,
            pipeline=self.pipeline,
            status=result.status,
            started_at=result.started_at,
            finished_at=result.finished_at,
            seconds=round(result.seconds, 3),
            row_count=result.rows,
            attempts=result.attempts,
            detail=result.detail,
        )

    def run_finished(self, report: RunReport) -> None:
        counts: dict[str, int] = {}
        for r in report.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        failed = [r.name for r in report.results if r.status == "failed"]
        if failed:
            summary += f" ({', '.join(failed)})"
        if self.note:
            summary += f"; {self.note}"
        self._write(
            "end",
            run_id=report.run_id,
            kind="run",
            step=report.pipeline,
            pipeline=report.pipeline,
            status=report.status,
            started_at=report.started_at,
            finished_at=report.finished_at,
            seconds=round(report.seconds, 3),
            row_count=report.rows,
            detail=summary,
        )


def format_runs(runs: Sequence[RunRecord]) -> list[str]:
    """Lines for `orchestrate.py status`: a header per run, then its steps."""
    if not runs:
        return ["no runs recorded yet"]
    lines: list[str] = []
    for run in runs:
        started = run.started_at.strftime("%Y-%m-%d %H:%M:%S") if run.started_at else "?"
        took = f"{run.seconds:.1f}s" if run.seconds is not None else "-"
        status = run.status.upper() if run.status in ("failed", "interrupted") else run.status
        lines.append(
            f"{started} UTC  {run.pipeline:<8} {status:<11} {took:>8}  run {run.run_id}"
            f"  on {run.host} ({run.target})"
        )
        detail = run.detail
        if detail.startswith("pid="):  # a run without its final row: show only the note
            detail = detail.partition(", ")[2]
        if detail:
            lines.append(f"    {detail}")
        for s in run.steps:
            rows = f"{s.rows:,} rows" if s.rows is not None else "-"
            secs = f"{s.seconds:.1f}s" if s.seconds is not None else "-"
            lines.append(f"    {s.step:<18} {s.status:<7} {secs:>8}  {rows:>14}  {s.detail}")
    return lines
