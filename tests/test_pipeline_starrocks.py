"""The whole pipeline with `--target starrocks`, against the StarRocks TEST DOUBLE.

`python orchestrate.py run all --target starrocks --source <small sample>` lands every dataset
through the double's Stream Load endpoints (FE 307 -> BE) and runs `dbt build` with
dbt-starrocks over the double's MySQL port. The marts read back over the MySQL protocol must
equal the marts the DuckDB target builds from the same sample.

What this proves and what it does not: the double executes StarRocks SQL with DuckDB semantics
(tests/doubles/starrocks/engine.py lists the gaps), so a difference between the two targets here
is a difference in what the project sends (adapter-dispatched macros, dbt-starrocks
materializations, Primary Key upserts, the loader's CSV encoding), not one of StarRocks' own
function semantics. tests/starrocks_real/ runs the same against a real server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline.rollups import ROLLUPS
from tests.doubles.starrocks.server import StarRocksDouble
from tests.marts_warehouse import build
from tests.starrocks_marts import FACT_KEYS, compare_marts, duckdb_marts

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def starrocks_run(small_landing, tmp_path_factory):
    """A fresh double, the admin's setup, then `orchestrate.py run all --target starrocks`."""
    work = tmp_path_factory.mktemp("pipeline_starrocks")
    double = StarRocksDouble.start(user="datawiz_loader", password="pw-double")
    # What docs/starrocks.md has the administrator do before the first run: the databases dbt
    # writes to exist. (Without it dbt-starrocks's threads race to create the profile's database
    # on their first connections and one fails with 1007 "database exists", on a real server
    # too.)
    for database in ("staging", "marts"):
        double.engine.execute(f"create database if not exists {database}")
    env = dict(os.environ)
    env.update(double.env())
    env.update(
        {
            "DBT_TARGET_PATH": str(work / "target"),
            "DBT_LOG_PATH": str(work / "logs"),
            # the DuckDB file must not be touched by a starrocks run
            "DATAWIZ_DUCKDB_PATH": str(work / "must-not-exist.duckdb"),
        }
    )
    env.pop("DATAWIZ_MONGO_URI", None)
    proc = subprocess.run(
        [
            sys.executable,
            "orchestrate.py",
            "run",
            "all",
            "--target",
            "starrocks",
            "--source",
            str(small_landing),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    yield double, proc, work
    double.stop()


@pytest.fixture(scope="module")
def duckdb_warehouse(small_landing, tmp_path_factory):
    # The same warehouse tests/test_dbt_marts.py builds (cached per session).
    return build(small_landing, tmp_path_factory.getbasetemp() / "marts_warehouse")


def test_orchestrate_run_all_succeeds_on_the_double(starrocks_run):
    _, proc, work = starrocks_run
    output = proc.stdout[-4000:] + proc.stderr[-4000:]
    assert proc.returncode == 0, output
    assert "dbt-evening" in proc.stdout and "dbt-morning" in proc.stdout, output
    assert not (work / "must-not-exist.duckdb").exists(), "a starrocks run wrote to DuckDB"


def test_every_dataset_landed_through_stream_load(starrocks_run, duckdb_warehouse):
    double, proc, _ = starrocks_run
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert double.stream_load is not None, "the double has no Stream Load endpoints"
    con = duckdb.connect(str(duckdb_warehouse.duckdb_path), read_only=True)
    try:
        datasets = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
                " and table_name <> 'load_ledger'"
            ).fetchall()
        ]
        assert len(datasets) == 7, datasets
        for dataset in datasets:
            expected = con.execute(f"select count(*) from raw.{dataset}").fetchone()[0]
            _, rows = double.engine.execute(f"select count(*) from raw.{dataset}")
            assert rows[0][0] == expected, dataset
            assert expected > 0, dataset
    finally:
        con.close()
    # Every row arrived over HTTP: the BE counted the bytes of each load.
    assert double.stream_load.stats.be_body_bytes > 0


def test_facts_are_primary_key_tables_keyed_by_the_fact_key(starrocks_run):
    double, proc, _ = starrocks_run
    assert proc.returncode == 0, proc.stdout[-3000:]
    for fact, key in FACT_KEYS.items():
        meta = double.engine.table_meta("marts", fact)
        assert meta.table_type == "PRIMARY", (fact, meta)
        assert meta.keys[: len(key)] == key, (fact, meta.keys)


def test_marts_over_mysql_equal_the_duckdb_marts(starrocks_run, duckdb_warehouse):
    double, proc, _ = starrocks_run
    assert proc.returncode == 0, proc.stdout[-3000:]
    marts = duckdb_marts(duckdb_warehouse.duckdb_path)
    assert {"fct_secondary_sales", "fct_primary_dispatch", "mart_distribution_depth"} <= set(
        marts
    ), marts
    connection = double.connect(database="marts")
    try:
        differences, counts = compare_marts(duckdb_warehouse.duckdb_path, connection)
    finally:
        connection.close()
    assert not differences, "\n".join(differences)
    assert counts["fct_secondary_sales"] > 0 and counts["mart_distribution_depth"] > 0, counts


def test_mart_descriptions_are_table_comments(starrocks_run, duckdb_warehouse):
    # macros/comments.sql: the same one-line description on both warehouses
    double, proc, _ = starrocks_run
    assert proc.returncode == 0, proc.stdout[-3000:]
    _, rows = double.engine.execute(
        "select table_name, table_comment from information_schema.tables"
        " where table_schema = 'marts'"
    )
    on_starrocks = dict(rows)
    duck = duckdb.connect(str(duckdb_warehouse.duckdb_path), read_only=True)
    try:
        on_duckdb = dict(
            duck.execute(
                "select table_name, comment from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        )
    finally:
        duck.close()
    assert on_duckdb and all(on_duckdb.values()), on_duckdb  # every mart is described
    # the rollups are tables on DuckDB but materialized views on StarRocks, which carry no
    # comment (macros/comments.sql comments tables)
    rollups = {name for _, name in ROLLUPS}
    assert rollups <= set(on_duckdb)
    tables = {k: v for k, v in on_duckdb.items() if k not in rollups}
    assert {k: v for k, v in on_starrocks.items() if k in tables} == tables
