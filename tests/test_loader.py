"""The loader on the embedded default: local folder -> DuckDB, exactly once, with lineage."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loader import datasets as ds
from loader.cli import main as loader_main
from loader.land import land
from loader.sinks.duckdb import DuckDBSink
from loader.sources.local import LocalSource
from tests.fixtures.sample import fis_table, write_parquet


def _land(root, db):
    sink = DuckDBSink(db)
    try:
        return land(LocalSource(root), sink, ds.select("all"), batch_rows=700)
    finally:
        sink.close()


def _query(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "landing"
    write_parquet(r, "fis/dt=2026-11-01/part-001.parquet", fis_table(2500), row_group_size=1000)
    write_parquet(r, "fis/dt=2026-11-02/part-001.parquet", fis_table(300, start=5000))
    (r / "fis/dt=2026-11-02/_SUCCESS").write_text("")
    (r / "fis/notes.txt").write_text("not data")
    (r / "fis/dt=2026-11-03").mkdir(parents=True)
    (r / "fis/dt=2026-11-03/_SUCCESS").write_text("")
    write_parquet(r, "other/dt=2026-11-01/x.parquet", fis_table(5))
    return r


def test_every_row_lands_with_lineage(root, tmp_path):
    db = tmp_path / "w.duckdb"
    report = _land(root, db)
    assert report.ok and len(report.of("loaded")) == 2 and report.rows == 2800
    for rel in ("fis/dt=2026-11-01/part-001.parquet", "fis/dt=2026-11-02/part-001.parquet"):
        expected = pq.read_table(root / rel)
        got = _query(
            db,
            f"select count(*), min(_source_row), max(_source_row), count(distinct _source_row),"
            f" count(distinct _loaded_at) from raw.fis where _source_file = '{rel}'",
        )[0]
        n = expected.num_rows
        assert got == (n, 0, n - 1, n, 1)
        # the landed rows are the file's rows, unchanged and in file order
        columns = expected.column_names
        landed = _query(
            db,
            f"select {', '.join(columns)} from raw.fis "
            f"where _source_file = '{rel}' order by _source_row",
        )
        assert [dict(zip(columns, r, strict=True)) for r in landed] == expected.to_pylist()
    ledger = _query(
        db,
        "select file_path, status, rows, size_bytes > 0, version "
        "from raw.load_ledger order by file_path",
    )
    assert [(r[0], r[1], r[2]) for r in ledger] == [
        ("fis/dt=2026-11-01/part-001.parquet", "loaded", 2500),
        ("fis/dt=2026-11-02/part-001.parquet", "loaded", 300),
    ]
    assert all(r[3] and r[4].startswith("sha256:") for r in ledger)


def test_junk_is_ignored_and_reported(root, tmp_path):
    report = _land(root, tmp_path / "w.duckdb")
    reasons = {i.path: i.reason for i in report.ignored}
    assert reasons["fis/dt=2026-11-02/_SUCCESS"] == "not a .parquet file"
    assert reasons["fis/notes.txt"] == "not a .parquet file"
    assert reasons["other/dt=2026-11-01/x.parquet"] == "not under a known dataset folder"
    assert "fis/dt=2026-11-03/_SUCCESS" in reasons


def test_second_run_lands_nothing(root, tmp_path):
    db = tmp_path / "w.duckdb"
    _land(root, db)
    again = _land(root, db)
    assert again.of("loaded") == [] and again.skipped == 2
    assert _query(db, "select count(*) from raw.fis")[0][0] == 2800


def test_changed_file_is_loaded_again(root, tmp_path):
    db = tmp_path / "w.duckdb"
    _land(root, db)
    write_parquet(root, "fis/dt=2026-11-02/part-001.parquet", fis_table(10, start=9000))
    again = _land(root, db)
    assert [r.file.path for r in again.of("loaded")] == ["fis/dt=2026-11-02/part-001.parquet"]
    # both versions are landed rows: R3 in dbt decides between versions, the loader keeps all
    assert _query(db, "select count(*) from raw.fis")[0][0] == 2810
    versions = _query(
        db,
        "select count(distinct version) from raw.load_ledger "
        "where file_path = 'fis/dt=2026-11-02/part-001.parquet'",
    )
    assert versions[0][0] == 2


class ArrowOnlySource(LocalSource):
    """The local folder without `local_path`: files stream through Python as record batches,
    the path every remote source (Azure) takes."""

    local_path = None


def _land_via(root, db, source_cls):
    sink = DuckDBSink(db)
    try:
        return land(source_cls(root), sink, ds.select("all"), batch_rows=700)
    finally:
        sink.close()


@pytest.mark.parametrize("source_cls", [LocalSource, ArrowOnlySource])
def test_failure_mid_file_leaves_nothing_and_rerun_completes(
    root, tmp_path, monkeypatch, source_cls
):
    db = tmp_path / "w.duckdb"
    import loader.read
    import loader.sinks.duckdb

    real_batches = loader.read.FileReader._batches
    real_ledger = loader.sinks.duckdb.DuckDBSink._insert_ledger
    calls = {"ledger": 0}

    def flaky_batches(self, loaded_at):
        for i, batch in enumerate(real_batches(self, loaded_at)):
            if self.file.path.startswith("fis/dt=2026-11-01") and i == 2:
                raise ConnectionResetError("injected failure mid-file")
            yield batch

    def flaky_ledger(self, entry, rows):
        # the engine path: rows of the whole group are in, the transaction is not committed
        calls["ledger"] += 1
        if calls["ledger"] == 1 and source_cls is LocalSource:
            raise ConnectionResetError("injected failure before commit")
        return real_ledger(self, entry, rows)

    monkeypatch.setattr(loader.read.FileReader, "_batches", flaky_batches)
    monkeypatch.setattr(loader.sinks.duckdb.DuckDBSink, "_insert_ledger", flaky_ledger)
    first = _land_via(root, db, source_cls)
    failed = first.of("failed")
    assert [r.file.path for r in failed] == ["fis/dt=2026-11-01/part-001.parquet"]
    assert "injected failure mid-file" in failed[0].error  # the real cause, not a wrapper
    assert [r.file.path for r in first.of("loaded")] == ["fis/dt=2026-11-02/part-001.parquet"]
    assert (
        _query(db, "select count(*) from raw.fis where _source_file like 'fis/dt=2026-11-01/%'")[0][
            0
        ]
        == 0
    )
    assert (
        _query(
            db, "select count(*) from raw.load_ledger where file_path like 'fis/dt=2026-11-01/%'"
        )[0][0]
        == 0
    )

    monkeypatch.setattr(loader.read.FileReader, "_batches", real_batches)
    monkeypatch.setattr(loader.sinks.duckdb.DuckDBSink, "_insert_ledger", real_ledger)
    second = _land_via(root, db, source_cls)
    assert [r.file.path for r in second.of("loaded")] == ["fis/dt=2026-11-01/part-001.parquet"]
    assert _query(db, "select count(*), count(distinct _source_file || _source_row) from raw.fis")[
        0
    ] == (2800, 2800)


def test_both_read_paths_land_identical_rows(root, tmp_path):
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    _land_via(root, a, LocalSource)
    _land_via(root, b, ArrowOnlySource)
    cols = ", ".join(ds.load_datasets()["fis"].schema.names + ["_source_file", "_source_row"])
    con = duckdb.connect()
    con.execute(f"attach '{a}' as a (read_only)")
    con.execute(f"attach '{b}' as b (read_only)")
    diff = con.execute(
        f"select count(*) from ((select {cols} from a.raw.fis except all "
        f"select {cols} from b.raw.fis) union all (select {cols} from b.raw.fis except all "
        f"select {cols} from a.raw.fis))"
    ).fetchone()[0]
    assert con.execute("select count(*) from a.raw.fis").fetchone()[0] == 2800
    assert diff == 0


def test_corrupt_page_mid_file_is_quarantined_others_load(root, tmp_path):
    db = tmp_path / "w.duckdb"
    path = root / "fis/dt=2026-11-01/part-001.parquet"
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * 64  # a data page, not the footer: found only mid-read
    path.write_bytes(bytes(data))
    report = _land(root, db)
    assert [r.file.path for r in report.of("quarantined")] == ["fis/dt=2026-11-01/part-001.parquet"]
    assert [r.file.path for r in report.of("loaded")] == ["fis/dt=2026-11-02/part-001.parquet"]
    assert _query(db, "select count(*) from raw.fis")[0][0] == 300


def test_bad_files_are_quarantined_and_others_load(root, tmp_path):
    db = tmp_path / "w.duckdb"
    (root / "fis/dt=2026-11-04").mkdir()
    (root / "fis/dt=2026-11-04/part-001.parquet").write_bytes(b"PAR1 this is not parquet")
    write_parquet(root, "fis/dt=2026-11-05/part-001.parquet", fis_table(5).drop(["qty"]))
    report = _land(root, db)
    bad = {r.file.path: r.error for r in report.of("quarantined")}
    assert "not a readable Parquet file" in bad["fis/dt=2026-11-04/part-001.parquet"]
    assert bad["fis/dt=2026-11-05/part-001.parquet"] == "missing declared column(s) qty"
    assert report.rows == 2800 and report.ok
    assert (root / "_quarantine/fis/dt=2026-11-05/part-001.parquet").exists()
    assert (root / "fis/dt=2026-11-05/part-001.parquet").exists()  # nothing is lost
    # a quarantined version is not retried; a corrected upload (new version) is loaded
    assert _land(root, db).of("quarantined") == []
    write_parquet(root, "fis/dt=2026-11-05/part-001.parquet", fis_table(5, start=7000))
    assert [r.file.path for r in _land(root, db).of("loaded")] == [
        "fis/dt=2026-11-05/part-001.parquet"
    ]


def test_extra_columns_ignored_and_types_widened(root, tmp_path):
    db = tmp_path / "w.duckdb"
    t = fis_table(4, start=100)
    t = t.append_column("surprise", pa.array(["x"] * 4))
    t = t.set_column(
        t.schema.get_field_index("invoice_line"), "invoice_line", pa.array([1, 2, 3, 4], pa.int16())
    )
    write_parquet(root, "fis/dt=2026-11-06/part-001.parquet", t)
    report = _land(root, db)
    assert report.ok and report.of("quarantined") == []
    got = _query(
        db,
        "select invoice_line from raw.fis where _source_file like "
        "'fis/dt=2026-11-06/%' order by _source_row",
    )
    assert [r[0] for r in got] == [1, 2, 3, 4]


def test_cli_exit_codes_and_help(root, tmp_path, capsys):
    with pytest.raises(SystemExit) as help_exit:
        loader_main(["--help"])
    assert help_exit.value.code == 0
    db = str(tmp_path / "w.duckdb")
    assert loader_main(["--source", str(root), "--duckdb-path", db, "-q"]) == 0
    (root / "fis/dt=2026-11-07").mkdir()
    (root / "fis/dt=2026-11-07/part-001.parquet").write_bytes(b"garbage")
    assert loader_main(["--source", str(root), "--duckdb-path", db, "-q"]) == 3
    err = capsys.readouterr().err
    assert "fis/dt=2026-11-07/part-001.parquet" in err and "not a readable Parquet file" in err
    assert loader_main(["--source", str(tmp_path / "missing"), "--duckdb-path", db]) == 2
    # the warehouse file held by another process: transient (75, try later), one line, no
    # traceback
    capsys.readouterr()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({db!r}); print(1); "
         "sys.stdout.flush(); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "1"
        assert loader_main(["--source", str(root), "--duckdb-path", db, "-q"]) == 75
    finally:
        holder.communicate("")
    err = capsys.readouterr().err
    assert f"DuckDB file {db} is in use by another process" in err and "Traceback" not in err


def test_cli_takes_the_lock_of_the_scheduled_runs(root, tmp_path, capsys, monkeypatch):
    """Landing by hand (e.g. --retry-quarantined) while a scheduled run goes on would race it:
    the loader waits for the same lock, and gives up naming the holder; --list needs none."""
    import fcntl

    db = str(tmp_path / "w.duckdb")
    monkeypatch.setenv("DATAWIZ_LOCK_WAIT_SECONDS", "0")
    with open(tmp_path / ".datawiz.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("pid 4242: run morning since 2026-12-01 06:30:00 UTC\n")
        held.flush()
        assert loader_main(["--source", str(root), "--duckdb-path", db, "-q"]) == 2
        err = capsys.readouterr().err
        assert "another DataWiz run holds" in err and "pid 4242: run morning" in err
        assert loader_main(["--source", str(root), "--duckdb-path", db, "--list"]) == 0
    assert not (tmp_path / "w.duckdb").exists()  # nothing was landed while it was held
    assert loader_main(["--source", str(root), "--duckdb-path", db, "-q"]) == 0


# --- review findings: names, vanished files, I/O errors, lossy casts, quarantine copies -------


@pytest.mark.parametrize("source_cls", [LocalSource, ArrowOnlySource])
def test_odd_file_names_land_once_each(tmp_path, source_cls):
    # DuckDB's read_parquet treats [ ] * ? as a glob: `part[1]` would read `part1` twice
    root = tmp_path / "landing"
    names = ["part[1].parquet", "part1.parquet", "it's a ünïcödé name.parquet", "a*b.parquet"]
    for i, name in enumerate(names):
        write_parquet(root, f"fis/dt=2026-11-01/{name}", fis_table(10, start=100 * i))
    db = tmp_path / "w.duckdb"
    report = _land_via(root, db, source_cls)
    assert report.ok and len(report.of("loaded")) == 4
    got = _query(
        db, "select _source_file, count(*), min(invoice_no) from raw.fis group by 1 order by 1"
    )
    assert got == sorted(
        (f"fis/dt=2026-11-01/{name}", 10, f"INV{100 * i:08d}") for i, name in enumerate(names)
    )


class VanishingSource(LocalSource):
    """Lists a file, then it is deleted before it is read."""

    def list(self, datasets):
        listing = super().list(datasets)
        (self.root / "fis/dt=2026-11-01/part-001.parquet").unlink()
        return listing


class ArrowOnlyVanishingSource(VanishingSource):
    local_path = None


@pytest.mark.parametrize("source_cls", [VanishingSource, ArrowOnlyVanishingSource])
def test_file_removed_between_list_and_read_fails_alone(root, tmp_path, source_cls):
    db = tmp_path / "w.duckdb"
    report = _land_via(root, db, source_cls)
    assert [r.file.path for r in report.of("failed")] == ["fis/dt=2026-11-01/part-001.parquet"]
    assert [r.file.path for r in report.of("loaded")] == ["fis/dt=2026-11-02/part-001.parquet"]
    assert report.of("quarantined") == []
    assert _query(db, "select file_path, status from raw.load_ledger") == [
        ("fis/dt=2026-11-02/part-001.parquet", "loaded")
    ]


def test_a_file_that_cannot_be_read_while_listing_fails_alone(root, tmp_path, monkeypatch, capsys):
    """A data file the loader may not read (permissions: the hash of its content fails) fails
    alone, named with the reason, and the other files still load; a file removed between the
    folder walk and its hash is simply not there."""
    from loader.sources import local

    real_version = local.file_version

    def version(path):
        if path.name == "part-001.parquet" and path.parent.name == "dt=2026-11-01":
            raise PermissionError(13, "Permission denied", str(path))
        if path.name == "part-009.parquet":
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_version(path)

    write_parquet(root, "fis/dt=2026-11-02/part-009.parquet", fis_table(5, start=9000))
    monkeypatch.setattr(local, "file_version", version)
    db = tmp_path / "w.duckdb"
    report = _land(root, db)
    (failed,) = report.of("failed")
    assert failed.file.path == "fis/dt=2026-11-01/part-001.parquet"
    assert failed.error == "cannot read the file: PermissionError: Permission denied"
    assert [r.file.path for r in report.of("loaded")] == ["fis/dt=2026-11-02/part-001.parquet"]
    # --list names it too
    capsys.readouterr()
    assert loader_main(["--source", str(root), "--list", "--dataset", "fis"]) == 0
    assert (
        "# unreadable fis/dt=2026-11-01/part-001.parquet: cannot read the file: PermissionError"
        in capsys.readouterr().out
    )
    # the next run, with the file readable again, lands it
    monkeypatch.setattr(local, "file_version", real_version)
    again = _land(root, db)
    assert sorted(r.file.path for r in again.of("loaded")) == [
        "fis/dt=2026-11-01/part-001.parquet",
        "fis/dt=2026-11-02/part-009.parquet",
    ]


class FlakyDiskSource(LocalSource):
    """Reading one file fails with an I/O error of the disk (EIO): the file is not bad."""

    fail = True

    def open(self, file):
        stream = super().open(file)
        if not (self.fail and file.path.startswith("fis/dt=2026-11-01/")):
            return stream

        class Flaky:
            def __init__(self, inner):
                self.inner = inner

            def __getattr__(self, name):
                return getattr(self.inner, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.inner.close()

            def read(self, *args):
                raise OSError(5, "Input/output error")

        return Flaky(stream)


class ArrowOnlyFlakyDiskSource(FlakyDiskSource):
    local_path = None


@pytest.mark.parametrize("source_cls", [FlakyDiskSource, ArrowOnlyFlakyDiskSource])
def test_io_error_reading_a_file_is_retried_next_run_not_quarantined(root, tmp_path, source_cls):
    db = tmp_path / "w.duckdb"
    report = _land_via(root, db, source_cls)
    assert report.of("quarantined") == []
    assert [r.file.path for r in report.of("failed")] == ["fis/dt=2026-11-01/part-001.parquet"]
    assert "Input/output error" in report.of("failed")[0].error
    assert not (root / "_quarantine").exists()
    source_cls.fail = False
    try:
        again = _land_via(root, db, source_cls)
    finally:
        source_cls.fail = True
    assert [r.file.path for r in again.of("loaded")] == ["fis/dt=2026-11-01/part-001.parquet"]
    assert _query(db, "select count(*) from raw.fis")[0][0] == 2800


@pytest.mark.parametrize("source_cls", [LocalSource, ArrowOnlySource])
def test_lossy_cast_is_quarantined_on_both_read_paths(root, tmp_path, source_cls):
    from decimal import Decimal

    t = fis_table(2, start=50)
    t = t.set_column(
        t.schema.get_field_index("net_amount"),
        "net_amount",
        pa.array([Decimal("10.005"), Decimal("1.500")], pa.decimal128(18, 3)),
    )
    write_parquet(root, "fis/dt=2026-11-08/part-001.parquet", t)
    db = tmp_path / "w.duckdb"
    report = _land_via(root, db, source_cls)
    bad = {r.file.path: r.error for r in report.of("quarantined")}
    assert "data loss" in bad["fis/dt=2026-11-08/part-001.parquet"]  # not rounded to 10.01
    assert _query(db, "select count(*) from raw.fis where _source_file like '%11-08%'") == [(0,)]
    assert report.rows == 2800


def test_quarantine_copy_failure_still_records_the_file_and_others_load(root, tmp_path):
    # a landing folder where _quarantine/ cannot be created (e.g. a read-only mount)
    (root / "_quarantine").write_text("in the way")
    (root / "fis/dt=2026-11-04").mkdir()
    (root / "fis/dt=2026-11-04/part-001.parquet").write_bytes(b"PAR1 this is not parquet")
    db = tmp_path / "w.duckdb"
    report = _land(root, db)
    assert [r.file.path for r in report.of("quarantined")] == ["fis/dt=2026-11-04/part-001.parquet"]
    assert report.rows == 2800 and report.ok
    assert _query(
        db, "select status from raw.load_ledger where file_path like 'fis/dt=2026-11-04/%'"
    ) == [("quarantined",)]
    assert (root / "fis/dt=2026-11-04/part-001.parquet").exists()


def test_duplicate_or_non_text_dictionary_columns_are_quarantined(root, tmp_path):
    """A declared column twice (which one is meant?) or coded integers where text is declared:
    bad files, named with the reason; a dictionary-encoded text column is text."""
    t = fis_table(3, start=60)
    twice = pa.Table.from_arrays([*t.columns, t.column("qty")], names=[*t.column_names, "qty"])
    write_parquet(root, "fis/dt=2026-11-09/part-001.parquet", twice)
    coded = t.set_column(
        t.schema.get_field_index("doc_type"),
        "doc_type",
        pa.array([0, 1, 0]).dictionary_encode(),
    )
    write_parquet(root, "fis/dt=2026-11-10/part-001.parquet", coded)
    text = t.set_column(
        t.schema.get_field_index("doc_type"),
        "doc_type",
        pa.array(["INV", "CRN", "INV"]).dictionary_encode(),
    )
    write_parquet(root, "fis/dt=2026-11-11/part-001.parquet", text)
    db = tmp_path / "w.duckdb"
    report = _land(root, db)
    bad = {r.file.path: r.error for r in report.of("quarantined")}
    assert bad == {
        "fis/dt=2026-11-09/part-001.parquet": "column(s) qty appear more than once",
        # (Parquet hands a dictionary of integers back as the integers)
        "fis/dt=2026-11-10/part-001.parquet": "column doc_type is int64, cannot be read as string",
    }
    # a dictionary of text is text: it lands
    assert _query(
        db, "select doc_type from raw.fis where _source_file like '%11-11%' order by _source_row"
    ) == [("INV",), ("CRN",), ("INV",)]
    assert report.ok and report.rows == 2803
    # a dictionary in memory (what a reader may hand over): its values decide, not its indices
    from loader.read import _castable

    assert _castable(pa.dictionary(pa.int32(), pa.string()), pa.string())
    assert not _castable(pa.dictionary(pa.int32(), pa.int64()), pa.string())


def test_running_out_of_memory_fails_the_file_without_quarantine(root, tmp_path, monkeypatch):
    """pyarrow's ArrowMemoryError is an ArrowException: it says nothing about the file, which
    must not be quarantined for good; it fails and the next run tries it again."""
    big = "fis/dt=2026-11-01/part-001.parquet"
    real = pq.ParquetFile.iter_batches

    def iter_batches(self, *args, **kwargs):
        if self.metadata.num_rows == 2500:
            raise pa.ArrowMemoryError("malloc of size 67108864 failed")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", iter_batches)
    db = tmp_path / "w.duckdb"
    report = _land_via(root, db, ArrowOnlySource)
    assert report.of("quarantined") == [] and not (root / "_quarantine").exists()
    (failed,) = report.of("failed")
    assert failed.file.path == big and "ArrowMemoryError" in failed.error
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", real)
    again = _land_via(root, db, ArrowOnlySource)
    assert [r.file.path for r in again.of("loaded")] == [big]


class LedgerHiccupSink(DuckDBSink):
    """The warehouse connection drops while a quarantine is recorded, once."""

    def record(self, entry):
        if not getattr(self, "hiccuped", False):
            self.hiccuped = True
            raise ConnectionResetError("connection reset by peer (injected)")
        return super().record(entry)


def test_a_quarantine_that_cannot_be_recorded_fails_that_file_only(root, tmp_path):
    (root / "fis/dt=2026-11-04").mkdir()
    bad = "fis/dt=2026-11-04/part-001.parquet"
    (root / bad).write_bytes(b"PAR1 this is not parquet")
    db = tmp_path / "w.duckdb"
    sink = LedgerHiccupSink(db)
    try:
        report = land(LocalSource(root), sink, ds.select("all"), batch_rows=700)
    finally:
        sink.close()
    assert report.rows == 2800  # the other files still landed
    (failed,) = report.of("failed")
    assert failed.file.path == bad and failed.transient
    assert "not a readable Parquet file" in failed.error and "not recorded" in failed.error
    # the next run finds it bad again and records it
    again = _land(root, db)
    assert [r.file.path for r in again.of("quarantined")] == [bad]
    assert _query(db, f"select status from raw.load_ledger where file_path = '{bad}'") == [
        ("quarantined",)
    ]


def test_quarantined_files_can_be_tried_again_after_the_declaration_is_corrected(
    root, tmp_path, capsys
):
    """A column declared a day before upstream sends it quarantines that day's files; once the
    declaration is corrected, `--retry-quarantined` lands them (a file still bad is quarantined
    again), and without it nothing quarantined is tried again."""
    import dataclasses

    (fis,) = ds.select(names=["fis"])
    too_early = dataclasses.replace(fis, columns=(*fis.columns, ds.Column("promo_code", "string")))
    (root / "fis/dt=2026-11-04").mkdir()
    (root / "fis/dt=2026-11-04/part-001.parquet").write_bytes(b"PAR1 this is not parquet")
    db = tmp_path / "w.duckdb"

    def land_with(dataset, **kw):
        sink = DuckDBSink(db)
        try:
            return land(LocalSource(root), sink, [dataset], batch_rows=700, **kw)
        finally:
            sink.close()

    first = land_with(too_early)
    assert len(first.of("quarantined")) == 3 and first.rows == 0
    assert land_with(fis).results == []  # quarantined: not tried again by a plain run
    again = land_with(fis, retry_quarantined=True)
    assert sorted(r.file.path for r in again.of("loaded")) == [
        "fis/dt=2026-11-01/part-001.parquet",
        "fis/dt=2026-11-02/part-001.parquet",
    ]
    assert [r.file.path for r in again.of("quarantined")] == ["fis/dt=2026-11-04/part-001.parquet"]
    assert _query(db, "select count(*) from raw.fis") == [(2800,)]
    # the ledger keeps the history: the first quarantine of each file, then what followed
    assert _query(
        db,
        "select status, count(*) from raw.load_ledger group by status order by status",
    ) == [("loaded", 2), ("quarantined", 4)]
    assert land_with(fis, retry_quarantined=True).of("loaded") == []  # loaded stays loaded
    assert (
        "--retry-quarantined"
        in subprocess.run(
            [sys.executable, "-m", "loader", "--help"], capture_output=True, text=True, check=True
        ).stdout
    )
