"""pipeline.dbt.run_dbt: each dbt command runs in a child forked from a server that imported dbt
once. The child gets the pipeline's settings, its exit code means what the dbt CLI's does, and a
timeout (or an interrupt in the parent) kills it and releases the warehouse."""

from __future__ import annotations

import multiprocessing
import signal
from pathlib import Path

import pytest

from loader import datasets as ds
from loader.errors import TerminalError, TransientError
from loader.land import land
from loader.settings import Settings
from loader.sinks.duckdb import DuckDBSink
from loader.sources.local import LocalSource
from pipeline import warehouse
from pipeline.dbt import run_dbt
from tests.fixtures.sample import fis_table, write_parquet

MODEL = "stg_landing__fis"


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    return Settings.from_env(
        source=str(tmp_path / "landing"), duckdb_path=str(tmp_path / "w.duckdb")
    )


@pytest.fixture
def landed(settings) -> Settings:
    root = Path(settings.source)
    write_parquet(root, "fis/dt=2026-11-01/part-001.parquet", fis_table(25))
    sink = DuckDBSink(settings.duckdb_path)
    land(LocalSource(root), sink, ds.select("morning"))
    sink.close()
    return settings


def assert_released(settings: Settings) -> None:
    """No dbt child is left, and the warehouse takes a writer again (DuckDB locks its file)."""
    assert multiprocessing.active_children() == []
    with warehouse.connect(settings) as con:
        con.execute("create or replace table main.probe as select 1 as x")


def test_the_child_runs_against_the_settings_warehouse(landed):
    result = run_dbt(["run", "--select", MODEL], landed, timeout=300)
    assert result.ok and result.returncode == 0
    assert [n["unique_id"] for n in result.nodes] == [f"model.datawiz.{MODEL}"]
    with warehouse.connect(landed, read_only=True) as con:
        assert con.execute(f"select count(*) from staging.{MODEL}") == [(25,)]
    assert_released(landed)


def test_a_failing_node_is_a_result_with_exit_code_1(settings):
    # nothing landed: the staging view's source table does not exist
    result = run_dbt(["run", "--select", MODEL], settings, timeout=300)
    assert result.returncode == 1 and not result.ok
    failures = result.failures()
    assert len(failures) == 1 and failures[0].startswith(f"model.datawiz.{MODEL}: error: ")
    message = failures[0].split(": ", 2)[2]
    assert "fis" in message and "does not exist" in message  # names the missing raw table
    # the child ran dbt's exit handlers, as the CLI does: dbt-duckdb closed, and so
    # checkpointed, the database (the run had created the schema): no write-ahead log is left
    assert Path(settings.duckdb_path).exists()
    assert not Path(f"{settings.duckdb_path}.wal").exists()


def test_a_command_dbt_cannot_run_is_terminal(settings):
    with pytest.raises(TerminalError, match="No such command 'no-such-command'") as err:
        run_dbt(["no-such-command"], settings, timeout=300)
    assert "exit 2" in str(err.value)


def test_a_timeout_kills_the_child_and_is_transient(landed):
    with pytest.raises(TransientError, match="timed out after"):
        run_dbt(["build", "--select", MODEL], landed, timeout=0.05)
    assert_released(landed)
    # and the next command runs normally
    assert run_dbt(["run", "--select", MODEL], landed, timeout=300).ok


def test_an_interrupt_in_the_parent_kills_the_child(landed):
    """The runner's step deadline is a SIGALRM in the parent: the exception it raises while
    run_dbt waits must not leave dbt running (holding the warehouse) behind."""

    class Deadline(Exception):
        pass

    def fire(signum, frame):
        raise Deadline

    # the dbt server is started (dbt imported) first, so the deadline falls while the child runs
    assert run_dbt(["ls", "--select", MODEL], landed, timeout=300).ok
    previous = signal.signal(signal.SIGALRM, fire)
    # (pytest-timeout's own alarm, if any, is put back afterwards)
    previous_timer = signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        with pytest.raises(Deadline):
            run_dbt(["build", "--select", MODEL], landed)
    finally:
        signal.signal(signal.SIGALRM, previous)
        signal.setitimer(signal.ITIMER_REAL, *previous_timer)
    assert_released(landed)
