"""StarRocks TEST DOUBLE: the SQL engine behind the fake FE (MySQL port) and fake BE (Stream Load).

This is not StarRocks. It is one DuckDB database that accepts StarRocks SQL:

* a StarRocks database is a DuckDB schema; ``default_catalog`` is accepted and dropped;
* every statement is parsed with sqlglot's ``starrocks`` dialect (what sqlglot cannot parse
  fails here, as it would on a real FE with a syntax error) and executed translated to DuckDB;
* StarRocks-only DDL (``DUPLICATE KEY``/``PRIMARY KEY``/``UNIQUE KEY``, ``PARTITION BY``,
  ``DISTRIBUTED BY``, ``BUCKETS``, ``PROPERTIES``) is stripped before DuckDB sees it; the table
  type and keys are remembered, and inserts into Primary Key (and legacy Unique Key) tables upsert
  by key (last row of a load wins), as StarRocks does.

Limits (what a green test against the double does NOT prove):

* Function semantics are DuckDB's after sqlglot's translation (e.g. integer division, string to
  date casts, ``date_trunc`` return types, NULL ordering); StarRocks may disagree.
* No storage model: partitions, buckets, tablets, replicas, compaction and properties are
  accepted and ignored (checked only where StarRocks checks them at DDL time: Primary Key tables
  must have their partition and distribution columns in the key). Aggregate Key tables are
  rejected rather than emulated.
* Types are DuckDB's: ``VARCHAR(n)`` lengths are not enforced, ``DATETIME`` is a DuckDB
  ``TIMESTAMP`` (no time zone; the session time zone is UTC), ``LARGEINT`` is ``HUGEINT``.
* Materialized views are tables filled from their query at creation and by
  ``REFRESH MATERIALIZED VIEW`` (synchronously, whatever the refresh mode says); no query
  rewrite, no ASYNC schedule, no inactive state after a base table swap.
* No users, roles, privileges or ``GRANT`` semantics in the engine (the MySQL front end checks
  one user's password); no resource groups, no ``current_user()`` beyond that user.
* ``SET``, ``ANALYZE TABLE``, ``ADMIN SET FRONTEND CONFIG``, ``ALTER TABLE ... COMPACT`` are
  accepted as no-ops (they change nothing a query could observe here).
* Statements are serialized by one lock; there is no concurrency, no ``Publish Timeout``, no
  transaction isolation beyond "each statement is atomic".
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

DIALECT = "starrocks"
CATALOG_SCHEMA = "__double_catalog"  # our own bookkeeping, hidden from SHOW DATABASES
NO_DATABASE = "__double_no_database"  # search path when no database is selected
SYSTEM_DATABASES = ("information_schema", "_statistics_", "sys")
HIDDEN_SCHEMAS = {"main", "pg_catalog", CATALOG_SCHEMA, NO_DATABASE, "__double_is"}

# MySQL error codes the FE uses (enough for clients to tell the kinds apart).
ER_PARSE_ERROR = 1064
ER_BAD_DB_ERROR = 1049
ER_NO_DB_ERROR = 1046
ER_NO_SUCH_TABLE = 1146
ER_TABLE_EXISTS_ERROR = 1050
ER_DB_CREATE_EXISTS = 1007
ER_NOT_SUPPORTED_YET = 1235
ER_UNKNOWN_ERROR = 1105


class StarRocksError(Exception):
    """An error as the FE would report it: a MySQL error code and a message."""

    def __init__(self, message: str, code: int = ER_UNKNOWN_ERROR):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class TableMeta:
    table_type: str = "DUPLICATE"  # DUPLICATE | PRIMARY | UNIQUE | MATERIALIZED_VIEW
    keys: list[str] = field(default_factory=list)
    mv_query: str | None = None  # DuckDB SQL of a materialized view's defining query
    ddl: str | None = None  # the StarRocks statement that created it (SHOW CREATE TABLE)


# DuckDB type (as duckdb_columns().data_type spells it) -> StarRocks type.
_DUCK_TO_SR = {
    "BOOLEAN": "boolean",
    "TINYINT": "tinyint",
    "SMALLINT": "smallint",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "HUGEINT": "largeint",
    "UTINYINT": "smallint",
    "USMALLINT": "int",
    "UINTEGER": "bigint",
    "UBIGINT": "largeint",
    "FLOAT": "float",
    "DOUBLE": "double",
    "DATE": "date",
    "TIMESTAMP": "datetime",
    "TIMESTAMP WITH TIME ZONE": "datetime",
    "TIMESTAMP_NS": "datetime",
    "TIMESTAMP_MS": "datetime",
    "TIMESTAMP_S": "datetime",
    "TIME": "varchar(65533)",
    "VARCHAR": "varchar(65533)",
    "BLOB": "varbinary",
    "JSON": "json",
    "UUID": "varchar(65533)",
    "INTERVAL": "varchar(65533)",
}


def starrocks_type(duck_type: str) -> str:
    """The StarRocks spelling of a DuckDB column type (lower case, as SHOW COLUMNS prints)."""
    t = duck_type.upper()
    if t in _DUCK_TO_SR:
        return _DUCK_TO_SR[t]
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", t)
    if m:
        return f"decimal({m.group(1)},{m.group(2)})"
    if t.endswith("[]"):
        return f"array<{starrocks_type(t[:-2])}>"
    return t.lower()


def _translate_error(e: duckdb.Error) -> StarRocksError:
    """A DuckDB error as the FE would classify it (the message keeps DuckDB's wording)."""
    msg = str(e).split("\n\nLINE")[0].split("\nDid you mean")[0]
    if isinstance(e, duckdb.CatalogException):
        if "does not exist" in msg and "able" in msg:
            return StarRocksError(msg, ER_NO_SUCH_TABLE)
        if "already exists" in msg:
            return StarRocksError(msg, ER_TABLE_EXISTS_ERROR)
    if isinstance(e, duckdb.ParserException):
        return StarRocksError(f"(translated statement) {msg}", ER_PARSE_ERROR)
    return StarRocksError(msg, ER_UNKNOWN_ERROR)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Engine:
    """One DuckDB database behind a StarRocks-speaking surface. Thread-safe through ``lock``."""

    def __init__(self, path: str = ":memory:"):
        self.lock = threading.RLock()
        self.path = path
        self.con = duckdb.connect(path)
        self.con.execute("set TimeZone = 'UTC'")
        self.con.execute(f"create schema if not exists {CATALOG_SCHEMA}")
        self.con.execute(f"create schema if not exists {NO_DATABASE}")
        self.con.execute(
            f"create table if not exists {CATALOG_SCHEMA}.tables ("
            " database varchar, name varchar, table_type varchar, keys varchar[],"
            " mv_query varchar, ddl varchar, primary key (database, name))"
        )

    # ------------------------------------------------------------------ catalog
    def _meta(self, database: str, table: str) -> TableMeta | None:
        row = self.con.execute(
            f"select table_type, keys, mv_query, ddl from {CATALOG_SCHEMA}.tables"
            " where database = ? and name = ?",
            [database, table],
        ).fetchone()
        if row is None:
            return None
        return TableMeta(row[0], list(row[1] or []), row[2], row[3])

    def _set_meta(self, database: str, table: str, meta: TableMeta | None) -> None:
        self.con.execute(
            f"delete from {CATALOG_SCHEMA}.tables where database = ? and name = ?",
            [database, table],
        )
        if meta is not None:
            self.con.execute(
                f"insert into {CATALOG_SCHEMA}.tables values (?, ?, ?, ?, ?, ?)",
                [database, table, meta.table_type, meta.keys, meta.mv_query, meta.ddl],
            )

    def databases(self) -> list[str]:
        rows = self.con.execute(
            "select schema_name from duckdb_schemas() where database_name = current_database()"
            " order by schema_name"
        ).fetchall()
        return [r[0] for r in rows if r[0] not in HIDDEN_SCHEMAS]

    def _database_exists(self, database: str) -> bool:
        return database in self.databases()

    def _relation_kind(self, database: str, name: str) -> str | None:
        """'TABLE', 'VIEW', 'MATERIALIZED_VIEW' or None."""
        row = self.con.execute(
            "select 'VIEW' from duckdb_views() where schema_name = ? and view_name = ?"
            " and database_name = current_database()"
            " union all select 'TABLE' from duckdb_tables() where schema_name = ?"
            " and table_name = ? and database_name = current_database()",
            [database, name, database, name],
        ).fetchone()
        if row is None:
            return None
        if row[0] == "TABLE":
            meta = self._meta(database, name)
            if meta is not None and meta.table_type == "MATERIALIZED_VIEW":
                return "MATERIALIZED_VIEW"
        return row[0]

    def table_columns(self, database: str, table: str) -> list[tuple[str, str]]:
        """(name, StarRocks type) of a table or view in column order; KeyError if missing."""
        with self.lock:
            rows = self.con.execute(
                "select column_name, data_type from duckdb_columns()"
                " where database_name = current_database() and schema_name = ? and table_name = ?"
                " order by column_index",
                [database, table],
            ).fetchall()
        if not rows:
            raise KeyError(f"{database}.{table}")
        return [(name, starrocks_type(dtype)) for name, dtype in rows]

    def table_meta(self, database: str, table: str) -> TableMeta:
        with self.lock:
            if self._relation_kind(database, table) is None:
                raise KeyError(f"{database}.{table}")
            return self._meta(database, table) or TableMeta()

    # ------------------------------------------------------------------ loading
    def insert_arrow(self, database: str, table: str, data: pa.Table) -> int:
        """Append ``data`` (columns by name, a subset allowed) atomically; upsert on PK tables."""
        with self.lock:
            columns = self.table_columns(database, table)
            known = {name.lower() for name, _ in columns}
            unknown = [c for c in data.column_names if c.lower() not in known]
            if unknown:
                raise StarRocksError(
                    f"Unknown column '{unknown[0]}' in '{table}'", ER_UNKNOWN_ERROR
                )
            self.con.register("__double_arrow_in", data)
            try:
                select = "select {} from __double_arrow_in".format(
                    ", ".join(_q(c) for c in data.column_names)
                )
                self._begin()
                try:
                    n = self._insert_select(database, table, list(data.column_names), select)
                    self._commit()
                except duckdb.Error as e:
                    self._rollback()
                    raise _translate_error(e) from None
                except BaseException:
                    self._rollback()
                    raise
            finally:
                self.con.unregister("__double_arrow_in")
            return n

    def _begin(self) -> None:
        self.con.execute("begin transaction")

    def _commit(self) -> None:
        self.con.execute("commit")

    def _rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.execute("rollback")

    def _insert_select(
        self,
        database: str,
        table: str,
        columns: list[str] | None,
        select_sql: str,
        overwrite: bool = False,
    ) -> int:
        """INSERT [OVERWRITE] into a table with StarRocks semantics; returns rows written."""
        meta = self._meta(database, table) or TableMeta()
        target = f"{_q(database)}.{_q(table)}"
        table_cols = [c for c, _ in self.table_columns(database, table)]
        cols = columns or table_cols
        col_list = ", ".join(_q(c) for c in cols)
        self.con.execute(f"create or replace temp table __double_stage as {select_sql}")
        try:
            stage_cols = [
                d[0] for d in self.con.execute("select * from __double_stage limit 0").description
            ]
            if len(stage_cols) != len(cols):
                raise StarRocksError(
                    f"Column count doesn't match value count: {len(cols)} target columns,"
                    f" {len(stage_cols)} values",
                    ER_UNKNOWN_ERROR,
                )
            # Rename staged columns to the target names (positional, as INSERT is).
            source = "select {} from __double_stage".format(
                ", ".join(f"{_q(s)} as {_q(t)}" for s, t in zip(stage_cols, cols, strict=True))
            )
            n = self.con.execute("select count(*) from __double_stage").fetchone()[0]
            if overwrite:
                self.con.execute(f"delete from {target}")
            if meta.table_type in ("PRIMARY", "UNIQUE") and meta.keys:
                keys = [k for k in meta.keys]
                missing = [k for k in keys if k.lower() not in {c.lower() for c in cols}]
                if missing:
                    raise StarRocksError(
                        f"Primary key column '{missing[0]}' of {table} must be loaded",
                        ER_UNKNOWN_ERROR,
                    )
                key_list = ", ".join(_q(k) for k in keys)
                null_keys = self.con.execute(
                    f"select count(*) from ({source}) where "
                    + " or ".join(f"{_q(k)} is null" for k in keys)
                ).fetchone()[0]
                if null_keys:
                    raise StarRocksError(
                        f"Insert has filtered data: {null_keys} row(s) with a NULL primary key"
                        f" in {table}",
                        ER_UNKNOWN_ERROR,
                    )
                # Last row of the load wins for a key, as in a StarRocks load.
                deduped = (
                    f"select * exclude (__double_rn) from (select *, row_number() over"
                    f" (partition by {key_list} order by __double_ord desc) as __double_rn"
                    f" from (select *, row_number() over () as __double_ord from ({source})))"
                    f" where __double_rn = 1 order by __double_ord"
                )
                self.con.execute(f"create or replace temp table __double_upsert as {deduped}")
                match = " and ".join(f"t.{_q(k)} = u.{_q(k)}" for k in keys)
                self.con.execute(
                    f"delete from {target} t where exists (select 1 from __double_upsert u"
                    f" where {match})"
                )
                self.con.execute(
                    f"insert into {target} ({col_list}) select {col_list} from __double_upsert"
                )
                self.con.execute("drop table __double_upsert")
            else:
                self.con.execute(f"insert into {target} ({col_list}) {source}")
            return n
        finally:
            # in an aborted transaction this fails, and the rollback removes the table
            with contextlib.suppress(duckdb.Error):
                self.con.execute("drop table if exists __double_stage")

    # ------------------------------------------------------------------ SQL
    def execute(self, sql: str, database: str | None = None) -> tuple[list[str], list[tuple]]:
        """Run one StarRocks statement (or several separated by ';'); the last one's result."""
        try:
            statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
        except sqlglot.errors.SqlglotError as e:
            raise StarRocksError(
                f"Getting syntax error. Detail message: {e}", ER_PARSE_ERROR
            ) from None
        if not statements:
            return [], []
        result: tuple[list[str], list[tuple]] = ([], [])
        with self.lock:
            for statement in statements:
                try:
                    result = self._execute_one(statement, database, sql)
                except duckdb.Error as e:
                    raise _translate_error(e) from None
        return result

    def _use(self, database: str | None) -> None:
        schema = database if database else NO_DATABASE
        if database and not self._database_exists(database):
            raise StarRocksError(f"Unknown database '{database}'", ER_BAD_DB_ERROR)
        self.con.execute(f"set schema = {_lit(schema)}")

    def _execute_one(
        self, statement: exp.Expression, database: str | None, original: str
    ) -> tuple[list[str], list[tuple]]:
        if isinstance(statement, exp.Command):
            return self._command(statement, database)
        self._use(database if database and self._database_exists(database) else None)
        handler = getattr(self, "_on_" + type(statement).__name__.lower(), None)
        if handler is not None:
            return handler(statement, database)
        return self._run_translated(statement, database)

    def _run_translated(
        self, statement: exp.Expression, database: str | None
    ) -> tuple[list[str], list[tuple]]:
        statement = self._rewrite_names(statement, database)
        duck_sql = statement.sql(dialect="duckdb")
        return self._duck(duck_sql)

    def _duck(self, duck_sql: str, params: Iterable | None = None) -> tuple[list[str], list[tuple]]:
        try:
            cur = self.con.execute(duck_sql, params) if params else self.con.execute(duck_sql)
        except duckdb.Error as e:
            raise _translate_error(e) from None
        if cur.description is None:
            return [], []
        names = [d[0] for d in cur.description]
        return names, [tuple(r) for r in cur.fetchall()]

    def _rewrite_names(self, statement: exp.Expression, database: str | None) -> exp.Expression:
        """Drop ``default_catalog`` from three-part names (StarRocks' internal catalog)."""
        for table in statement.find_all(exp.Table):
            if table.catalog and table.catalog.lower() == "default_catalog":
                table.set("catalog", None)
        return statement

    def _qualify(self, table: exp.Table, database: str | None) -> tuple[str, str]:
        db = table.db or database
        if not db:
            raise StarRocksError("No database selected", ER_NO_DB_ERROR)
        if not self._database_exists(db):
            raise StarRocksError(f"Unknown database '{db}'", ER_BAD_DB_ERROR)
        return db, table.name

    # ------------------------------------------------------------------ statements
    def _command(self, statement: exp.Command, database: str | None):
        text = (
            statement.this + " " + (statement.expression.sql() if statement.expression else "")
        ).strip()
        upper = text.upper()
        if upper.startswith("ADMIN SET FRONTEND CONFIG"):
            return [], []  # cluster configuration: nothing to emulate
        raise StarRocksError(
            f"Getting syntax error: the StarRocks test double does not support: {text[:200]}",
            ER_PARSE_ERROR,
        )

    def _on_create(self, statement: exp.Create, database: str | None):
        kind = (statement.args.get("kind") or "").upper()
        if kind in ("DATABASE", "SCHEMA"):
            name = statement.this.name
            if self._database_exists(name):
                if statement.args.get("exists"):
                    return [], []
                raise StarRocksError(
                    f"Can't create database '{name}'; database exists", ER_DB_CREATE_EXISTS
                )
            self.con.execute(f"create schema {_q(name)}")
            return [], []
        if kind == "TABLE":
            return self._create_table(statement, database)
        if kind == "VIEW":
            return self._create_view(statement, database)
        return self._run_translated(statement, database)

    def _create_table(self, statement: exp.Create, database: str | None):
        target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
        db, name = self._qualify(target, database)
        ddl = statement.sql(dialect=DIALECT)
        meta = TableMeta(ddl=ddl)
        props = statement.args.get("properties")
        partition_cols: list[str] = []
        distribution_cols: list[str] = []
        kept: list[exp.Expression] = []
        for prop in list(props.expressions) if props else []:
            if isinstance(prop, exp.DuplicateKeyProperty):
                meta.table_type = "DUPLICATE"
                meta.keys = [e.name for e in prop.expressions]
            elif isinstance(prop, exp.PrimaryKey):
                meta.table_type = "PRIMARY"
                meta.keys = [e.name for e in prop.expressions]
            elif isinstance(prop, exp.UniqueKeyProperty):
                meta.table_type = "UNIQUE"
                meta.keys = [e.name for e in prop.expressions]
            elif isinstance(prop, exp.AggregateKeyProperty):
                raise StarRocksError(
                    "the StarRocks test double does not emulate Aggregate Key tables",
                    ER_NOT_SUPPORTED_YET,
                )
            elif isinstance(prop, exp.PartitionedByProperty):
                partition_cols = [c.name for c in prop.find_all(exp.Column)] or [
                    i.name for i in prop.find_all(exp.Identifier)
                ]
            elif isinstance(prop, exp.DistributedByProperty):
                distribution_cols = [e.name for e in prop.expressions]
            elif isinstance(prop, exp.SchemaCommentProperty):
                kept.append(prop)
            # other properties (PROPERTIES (...), ORDER BY, ...) are physical: dropped
        column_comments: dict[str, str] = {}
        if isinstance(statement.this, exp.Schema):
            new_exprs = []
            for col in statement.this.expressions:
                if isinstance(col, exp.PrimaryKey):
                    meta.table_type = "PRIMARY"
                    meta.keys = [e.name for e in col.expressions]
                    # sqlglot hangs a PARTITION BY that follows PRIMARY KEY(...) on the key
                    include = col.args.get("include")
                    for part in (include.args.get("partition_by") or []) if include else []:
                        partition_cols += [c.name for c in part.find_all(exp.Column)]
                    continue
                if isinstance(col, exp.ColumnDef):
                    constraints = []
                    for c in col.args.get("constraints") or []:
                        if isinstance(c.kind, exp.CommentColumnConstraint):
                            column_comments[col.name] = c.kind.this.name
                        else:
                            constraints.append(c)
                    col.set("constraints", constraints)
                    kind_ = col.args.get("kind")
                    if isinstance(kind_, exp.DataType) and kind_.this in (
                        exp.DataType.Type.VARCHAR,
                        exp.DataType.Type.CHAR,
                    ):
                        col.set("kind", exp.DataType.build("varchar"))
                new_exprs.append(col)
            statement.this.set("expressions", new_exprs)
        if meta.table_type == "PRIMARY":
            keys = {k.lower() for k in meta.keys}
            for c in partition_cols + distribution_cols:
                if c.lower() not in keys:
                    raise StarRocksError(
                        f"Partition or distribution column '{c}' of primary key table {name}"
                        " must be a key column",
                        ER_UNKNOWN_ERROR,
                    )
        table_comment = None
        for prop in kept:
            table_comment = prop.this.name
        statement.set("properties", None)
        exists = self._relation_kind(db, name)
        if exists is not None:
            if statement.args.get("exists"):
                return [], []
            raise StarRocksError(f"Table '{name}' already exists", ER_TABLE_EXISTS_ERROR)
        query = statement.args.get("expression")
        self._begin()
        try:
            if query is not None:
                self._rewrite_names(query, database)
                select_sql = query.sql(dialect="duckdb")
                # Create empty with the query's shape, then insert with the table's semantics.
                self._duck(
                    f"create table {_q(db)}.{_q(name)} as select * from ({select_sql}) limit 0"
                )
                self._set_meta(db, name, meta)
                self._insert_select(db, name, None, select_sql)
            else:
                statement.this.this.set("db", exp.to_identifier(db))
                self._rewrite_names(statement, database)
                self._duck(statement.sql(dialect="duckdb"))
                self._set_meta(db, name, meta)
            if table_comment:
                self.con.execute(f"comment on table {_q(db)}.{_q(name)} is {_lit(table_comment)}")
            for col, comment in column_comments.items():
                self.con.execute(
                    f"comment on column {_q(db)}.{_q(name)}.{_q(col)} is {_lit(comment)}"
                )
            self._commit()
        except BaseException:
            self._rollback()
            raise
        return [], []

    def _create_view(self, statement: exp.Create, database: str | None):
        target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
        db, name = self._qualify(target, database)
        props = statement.args.get("properties")
        materialized = bool(
            props and any(isinstance(p, exp.MaterializedProperty) for p in props.expressions)
        )
        query = statement.args.get("expression")
        self._rewrite_names(query, database)
        select_sql = query.sql(dialect="duckdb")
        if self._relation_kind(db, name) is not None and not statement.args.get("replace"):
            if statement.args.get("exists"):
                return [], []
            raise StarRocksError(f"Table '{name}' already exists", ER_TABLE_EXISTS_ERROR)
        self._begin()
        try:
            if materialized:
                self._duck(f"create or replace table {_q(db)}.{_q(name)} as {select_sql}")
                self._set_meta(
                    db,
                    name,
                    TableMeta(
                        table_type="MATERIALIZED_VIEW",
                        mv_query=select_sql,
                        ddl=statement.sql(dialect=DIALECT),
                    ),
                )
            else:
                self._duck(f"create or replace view {_q(db)}.{_q(name)} as {select_sql}")
                self._set_meta(
                    db, name, TableMeta(table_type="VIEW", ddl=statement.sql(dialect=DIALECT))
                )
            self._commit()
        except BaseException:
            self._rollback()
            raise
        return [], []

    def _on_insert(self, statement: exp.Insert, database: str | None):
        target = statement.this
        columns = None
        if isinstance(target, exp.Schema):
            columns = [c.name for c in target.expressions]
            target = target.this
        db, name = self._qualify(target, database)
        kind = self._relation_kind(db, name)
        if kind is None:
            raise StarRocksError(f"Table '{name}' does not exist in '{db}'", ER_NO_SUCH_TABLE)
        if kind != "TABLE":
            raise StarRocksError(
                f"'{name}' is not a table, cannot insert into it", ER_UNKNOWN_ERROR
            )
        query = statement.expression
        self._rewrite_names(query, database)
        select_sql = query.sql(dialect="duckdb")
        self._begin()
        try:
            n = self._insert_select(
                db, name, columns, select_sql, overwrite=bool(statement.args.get("overwrite"))
            )
            self._commit()
        except BaseException:
            self._rollback()
            raise
        return ["rows"], [(n,)]
