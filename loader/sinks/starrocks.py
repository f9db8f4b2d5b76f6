"""StarRocks as the warehouse: SQL over the MySQL protocol, rows by Stream Load.

Behaves as the DuckDB sink does, with what StarRocks changes:

* Raw tables are created on first use from the one dataset declaration: the declared columns,
  then the lineage columns `_source_file`, `_source_row`, `_loaded_at` (DATETIME, UTC wall
  clock: StarRocks has no zoned timestamp). Duplicate Key (append-only, as landing is) on the
  leading declared columns that belong to the dataset's key (StarRocks wants the sort key to
  be the first columns, in order), else on the first column; hashed on the same columns.
* Partitioned by month of `_loaded_at`, not of a business date: every load writes into one
  partition (the current month), whatever dates a file holds, which keeps tablet versions per
  load low; dimensions have no business date at all; a business date can be null or absurd in
  raw data, `_loaded_at` never is; dbt's incremental staging filters on `_loaded_at`, so it
  prunes partitions; and retention of raw data ("drop landings older than N months") becomes
  dropping partitions. Facts are partitioned by business month downstream, in the marts.
* `PROPERTIES` come from DATAWIZ_STARROCKS_TABLE_PROPERTIES (`k=v,k=v`, default
  `replication_num=1`).
* Schema drift as on DuckDB: a column added to the declaration is added to the table (one
  `ALTER TABLE ... ADD COLUMN` at a time, each waited for: StarRocks runs one schema change per
  table at a time); a column dropped from the declaration stays, NULL from then on.
* The ledger `raw.load_ledger` lives in StarRocks. StarRocks has no transaction spanning a
  Stream Load and an INSERT, so the ledger row is written right *after* the load committed.
  Exactly-once across a crash between the two comes from the load's label, derived from
  (database, table, file path, file version): the re-run's load meets `Label Already Exists` /
  FINISHED, sends nothing, and then writes the ledger row. StarRocks remembers a label for
  `label_keep_max_second` (3 days by default): a file whose ledger row is missing for longer
  than that would be loaded twice (rerun the loader within 3 days of a crash). A rerun that finds
  the label loaded records the committed rows' `_loaded_at` in the ledger.
* A load answered `Publish Timeout` (committed, not yet visible) writes its ledger row only once
  the file's rows can be read (up to `visible_wait`, 300 s; past it the file fails, transient):
  a build in between would move the facts' watermark past rows it could not see.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from loader.datasets import Dataset
from loader.errors import BadFileError, FileError, TerminalError, TransientError
from loader.sinks import LEDGER_TABLE, LedgerEntry, done_statuses, versions_by_path
from loader.stream_load import DEFAULT_CHUNK_BYTES, StreamLoadClient, make_label

log = logging.getLogger("datawiz.loader.starrocks")

DATABASE = "raw"
MAX_TEXT = 65533  # StarRocks' VARCHAR of STRING

_LEDGER_COLUMNS = [
    ("file_path", "varchar(1024) not null"),
    ("dataset", "varchar(256) not null"),
    ("version", "varchar(256) not null"),
    ("size_bytes", "bigint"),
    ("rows", "bigint"),
    ("status", "varchar(32) not null"),
    ("error", f"varchar({MAX_TEXT})"),
    ("loaded_at", "datetime not null"),
    ("duration_ms", "bigint"),
    ("run_id", "varchar(64)"),
]


def fitting_text(batches: Iterable[pa.RecordBatch], path: str) -> Iterator[pa.RecordBatch]:
    """The batches, each checked first: a text value longer than a StarRocks VARCHAR can hold
    (MAX_TEXT bytes) makes the file a bad file for this target (BadFileError: quarantined,
    with the column and row named), where StarRocks would reject the rows on every run and
    the file would fail, and hold back the builds, until someone stepped in."""
    first_row = 0
    for batch in batches:
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
                continue
            too_long = pc.greater(pc.binary_length(column), MAX_TEXT)
            if pc.any(too_long).as_py():
                row = pc.index(too_long, True).as_py()
                size = pc.binary_length(column)[row].as_py()
                raise BadFileError(
                    path,
                    f"column {name} row {first_row + row}: a text of {size:,} bytes, longer "
                    f"than the {MAX_TEXT:,} bytes a StarRocks VARCHAR holds",
                )
        first_row += batch.num_rows
        yield batch


def starrocks_type(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return f"varchar({MAX_TEXT})"
    if pa.types.is_int32(t):
        return "int"
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_date32(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "datetime"  # zoned timestamps are stored as their UTC wall clock
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    raise ValueError(f"no StarRocks type for {t}")


def q(name: str) -> str:
    """A quoted identifier."""
    return "`" + name.replace("`", "``") + "`"


def literal(value) -> str:
    """A SQL literal for a ledger value (MySQL/StarRocks string escapes)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return f"'{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def parse_properties(spec: str) -> dict[str, str]:
    """`replication_num=1, storage_medium=SSD` -> {'replication_num': '1', ...}."""
    props: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise TerminalError(
                f"DATAWIZ_STARROCKS_TABLE_PROPERTIES: expected key=value, got {part.strip()!r}"
            )
        props[key.strip()] = value.strip().strip("'\"")
    return props


def _properties_sql(props: dict[str, str]) -> str:
    if not props:
        return ""
    inner = ", ".join(f'"{k}" = "{v}"' for k, v in props.items())
    return f"\nproperties ({inner})"


def sort_key(dataset: Dataset) -> list[str]:
    """The Duplicate Key: the leading declared columns that belong to the dataset's key."""
    key = set(dataset.key)
    lead: list[str] = []
    for col in dataset.columns:
        if col.name not in key or pa.types.is_floating(col.arrow):
            break
        lead.append(col.name)
    return lead or [dataset.columns[0].name]


def create_table_sql(dataset: Dataset, database: str, properties: dict[str, str]) -> str:
    cols = []
    for f in dataset.landed_schema:
        not_null = " not null" if f.name == "_loaded_at" else ""
        cols.append(f"    {q(f.name)} {starrocks_type(f.type)}{not_null}")
    keys = ", ".join(q(c) for c in sort_key(dataset))
    return (
        f"create table if not exists {q(database)}.{q(dataset.name)} (\n"
        + ",\n".join(cols)
        + f"\n)\nduplicate key({keys})"
        + f"\npartition by date_trunc('month', {q('_loaded_at')})"
        + f"\ndistributed by hash({keys})"
        + _properties_sql(properties)
    )


def ledger_sql(database: str, properties: dict[str, str]) -> str:
    cols = ",\n".join(f"    {q(n)} {t}" for n, t in _LEDGER_COLUMNS)
    return (
        f"create table if not exists {q(database)}.{q(LEDGER_TABLE)} (\n{cols}\n)\n"
        f"duplicate key({q('file_path')})\ndistributed by hash({q('file_path')})"
        + _properties_sql(properties)
    )


class StarRocksSink:
    def __init__(
        self,
        client: StreamLoadClient,
        connect: Callable[[], object],
        *,
        database: str = DATABASE,
        table_properties: str = "replication_num=1",
        where: str = "",
        schema_change_wait: float = 600.0,
        visible_wait: float = 300.0,
        label_gone_wait: float = 30.0,
    ):
        self.client = client
        self._connect = connect
        self._con = None
        self.database = database
        self.properties = parse_properties(table_properties)
        self.where = where or client.describe()
        self.schema_change_wait = schema_change_wait
        self.visible_wait = visible_wait
        self.label_gone_wait = label_gone_wait

    @classmethod
    def from_settings(cls, settings, **kwargs) -> StarRocksSink:
        client = StreamLoadClient(
            settings.starrocks_host,
            settings.starrocks_http_port,
            settings.starrocks_user,
            settings.starrocks_password,
            chunk_bytes=kwargs.pop("chunk_bytes", DEFAULT_CHUNK_BYTES),
            load_timeout=settings.starrocks_load_timeout_seconds,
        )
        host, port = settings.starrocks_host, settings.starrocks_query_port
        user, password = settings.starrocks_user, settings.starrocks_password

        def connect():
            import mysql.connector

            try:
                return mysql.connector.connect(
                    host=host,
                    port=port,
                    user=user,
                    password=password,
                    autocommit=True,
                    connection_timeout=30,
                )
            except mysql.connector.Error as exc:
                raise classify_error(exc, f"{user!r} at {host}:{port}") from None

        return cls(
            client,
            connect,
            table_properties=settings.starrocks_table_properties,
            where=f"{user}@{host}:{port} (Stream Load via :{settings.starrocks_http_port})",
            **kwargs,
        )

    def describe(self) -> str:
        return f"starrocks:{self.where}/{self.database}"

    # ---------------------------------------------------------------- SQL
    def _execute(self, sql: str) -> list[tuple]:
        if self._con is None:
            self._con = self._connect()
        cur = self._con.cursor()
        try:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []
        except Exception as exc:
            if _is_driver_error(exc):
                # a dropped connection is reopened on the next statement
                self._con = None if _is_connection_error(exc) else self._con
                raise classify_error(exc, self.where) from None
            raise
        finally:
            with contextlib.suppress(Exception):  # a cursor on a dead connection
                cur.close()

    def _columns(self, table: str) -> set[str]:
        rows = self._execute(
            "select column_name from information_schema.columns "
            f"where table_schema = {literal(self.database)} and table_name = {literal(table)}"
        )
        return {r[0] for r in rows}

    # ---------------------------------------------------------------- Sink protocol
    def prepare(self, datasets: list[Dataset]) -> None:
        self._execute(f"create database if not exists {q(self.database)}")
        self._execute(ledger_sql(self.database, self.properties))
        for ds in datasets:
            self._execute(create_table_sql(ds, self.database, self.properties))
            have = self._columns(ds.name)
            for f in ds.landed_schema:
                if f.name in have:
                    continue
                log.info("%s.%s: adding declared column %s", self.database, ds.name, f.name)
                self._execute(
                    f"alter table {q(self.database)}.{q(ds.name)} "
                    f"add column {q(f.name)} {starrocks_type(f.type)}"
                )
                self._wait_for_column(ds.name, f.name)

    def _wait_for_column(self, table: str, column: str) -> None:
        deadline = time.monotonic() + self.schema_change_wait
        delay = 0.05
        while column not in self._columns(table):
            if time.monotonic() > deadline:
                raise TransientError(
                    f"{self.database}.{table}: column {column} still not visible "
                    f"{self.schema_change_wait:.0f}s after ALTER TABLE (schema change running)"
                )
            time.sleep(delay)
            delay = min(2.0, delay * 2)

    def done_versions(self, retry_quarantined: bool = False) -> dict[str, set[str]]:
        return versions_by_path(
            self._execute(
                f"select {q('file_path')}, {q('version')} "
                f"from {q(self.database)}.{q(LEDGER_TABLE)} "
                f"where {q('status')} in {done_statuses(retry_quarantined)}"
            )
        )

    def write(self, dataset: Dataset, reader: pa.RecordBatchReader, entry: LedgerEntry) -> int:
        started = time.perf_counter()
        label = make_label(self.database, dataset.name, entry.file.path, entry.file.version)
        result = self.client.load_batches(
            self.database,
            dataset.name,
            dataset.landed_schema,
            fitting_text(reader, entry.file.path),
            label=label,
        )
        if result.rows and result.status in ("Publish Timeout", "Already Loaded"):
            # committed, but perhaps not visible yet: the ledger row waits for the rows, and
            # takes their load time (an earlier run's, when it committed them)
            committed = self._wait_visible(dataset, entry, result.rows, result.status)
            entry = dataclasses.replace(entry, loaded_at=committed)
        ms = int((time.perf_counter() - started) * 1000)
        entry = dataclasses.replace(entry, duration_ms=ms)
        # only now, with the rows committed (or found committed under this label)
        self._insert_ledger(entry, result.rows)
        if result.status == "Already Loaded":
            log.info(
                "%s: already in StarRocks under label %s (an earlier run committed it); "
                "ledger row written now",
                entry.file.path,
                label,
            )
        return result.rows

    def _wait_visible(self, dataset: Dataset, entry: LedgerEntry, rows: int, status: str):
        """The load time of a committed load's rows, once they can be read. A build that ran
        before they are visible would miss them for good: the facts read only rows landed at or
        after their newest `_loaded_at`, which the run's other files move past these. So the
        ledger row, which says they landed, waits (up to `visible_wait`; past it the file fails,
        transient, and the next attempt, finding the label loaded, waits again).

        After `Publish Timeout` the rows carry this attempt's load time. `Already Loaded`: an
        earlier attempt committed them (a crash before its ledger row, a timeout it did not see
        answered); theirs is the newest load time of the file that no ledger row holds yet (an
        earlier version of the file has its own)."""
        table = f"{q(self.database)}.{q(dataset.name)}"
        path = literal(entry.file.path)
        if status == "Publish Timeout":
            newer = f"{q('_loaded_at')} >= {literal(entry.loaded_at - timedelta(seconds=1))}"
        else:
            ledger = f"{q(self.database)}.{q(LEDGER_TABLE)}"
            # (a second's margin: two loads of one file are runs apart, and the two paths, the
            # ledger's INSERT and Stream Load, might store a microsecond differently)
            newer = (
                f"{q('_loaded_at')} > (select coalesce(max({q('loaded_at')}) + interval 1 second,"
                f" '1970-01-01') from {ledger} where {q('file_path')} = {path}"
                f" and {q('status')} = 'loaded')"
            )
        deadline = time.monotonic() + self.visible_wait
        # a label found loaded by a later run whose rows are all missing: its publish was long
        # done (a run is minutes after the one that committed), so the rows were deleted; a
        # short wait covers a publish still under way
        gone_deadline = time.monotonic() + min(self.visible_wait, self.label_gone_wait)
        delay = 0.5
        while True:
            newest = self._execute(
                f"select {q('_loaded_at')}, count(*) from {table} "
                f"where {q('_source_file')} = {path} and {newer} "
                f"group by {q('_loaded_at')} order by {q('_loaded_at')} desc limit 1"
            )
            visible = newest[0][1] if newest else 0
            if visible >= rows:
                return newest[0][0]
            if status == "Already Loaded" and not visible and time.monotonic() >= gone_deadline:
                # not a publish that is late: the rows are gone (deleted by hand to load the
                # file again?); the label refuses a new load, so retrying cannot help
                raise FileError(
                    f"{entry.file.path}: StarRocks reports this file version loaded under its"
                    f" label, but none of its rows are in {self.database}.{dataset.name};"
                    " StarRocks keeps a label for label_keep_max_second (3 days by"
                    " default): to land it again sooner, upload the file again (a new"
                    " version gets a new label)"
                )
            if time.monotonic() >= deadline:
                raise TransientError(
                    f"{entry.file.path}: committed to StarRocks ({status}) but {visible} of "
                    f"{rows} rows visible after {self.visible_wait:.0f}s; the next run records it"
                )
            log.info("%s: %d of %d rows visible, waiting", entry.file.path, visible, rows)
            time.sleep(delay)
            delay = min(5.0, delay * 2)

    def record(self, entry: LedgerEntry) -> None:
        self._insert_ledger(entry, entry.rows)

    def _insert_ledger(self, entry: LedgerEntry, rows: int) -> None:
        f = entry.file
        error = entry.error[: MAX_TEXT // 4] if entry.error else None  # bytes, not chars
        values = [
            f.path,
            f.dataset,
            f.version,
            f.size,
            rows,
            entry.status,
            error,
            entry.loaded_at,
            entry.duration_ms,
            entry.run_id,
        ]
        cols = ", ".join(q(n) for n, _ in _LEDGER_COLUMNS)
        self._execute(
            f"insert into {q(self.database)}.{q(LEDGER_TABLE)} ({cols}) "
            f"values ({', '.join(literal(v) for v in values)})"
        )

    def close(self) -> None:
        self.client.close()
        if self._con is not None:
            try:
                self._con.close()
            finally:
                self._con = None


# ------------------------------------------------------------------------ driver errors
def _is_driver_error(exc: Exception) -> bool:
    return type(exc).__module__.startswith("mysql.connector")


def _is_connection_error(exc: Exception) -> bool:
    errno = getattr(exc, "errno", None)
    return type(exc).__name__ in ("InterfaceError", "OperationalError") or errno in (
        2003,
        2006,
        2013,
        2055,
    )


def classify_error(exc: Exception, where: str) -> Exception:
    """Access denied and SQL errors are terminal; lost or refused connections transient.

    mysql-connector's messages name the user, never the password."""
    errno = getattr(exc, "errno", None)
    msg = getattr(exc, "msg", None) or str(exc)
    if errno in (1045, 1044, 1142, 1227):
        return TerminalError(f"StarRocks refused {where}: {msg}")
    if _is_connection_error(exc):
        return TransientError(f"StarRocks connection {where}: {msg}")
    return TerminalError(f"StarRocks ({where}) error {errno}: {msg}")
