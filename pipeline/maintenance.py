"""Monthly maintenance (`python orchestrate.py maintain`; the scheduler runs it on the 1st).

Steps, each a line of its own and a row in the run history:

- `dbt-full-refresh`: `dbt build --full-refresh --select config.materialized:incremental+`.
  The incremental facts resolve a line's material, territory and flags once, when the line
  arrives; a dimension that changed since (a new material remap, a late hierarchy version, a
  customer added) is only applied to old lines by rebuilding them. `+` rebuilds and tests
  everything downstream of the facts as well (distribution depth, constants).
- `optimize`: DuckDB `CHECKPOINT` (writes the WAL into the file, frees blocks) and `ANALYZE`
  (fresh statistics for the optimizer). StarRocks: `ANALYZE TABLE` for every table of raw,
  marts and ops (StarRocks has no VACUUM; statistics drive its cost-based optimizer).
- `compact` (StarRocks only, allowed to fail): `ALTER TABLE ... COMPACT` (3.1+) on the raw
  tables and the fact tables, the ones that receive many small loads (a Stream Load per file,
  upserts into Primary Key tables). It only queues a compaction that StarRocks runs in the
  background; StarRocks also compacts on its own, this brings it forward after a busy month.
  Watch it with `SHOW PROC '/compactions'`.
- `prune-history`: deletes ops.run_history rows older than DATAWIZ_HISTORY_KEEP_DAYS (400).

Not done here, on purpose: the load ledger is never pruned (it is what makes loads exactly
once), and a DuckDB file does not shrink in place (copy it with `COPY FROM DATABASE` offline if
it must).
"""

from __future__ import annotations

from pathlib import Path

from loader.settings import Settings
from pipeline import history, warehouse
from pipeline.dbt import run_dbt
from pipeline.redact import redact
from pipeline.runner import RunReport, Step, StepOutcome

WINDOW = "maintain"
FULL_REFRESH_SELECT = "config.materialized:incremental+"
ANALYZED_SCHEMAS = ("raw", "marts", "ops")


def full_refresh_step(settings: Settings, timeout: float | None = None) -> StepOutcome:
    from pipeline.pipelines import dbt_outcome

    result = run_dbt(
        ["build", "--full-refresh", "--select", FULL_REFRESH_SELECT], settings, timeout=timeout
    )
    return dbt_outcome(result)


def _base_tables(con: warehouse.Connection, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    listed = ", ".join(f"'{s}'" for s in schemas)
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema in ({listed}) and table_type = 'BASE TABLE' "
        "order by table_schema, table_name"
    )
    return [(str(s), str(t)) for s, t in rows]


def optimize_step(settings: Settings) -> StepOutcome:
    if settings.target == "duckdb":
        path = Path(settings.duckdb_path)
        before = path.stat().st_size if path.exists() else 0
        with warehouse.connect(settings) as con:
            tables = _base_tables(con, ANALYZED_SCHEMAS)
            con.execute("checkpoint")
            con.execute("analyze")
        after = path.stat().st_size if path.exists() else 0
        return StepOutcome(
            f"checkpoint + analyze: {len(tables)} tables, file {before / 2**20:,.1f} MB "
            f"-> {after / 2**20:,.1f} MB",
        )
    failed: list[str] = []
    with warehouse.connect(settings) as con:
        tables = _base_tables(con, ANALYZED_SCHEMAS)
        for schema, table in tables:
            try:
                con.execute(f"analyze table `{schema}`.`{table}`")
            except Exception as exc:  # noqa: BLE001 - one table's statistics never stop the rest
                failed.append(f"{schema}.{table}: {redact(exc, settings)}")
    detail = f"analyze table: {len(tables) - len(failed)} of {len(tables)} tables"
    if failed:
        detail += "; " + " | ".join(failed[:5])
    return StepOutcome(detail, warning=bool(failed))


def compact_step(settings: Settings) -> StepOutcome:
    queued, failed = [], []
    with warehouse.connect(settings) as con:
        tables = [
            (s, t)
            for s, t in _base_tables(con, ("raw", "marts"))
            if s == "raw" or t.startswith("fct_")
        ]
        for schema, table in tables:
            try:
                con.execute(f"alter table `{schema}`.`{table}` compact")
                queued.append(f"{schema}.{table}")
            except Exception as exc:  # noqa: BLE001 - see above
                failed.append(f"{schema}.{table}: {redact(exc, settings)}")
    detail = f"compaction queued for {len(queued)} tables"
    if failed:
        detail += "; " + " | ".join(failed[:5])
    return StepOutcome(detail, ok=not failed)


def prune_history_step(settings: Settings) -> StepOutcome:
    n = history.prune(settings)
    return StepOutcome(
        f"deleted {n:,} run history rows older than {settings.history_keep_days} days", n
    )


def maintenance_steps(settings: Settings, dbt_timeout: float | None = None) -> list[Step]:
    # Maintenance must end before the morning run, which waits for its lock: the whole run has
    # DATAWIZ_MAINTAIN_TIMEOUT_SECONDS (run_maintenance), a full refresh that failed is not
    # started over, and the table statements (ANALYZE TABLE waits for its statistics job) have
    # the dbt step timeout as well.
    statements = float(settings.dbt_timeout_seconds)
    steps = [
        Step("dbt-full-refresh", lambda: full_refresh_step(settings, dbt_timeout), window=WINDOW),
        Step(
            "optimize",
            lambda: optimize_step(settings),
            retries=1,
            timeout=statements,
            window=WINDOW,
        ),
    ]
    if settings.target == "starrocks":
        steps.append(
            Step(
                "compact",
                lambda: compact_step(settings),
                timeout=statements,
                required=False,
                window=WINDOW,
            )
        )
    steps.append(
        Step("prune-history", lambda: prune_history_step(settings), required=False, window=WINDOW)
    )
    return steps


def run_maintenance(settings: Settings, echo=print, observers=None) -> RunReport:
    from pipeline.pipelines import execute, new_run, step_timeout

    budget = step_timeout(settings, "maintain")
    steps = maintenance_steps(settings, dbt_timeout=budget)
    return execute(
        new_run(WINDOW),
        steps,
        settings,
        command=WINDOW,
        echo=echo,
        observers=observers,
        budget=budget,
    )
