"""pipeline.backup: mirror, verify, record, prune; idempotent and resumable. Azure cases run
against a real Azurite; retention and resume also run on a local source."""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from azure.storage.blob import BlobBlock, ContentSettings

import pipeline.backup as bk
from loader import datasets as ds
from loader.errors import TerminalError
from loader.land import land
from loader.sinks.duckdb import DuckDBSink
from loader.sources.local import LocalSource
from scripts.azurite import DEV_KEY
from tests.fixtures.azurite import azure_settings
from tests.fixtures.sample import fis_table, write_parquet

PREFIX = "extracts"
TODAY = date(2026, 11, 26)


def _parquet(table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _manifest(dest: Path) -> list[tuple]:
    con = sqlite3.connect(dest / bk.MANIFEST)
    try:
        return con.execute(
            "select path, version, size, pruned_at is not null from copies order by path, copied_at"
        ).fetchall()
    finally:
        con.close()


def _files(dest: Path) -> dict[str, bytes]:
    return {
        p.relative_to(dest).as_posix(): p.read_bytes()
        for p in dest.rglob("*")
        if p.is_file() and not p.name.startswith((".", "_"))
    }


@pytest.fixture
def blobs(azure_container):
    """Four fis files: three uploaded whole (the service keeps their Content-MD5), one in
    blocks (no Content-MD5), plus junk that is not backed up."""
    contents = {}
    for i in range(1, 4):
        rel = f"fis/dt=2026-11-2{i}/part-001.parquet"
        contents[rel] = _parquet(fis_table(200 + i, start=i * 1000))
        azure_container.upload_blob(f"{PREFIX}/{rel}", contents[rel])
    rel = "fis/dt=2026-11-24/part-001.parquet"
    contents[rel] = _parquet(fis_table(500, start=9000))
    blob = azure_container.get_blob_client(f"{PREFIX}/{rel}")
    half = len(contents[rel]) // 2
    ids = []
    for n, part in enumerate((contents[rel][:half], contents[rel][half:])):
        ids.append(f"{n:06d}")
        blob.stage_block(ids[-1], part)
    blob.commit_block_list([BlobBlock(block_id=i) for i in ids])
    azure_container.upload_blob(f"{PREFIX}/fis/dt=2026-11-21/_SUCCESS", b"")
    azure_container.upload_blob(f"{PREFIX}/notes.txt", b"junk")
    return contents


def _backup(azurite, container, dest, **kw):
    settings = azure_settings(azurite.connection_string, azure_max_retries=2)
    return bk.backup(f"az://{container.container_name}/{PREFIX}", dest, settings=settings, **kw)


def test_mirrors_verifies_records_and_is_idempotent(azurite, azure_container, blobs, tmp_path):
    dest = tmp_path / "backup"
    md5s = {
        b.name.removeprefix(f"{PREFIX}/"): b.content_settings.content_md5
        for b in azure_container.list_blobs()
    }
    assert sum(1 for rel in blobs if md5s[rel]) == 3  # the block upload has none

    first = _backup(azurite, azure_container, dest, today=TODAY)
    assert first.ok and sorted(first.copied) == sorted(blobs)
    assert first.verified_md5 == 3 and first.bytes_copied == sum(map(len, blobs.values()))
    assert _files(dest) == blobs  # same layout, same bytes, no junk
    rows = _manifest(dest)
    assert [r[0] for r in rows] == sorted(blobs) and all(not r[3] for r in rows)
    etags = {b.name.removeprefix(f"{PREFIX}/"): b.etag for b in azure_container.list_blobs()}
    assert all(version == etags[path] for path, version, *_ in rows)

    second = _backup(azurite, azure_container, dest, today=TODAY)
    assert second.copied == [] and second.skipped == 4 and second.ok

    # a re-uploaded blob (new etag) is copied again, and the copy of the version before it is
    # kept beside it; a deleted copy is restored
    changed = "fis/dt=2026-11-22/part-001.parquet"
    earlier = blobs[changed]
    blobs[changed] = _parquet(fis_table(7, start=77_000))
    azure_container.upload_blob(f"{PREFIX}/{changed}", blobs[changed], overwrite=True)
    (dest / "fis/dt=2026-11-21/part-001.parquet").unlink()
    third = _backup(azurite, azure_container, dest, today=TODAY)
    assert sorted(third.copied) == ["fis/dt=2026-11-21/part-001.parquet", changed]
    superseded = f"{changed}.{hashlib.sha256(earlier).hexdigest()[:16]}.superseded"
    assert _files(dest) == {**blobs, superseded: earlier}
    assert len(_manifest(dest)) == 5  # both versions of the changed file are on record
    # the same bytes again under a new etag: copied, and nothing more is kept
    azure_container.upload_blob(f"{PREFIX}/{changed}", blobs[changed], overwrite=True)
    assert _backup(azurite, azure_container, dest, today=TODAY).copied == [changed]
    assert _files(dest) == {**blobs, superseded: earlier}

    # the backup folder is a landing folder: it lands the same rows as the container
    sink = DuckDBSink(tmp_path / "w.duckdb")
    try:
        landed = land(LocalSource(dest), sink, ds.select(names=["fis"]))
    finally:
        sink.close()
    assert landed.ok and landed.rows == sum(
        pq.read_table(io.BytesIO(b)).num_rows for b in blobs.values()
    )
    assert superseded in {i.path for i in landed.ignored}  # not a data file for the loader


def test_a_copy_that_does_not_match_content_md5_is_rejected(
    azurite, azure_container, blobs, tmp_path
):
    dest = tmp_path / "backup"
    rel = "fis/dt=2026-11-23/part-001.parquet"
    blob = azure_container.get_blob_client(f"{PREFIX}/{rel}")
    blob.set_http_headers(ContentSettings(content_md5=bytearray(16)))  # a wrong checksum
    report = _backup(azurite, azure_container, dest, today=TODAY)
    assert [p for p, _ in report.failed] == [rel] and not report.ok
    assert "Content-MD5 mismatch" in report.failed[0][1]
    assert not (dest / rel).exists()
    assert not list(dest.rglob(f"*{bk.TEMP_SUFFIX}"))
    assert rel not in [r[0] for r in _manifest(dest)] and len(report.copied) == 3

    good = hashlib.md5(blobs[rel], usedforsecurity=False).digest()
    blob.set_http_headers(ContentSettings(content_md5=bytearray(good)))
    again = _backup(azurite, azure_container, dest, today=TODAY)
    assert (
        again.copied == [rel]
        and again.verified_md5 == 1
        and (dest / rel).read_bytes() == blobs[rel]
    )


@pytest.fixture
def local_landing(tmp_path) -> Path:
    root = tmp_path / "landing"
    for i, day in enumerate(("2026-10-01", "2026-10-20", "2026-11-01", "2026-11-20", "2026-11-26")):
        write_parquet(root, f"fis/dt={day}/part-001.parquet", fis_table(30, start=i * 100))
    write_parquet(root, "fid/notes.parquet.txt", fis_table(1))  # junk: never backed up
    return root


def test_interrupted_run_leaves_a_temp_file_the_next_run_replaces(
    local_landing, tmp_path, monkeypatch
):
    dest = tmp_path / "backup"
    real_replace = os.replace
    calls = []

    def crash_on_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt("power cut")  # not an Exception: nothing cleans up
        real_replace(src, dst)

    monkeypatch.setattr(bk.os, "replace", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        bk.backup(str(local_landing), dest, retention_days=None)
    temps = list(dest.rglob(f"*{bk.TEMP_SUFFIX}"))
    assert len(temps) == 1 and len(_manifest(dest)) == 1  # one copy done, one interrupted

    monkeypatch.setattr(bk.os, "replace", real_replace)
    report = bk.backup(str(local_landing), dest, retention_days=None)
    assert report.stale_temp_removed == 1 and report.skipped == 1 and len(report.copied) == 4
    assert report.verified_hash == 4  # a local source is checked against its content hash
    assert not list(dest.rglob(f"*{bk.TEMP_SUFFIX}"))
    source_files = {
        p.relative_to(local_landing).as_posix(): p.read_bytes()
        for p in local_landing.rglob("*.parquet")
    }
    assert _files(dest) == source_files
    assert len(_manifest(dest)) == 5


def test_retention_prunes_old_dt_folders_and_does_not_copy_them_back(local_landing, tmp_path):
    dest = tmp_path / "backup"
    first = bk.backup(str(local_landing), dest, retention_days=30, today=TODAY)
    # 2026-10-27 is the cutoff: 2026-10-01 and 2026-10-20 are too old to copy
    assert first.outside_retention == 2 and len(first.copied) == 3
    assert sorted(p.name for p in (dest / "fis").iterdir()) == [
        "dt=2026-11-01",
        "dt=2026-11-20",
        "dt=2026-11-26",
    ]
    # three weeks later dt=2026-11-01 has aged out: its folder goes, its manifest row says so,
    # and the next run does not copy it back
    later = date(2026, 12, 15)
    second = bk.backup(str(local_landing), dest, retention_days=30, today=later)
    assert second.pruned == ["fis/dt=2026-11-01"] and second.copied == []
    assert not (dest / "fis/dt=2026-11-01").exists() and (dest / "fis/dt=2026-11-20").exists()
    pruned = [r[0] for r in _manifest(dest) if r[3]]
    assert pruned == ["fis/dt=2026-11-01/part-001.parquet"]
    assert bk.backup(str(local_landing), dest, retention_days=30, today=later).copied == []
    # other folders in the backup are left alone
    (dest / "notes").mkdir()
    (dest / "notes/dt=2020-01-01").mkdir()
    bk.backup(str(local_landing), dest, retention_days=30, today=later)
    assert (dest / "notes/dt=2020-01-01").exists()
    with pytest.raises(TerminalError):
        bk.backup(str(local_landing), dest, retention_days=-1)


def test_an_archived_blob_fails_alone_and_the_backup_goes_on(
    azurite, azure_container, blobs, tmp_path
):
    archived = "fis/dt=2026-11-22/part-001.parquet"
    azure_container.get_blob_client(f"{PREFIX}/{archived}").set_standard_blob_tier("Archive")
    dest = tmp_path / "backup"
    report = _backup(azurite, azure_container, dest, today=TODAY)
    assert sorted(report.copied) == sorted(set(blobs) - {archived})
    ((path, reason),) = report.failed
    assert path == archived and "409 BlobArchived" in reason
    assert not (dest / archived).exists()


def test_a_file_that_cannot_be_read_fails_the_backup_not_silently(
    local_landing, tmp_path, monkeypatch
):
    from loader.sources import local

    real_version = local.file_version

    def version(path):
        if path.parent.name == "dt=2026-11-20":
            raise PermissionError(13, "Permission denied", str(path))
        return real_version(path)

    monkeypatch.setattr(local, "file_version", version)
    dest = tmp_path / "backup"
    report = bk.backup(str(local_landing), dest, retention_days=None, today=TODAY)
    assert not report.ok and report.listed == 5 and len(report.copied) == 4
    ((path, reason),) = report.failed
    assert path == "fis/dt=2026-11-20/part-001.parquet" and "Permission denied" in reason
    monkeypatch.setattr(local, "file_version", real_version)
    again = bk.backup(str(local_landing), dest, retention_days=None, today=TODAY)
    assert again.ok and again.copied == [path]


def test_one_backup_at_a_time(local_landing, tmp_path):
    dest = tmp_path / "backup"
    dest.mkdir()
    with bk._exclusive(dest), pytest.raises(TerminalError, match="another backup"):
        bk.backup(str(local_landing), dest)


def test_cli(azurite, azure_container, blobs, tmp_path, monkeypatch, capsys):
    help_text = subprocess.run(
        [sys.executable, "-m", "pipeline.backup", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    assert "--retention-days" in help_text and "Content-MD5" in help_text
    uri = f"az://{azure_container.container_name}/{PREFIX}"
    dest = tmp_path / "backup"
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    assert bk.main(["--source", uri, "--dest", str(dest), "--today", "2026-11-26", "-q"]) == 0
    assert "copied 4" in capsys.readouterr().out
    assert len(_files(dest)) == 4
    wrong = "V3JvbmdLZXk" + uuid.uuid4().hex + "=="
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string.replace(DEV_KEY, wrong)
    )
    assert bk.main(["--source", uri, "--dest", str(dest), "-q"]) == 2
    out = capsys.readouterr()
    assert "devstoreaccount1" in out.err and wrong not in out.err + out.out
