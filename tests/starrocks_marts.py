"""Comparing the marts a StarRocks target built (read over the MySQL protocol) with the marts
the DuckDB target built from the same landing data. Used by the test double's pipeline test and
by the real-StarRocks suite."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb

# When a row was landed or built differs between two runs by design; compared for presence only.
LOAD_TIME_COLUMNS = {"_loaded_at", "_master_data_loaded_at", "_built_at"}

FACT_KEYS = {
    "fct_secondary_sales": ["invoice_no", "invoice_line"],
    "fct_primary_dispatch": ["delivery_no", "delivery_line"],
}


def normalise(value):
    """One spelling per value, whichever side it comes from (MySQL wire vs DuckDB)."""
    if value is None:
        return None
    if isinstance(value, bool):  # StarRocks' BOOLEAN arrives over MySQL as a TINYINT
        return Decimal(int(value))
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).quantize(Decimal("0.000001")).normalize()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        # StarRocks has no zoned type and may answer DATETIME where DuckDB answers DATE (and the
        # reverse): a midnight compares as its date
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def sorted_rows(rows) -> list[tuple]:
    normalised = [tuple(normalise(v) for v in row) for row in rows]
    return sorted(normalised, key=lambda row: tuple((v is None, str(v)) for v in row))


def duckdb_marts(duckdb_path: Path) -> list[str]:
    con = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        return [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
                " order by 1"
            ).fetchall()
        ]
    finally:
        con.close()


def compare_marts(duckdb_path: Path, mysql_connection) -> tuple[list[str], dict[str, int]]:
    """Differences between every DuckDB mart and the same relation read over `mysql_connection`
    (columns, row count, then the rows as sorted multisets), and the row count per mart."""
    duck = duckdb.connect(str(duckdb_path), read_only=True)
    cursor = mysql_connection.cursor()
    differences: list[str] = []
    counts: dict[str, int] = {}
    try:
        marts = duckdb_marts(duckdb_path)
        cursor.execute("show tables from marts")
        on_starrocks = {r[0] for r in cursor.fetchall()}
        missing = sorted(set(marts) - on_starrocks)
        if missing:
            differences.append(f"missing on StarRocks: {missing}")
        for mart in sorted(set(marts) & on_starrocks):
            duck_cur = duck.execute(f"select * from marts.{mart}")
            duck_cols = [d[0] for d in duck_cur.description]
            duck_rows = duck_cur.fetchall()
            cursor.execute(f"select * from marts.`{mart}`")
            sr_cols = [d[0] for d in cursor.description]
            sr_rows = cursor.fetchall()
            counts[mart] = len(sr_rows)
            if sr_cols != duck_cols:
                differences.append(f"{mart}: columns {sr_cols} != {duck_cols} on DuckDB")
                continue
            if len(sr_rows) != len(duck_rows):
                differences.append(f"{mart}: {len(sr_rows)} rows != {len(duck_rows)} on DuckDB")
                continue
            keep = [i for i, c in enumerate(duck_cols) if c not in LOAD_TIME_COLUMNS]
            for i, c in enumerate(duck_cols):
                if c in LOAD_TIME_COLUMNS and any(row[i] is None for row in sr_rows):
                    differences.append(f"{mart}: {c} is NULL on StarRocks")
            left = sorted_rows([tuple(row[i] for i in keep) for row in sr_rows])
            right = sorted_rows([tuple(row[i] for i in keep) for row in duck_rows])
            if left != right:
                first = next(i for i, (a, b) in enumerate(zip(left, right, strict=True)) if a != b)
                columns = [duck_cols[i] for i in keep]
                differing = [
                    c for c, a, b in zip(columns, left[first], right[first], strict=True) if a != b
                ]
                differences.append(
                    f"{mart}: first difference at sorted row {first} in {differing}:\n"
                    f"  starrocks {left[first]}\n  duckdb    {right[first]}"
                )
    finally:
        duck.close()
    return differences, counts
