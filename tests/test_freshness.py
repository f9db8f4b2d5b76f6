"""The morning freshness step runs real `dbt source freshness` on the landed facts."""

from __future__ import annotations

import duckdb

from loader import datasets as ds
from loader.land import land
from loader.settings import Settings
from loader.sinks.duckdb import DuckDBSink
from loader.sources.local import LocalSource
from pipeline.pipelines import freshness_step
from tests.fixtures.sample import fis_table, write_parquet


def test_stale_extracts_are_reported_by_dataset(tmp_path, monkeypatch):
    root = tmp_path / "landing"
    write_parquet(root, "fis/dt=2026-11-01/part-001.parquet", fis_table(20))
    db = tmp_path / "w.duckdb"
    sink = DuckDBSink(db)
    land(LocalSource(root), sink, ds.select("morning"))
    sink.close()
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    settings = Settings.from_env(source=str(root), duckdb_path=str(db))

    fresh = freshness_step(settings, "morning")
    assert "fis:" not in fresh.detail  # just landed: fis passes

    con = duckdb.connect(str(db))
    con.execute("update raw.fis set _loaded_at = _loaded_at - interval 60 hour")
    con.close()
    stale = freshness_step(settings, "morning")
    assert not stale.ok and stale.warning
    assert "fis: error (last load" in stale.detail  # over error_after (50 h)
