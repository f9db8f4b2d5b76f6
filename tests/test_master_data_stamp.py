"""The master-data version the facts record (`_master_data_loaded_at`) follows what the
dimensions were built from, not what has landed: int_master_data_loads is a table the evening
build refreshes after the dimensions. A drop that landed while the evening build did not run
(or failed before the dimensions) is recorded by no fact; once the evening build has run, the
next morning enriches again the held facts of the members it changed (int_master_data_changes)
and records it on them; the other facts keep the master data they were enriched with."""

from __future__ import annotations

import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from loader.settings import Settings
from pipeline import warehouse as wh
from pipeline.dbt import run_dbt
from pipeline.pipelines import load_step

FACTS = ("fct_secondary_sales", "fct_primary_dispatch")


@pytest.fixture
def warehouse(landing_copy, tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    settings = Settings(
        source=str(landing_copy), target="duckdb", duckdb_path=str(tmp_path / "w.duckdb")
    )
    assert load_step(settings, "all").ok
    result = run_dbt(["run"], settings, timeout=600)
    assert result.ok, "\n".join(result.failures())
    return settings


def query(settings: Settings, sql: str) -> list[tuple]:
    with wh.connect(settings, read_only=True) as con:
        return con.execute(sql)


def stamps(settings: Settings) -> set:
    return {
        stamp
        for fact in FACTS
        for (stamp,) in query(settings, f"select distinct _master_data_loaded_at from marts.{fact}")
    }


def land_new_customer_drop(landing: Path, new_retailer: str) -> None:
    """The newest customer-master drop again, under the next day's dt= (a new drop, same rows),
    with one more retailer: `new_retailer`, a copy of the drop's first row under that code."""
    drops = sorted((landing / "customer_master").glob("dt=*"))
    newest = drops[-1]
    day = date.fromisoformat(newest.name[3:]) + timedelta(days=1)
    drop = newest.parent / f"dt={day.isoformat()}"
    shutil.copytree(newest, drop)
    table = pq.read_table(sorted(drop.glob("*.parquet"))[0]).slice(0, 1)
    row = table.to_pylist()[0] | {"customer_code": new_retailer, "customer_type": "RETAILER"}
    pq.write_table(table.from_pylist([row], schema=table.schema), drop / "part-900.parquet")


def test_facts_record_the_master_data_the_dimensions_were_built_from(warehouse):
    settings = warehouse
    (built,) = query(settings, "select master_data_loaded_at from staging.int_master_data_loads")
    assert stamps(settings) == {built[0]}
    # a retailer the facts hold as unknown
    retailer, retailer_rows = unknown_retailer(settings)

    # an evening drop lands (the same customers and that retailer), but no evening build runs
    land_new_customer_drop(Path(settings.source), retailer)
    assert load_step(settings, "evening").ok
    (landed,) = query(settings, "select max(_loaded_at) from raw.customer_master")
    assert landed[0] > built[0]
    assert query(settings, "select master_data_loaded_at from staging.int_master_data_loads") == [
        built
    ]

    # the morning run enriches with the dimensions as they are, and says so
    result = run_dbt(["run", "--select", *FACTS], settings, timeout=600)
    assert result.ok, "\n".join(result.failures())
    assert stamps(settings) == {built[0]}

    # the evening build refreshes the dimensions, then the stamp and the changes; the next
    # morning enriches again the facts of the one member that changed, and records the new
    # master data on them only
    result = run_dbt(["run", "--select", "tag:evening"], settings, timeout=600)
    assert result.ok, "\n".join(result.failures())
    (rebuilt,) = query(settings, "select master_data_loaded_at from staging.int_master_data_loads")
    assert rebuilt[0] == landed[0]
    result = run_dbt(["run", "--select", *FACTS], settings, timeout=600)
    assert result.ok, "\n".join(result.failures())
    assert stamps(settings) == {built[0], landed[0]}
    assert query(
        settings,
        "select retailer_code, is_unknown_customer, count(*) from marts.fct_secondary_sales"
        f" where _master_data_loaded_at = '{landed[0].isoformat()}' group by all",
    ) == [(retailer, False, retailer_rows)]


def unknown_retailer(settings: Settings) -> tuple[str, int]:
    """The retailer the sales fact holds as unknown most often, and its number of facts."""
    ((retailer, rows),) = query(
        settings,
        "select retailer_code, count(*) from marts.fct_secondary_sales"
        " where is_unknown_customer and retailer_code is not null"
        " group by retailer_code order by count(*) desc, retailer_code limit 1",
    )
    return retailer, rows


def test_a_morning_records_dimensions_an_evening_build_left_unrecorded(warehouse):
    """An evening build that rebuilt dim_customer and stopped before int_master_data_changes (a
    failed test, a timeout): the morning build records the change before the facts, so the
    facts of the customer it added are fixed that morning, not left enriched with a dimension
    state nobody recorded."""
    settings = warehouse
    retailer, rows = unknown_retailer(settings)
    land_new_customer_drop(Path(settings.source), retailer)
    assert load_step(settings, "evening").ok
    result = run_dbt(["run", "--select", "+dim_customer"], settings, timeout=600)
    assert result.ok, "\n".join(result.failures())

    result = run_dbt(["run", "--select", "tag:morning"], settings, timeout=600)
    assert result.ok, "\n".join(result.failures())
    assert "int_master_data_changes" in {n["unique_id"].rsplit(".", 1)[1] for n in result.nodes}
    assert query(
        settings,
        "select member_kind from staging.int_master_data_changes"
        f" where member_code = '{retailer}'"
        " and _built_at = (select max(_built_at) from staging.int_master_data_changes)",
    ) == [("customer",)]
    assert query(
        settings,
        "select is_unknown_customer, count(*) from marts.fct_secondary_sales"
        f" where retailer_code = '{retailer}' group by all",
    ) == [(False, rows)]


def test_a_fresh_changes_table_enriches_every_held_fact_again(warehouse):
    """A full refresh of int_master_data_changes cannot tell which members changed or went since
    the facts were enriched: it records `all`, and the next build of the facts rewrites every
    held fact (the build after that, with nothing pending, rewrites none)."""
    settings = warehouse

    def rows_of_last_build() -> tuple[int, int]:
        ((last, total),) = query(
            settings,
            "select count(*) filter (where _built_at = (select max(_built_at)"
            " from marts.fct_primary_dispatch)), count(*) from marts.fct_primary_dispatch",
        )
        return last, total

    result = run_dbt(
        ["run", "--select", "int_master_data_changes", "--full-refresh"], settings, timeout=600
    )
    assert result.ok, "\n".join(result.failures())
    assert query(
        settings,
        "select member_code from staging.int_master_data_changes where member_kind = 'all'",
    ) == [("*",)]
    result = run_dbt(["run", "--select", *FACTS], settings, timeout=600)
    assert result.ok, "\n".join(result.failures())
    written, total = rows_of_last_build()
    assert written == total > 0
    # by the `all` branch, not because every member was written anew (which also selects
    # almost every fact)
    compiled = Path(os.environ["DBT_TARGET_PATH"]).rglob("fct_primary_dispatch.sql")
    assert any("recorded anew" in f.read_text() for f in compiled if "compiled" in f.parts)
    (before,) = query(settings, "select max(_built_at) from marts.fct_primary_dispatch")
    result = run_dbt(["run", "--select", *FACTS], settings, timeout=600)
    assert result.ok, "\n".join(result.failures())
    # nothing pending any more: the build wrote no row
    assert query(settings, "select max(_built_at) from marts.fct_primary_dispatch") == [before]
