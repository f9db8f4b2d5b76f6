"""A small DuckDB warehouse with every model built, made once per test session and shared by
tests/test_dbt_marts.py and tests/test_docs_site.py (building it is the slow part of both)."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loader.settings import Settings
from pipeline.dbt import DbtResult, run_dbt
from pipeline.pipelines import load_step


@dataclass(frozen=True)
class Warehouse:
    landing: Path
    duckdb_path: Path
    # dbt's target folder for this warehouse (manifest, compiled SQL, docs), not the project's
    target_path: Path
    settings: Settings


@contextlib.contextmanager
def dbt_target_path(path: Path) -> Iterator[None]:
    """Point dbt (and pipeline.dbt.run_dbt) at a private target folder for the duration, so
    tests never touch dbt_project/target that a developer may be using."""
    saved = os.environ.get("DBT_TARGET_PATH")
    os.environ["DBT_TARGET_PATH"] = str(path)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DBT_TARGET_PATH", None)
        else:
            os.environ["DBT_TARGET_PATH"] = saved


def dbt(warehouse: Warehouse, *args: str, timeout: float = 300) -> DbtResult:
    with dbt_target_path(warehouse.target_path):
        return run_dbt(list(args), warehouse.settings, timeout=timeout)


@functools.cache
def build(landing: Path, workdir: Path) -> Warehouse:
    """Land `landing` into a new DuckDB file under `workdir` and `dbt run` every model."""
    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        source=str(landing), target="duckdb", duckdb_path=str(workdir / "warehouse.duckdb")
    )
    warehouse = Warehouse(landing, workdir / "warehouse.duckdb", workdir / "target", settings)
    loaded = load_step(settings, "all")
    assert loaded.ok, loaded.detail
    result = dbt(warehouse, "run")
    assert result.ok, "\n".join(result.failures()) or result.output_tail
    return warehouse
