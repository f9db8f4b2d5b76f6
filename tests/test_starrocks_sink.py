"""The StarRocks sink through `loader.land.land`, against the StarRocks double (both halves:
MySQL port for SQL, Stream Load HTTP for rows), loopback only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loader import datasets as ds
from loader.errors import TerminalError
from loader.land import land
from loader.settings import Settings
from loader.sinks import open_sink
from loader.sinks.starrocks import StarRocksSink, create_table_sql, literal, sort_key
from loader.sources.local import LocalSource
from tests.fixtures.sample import fis_table, write_parquet

FILES_PER_DATASET = 2


@pytest.fixture
def landing(small_landing, tmp_path) -> Path:
    """The first files of every dataset of the small sample (every type and shape, fast)."""
    dest = tmp_path / "landing"
    for name in ds.load_datasets():
        files = sorted((small_landing / name).glob("dt=*/*.parquet"))[:FILES_PER_DATASET]
        assert files, name
        for f in files:
            target = dest / f.relative_to(small_landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, target)
    (dest / "fis" / "notes.txt").write_text("junk")
    return dest


@pytest.fixture
def double(fresh_starrocks_double):
    assert fresh_starrocks_double.stream_load is not None, "the double's HTTP half is missing"
    return fresh_starrocks_double


def settings(double, **kw) -> Settings:
    values = dict(
        target="starrocks",
        starrocks_host=double.host,
        starrocks_query_port=double.query_port,
        starrocks_http_port=double.http_port,
        starrocks_user=double.user,
        starrocks_password=double.password,
    )
    values.update(kw)
    return Settings(**values)


def sink_for(double, **kw) -> StarRocksSink:
    sink = StarRocksSink.from_settings(settings(double), **kw)
    sink.client.backoff = 0.01
    return sink


def run(root, double, datasets=None, **kw):
    sink = sink_for(double, **kw)
    try:
        return land(LocalSource(root), sink, datasets or ds.select("all"), batch_rows=100)
    finally:
        sink.close()


def sql(double, statement: str) -> list[tuple]:
    con = double.connect()
    try:
        cur = con.cursor()
        cur.execute(statement)
        return [tuple(r) for r in cur.fetchall()]
    finally:
        con.close()


def utc_wall_clock(row: dict) -> dict:
    """A row as StarRocks hands it back: a zoned timestamp lands as its UTC wall clock (DATETIME
    has no zone; the sink sends UTC)."""
    return {
        k: v.astimezone(dt.UTC).replace(tzinfo=None)
        if isinstance(v, dt.datetime) and v.tzinfo
        else v
        for k, v in row.items()
    }


def parquet_files(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): pq.ParquetFile(p).metadata.num_rows
        for p in sorted(root.glob("*/dt=*/*.parquet"))
    }


# ------------------------------------------------------------------------------ the happy path
def test_sample_lands_with_lineage_and_ledger_then_nothing_twice(landing, double):
    report = run(landing, double)
    files = parquet_files(landing)
    assert report.ok, [r.error for r in report.results if r.error]
    assert len(report.of("loaded")) == len(files) == 7 * FILES_PER_DATASET
    assert report.rows == sum(files.values())
    assert [i.path for i in report.ignored] == ["fis/notes.txt"]
    for rel, n in files.items():
        dataset = rel.split("/")[0]
        got = sql(
            double,
            "select count(*), min(_source_row), max(_source_row), count(distinct _source_row), "
            f"count(distinct _loaded_at) from raw.{dataset} where _source_file = {literal(rel)}",
        )[0]
        assert got == ((n, 0, n - 1, n, 1) if n else (0, None, None, 0, 0)), rel
    # rows arrive unchanged, in file order (text with quotes, decimals, dates, NULLs)
    rel = next(r for r, n in files.items() if r.startswith("fis/") and n)
    expected = pq.read_table(landing / rel)
    columns = expected.column_names
    got = sql(
        double,
        f"select {', '.join(f'`{c}`' for c in columns)} from raw.fis "
        f"where _source_file = {literal(rel)} order by _source_row",
    )
    assert len(got) == expected.num_rows > 0
    assert [dict(zip(columns, r, strict=True)) for r in got] == [
        utc_wall_clock(r) for r in expected.to_pylist()
    ]
    ledger = sql(double, "select file_path, status, `rows`, version from raw.load_ledger")
    assert sorted((r[0], r[1], r[2]) for r in ledger) == sorted(
        (p, "loaded", n) for p, n in files.items()
    )
    # the payload went to the BE only, once per file
    http = double.stream_load.stats
    non_empty = [p for p, n in files.items() if n]
    assert http.fe_body_bytes == 0 and len(http.of("be", "_stream_load")) == len(non_empty)
    again = run(landing, double)
    assert again.ok and again.skipped == len(files) and not again.results
    assert sql(double, "select count(*) from raw.load_ledger") == [(len(files),)]
    assert sql(double, "select count(*) from raw.fis")[0][0] == sum(
        n for p, n in files.items() if p.startswith("fis/")
    )


def test_raw_tables_follow_the_declaration(double):
    decl = ds.load_datasets()
    assert sort_key(decl["fis"]) == ["invoice_no", "invoice_line"]
    assert sort_key(decl["tsr_hierarchy"]) == ["tsr_code"]  # effective_from is not leading
    ddl = create_table_sql(decl["fis"], "raw", {"replication_num": "1"})
    assert "duplicate key(`invoice_no`, `invoice_line`)" in ddl
    assert "partition by date_trunc('month', `_loaded_at`)" in ddl
    assert "`_loaded_at` datetime not null" in ddl
    assert 'properties ("replication_num" = "1")' in ddl
    sink = sink_for(double)
    try:
        sink.prepare(ds.select("all"))
    finally:
        sink.close()
    meta = double.engine.table_meta("raw", "fis")
    assert meta.table_type == "DUPLICATE" and meta.keys == ["invoice_no", "invoice_line"]
    cols = dict(double.engine.table_columns("raw", "fis"))
    assert cols["gross_amount"] == "decimal(14,2)" and cols["_loaded_at"] == "datetime"
    assert list(cols)[-3:] == ["_source_file", "_source_row", "_loaded_at"]
    tables = {r[0] for r in sql(double, "show tables from raw")}
    assert tables == set(decl) | {"load_ledger"}


def test_open_sink_picks_starrocks_and_hides_the_password(double):
    sink = open_sink(settings(double))
    try:
        assert isinstance(sink, StarRocksSink)
        assert double.password not in sink.describe() and double.user in sink.describe()
    finally:
        sink.close()


# ----------------------------------------------------------------------------- crash safety
def test_big_files_land_all_or_nothing_through_transactions(tmp_path, double):
    root = tmp_path / "landing"
    write_parquet(root, "fis/dt=2026-11-01/part-001.parquet", fis_table(3000))
    write_parquet(root, "fis/dt=2026-11-02/part-001.parquet", fis_table(3000, start=9000))
    double.stream_load.inject("fail", op="load", skip=2)  # the 1st file's 3rd chunk
    fis = ds.select(names=["fis"])
    report = run(root, double, fis, chunk_bytes=50_000)
    assert [r.status for r in report.results] == ["failed", "loaded"]
    assert "injected failure in load" in report.results[0].error
    first = "fis/dt=2026-11-01/part-001.parquet"
    assert sql(double, f"select count(*) from raw.fis where _source_file = {literal(first)}") == [
        (0,)
    ]
    assert sql(double, "select file_path from raw.load_ledger") == [
        ("fis/dt=2026-11-02/part-001.parquet",)
    ]
    ops = [r.path.rsplit("/", 1)[-1] for r in double.stream_load.stats.of("be", "transaction")]
    assert ops.count("commit") == 1 and ops.count("rollback") == 1 and ops.count("load") > 4
    rerun = run(root, double, fis, chunk_bytes=50_000)
    assert [r.status for r in rerun.results] == ["loaded"] and rerun.rows == 3000
    assert sql(double, "select count(*), count(distinct _source_row) from raw.fis") == [
        (6000, 3000)
    ]


def test_crash_between_commit_and_ledger_write_is_exactly_once(tmp_path, double, monkeypatch):
    root = tmp_path / "landing"
    write_parquet(root, "fis/dt=2026-11-01/part-001.parquet", fis_table(500))
    fis = ds.select(names=["fis"])
    real = StarRocksSink._insert_ledger

    def crash(self, entry, rows):
        raise ConnectionError("the loader died after the commit")

    monkeypatch.setattr(StarRocksSink, "_insert_ledger", crash)
    report = run(root, double, fis)
    assert [r.status for r in report.results] == ["failed"]
    assert sql(double, "select count(*) from raw.fis") == [(500,)]  # committed, not recorded
    monkeypatch.setattr(StarRocksSink, "_insert_ledger", real)
    rerun = run(root, double, fis)
    assert [(r.status, r.rows) for r in rerun.results] == [("loaded", 500)]
    assert sql(double, "select count(*) from raw.fis") == [(500,)]  # not twice
    assert sql(double, "select status, `rows` from raw.load_ledger") == [("loaded", 500)]
    # the ledger row carries the load time of the rows the first run committed (the
    # dimensions keep the rows of a file's latest load by it), not the rerun's
    assert sql(
        double,
        "select count(*) from raw.load_ledger as l join raw.fis as f"
        " on f._source_file = l.file_path and f._loaded_at = l.loaded_at",
    ) == [(500,)]


def test_changed_file_is_loaded_again(tmp_path, double):
    root = tmp_path / "landing"
    rel = "fis/dt=2026-11-01/part-001.parquet"
    write_parquet(root, rel, fis_table(100))
    fis = ds.select(names=["fis"])
    run(root, double, fis)
    write_parquet(root, rel, fis_table(120, start=100))
    report = run(root, double, fis)
    assert [(r.status, r.rows) for r in report.results] == [("loaded", 120)]
    assert sql(double, "select count(*) from raw.fis") == [(220,)]
    assert len({r[0] for r in sql(double, "select version from raw.load_ledger")}) == 2


def test_bad_file_is_quarantined_and_recorded(tmp_path, double):
    root = tmp_path / "landing"
    write_parquet(root, "fis/dt=2026-11-01/part-001.parquet", fis_table(50))
    bad = root / "fis/dt=2026-11-02/part-001.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"PAR1 this is not parquet")
    fis = ds.select(names=["fis"])
    report = run(root, double, fis)
    assert sorted(r.status for r in report.results) == ["loaded", "quarantined"]
    assert sorted(sql(double, "select status from raw.load_ledger")) == [
        ("loaded",),
        ("quarantined",),
    ]
    assert run(root, double, fis).skipped == 2  # quarantined counts as done


def test_rows_starrocks_rejects_fail_the_file_with_the_rows_shown(tmp_path, double):
    root = tmp_path / "landing"
    table = fis_table(20)
    write_parquet(root, "fis/dt=2026-11-01/part-001.parquet", table)
    con = double.connect()
    try:
        cur = con.cursor()
        cur.execute("create database if not exists raw")
        # a table that disagrees with the declaration: invoice numbers are not integers
        cur.execute(
            "create table raw.fis (invoice_no bigint, invoice_line int) duplicate key(invoice_no)"
        )
    finally:
        con.close()
    report = run(root, double, ds.select(names=["fis"]))
    (result,) = report.results
    assert result.status == "failed"
    assert "StarRocks rejected rows" in result.error and "INV00000000" in result.error
    assert sql(double, "select count(*) from raw.fis") == [(0,)]
    assert sql(double, "select count(*) from raw.load_ledger") == [(0,)]


def test_text_longer_than_a_varchar_quarantines_the_file_others_load(tmp_path, double):
    """StarRocks would reject the row on every run (a VARCHAR holds 65,533 bytes) and the file
    would fail for good: it is a bad file for this target, quarantined with the column and row
    named, and nothing of it lands, even from the batch before the long value."""
    root = tmp_path / "landing"
    write_parquet(root, "fis/dt=2026-11-01/part-001.parquet", fis_table(50))
    table = fis_table(200, start=50)
    codes = table.column("retailer_code").to_pylist()
    codes[150] = "R" * 70_000
    table = table.set_column(
        table.schema.get_field_index("retailer_code"), "retailer_code", pa.array(codes)
    )
    write_parquet(root, "fis/dt=2026-11-02/part-001.parquet", table)
    report = run(root, double, ds.select(names=["fis"]))  # 100 rows per batch
    status = {r.file.path: (r.status, r.error) for r in report.results}
    assert status["fis/dt=2026-11-01/part-001.parquet"] == ("loaded", None)
    bad_status, reason = status["fis/dt=2026-11-02/part-001.parquet"]
    assert bad_status == "quarantined"
    assert "column retailer_code row 150: a text of 70,000 bytes" in reason
    assert sql(double, "select count(*) from raw.fis") == [(50,)]
    assert sorted(sql(double, "select status from raw.load_ledger")) == [
        ("loaded",),
        ("quarantined",),
    ]


# ------------------------------------------------------------------------------ schema drift
def test_declared_column_added_later_is_added_to_the_table(tmp_path, double):
    fis = ds.load_datasets()["fis"]
    root = tmp_path / "landing"
    write_parquet(root, "fis/dt=2026-11-01/part-001.parquet", fis_table(10))
    run(root, double, [fis])
    extra = ds.Column("promo_code", "string")
    drifted = dataclasses.replace(fis, columns=fis.columns + (extra,))
    table = fis_table(10, start=10)
    table = table.append_column("promo_code", pa.array(["P1"] * 10))
    write_parquet(root, "fis/dt=2026-11-02/part-001.parquet", table)
    report = run(root, double, [drifted])
    assert report.ok and report.rows == 10
    cols = [c for c, _ in double.engine.table_columns("raw", "fis")]
    assert cols[-1] == "promo_code"
    assert sorted(
        sql(double, "select promo_code, count(*) from raw.fis group by promo_code"), key=str
    ) == sorted([(None, 10), ("P1", 10)], key=str)


# ------------------------------------------------------------------------------ credentials
def test_wrong_password_stops_the_run_without_showing_it(landing, double, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-" + double.password
    sink = StarRocksSink.from_settings(settings(double, starrocks_password=wrong))
    try:
        with pytest.raises(TerminalError) as info:
            land(LocalSource(landing), sink, ds.select("all"))
    finally:
        sink.close()
    assert double.user in str(info.value)
    assert wrong not in str(info.value) and wrong not in caplog.text


def test_an_operations_query_error_on_starrocks_is_one_classified_line(double):
    """The operations steps' queries (run history, audits, rollups, constants) go through
    pipeline.warehouse: a StarRocks SQL error is terminal with the server's message (the step
    fails with one line, not "crashed" and a traceback), a lost server transient (retried)."""
    from loader.errors import TransientError
    from pipeline import warehouse as wh

    with wh.connect(settings(double)) as con:
        assert con.execute("select 1") == [(1,)]
        with pytest.raises(TerminalError, match=r"StarRocks \(query\) error .*no_such_table"):
            con.execute("select * from raw.no_such_table")
    unreachable = wh.connect(settings(double, starrocks_query_port=1))
    with pytest.raises(TransientError, match="StarRocks unreachable"), unreachable:
        pass


def test_a_publish_timeout_waits_until_the_rows_are_visible(tmp_path, double, monkeypatch):
    """Publish Timeout: committed, visible later. The ledger row (and so any build) waits until
    the file's rows can be read: the facts' watermark would otherwise move past rows that were
    not visible yet, and they would never be read. Past the wait the file fails, transient."""
    from loader.sinks import starrocks

    root = tmp_path / "landing"
    write_parquet(root, "fis/dt=2026-11-01/part-001.parquet", fis_table(50))
    fis = ds.select(names=["fis"])
    polls = []
    real_execute = StarRocksSink._execute

    def not_yet_visible(self, statement):
        rows = real_execute(self, statement)
        if statement.startswith("select `_loaded_at`, count(*) from `raw`.`fis`"):
            polls.append(rows[0][1])
            if len(polls) <= 2:
                return []  # StarRocks has not published the version yet
        return rows

    monkeypatch.setattr(StarRocksSink, "_execute", not_yet_visible)
    monkeypatch.setattr(starrocks.time, "sleep", lambda _s: None)
    double.stream_load.inject("publish_timeout")
    report = run(root, double, fis)
    assert [(r.status, r.rows) for r in report.results] == [("loaded", 50)]
    assert polls == [50, 50, 50]  # asked until the rows showed
    assert sql(double, "select status, `rows` from raw.load_ledger") == [("loaded", 50)]

    # never visible within the wait: the file fails (transient), no ledger row claims it
    write_parquet(root, "fis/dt=2026-11-02/part-001.parquet", fis_table(20, start=100))
    polls.clear()
    monkeypatch.setattr(
        StarRocksSink,
        "_execute",
        lambda self, st: (
            []
            if st.startswith("select `_loaded_at`, count(*) from `raw`.`fis`")
            else real_execute(self, st)
        ),
    )
    double.stream_load.inject("publish_timeout")
    report = run(root, double, fis, visible_wait=0)
    (failed,) = report.of("failed")
    assert "committed to StarRocks (Publish Timeout) but 0 of 20 rows visible" in failed.error
    assert sql(double, "select count(*) from raw.load_ledger") == [(1,)]
    # the next run meets the label committed: it waits for the rows too (here visible), and the
    # ledger row takes their load time, not this run's
    monkeypatch.setattr(StarRocksSink, "_execute", real_execute)
    again = run(root, double, fis)
    assert [(r.status, r.rows) for r in again.results] == [("loaded", 20)]
    assert sql(
        double,
        "select count(*) from raw.load_ledger as l join raw.fis as f"
        " on f._source_file = l.file_path and f._loaded_at = l.loaded_at",
    ) == [(70,)]


def test_the_load_timeout_comes_from_the_settings(tmp_path, double):
    """A large backfill file needs more than StarRocks's default 600 s from begin to commit:
    DATAWIZ_STARROCKS_LOAD_TIMEOUT_SECONDS reaches the transaction's `timeout` header."""
    root = tmp_path / "landing"
    write_parquet(root, "fis/dt=2026-11-01/part-001.parquet", fis_table(30))
    write_parquet(root, "fis/dt=2026-11-02/part-001.parquet", fis_table(3000, start=100))
    sink = StarRocksSink.from_settings(
        settings(double, starrocks_load_timeout_seconds=5400), chunk_bytes=50_000
    )
    try:
        assert land(LocalSource(root), sink, ds.select(names=["fis"]), batch_rows=100).ok
    finally:
        sink.close()
    # the small file as one Stream Load, the large one as a transaction of chunks
    stats = double.stream_load.stats
    sent = stats.of("be", "_stream_load") + stats.of("be", "transaction/begin")
    assert {r.path.rsplit("/", 1)[-1] for r in sent} == {"_stream_load", "begin"}
    assert {r.headers.get("timeout") for r in sent} == {"5400"}


def test_a_label_whose_rows_were_deleted_fails_at_once_saying_why(tmp_path, double):
    """Rows and ledger row deleted by hand to land a file again: StarRocks still holds the
    label (3 days) and answers the same load as already loaded. No row will ever show up, so
    the file fails with the reason and the way out, not retried as a late publish."""
    root = tmp_path / "landing"
    write_parquet(root, "fis/dt=2026-11-01/part-001.parquet", fis_table(30))
    fis = ds.select(names=["fis"])
    assert run(root, double, fis).ok
    sql(double, "delete from raw.fis where _source_file = 'fis/dt=2026-11-01/part-001.parquet'")
    sql(
        double, "delete from raw.load_ledger where file_path = 'fis/dt=2026-11-01/part-001.parquet'"
    )
    t0 = time.monotonic()
    report = run(root, double, fis, label_gone_wait=0.2)  # visible_wait: 300 s, the default
    assert time.monotonic() - t0 < 30  # no waiting out the visibility wait for rows long gone
    (failed,) = report.of("failed")
    assert not failed.transient  # the load step does not land it again in vain
    assert "reports this file version loaded under its label, but none of its rows" in failed.error
    assert "upload the file again" in failed.error
    assert sql(double, "select count(*) from raw.load_ledger") == [(0,)]
