"""The evening pipeline's last step, `refresh-rollups`: the BI rollups that are materialized
views on StarRocks (dbt_project/models/marts/bi/, macros/rollups.sql) are refreshed.

StarRocks: for each rollup, its `is_active` is read from information_schema.materialized_views.
A replaced base table (a `SWAP WITH` from an incremental `--full-refresh`, a dropped and
re-created table) leaves the view inactive: it is made active again with `ALTER MATERIALIZED
VIEW ... ACTIVE`, then refreshed with `REFRESH MATERIALIZED VIEW ... WITH SYNC MODE`, which
returns once the refresh task has finished (or failed), so the step's time and error are the
refresh's. A rollup that does not exist yet (the morning build creates it; `run all` on an empty
warehouse runs the evening steps first) is reported, not an error.

DuckDB: the rollups are tables rebuilt by every morning build with the facts; the step is
skipped and says why.
"""

from __future__ import annotations

from loader.settings import Settings
from pipeline import warehouse
from pipeline.runner import StepOutcome

# (database, materialized view) refreshed by the evening pipeline
ROLLUPS = (("marts", "mv_sales_monthly_brand"),)


def _is_active(value) -> bool:
    # StarRocks answers 'true' / 'false' (a string column)
    return str(value).strip().lower() in ("true", "1")


def refresh_rollups(con: warehouse.Connection, rollups=ROLLUPS) -> tuple[list[str], list[str]]:
    """Re-activate (when inactive) and synchronously refresh each rollup over a StarRocks
    connection. Returns (what was done, per rollup), (rollups that do not exist)."""
    done: list[str] = []
    missing: list[str] = []
    for database, name in rollups:
        rows = con.execute(
            "select is_active, inactive_reason from information_schema.materialized_views"
            " where table_schema = ? and table_name = ?",
            (database, name),
        )
        qualified = f"`{database}`.`{name}`"
        if not rows:
            missing.append(f"{database}.{name}")
            continue
        active, reason = rows[0]
        note = ""
        if not _is_active(active):
            con.execute(f"alter materialized view {qualified} active")
            note = f" (re-activated; was inactive: {reason or 'no reason given'})"
        con.execute(f"refresh materialized view {qualified} with sync mode")
        done.append(f"{database}.{name} refreshed{note}")
    return done, missing


def refresh_rollups_step(settings: Settings) -> StepOutcome:
    if settings.target != "starrocks":
        return StepOutcome(
            "DuckDB: the rollups are tables rebuilt with the facts: nothing to refresh",
            skipped=True,
        )
    with warehouse.connect(settings) as con:
        done, missing = refresh_rollups(con)
    parts = list(done)
    if missing:
        parts.append("not built yet (the morning dbt build creates it): " + ", ".join(missing))
    if not done:
        return StepOutcome("; ".join(parts), skipped=True)
    return StepOutcome("; ".join(parts))
