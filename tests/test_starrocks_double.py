"""The StarRocks test double's engine and MySQL front end behave as the StarRocks features the
pipeline relies on (tests/doubles/starrocks/engine.py lists what it does not emulate)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import mysql.connector
import pyarrow as pa
import pytest

from tests.doubles.starrocks.engine import (
    ER_BAD_DB_ERROR,
    ER_NO_DB_ERROR,
    ER_NO_SUCH_TABLE,
    ER_NOT_SUPPORTED_YET,
    ER_PARSE_ERROR,
    Engine,
    StarRocksError,
)

FACT_DDL = """
create table if not exists sales.fct (
    invoice_no varchar(20) not null comment 'invoice',
    invoice_line int not null,
    invoice_date date not null,
    amount decimal(14, 2),
    updated_at datetime
)
primary key (invoice_no, invoice_line, invoice_date)
comment 'facts'
partition by date_trunc('month', invoice_date)
distributed by hash (invoice_no, invoice_line) buckets 8
properties ("replication_num" = "1")
"""


@pytest.fixture
def engine():
    e = Engine()
    e.execute("create database sales")
    e.execute(FACT_DDL)
    return e


def _error(engine, sql, database=None) -> StarRocksError:
    with pytest.raises(StarRocksError) as info:
        engine.execute(sql, database)
    return info.value


# --- DDL ---------------------------------------------------------------------------------------


def test_starrocks_ddl_is_understood_and_remembered(engine):
    meta = engine.table_meta("sales", "fct")
    assert meta.table_type == "PRIMARY"
    assert meta.keys == ["invoice_no", "invoice_line", "invoice_date"]
    assert engine.table_columns("sales", "fct") == [
        ("invoice_no", "varchar(65533)"),
        ("invoice_line", "int"),
        ("invoice_date", "date"),
        ("amount", "decimal(14,2)"),
        ("updated_at", "datetime"),
    ]
    _, rows = engine.execute(
        "select column_name, column_key, column_comment from information_schema.columns"
        " where table_schema = 'sales' and table_name = 'fct' order by ordinal_position"
    )
    assert rows[0] == ("invoice_no", "PRI", "invoice")
    assert rows[3] == ("amount", "", "")
    _, rows = engine.execute("show create table sales.fct")
    assert "PRIMARY KEY(`invoice_no`, `invoice_line`, `invoice_date`)" in rows[0][1]
    assert "COMMENT 'facts'" in rows[0][1]


def test_primary_key_partition_columns_must_be_key_columns(engine):
    error = _error(
        engine,
        "create table sales.bad (k bigint not null, d date) primary key (k)"
        " partition by date_trunc('month', d) distributed by hash (k)",
    )
    assert "must be a key column" in error.message
    error = _error(
        engine,
        "create table sales.bad2 (v int, k bigint not null) duplicate key (k)",
    )
    assert "ordered prefix" in error.message


def test_what_sqlglot_cannot_parse_is_a_syntax_error(engine):
    assert _error(engine, "selec 1").code == ER_PARSE_ERROR
    assert _error(engine, "create table sales.t (a int) aggregate key (a)").code == (
        ER_NOT_SUPPORTED_YET
    )
    assert _error(engine, "grant select on all tables in database sales to role bi").code == (
        ER_NOT_SUPPORTED_YET
    )


def test_reserved_words_are_names_only_when_quoted(engine):
    # sqlglot takes these for names; StarRocks's parser does not (the run history's `host`
    # column, a subquery aliased `files`)
    assert _error(engine, "create table t1 (host varchar(20))").code == ER_PARSE_ERROR
    assert _error(engine, "select files.a from (select 1 as a) as files").code == ER_PARSE_ERROR
    engine.execute("create database if not exists d")
    engine.execute("create table d.t1 (`host` varchar(20), `rows` bigint)")
    engine.execute("insert into d.t1 (`host`, `rows`) values ('h', 2)")
    assert engine.execute("select t.`host`, `rows` from d.t1 as t")[1] == [("h", 2)]


def test_names_resolve_like_starrocks(engine):
    assert _error(engine, "select * from fct").code == ER_NO_DB_ERROR
    assert _error(engine, "select * from nope", "sales").code == ER_NO_SUCH_TABLE
    assert _error(engine, "use nowhere").code == ER_BAD_DB_ERROR
    assert engine.execute("select count(*) from default_catalog.sales.fct")[1] == [(0,)]
    assert engine.execute("with fct as (select 1 as x) select x from fct", "sales")[1] == [(1,)]


# --- loading -----------------------------------------------------------------------------------


def test_inserts_into_a_primary_key_table_upsert_last_row_wins(engine):
    engine.execute(
        "insert into sales.fct values"
        " ('I1', 1, '2026-01-05', 10.00, '2026-01-05 08:00:00'),"
        " ('I1', 1, '2026-01-05', 11.00, '2026-01-05 09:00:00'),"
        " ('I2', 1, '2026-01-06', 20.00, null)"
    )
    engine.insert_arrow(
        "sales",
        "fct",
        pa.table(
            {
                "invoice_no": ["I2", "I3"],
                "invoice_line": pa.array([1, 1], pa.int32()),
                "invoice_date": [dt.date(2026, 1, 6), dt.date(2026, 1, 7)],
                "amount": pa.array([Decimal("21.00"), Decimal("30.00")], pa.decimal128(14, 2)),
            }
        ),
    )
    _, rows = engine.execute("select invoice_no, amount from sales.fct order by 1")
    assert rows == [("I1", Decimal("11.00")), ("I2", Decimal("21.00")), ("I3", Decimal("30.00"))]


def test_a_load_is_all_or_nothing(engine):
    bad = pa.table(
        {
            "invoice_no": ["I1", None],
            "invoice_line": pa.array([1, 1], pa.int32()),
            "invoice_date": [dt.date(2026, 1, 5), dt.date(2026, 1, 5)],
        }
    )
    with pytest.raises(StarRocksError, match="NULL primary key"):
        engine.insert_arrow("sales", "fct", bad)
    assert engine.execute("select count(*) from sales.fct")[1] == [(0,)]


def test_duplicate_key_tables_append(engine):
    engine.execute("create database raw")
    engine.execute("create table raw.fis (k varchar(10), v int) duplicate key (k)")
    for _ in range(2):
        engine.insert_arrow("raw", "fis", pa.table({"k": ["a"], "v": [1]}))
    assert engine.execute("select count(*) from raw.fis")[1] == [(2,)]


def test_update_only_on_primary_key_tables(engine):
    engine.execute("create table sales.dup (k int, v int) duplicate key (k)")
    assert "Primary Key tables" in _error(engine, "update sales.dup set v = 1").message
    engine.execute(
        "insert into sales.fct (invoice_no, invoice_line, invoice_date) values"
        " ('I1', 1, '2026-01-05')"
    )
    engine.execute("update sales.fct set amount = 5 where invoice_no = 'I1'")
    assert engine.execute("select amount from sales.fct")[1] == [(Decimal("5.00"),)]


def test_delete_on_other_than_primary_key_tables_takes_only_column_op_value(engine):
    engine.execute("create table sales.dup (k int, d datetime) duplicate key (k)")
    engine.execute("insert into sales.dup values (1, '2026-01-01 00:00:00'), (2, '2026-03-01')")
    for where in (
        "d < cast('2026-02-01 00:00:00' as datetime)",  # a cast is not a value
        "k in (select 1)",
        "k = 1 or k = 2",
        "k + 1 = 2",
    ):
        error = _error(engine, f"delete from sales.dup where {where}")
        assert error.message, where
    assert engine.execute("select count(*) from sales.dup")[1] == [(2,)]
    engine.execute("delete from sales.dup where d < '2026-02-01 00:00:00' and k in (1, 3)")
    assert engine.execute("select k from sales.dup")[1] == [(2,)]
    # a Primary Key table takes any condition
    engine.execute(
        "insert into sales.fct (invoice_no, invoice_line, invoice_date) values"
        " ('I1', 1, '2026-01-05')"
    )
    engine.execute("delete from sales.fct where invoice_date < cast('2026-02-01' as date)")
    assert engine.execute("select count(*) from sales.fct")[1] == [(0,)]


# --- what dbt-starrocks does -------------------------------------------------------------------


def test_ctas_swap_rename_and_views(engine):
    engine.execute(
        "create table sales.m primary key (k) distributed by hash (k) buckets 1"
        " as select 1 as k, 'x' as v union all select 1, 'y'"
    )
    assert engine.execute("select count(*) from sales.m")[1] == [(1,)]  # upserted
    engine.execute("create table sales.m__dbt_backup as select 2 as k, 'z' as v")
    engine.execute("alter table sales.m swap with `m__dbt_backup`")
    assert engine.execute("select k from sales.m")[1] == [(2,)]
    assert engine.table_meta("sales", "m__dbt_backup").table_type == "PRIMARY"
    engine.execute("alter table sales.m rename m2")
    engine.execute("create view sales.v as select k from sales.m2")
    _, rows = engine.execute(
        "select tbl.table_name, tbl.table_type, mv.table_name from information_schema.tables tbl"
        " left join default_catalog.information_schema.materialized_views mv"
        " on tbl.table_schema = mv.table_schema and tbl.table_name = mv.table_name"
        " where tbl.table_schema = 'sales' order by 1"
    )
    assert ("v", "VIEW", None) in rows and ("m2", "BASE TABLE", None) in rows
    _, rows = engine.execute(
        "select view_definition from information_schema.views where table_name = 'v'"
    )
    assert "m2" in rows[0][0]
    assert "drop view" in _error(engine, "drop table sales.v").message.lower()


def test_materialized_views_refresh_on_request(engine):
    engine.execute(
        "insert into sales.fct (invoice_no, invoice_line, invoice_date, amount)"
        " values ('I1', 1, '2026-01-05', 1)"
    )
    engine.execute(
        "create materialized view sales.mv distributed by hash (n) refresh manual"
        " as select count(*) as n from sales.fct"
    )
    engine.execute(
        "insert into sales.fct (invoice_no, invoice_line, invoice_date, amount)"
        " values ('I2', 1, '2026-01-05', 1)"
    )
    assert engine.execute("select n from sales.mv")[1] == [(1,)]
    engine.execute("refresh materialized view sales.mv with sync mode")
    assert engine.execute("select n from sales.mv")[1] == [(2,)]
    _, rows = engine.execute(
        "select table_name from information_schema.materialized_views where table_schema = 'sales'"
    )
    assert rows == [("mv",)]


def test_comments_and_no_op_statements(engine):
    engine.execute("alter table sales.fct comment = 'the facts'")
    engine.execute("alter table sales.fct modify column amount comment 'net, INR'")
    _, rows = engine.execute(
        "select table_comment from information_schema.tables where table_name = 'fct'"
    )
    assert rows == [("the facts",)]
    _, rows = engine.execute("show full columns from fct from sales like 'amount'")
    assert rows[0][-1] == "net, INR"
    for statement in (
        "set query_timeout = 600",
        "analyze table sales.fct",
        "admin set frontend config ('default_replication_num' = '1')",
        "alter table sales.fct compact",
    ):
        assert engine.execute(statement) == ([], [])
    assert engine.execute("select current_version()")[1][0][0].startswith("3.")


# --- over the MySQL protocol -------------------------------------------------------------------


def test_mysql_front_end_checks_credentials_and_database(starrocks_double):
    double = starrocks_double
    with pytest.raises(mysql.connector.Error) as info:
        double.connect(password="wrong")
    assert info.value.errno == 1045
    with pytest.raises(mysql.connector.Error) as info:
        double.connect(database="no_such_database")
    assert "no_such_database" in str(info.value)
    double.engine.execute("create database if not exists double_check")
    connection = double.connect(database="default_catalog.double_check")
    try:
        cursor = connection.cursor()
        cursor.execute("select database(), current_version(), @@version_comment")
        database, version, comment = cursor.fetchone()
        assert database == "double_check" and version.startswith("3.") and "double" in comment
        cursor.execute(
            "create table t (k bigint not null, d date, x decimal(10, 2), ok boolean)"
            " primary key (k) distributed by hash (k)"
        )
        cursor.execute("insert into t values (1, '2026-01-02', 1.50, true), (1, null, 2, false)")
        cursor.execute("select k, d, x, ok from t")
        assert cursor.fetchall() == [(1, None, Decimal("2.00"), 0)]
        with pytest.raises(mysql.connector.Error) as info:
            cursor.execute("select * from missing")
        assert info.value.errno == ER_NO_SUCH_TABLE
    finally:
        connection.close()


def test_standalone_process_prints_its_ports():
    proc = subprocess.run(
        [sys.executable, "-m", "tests.doubles.starrocks", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert "--query-port" in proc.stdout and "test double" in proc.stdout


def test_ctas_key_columns_must_lead_the_query(engine):
    error = _error(
        engine,
        "create table sales.c primary key (k) distributed by hash (k) as select 'x' as v, 1 as k",
    )
    assert "ordered prefix" in error.message


def test_partition_wise_overwrite_fails_loudly(engine):
    engine.execute("create table sales.src like sales.fct")
    error = _error(
        engine,
        "insert /*+SET_VAR(dynamic_overwrite = true)*/ overwrite sales.fct select * from sales.src",
    )
    assert error.code == ER_NOT_SUPPORTED_YET
    engine.execute(
        "insert /*+SET_VAR(dynamic_overwrite = false)*/ overwrite sales.fct"
        " (invoice_no, invoice_line, invoice_date) (select 'I9', 1, date '2026-01-01')"
    )
    assert engine.execute("select invoice_no from sales.fct")[1] == [("I9",)]
