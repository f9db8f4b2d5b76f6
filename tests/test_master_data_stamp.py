"""The master-data version the facts record (`_master_data_loaded_at`) follows what the
dimensions were built from, not what has landed: int_master_data_loads is a table the evening
build refreshes after the dimensions. A drop that landed while the evening build did not run
(or failed before the dimensions) is recorded by no fact; once the evening build has run, the
next morning enriches every held fact again and records it."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

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


def land_new_customer_drop(landing: Path) -> None:
    """The newest customer-master drop again, under the next day's dt= (a new drop, same rows)."""
    drops = sorted((landing / "customer_master").glob("dt=*"))
    newest = drops[-1]
    day = date.fromisoformat(newest.name[3:]) + timedelta(days=1)
    shutil.copytree(newest, newest.parent / f"dt={day.isoformat()}")


def test_facts_record_the_master_data_the_dimensions_were_built_from(warehouse):
    settings = warehouse
    (built,) = query(settings, "select master_data_loaded_at from staging.int_master_data_loads")
    assert stamps(settings) == {built[0]}

    # an evening drop lands, but no evening dbt build runs
    land_new_customer_drop(Path(settings.source))
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

    # the evening build refreshes the dimensions, then the stamp; the next morning enriches every
    # held fact again
    result = run_dbt(["run", "--select", "tag:evening"], settings, timeout=600)
    assert result.ok, "\n".join(result.failures())
    (rebuilt,) = query(settings, "select master_data_loaded_at from staging.int_master_data_loads")
    assert rebuilt[0] == landed[0]
    result = run_dbt(["run", "--select", *FACTS], settings, timeout=600)
    assert result.ok, "\n".join(result.failures())
    assert stamps(settings) == {landed[0]}
