"""The whole pipeline against a real StarRocks (see conftest.py for when it runs).

`orchestrate.py run all --target starrocks` lands the small sample through real Stream Load and
builds every model with dbt-starrocks; the marts read back over the MySQL protocol must equal the
DuckDB target's marts on the same sample (tests/starrocks_marts.py says how values compare). A
morning run repeated on the same data must change nothing (exactly-once landing, upserting
facts).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.marts_warehouse import build
from tests.starrocks_marts import FACT_KEYS, compare_marts

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.starrocks, pytest.mark.slow]


def _orchestrate(real_starrocks, work: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(real_starrocks.env())
    env.update(
        {
            "DBT_TARGET_PATH": str(work / "target"),
            "DBT_LOG_PATH": str(work / "logs"),
            "DATAWIZ_DUCKDB_PATH": str(work / "must-not-exist.duckdb"),
            "DATAWIZ_STARROCKS_TABLE_PROPERTIES": "replication_num=1",
        }
    )
    env.pop("DATAWIZ_MONGO_URI", None)
    return subprocess.run(
        [sys.executable, "orchestrate.py", *args, "--target", "starrocks"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )


@pytest.fixture(scope="module")
def real_run(real_starrocks, small_landing, tmp_path_factory):
    work = tmp_path_factory.mktemp("starrocks_real")
    admin = real_starrocks.connect(admin=True)
    cursor = admin.cursor()
    # A clean slate in the project's databases (the suite's documented precondition).
    for database in ("raw", "staging", "marts"):
        cursor.execute(f"create database if not exists {database}")
        cursor.execute(f"show full tables from {database}")
        for name, kind in cursor.fetchall():
            statement = "drop view" if kind == "VIEW" else "drop table"
            cursor.execute(f"{statement} if exists `{database}`.`{name}` force")
    admin.close()
    first = _orchestrate(real_starrocks, work, "run", "all", "--source", str(small_landing))
    return first, work


def test_run_all_succeeds(real_run, real_starrocks):
    proc, work = real_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    print(f"\nreal StarRocks {real_starrocks.version}: {proc.stdout.strip().splitlines()[-1]}")
    assert not (work / "must-not-exist.duckdb").exists()


def test_facts_are_primary_key_tables(real_run, real_starrocks):
    proc, _ = real_run
    assert proc.returncode == 0, proc.stdout[-3000:]
    connection = real_starrocks.connect()
    try:
        cursor = connection.cursor()
        for fact, key in FACT_KEYS.items():
            cursor.execute(f"show create table marts.`{fact}`")
            ddl = cursor.fetchone()[1]
            assert "PRIMARY KEY(" + ", ".join(f"`{k}`" for k in key) in ddl, ddl
    finally:
        connection.close()


def test_marts_equal_the_duckdb_marts(real_run, real_starrocks, small_landing, tmp_path_factory):
    proc, _ = real_run
    assert proc.returncode == 0, proc.stdout[-3000:]
    warehouse = build(small_landing, tmp_path_factory.getbasetemp() / "marts_warehouse")
    connection = real_starrocks.connect(database="marts")
    try:
        differences, counts = compare_marts(warehouse.duckdb_path, connection)
    finally:
        connection.close()
    assert not differences, "\n".join(differences)
    assert counts.get("fct_secondary_sales", 0) > 0, counts


def test_a_repeated_morning_run_changes_nothing(
    real_run, real_starrocks, small_landing, tmp_path_factory
):
    proc, work = real_run
    assert proc.returncode == 0, proc.stdout[-3000:]
    connection = real_starrocks.connect(database="marts")
    cursor = connection.cursor()

    def counts():
        result = {}
        for fact in FACT_KEYS:
            cursor.execute(f"select count(*) from marts.`{fact}`")
            result[fact] = cursor.fetchone()[0]
        cursor.execute("select count(*) from raw.fis")
        result["raw.fis"] = cursor.fetchone()[0]
        return result

    try:
        before = counts()
        again = _orchestrate(real_starrocks, work, "run", "morning", "--source", str(small_landing))
        assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
        assert counts() == before
        # and every value still equals the DuckDB target's (an upsert that rewrote a value with
        # another would keep the counts)
        warehouse = build(small_landing, tmp_path_factory.getbasetemp() / "marts_warehouse")
        differences, _ = compare_marts(warehouse.duckdb_path, connection)
        assert not differences, "\n".join(differences)
    finally:
        connection.close()
