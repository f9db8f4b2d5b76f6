"""`orchestrate.py summary`: row counts of the marts, read from the warehouse."""

from __future__ import annotations

from loader.settings import Settings

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
    if settings.target == "duckdb":
        import duckdb

        con = duckdb.connect(settings.duckdb_path, read_only=True)
        execute = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    else:
        import mysql.connector

        con = mysql.connector.connect(
            host=settings.starrocks_host,
            port=settings.starrocks_query_port,
            user=settings.starrocks_user,
            password=settings.starrocks_password,
        )
        cur = con.cursor()

        def execute(sql):
            cur.execute(sql)
            return cur.fetchall()

    counts: dict[str, int | None] = {}
    try:
        for mart in MARTS:
            try:
                counts[mart] = execute(f"select count(*) from marts.{mart}")[0][0]
            except Exception:  # noqa: BLE001 - a missing mart is shown as such
                counts[mart] = None
        counts["raw files loaded"] = execute(
            "select count(*) from raw.load_ledger where status = 'loaded'"
        )[0][0]
    finally:
        con.close()
    return counts


def print_summary(settings: Settings) -> int:
    counts = mart_counts(settings)
    print(f"DataWiz marts on {settings.target}:")
    for name, n in counts.items():
        print(f"  {name:<26} {'missing' if n is None else f'{n:,}':>12}")
    return 0 if all(v is not None for v in counts.values()) else 1
