"""The declared pipelines. Evening: master data (dimensions); morning: backup, facts and the
business constants. Each step is a small function over the loader, dbt, or an ops module."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loader import datasets as ds
from loader.errors import TerminalError
from loader.land import land
from loader.settings import Settings
from loader.sinks import open_sink
from loader.sources import open_source
from pipeline.dbt import run_dbt
from pipeline.runner import RunReport, Step, StepOutcome, run_steps

WINDOWS = ("evening", "morning")


def load_step(settings: Settings, window: str) -> StepOutcome:
    source = open_source(settings.source, settings)
    sink = open_sink(settings)
    try:
        report = land(
            source,
            sink,
            ds.select(window),
            batch_rows=settings.batch_rows,
            run_id=os.environ.get("DATAWIZ_RUN_ID"),
        )
    finally:
        sink.close()
    failed, quarantined = report.of("failed"), report.of("quarantined")
    detail = report.summary()
    for r in failed + quarantined:
        detail += f"; {r.status} {r.file.path}: {r.error}"
    return StepOutcome(detail, report.rows, ok=not failed, warning=bool(quarantined))


def dbt_build_step(settings: Settings, window: str, full_refresh: bool = False) -> StepOutcome:
    args = ["build", "--select", f"tag:{window}"]
    if full_refresh:
        args.append("--full-refresh")
    result = run_dbt(args, settings, timeout=settings_timeout("DBT", 3600))
    detail = result.summary()
    if not result.ok:
        detail += "; " + " | ".join(result.failures()[:5])
    return StepOutcome(detail, result.rows, ok=result.ok, warning=result.count("warn") > 0)


def settings_timeout(step: str, default: float) -> float:
    return float(os.environ.get(f"DATAWIZ_{step}_TIMEOUT_SECONDS", default))


def steps_for(window: str, settings: Settings, full_refresh: bool = False) -> list[Step]:
    steps: list[Step] = []
    steps.append(
        Step(
            f"load-{window}",
            lambda: load_step(settings, window),
            retries=2,
            timeout=settings_timeout("LOAD", 3600),
        )
    )
    steps.append(
        Step(
            f"dbt-{window}",
            lambda: dbt_build_step(settings, window, full_refresh),
            retries=1,
            needs=(f"load-{window}",),
        )
    )
    return steps


@contextmanager
def run_lock(settings: Settings) -> Iterator[None]:
    """One pipeline at a time per warehouse: cron may start a run while the last one goes on."""
    lock_path = Path(settings.duckdb_path).resolve().parent / ".datawiz.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TerminalError(f"another DataWiz run holds {lock_path}") from None
        yield


def run_pipeline(
    window: str, settings: Settings, full_refresh: bool = False, echo=print
) -> RunReport:
    windows = WINDOWS if window == "all" else (window,)
    steps = [s for w in windows for s in steps_for(w, settings, full_refresh)]
    with run_lock(settings):
        return run_steps(window, steps, echo=echo)
