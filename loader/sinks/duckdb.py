"""The embedded default warehouse: a DuckDB file."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from loader import cancel
from loader.datasets import Dataset
from loader.errors import TerminalError, TransientError
from loader.sinks import LEDGER_TABLE, LedgerEntry, done_statuses, versions_by_path

_LEDGER_DDL = f"""
create table if not exists raw.{LEDGER_TABLE} (
    file_path varchar not null,
    dataset varchar not null,
    version varchar not null,
    size_bytes bigint,
    rows bigint,
    status varchar not null,
    error varchar,
    loaded_at timestamptz not null,
    duration_ms bigint,
    run_id varchar
)
"""


def duckdb_type(t: pa.DataType) -> str:
    if pa.types.is_string(t):
        return "varchar"
    if pa.types.is_int32(t):
        return "integer"
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_date32(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    raise ValueError(f"no DuckDB type for {t}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_duckdb(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file, for the loader and the operations steps alike: a
    file another process holds (a dbt build, a query session) is transient, try again later;
    any other failure to open it terminal."""
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise TransientError(f"DuckDB file {path} is in use by another process") from None
        raise TerminalError(f"cannot open DuckDB file {path}: {exc}") from None


class DuckDBSink:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = open_duckdb(self.path)
        cancel.register(self.con)  # a step's timeout interrupts a running query

    def describe(self) -> str:
        return f"duckdb:{self.path}"

    def prepare(self, datasets: list[Dataset]) -> None:
        self.con.execute("create schema if not exists raw")
        self.con.execute(_LEDGER_DDL)
        for ds in datasets:
            cols = ", ".join(f'"{f.name}" {duckdb_type(f.type)}' for f in ds.landed_schema)
            self.con.execute(f'create table if not exists raw."{ds.name}" ({cols})')
            # schema drift: a column added to the declaration is added to the table (null for
            # rows landed before); a column dropped from it stays, filled with nulls from now on
            have = {
                r[0]
                for r in self.con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'raw' and table_name = ?",
                    [ds.name],
                ).fetchall()
            }
            for f in ds.landed_schema:
                if f.name not in have:
                    self.con.execute(
                        f'alter table raw."{ds.name}" add column "{f.name}" {duckdb_type(f.type)}'
                    )

    def done_versions(self, retry_quarantined: bool = False) -> dict[str, set[str]]:
        return versions_by_path(
            self.con.execute(
                f"select file_path, version from raw.{LEDGER_TABLE} "
                f"where status in {done_statuses(retry_quarantined)}"
            ).fetchall()
        )

    def write(self, dataset: Dataset, reader: pa.RecordBatchReader, entry: LedgerEntry) -> int:
        """One file, streamed: its entry takes the row count the insert reports."""
        return self._in_transaction(
            lambda: self._insert_stream(dataset, reader),
            lambda rows: [dataclasses.replace(entry, rows=rows)],
        )

    def write_group(self, dataset: Dataset, reader: pa.RecordBatchReader, entries) -> int:
        """Several files streamed as one chain of batches; `entries()` is called once the
        stream is consumed and knows the rows of each file."""
        return self._in_transaction(
            lambda: self._insert_stream(dataset, reader), lambda rows: entries()
        )

    def write_local_files(self, dataset: Dataset, local_path, entries: list[LedgerEntry]) -> int:
        """A group of local Parquet files read by DuckDB's own multi-threaded reader; their
        footers were checked and counted before."""
        paths = {str(local_path(e.file)): e.file.path for e in entries}
        listed = ", ".join(_quote(p) for p in paths)
        mapping = ", ".join(f"({_quote(full)}, {_quote(rel)})" for full, rel in paths.items())
        cols = ", ".join(f'"{n}"' for n in dataset.landed_schema.names)
        select = ", ".join(
            f'cast(src."{c.name}" as {duckdb_type(c.arrow)})' for c in dataset.columns
        )

        def insert() -> int:
            return self.con.execute(
                f'insert into raw."{dataset.name}" ({cols}) '
                f"select {select}, files.rel, src.file_row_number, ?::timestamptz "
                f"from read_parquet([{listed}], filename = true, file_row_number = true, "
                f"union_by_name = true) as src "
                f"join (values {mapping}) as files(full_path, rel) "
                f"on src.filename = files.full_path",
                [entries[0].loaded_at],
            ).fetchone()[0]

        return self._in_transaction(insert, lambda rows: entries)

    def _insert_stream(self, dataset: Dataset, reader: pa.RecordBatchReader) -> int:
        cols = ", ".join(f'"{n}"' for n in dataset.landed_schema.names)
        self.con.register("_datawiz_incoming", reader)
        try:
            return self.con.execute(
                f'insert into raw."{dataset.name}" ({cols}) select {cols} from _datawiz_incoming'
            ).fetchone()[0]
        finally:
            self.con.unregister("_datawiz_incoming")

    def _in_transaction(self, insert, entries) -> int:
        """The rows and the ledger entries of their files commit together or not at all; the
        rows landed must equal the rows the entries account for."""
        started = time.perf_counter()
        self.con.begin()
        try:
            rows = insert()
            landed = entries(rows)
            expected = sum(e.rows for e in landed)
            if rows != expected:
                raise RuntimeError(f"landed {rows} rows, the files account for {expected}")
            ms = int((time.perf_counter() - started) * 1000 / max(len(landed), 1))
            for e in landed:
                self._insert_ledger(dataclasses.replace(e, duration_ms=ms), e.rows)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        return rows

    def record(self, entry: LedgerEntry) -> None:
        self._insert_ledger(entry, entry.rows)

    def _insert_ledger(self, entry: LedgerEntry, rows: int) -> None:
        f = entry.file
        self.con.execute(
            f"insert into raw.{LEDGER_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                f.path,
                f.dataset,
                f.version,
                f.size,
                rows,
                entry.status,
                entry.error,
                entry.loaded_at,
                entry.duration_ms,
                entry.run_id,
            ],
        )

    def close(self) -> None:
        cancel.unregister(self.con)
        self.con.close()
