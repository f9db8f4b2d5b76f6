"""A dimension drop with a quarantined file is not a whole snapshot (current_drop_versions): the
real loader quarantines the bad file, the real evening dbt build keeps the last whole drop
current (so the members the bad file held do not vanish) and warns, naming the file; once the
file is delivered again and lands, the drop is whole and current. Held back for days, the
dimension fails the evening audit step instead of only warning."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from loader.settings import Settings
from pipeline.dbt import run_dbt
from pipeline.pipelines import dbt_build_args, load_step
from tests.marts_warehouse import dbt_target_path

pytestmark = pytest.mark.slow

WARN_TEST = "assert_dimension_newest_drop_is_whole"
ERROR_TEST = "assert_dimension_not_held_back"  # the evening audit step's, tag `audit`


def _customers(duckdb_path) -> dict[str, tuple]:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        rows = con.execute("select customer_code, customer_name from marts.dim_customer").fetchall()
    return dict(rows)


def test_a_partial_customer_drop_is_not_current_until_its_file_lands(landing_copy, tmp_path):
    settings = Settings(source=str(landing_copy), duckdb_path=str(tmp_path / "wh.duckdb"))

    def evening():
        loaded = load_step(settings, "evening")
        with dbt_target_path(tmp_path / "target"):
            result = run_dbt(dbt_build_args("evening"), settings, timeout=600)
        assert result.ok, "\n".join(result.failures()) or result.output_tail
        (warn_test,) = [n for n in result.nodes if WARN_TEST in n["unique_id"]]
        return loaded, warn_test

    def held_back_audit():
        with dbt_target_path(tmp_path / "target"):
            result = run_dbt(["test", "--select", ERROR_TEST], settings, timeout=600)
        (node,) = result.nodes
        return node

    _, warn_test = evening()
    assert warn_test["status"] == "pass"
    before = _customers(settings.duckdb_path)
    assert len(before) > 10

    # the next day's customer drop: every customer renamed, the first half in part-001, the
    # second half in part-002, which arrives as junk and is quarantined
    drops = sorted((landing_copy / "customer_master").glob("dt=*"))
    current = pq.read_table(sorted(drops[-1].glob("*.parquet")))
    renamed = current.set_column(
        current.schema.get_field_index("customer_name"),
        "customer_name",
        pc.binary_join_element_wise("RENAMED ", current["customer_name"], ""),
    )
    half = renamed.num_rows // 2
    next_day = date.fromisoformat(drops[-1].name[3:]) + timedelta(days=1)
    new_drop = landing_copy / "customer_master" / f"dt={next_day}"
    new_drop.mkdir()
    pq.write_table(renamed.slice(0, half), new_drop / "part-001.parquet")
    (new_drop / "part-002.parquet").write_bytes(b"PAR1 not a parquet file PAR1")

    loaded, warn_test = evening()
    assert "quarantined 1" in loaded.detail
    # the whole drop of the day before stays current: nobody vanished, nobody renamed
    assert _customers(settings.duckdb_path) == before
    assert warn_test["status"] == "warn" and warn_test["failures"] == 1
    # held back since today: a warning, not yet an error of the audit step
    assert held_back_audit()["status"] == "pass"
    # the same, four days on (the quarantine in the ledger made four days older): held back
    # past dimension_held_back_error_days (3), the audit fails, naming the dataset
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute(
            "update raw.load_ledger set loaded_at = loaded_at - interval 4 day where file_path = ?",
            [f"customer_master/dt={next_day}/part-002.parquet"],
        )
    audit = held_back_audit()
    assert audit["status"] == "fail" and audit["failures"] == 1
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        (compiled,) = con.execute("select * from (" + audit["compiled_code"] + ")").fetchall()
    assert compiled[0] == "customer_master" and compiled[2] == next_day

    # part-002 delivered again, now whole: a new version of the file, landed; the drop is current
    pq.write_table(renamed.slice(half), new_drop / "part-002.parquet")
    loaded, warn_test = evening()
    assert "quarantined 0" in loaded.detail and "loaded 1" in loaded.detail
    after = _customers(settings.duckdb_path)
    assert after.keys() == before.keys()
    assert all(name.startswith("RENAMED ") for name in after.values())
    assert warn_test["status"] == "pass"
    assert held_back_audit()["status"] == "pass"
