"""`orchestrate.py summary`: row counts of the marts, read from the warehouse."""

from __future__ import annotations

import duckdb

from loader.errors import TerminalError
from loader.settings import Settings
from pipeline import warehouse

MARTS = (
    "dim_material",
    "dim_customer",
    "dim_tsr_hierarchy",
    "fct_secondary_sales",
    "fct_primary_dispatch",
    "mart_distribution_depth",
    "rls_user_territory",
    "business_constants",
    "dq_rejected_rows",
)


def mart_counts(settings: Settings) -> dict[str, int | None]:
    """Row counts of the marts and of the files landed; None for one that does not exist. A
    warehouse that cannot be opened (missing, in use, unreachable) raises the loader's
    TerminalError or TransientError, which the CLI turns into one line and its exit code."""
    if settings.target == "duckdb" and not warehouse.duckdb_exists(settings):
        raise TerminalError(
            f"no warehouse at {settings.duckdb_path} yet: run `orchestrate.py run all` first"
        )
    queries = {mart: f"select count(*) from marts.{mart}" for mart in MARTS}
    queries["raw files loaded"] = "select count(*) from raw.load_ledger where status = 'loaded'"
    counts: dict[str, int | None] = {}
    with warehouse.connect(settings, read_only=True) as con:
        for name, sql in queries.items():
            try:
                counts[name] = con.execute(sql)[0][0]
            except (TerminalError, duckdb.Error):  # a missing table shows as such
                counts[name] = None
    return counts


def print_summary(settings: Settings) -> int:
    """Exit 0 when every mart exists, 1 when one is missing (the pipeline has not built it)."""
    counts = mart_counts(settings)
    print(f"DataWiz marts on {settings.target}:")
    for name, n in counts.items():
        print(f"  {name:<26} {'missing' if n is None else f'{n:,}':>12}")
    return 0 if all(v is not None for v in counts.values()) else 1
