"""The Azure Blob source against a real Azurite: same landing as the local folder, exactly once,
bounded ranged reads pinned to the etag, faults retried, bad credentials clear and secret-free.
"""

from __future__ import annotations

import base64
import io
import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas

from loader import datasets as ds
from loader.cli import main as loader_main
from loader.errors import TerminalError, TransientError
from loader.land import land
from loader.sinks.duckdb import DuckDBSink
from loader.sources import SourceFile
from loader.sources.azure import (
    AzureSource,
    BlobChangedError,
    BlobRangeReader,
    RetryConfig,
    _secrets_of,
    parse_uri,
)
from loader.sources.local import LocalSource
from scripts.azurite import DEV_ACCOUNT, DEV_KEY, upload_folder
from tests.doubles.faulty_proxy import FaultyProxy, chain, every, first
from tests.fixtures.azurite import FAST_RETRY, azure_settings, azure_source
from tests.fixtures.sample import fis_table

PREFIX = "extracts"
# a well-formed account key that is not the account's: what a typo'd secret looks like
WRONG_KEY = base64.b64encode(b"not-the-key-" * 6).decode()


def _land(source, db: Path, names: list[str] | None = None, **kw):
    sink = DuckDBSink(db)
    try:
        return land(source, sink, ds.select("all", names), batch_rows=500, **kw)
    finally:
        sink.close()


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _put(container, rel: str, table, row_group_size: int = 1000) -> str:
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=row_group_size)
    container.upload_blob(f"{PREFIX}/{rel}", buf.getvalue(), overwrite=True)
    return rel


@pytest.fixture(scope="module")
def sample_container(azurite, small_landing):
    """The generated sample under az://<c>/extracts plus junk beside it; read-only for tests."""
    client = azurite.service().get_container_client("sample")
    upload_folder(client, small_landing, PREFIX)
    client.upload_blob(f"{PREFIX}/stray.txt", b"not data")
    client.upload_blob(f"{PREFIX}/other/dt=2026-11-01/x.parquet", b"not a dataset")
    client.upload_blob("elsewhere/fis/dt=2026-11-01/x.parquet", b"outside the prefix")
    yield client
    client.delete_container()


# -- pure unit tests (no I/O) ---------------------------------------------------------------


def test_parse_uri():
    assert parse_uri("az://landing/extracts/") == ("landing", "extracts")
    assert parse_uri("az://landing") == ("landing", "")
    assert parse_uri("az://landing/a/b") == ("landing", "a/b")
    for bad in ("az://Landing/x", "az:///x", "s3://landing/x", "az://a/x"):
        with pytest.raises(TerminalError):
            parse_uri(bad)


def test_secrets_are_collected_for_redaction():
    conn = f"AccountName=acc;AccountKey={DEV_KEY};BlobEndpoint=http://h/acc"
    assert DEV_KEY in _secrets_of(conn, "", "")
    secrets = _secrets_of("", "?sv=2024&sp=rl&sig=c2lnbmF0dXJlLXZhbHVl%3D", "")
    assert (
        "c2lnbmF0dXJlLXZhbHVl=" in secrets
        and "sv=2024&sp=rl&sig=c2lnbmF0dXJlLXZhbHVl%3D" in secrets
    )


class _BytesSource:
    """What BlobRangeReader needs of an AzureSource, over bytes in memory."""

    def __init__(self, data: bytes, read_ahead: int, max_range: int):
        self.data, self.read_ahead, self.max_range = data, read_ahead, max_range
        self.fetched: list[tuple[int, int]] = []

    def fetch(self, file, offset, length):
        assert offset >= 0 and offset + length <= len(self.data) and length <= self.max_range
        self.fetched.append((offset, length))
        return self.data[offset : offset + length]


def test_range_reader_reads_like_a_file_with_bounded_requests():
    data = random.Random(1).randbytes(100_000)
    src = _BytesSource(data, read_ahead=4096, max_range=10_000)
    file = SourceFile("fis/dt=2026-11-01/a.parquet", "fis", "2026-11-01", len(data), "0x1")
    reader = BlobRangeReader(src, file)  # type: ignore[arg-type]
    ref = io.BytesIO(data)
    rng = random.Random(2)
    for _ in range(300):
        whence = rng.choice([0, 1, 2])
        off = {
            0: rng.randrange(0, 110_000),
            1: rng.randrange(-500, 500),
            2: -rng.randrange(1, 9000),
        }
        target = {0: off[0], 1: reader.tell() + off[1], 2: len(data) + off[2]}[whence]
        if target < 0:
            continue
        assert reader.seek(off[whence], whence) == ref.seek(off[whence], whence)
        n = rng.choice([1, 8, 100, 4000, 4096, 5000, 30_000, -1])
        assert reader.read(n) == ref.read(n)
        assert reader.tell() == ref.tell()
    # the window never grows past read_ahead, and no single GET exceeds max_range
    assert len(reader._buf) <= 4096
    assert max(length for _, length in src.fetched) <= 10_000
    # a read near the end pulls the last window: footer, then the bytes before it, in one GET
    src.fetched.clear()
    tail = BlobRangeReader(src, file)  # type: ignore[arg-type]
    tail.seek(-8, 2)
    tail.read(8)
    tail.seek(-3000, 2)
    tail.read(2000)
    assert src.fetched == [(len(data) - 4096, 4096)]


# -- against Azurite ------------------------------------------------------------------------


def test_lands_every_dataset_exactly_like_the_local_source(
    azurite, sample_container, small_landing, tmp_path
):
    az_db, local_db = tmp_path / "az.duckdb", tmp_path / "local.duckdb"
    with FaultyProxy(azurite.port) as proxy:  # no faults: it only counts the requests
        source = azure_source(proxy.connection_string(DEV_KEY), sample_container.container_name)
        listing = source.list(set(ds.load_datasets()))
        listed = list(proxy.log)
        az = _land(source, az_db)
        reads = [e for e in proxy.log[2 * len(listed) :]]
    local = _land(LocalSource(small_landing), local_db)

    # listing reads metadata only: one delimited listing of the top level, then one listing
    # per dataset prefix; no blob contents, no request per blob
    assert len(listed) == 1 + len(ds.load_datasets())
    assert all(e[1] == "GET" and e[3] is None and e[2].endswith("/sample") for e in listed)
    # every blob read is a ranged GET of a listed blob (never a whole-blob download); a small
    # file costs one GET, since the read-ahead window starts at the footer
    blobs = {f"/{DEV_ACCOUNT}/sample/{PREFIX}/{f.path}" for f in listing.files}
    assert len(reads) == len(listing.files)
    assert all(e[1] == "GET" and e[3] and e[2] in blobs for e in reads)

    parquet_files = sorted(
        p.relative_to(small_landing).as_posix() for p in small_landing.rglob("*.parquet")
    )
    assert az.ok and sorted(r.file.path for r in az.of("loaded")) == parquet_files
    assert az.rows == local.rows > 0
    ignored = {i.path: i.reason for i in az.ignored}
    assert ignored["fis/notes.txt"] == "not a .parquet file"
    assert ignored["stray.txt"] == ignored["other/"] == "not under a known dataset folder"
    assert any(p.endswith("/_SUCCESS") for p in ignored)
    assert not any("elsewhere" in p for p in ignored)

    # every landed row is the local landing's row, lineage included (only _loaded_at differs)
    con = duckdb.connect()
    con.execute(f"attach '{az_db}' as a (read_only)")
    con.execute(f"attach '{local_db}' as l (read_only)")
    for name in ds.load_datasets():
        for x, y in (("a", "l"), ("l", "a")):
            diff = con.execute(
                f"select count(*) from (select * exclude (_loaded_at) from {x}.raw.{name} "
                f"except all select * exclude (_loaded_at) from {y}.raw.{name})"
            ).fetchone()[0]
            assert diff == 0, f"raw.{name}: {diff} rows of {x} are not in {y}"
    # the ledger: same files, sizes and rows; the version is the blob's etag
    ledger = "select file_path, size_bytes, rows, status from {}.raw.load_ledger order by 1"
    assert con.execute(ledger.format("a")).fetchall() == con.execute(ledger.format("l")).fetchall()
    etags = {
        b.name.removeprefix(f"{PREFIX}/"): b.etag.strip('"')
        for b in sample_container.list_blobs(name_starts_with=f"{PREFIX}/")
    }
    versions = con.execute("select file_path, version from a.raw.load_ledger").fetchall()
    assert versions and all(version == etags[path] for path, version in versions)
    con.close()


def test_unchanged_blobs_skipped_and_a_reuploaded_blob_reloaded(azurite, azure_container, tmp_path):
    a = _put(azure_container, "fis/dt=2026-11-01/part-001.parquet", fis_table(1200))
    b = _put(azure_container, "fis/dt=2026-11-02/part-001.parquet", fis_table(300, start=5000))
    source = azure_source(azurite.connection_string, azure_container.container_name)
    db = tmp_path / "w.duckdb"
    first_run = _land(source, db)
    assert sorted(r.file.path for r in first_run.of("loaded")) == [a, b]

    with FaultyProxy(azurite.port) as proxy:
        via_proxy = azure_source(proxy.connection_string(DEV_KEY), azure_container.container_name)
        again = _land(via_proxy, db)
        assert again.of("loaded") == [] and again.skipped == 2
        assert all(e[3] is None for e in proxy.log)  # nothing but listings: no blob was read

    _put(azure_container, b, fis_table(10, start=9000))  # same name, new content, new etag
    third = _land(source, db)
    assert [r.file.path for r in third.of("loaded")] == [b] and third.skipped == 1
    # both versions' rows are kept (R3 in dbt decides between versions), each exactly once
    assert _query(
        db, "select count(*), count(distinct (_source_file, _source_row, _loaded_at)) from raw.fis"
    ) == [(1510, 1510)]
    versions = _query(
        db, f"select count(distinct version) from raw.load_ledger where file_path = '{b}'"
    )
    assert versions == [(2,)]


def test_faults_are_retried_and_the_load_is_exactly_once(azurite, azure_container, tmp_path):
    files = [
        _put(
            azure_container,
            f"fis/dt=2026-11-0{i}/part-00{j}.parquet",
            fis_table(1500, i * 10_000 + j * 2000),
            300,
        )
        for i in range(1, 4)
        for j in range(1, 3)
    ]
    clean_db, db = tmp_path / "clean.duckdb", tmp_path / "w.duckdb"
    clean = _land(azure_source(azurite.connection_string, azure_container.container_name), clean_db)
    assert clean.rows == 6 * 1500
    # the first requests fail (throttled, dropped), then every 5th fails in turn with each
    # kind of fault, one request stalls past the read timeout; small read windows make each
    # file take several ranged GETs, so faults also hit the middle of files
    plan = chain(
        first(3, ("503", "drop")),
        lambda r: "stall" if r.index == 20 else None,
        # (a cut-short body costs a fixed 1 s sleep in the SDK's downloader: only a few)
        every(5, ("503", "drop", "reset", "truncate", "503", "drop", "reset")),
    )
    with FaultyProxy(azurite.port, plan, stall_seconds=2) as proxy:
        source = azure_source(
            proxy.connection_string(DEV_KEY),
            azure_container.container_name,
            retry=RetryConfig(retries=4, backoff=0.01, jitter=0, read_timeout=1.0),
            read_ahead=4096,
            max_range=8192,
        )
        report = _land(source, db)
        log = list(proxy.log)
    assert report.ok, [r.error for r in report.of("failed")]
    assert sorted(r.file.path for r in report.of("loaded")) == sorted(files)
    assert {e[4] for e in log if e[4]} == {"503", "drop", "reset", "truncate", "stall"}
    assert any(e[4] and e[3] and not e[3].startswith("bytes=0-") for e in log), (
        "no fault hit a range read in the middle of a file"
    )
    # nothing lost, nothing doubled: the rows are those of the fault-free load, each once,
    # and there is one ledger row per file
    con = duckdb.connect()
    con.execute(f"attach '{clean_db}' as c (read_only)")
    con.execute(f"attach '{db}' as f (read_only)")
    for x, y in (("c", "f"), ("f", "c")):
        assert con.execute(
            f"select count(*) from (select * exclude (_loaded_at) from {x}.raw.fis "
            f"except all select * exclude (_loaded_at) from {y}.raw.fis)"
        ).fetchone() == (0,)
    assert con.execute(
        "select count(*), count(distinct file_path) from f.raw.load_ledger"
    ).fetchone() == (6, 6)
    con.close()


def test_retries_run_out_then_the_file_fails_alone_and_the_next_run_completes(
    azurite, azure_container, tmp_path, caplog
):
    big = _put(azure_container, "fis/dt=2026-11-01/part-001.parquet", fis_table(20_000), 2000)
    small = _put(azure_container, "fis/dt=2026-11-02/part-001.parquet", fis_table(50, start=90_000))
    db = tmp_path / "w.duckdb"
    # every read of the big file fails after its first GET: the failure happens mid-file
    # (inside the scan), after the footer and schema were read fine
    state = {"reads": 0}

    def plan(r):
        if r.is_range_read and r.path.endswith(big):
            state["reads"] += 1
            return "503" if state["reads"] > 1 else None
        return None

    with FaultyProxy(azurite.port, plan) as proxy:
        source = azure_source(
            proxy.connection_string(DEV_KEY),
            azure_container.container_name,
            read_ahead=16_384,
            max_range=65_536,
        )
        report = _land(source, db)
        proxy.plan = lambda r: None
        assert [r.file.path for r in report.of("loaded")] == [small]
        failed = report.of("failed")
        # failed (left for the next run), not quarantined as a bad file
        assert [r.file.path for r in failed] == [big] and report.of("quarantined") == []
        # the range reads were retried before the file was given up
        retried = [m for m in caplog.messages if m.startswith(f"range read of {big} failed")]
        # once while the two files streamed as one group, once more for the big file alone
        # after the group rolled back
        assert len(retried) == 2 * FAST_RETRY.range_retries and "HTTP 503" in retried[0]
        assert _query(db, f"select count(*) from raw.fis where _source_file = '{big}'") == [(0,)]
        assert _query(db, f"select count(*) from raw.load_ledger where file_path = '{big}'") == [
            (0,)
        ]
        again = _land(source, db)
    assert [r.file.path for r in again.of("loaded")] == [big]
    assert _query(db, "select count(*) from raw.fis") == [(20_050,)]


def test_an_archived_blob_fails_alone_and_loads_once_rehydrated(azurite, azure_container, tmp_path):
    """A 4xx on one blob that is neither the credentials' nor the file's content (409
    BlobArchived: a lifecycle rule moved an old extract to the Archive tier) fails that file
    only, not retried; the others land, and the next run after rehydration lands it."""
    cold = _put(azure_container, "fis/dt=2026-11-01/part-001.parquet", fis_table(300))
    warm = _put(azure_container, "fis/dt=2026-11-02/part-001.parquet", fis_table(50, start=9000))
    blob = azure_container.get_blob_client(f"{PREFIX}/{cold}")
    blob.set_standard_blob_tier("Archive")
    db = tmp_path / "w.duckdb"
    source = azure_source(azurite.connection_string, azure_container.container_name)
    report = _land(source, db)
    assert [r.file.path for r in report.of("loaded")] == [warm]
    (failed,) = report.of("failed")
    assert failed.file.path == cold and not failed.transient and report.of("quarantined") == []
    assert "409 BlobArchived" in failed.error and cold in failed.error
    assert _query(db, f"select count(*) from raw.load_ledger where file_path = '{cold}'") == [(0,)]
    blob.set_standard_blob_tier("Hot")
    again = _land(source, db)
    assert [r.file.path for r in again.of("loaded")] == [cold] and again.ok
    assert _query(db, "select count(*) from raw.fis") == [(350,)]


def test_a_blob_replaced_mid_read_fails_clearly_never_mixing_versions(
    azurite, azure_container, tmp_path
):
    rel = _put(azure_container, "fis/dt=2026-11-01/part-001.parquet", fis_table(20_000), 2000)
    source = azure_source(
        azurite.connection_string, azure_container.container_name, read_ahead=16_384
    )
    (file,) = source.list({"fis"}).files
    stream = source.open(file)
    footer = pq.ParquetFile(stream).metadata  # read with the listed version
    assert footer.num_rows == 20_000
    _put(azure_container, rel, fis_table(20_000, start=50_000), 2000)
    stream.seek(4)
    with pytest.raises(BlobChangedError) as err:
        stream.read(100_000)
    assert rel in str(err.value) and file.version in str(err.value)
    assert isinstance(err.value, TransientError)

    # in a load: the second file is replaced after it was listed, before it is read
    second = _put(azure_container, "fis/dt=2026-11-02/part-001.parquet", fis_table(100, 70_000))
    db = tmp_path / "w.duckdb"

    listed = source.list

    def list_then_replace_second(datasets):
        listing = listed(datasets)
        _put(azure_container, second, fis_table(7, start=80_000))
        return listing

    source.list = list_then_replace_second
    report = _land(source, db)
    assert [r.file.path for r in report.of("loaded")] == [rel]
    (failed,) = report.of("failed")
    assert failed.file.path == second and "replaced or deleted after it was listed" in failed.error
    assert _query(db, f"select count(*) from raw.fis where _source_file = '{second}'") == [(0,)]
    source.list = listed
    again = _land(source, db)
    assert [r.rows for r in again.of("loaded")] == [7]  # the current version, whole


def _assert_secret_free(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text


def test_wrong_key_fails_at_once_naming_account_and_container_never_the_key(
    azurite, sample_container, caplog, capsys, tmp_path, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="azure")
    with FaultyProxy(azurite.port) as proxy:
        conn = proxy.connection_string(WRONG_KEY)
        source = azure_source(conn, sample_container.container_name)
        with pytest.raises(TerminalError) as err:
            source.list({"fis"})
        assert len(proxy.log) == 1  # refused at once: no retry of a 403
    message = str(err.value)
    assert DEV_ACCOUNT in message and f"container {sample_container.container_name}" in message
    assert "403" in message
    _assert_secret_free(WRONG_KEY, message, repr(err.value), caplog.text)
    assert err.value.__suppress_context__  # a traceback never shows the SDK exception text

    # the same through the command line: exit 2, the reason on stderr, no key anywhere
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string.replace(DEV_KEY, WRONG_KEY)
    )
    code = loader_main(
        [
            "--source",
            f"az://{sample_container.container_name}/{PREFIX}",
            "--duckdb-path",
            str(tmp_path / "w.duckdb"),
        ]
    )
    out = capsys.readouterr()
    assert code == 2 and DEV_ACCOUNT in out.err
    _assert_secret_free(WRONG_KEY, out.out, out.err, caplog.text)


def test_bad_or_underpowered_sas_and_missing_container_are_terminal(
    azurite, sample_container, caplog
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="azure")
    name = sample_container.container_name
    expiry = datetime.now(UTC) + timedelta(hours=1)

    def sas_source(key: str, permission: ContainerSasPermissions):
        sas = generate_container_sas(
            DEV_ACCOUNT, name, account_key=key, permission=permission, expiry=expiry
        )
        settings = azure_settings("", azure_account_url=azurite.url, azure_sas_token=sas)
        return sas, AzureSource.from_uri(f"az://{name}/{PREFIX}", settings, retry=FAST_RETRY)

    sas, good = sas_source(DEV_KEY, ContainerSasPermissions(read=True, list=True))
    assert len(good.list({"fis"}).files) > 0  # list + read is enough to load
    forged, bad = sas_source(WRONG_KEY, ContainerSasPermissions(read=True, list=True))
    with pytest.raises(TerminalError) as err:
        bad.list({"fis"})
    signature = forged.split("sig=")[1]
    _assert_secret_free(signature, str(err.value), caplog.text)
    _assert_secret_free(forged, str(err.value), caplog.text)
    assert DEV_ACCOUNT in str(err.value) and name in str(err.value)

    _, read_only = sas_source(DEV_KEY, ContainerSasPermissions(read=True))
    with pytest.raises(TerminalError, match="lacks a permission"):
        read_only.list({"fis"})

    missing = azure_source(azurite.connection_string, "no-such-container")
    with pytest.raises(TerminalError) as gone:
        missing.list({"fis"})
    assert str(gone.value) == f"container no-such-container does not exist in account {DEV_ACCOUNT}"

    with pytest.raises(TerminalError, match="no Azure credentials"):
        AzureSource.from_uri("az://landing/x", azure_settings(""))


def test_bad_blob_quarantined_with_its_reason_and_not_retried(
    azurite, azure_container, tmp_path, caplog
):
    good = _put(azure_container, "fis/dt=2026-11-01/part-001.parquet", fis_table(40))
    bad = "fis/dt=2026-11-02/part-001.parquet"
    azure_container.upload_blob(f"{PREFIX}/{bad}", b"PAR1 this is not parquet")
    source = azure_source(azurite.connection_string, azure_container.container_name)
    db = tmp_path / "w.duckdb"
    report = _land(source, db)
    assert [r.file.path for r in report.of("loaded")] == [good]
    assert [r.file.path for r in report.of("quarantined")] == [bad] and report.ok
    copy = azure_container.get_blob_client(f"{PREFIX}/_quarantine/{bad}")
    props = copy.get_blob_properties()
    assert "not a readable Parquet file" in props.metadata["datawiz_reason"]
    assert props.metadata["datawiz_source_path"] == bad
    assert copy.download_blob().readall() == b"PAR1 this is not parquet"
    assert azure_container.get_blob_client(f"{PREFIX}/{bad}").exists()  # nothing is lost
    again = _land(source, db)
    assert again.of("quarantined") == [] and again.skipped == 2
    assert not any(i.path.startswith("_quarantine") for i in again.ignored)

    # without write permission the copy is refused (403): logged, and the load carries on
    bad2 = "fis/dt=2026-11-03/part-001.parquet"
    azure_container.upload_blob(f"{PREFIX}/{bad2}", b"also not parquet")
    sas = generate_container_sas(
        DEV_ACCOUNT,
        azure_container.container_name,
        account_key=DEV_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    settings = azure_settings("", azure_account_url=azurite.url, azure_sas_token=sas)
    read_only = AzureSource.from_uri(
        f"az://{azure_container.container_name}/{PREFIX}", settings, retry=FAST_RETRY
    )
    caplog.set_level(logging.WARNING)
    third = _land(read_only, db)
    assert [r.file.path for r in third.of("quarantined")] == [bad2] and third.ok
    assert "need write permission" in caplog.text
    assert not azure_container.get_blob_client(f"{PREFIX}/_quarantine/{bad2}").exists()
    assert _land(read_only, db).of("quarantined") == []  # the ledger entry stops retries


def test_cli_lands_from_az_uri(azurite, azure_container, tmp_path, monkeypatch, capsys):
    _put(azure_container, "fis/dt=2026-11-01/part-001.parquet", fis_table(25))
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    db = tmp_path / "w.duckdb"
    uri = f"az://{azure_container.container_name}/{PREFIX}"
    assert loader_main(["--source", uri, "--duckdb-path", str(db), "-q"]) == 0
    assert "loaded 1 (25 rows)" in capsys.readouterr().out
    assert _query(db, "select count(*) from raw.fis") == [(25,)]
    assert loader_main(["--source", uri, "--duckdb-path", str(db), "--list"]) == 0
    assert "fis/dt=2026-11-01/part-001.parquet" in capsys.readouterr().out


def test_unreachable_endpoint_is_transient(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = f"AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};BlobEndpoint=http://127.0.0.1:{port}/x;"
    source = AzureSource.from_uri(
        "az://landing/x",
        azure_settings(conn),
        retry=RetryConfig(retries=2, backoff=0.01, jitter=0, connect_timeout=1),
    )
    with pytest.raises(TransientError, match="after 2 retries: connection failed"):
        source.list({"fis"})
