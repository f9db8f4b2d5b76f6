"""Small SQL access to the warehouse for the operations modules (run history, constants,
maintenance): DuckDB in-process, StarRocks over the MySQL protocol (port 9030).

Work is pushed into the warehouse; only the few rows a caller needs come back. Statements use
`?` placeholders; for StarRocks they become mysql.connector's client-side `%s` parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from loader import cancel
from loader.errors import TerminalError, TransientError
from loader.settings import Settings
from pipeline.redact import redact


class Connection:
    def __init__(self, dialect: str, raw):
        self.dialect = dialect  # duckdb | starrocks
        self._raw = raw

    def quote(self, name: str) -> str:
        """A column name quoted for this warehouse: StarRocks reserves words DuckDB does not
        (`host`, `rows`, `files`, ...), and rejects them unquoted."""
        return f"`{name}`" if self.dialect == "starrocks" else f'"{name}"'

    def execute(self, sql: str, params: Sequence = ()) -> list[tuple]:
        if self.dialect == "duckdb":
            cur = self._raw.execute(sql, list(params))
            return cur.fetchall() if cur.description else []
        from mysql.connector import errors

        from loader.sinks.starrocks import classify_error

        cur = self._raw.cursor()
        try:
            cur.execute(sql.replace("?", "%s"), tuple(params))
            return cur.fetchall() if cur.description else []
        except errors.Error as exc:
            # a lost connection is transient (the step's retry), an SQL error terminal: a step
            # fails with one line instead of "crashed" and a traceback
            raise classify_error(exc, "query") from None
        finally:
            cur.close()


def duckdb_exists(settings: Settings) -> bool:
    return Path(settings.duckdb_path).is_file()


@contextmanager
def connect(settings: Settings, *, read_only: bool = False) -> Iterator[Connection]:
    """A short-lived connection. DuckDB allows one writing process per file, and dbt runs in a
    subprocess, so callers open, do their few statements, and close between steps."""
    if settings.target == "duckdb":
        from loader.sinks.duckdb import open_duckdb

        path = Path(settings.duckdb_path)
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        raw = open_duckdb(path, read_only=read_only)
        try:
            with cancel.registered(raw):  # a step's timeout interrupts a running query
                yield Connection("duckdb", raw)
        finally:
            raw.close()
        return

    import mysql.connector
    from mysql.connector import errors

    try:
        raw = mysql.connector.connect(
            host=settings.starrocks_host,
            port=settings.starrocks_query_port,
            user=settings.starrocks_user,
            password=settings.starrocks_password,
            autocommit=True,
            connection_timeout=30,
        )
    except errors.ProgrammingError as exc:  # access denied, unknown database
        raise TerminalError(f"StarRocks refused the connection: {redact(exc, settings)}") from None
    except errors.Error as exc:
        raise TransientError(f"StarRocks unreachable: {redact(exc, settings)}") from None
    try:
        yield Connection("starrocks", raw)
    finally:
        raw.close()


def starrocks_properties(settings: Settings) -> str:
    """DATAWIZ_STARROCKS_TABLE_PROPERTIES ("k=v,k2=v2") as a PROPERTIES clause (or "")."""
    pairs = [p.split("=", 1) for p in settings.starrocks_table_properties.split(",") if "=" in p]
    if not pairs:
        return ""
    body = ", ".join(f'"{k.strip()}" = "{v.strip()}"' for k, v in pairs)
    return f"properties ({body})"
