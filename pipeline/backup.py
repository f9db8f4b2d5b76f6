"""Blob backup: mirror the landing area's extracts to a local folder, verified, with retention.

`backup(source_uri, dest_dir)` copies every data file (`<dataset>/dt=<date>/<name>.parquet`)
of the source (an Azure container `az://<container>/<prefix>` or a local folder) that is not yet
backed up, in the same relative layout, so the backup folder is itself a landing folder the
loader can read (`python -m loader --source <dest_dir>`).

- Not yet backed up = (path, version) missing from the manifest, or its copy missing on disk. A
  re-uploaded blob (new etag) is copied again; the copy of the earlier content is kept beside
  it as `<name>.<sha256 prefix>.superseded`, and the manifest keeps both rows.
- Each copy streams through the source's bounded ranged reader into a temp file beside the
  target, is checked (size; the blob's Content-MD5 when it has one; the content hash for a local
  source), fsynced, then renamed into place. A crash leaves only a temp file, removed by the
  next run, which copies that file again: runs are idempotent and resumable.
- The manifest is `_backup_manifest.sqlite` inside dest_dir.
- Retention: `<dataset>/dt=<date>` folders older than `retention_days` before today are
  deleted, and source files that old are not copied.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from loader import datasets as ds
from loader.errors import FileError, TerminalError, TransientError
from loader.settings import Settings
from loader.sources import Source, SourceFile, open_source
from loader.sources.local import file_version

log = logging.getLogger("datawiz.backup")

MANIFEST = "_backup_manifest.sqlite"
LOCK = ".backup.lock"
TEMP_SUFFIX = ".backup-tmp"
CHUNK = 4 << 20  # bytes per read: one ranged GET from Azure, bounded memory
_DT_DIR = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_TRANSIENT = 0, 1, 2, 75


@dataclass
class BackupReport:
    source: str
    dest: str
    listed: int = 0
    copied: list[str] = field(default_factory=list)
    bytes_copied: int = 0
    verified_md5: int = 0  # copies checked against the blob's Content-MD5
    verified_hash: int = 0  # copies checked against the local source's content hash
    skipped: int = 0  # already backed up, same version, copy present
    outside_retention: int = 0  # older than the retention: not copied
    failed: list[tuple[str, str]] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)  # dt= folders deleted
    stale_temp_removed: int = 0  # temp files of an interrupted run
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"listed {self.listed} files, copied {len(self.copied)} "
            f"({self.bytes_copied / 1e6:,.1f} MB; {self.verified_md5} checked against "
            f"Content-MD5, {self.verified_hash} against the content hash), skipped "
            f"{self.skipped} already backed up, {self.outside_retention} older than the "
            f"retention, failed {len(self.failed)}, pruned {len(self.pruned)} folders"
            + (
                f", removed {self.stale_temp_removed} interrupted temp files"
                if self.stale_temp_removed
                else ""
            )
            + f" in {self.seconds:.1f}s"
        )


class _Manifest:
    def __init__(self, path: Path):
        self.con = sqlite3.connect(path)
        self.con.execute(
            "create table if not exists copies ("
            " path text not null, version text not null, size integer not null,"
            " md5 text not null, sha256 text not null, dt text not null,"
            " copied_at text not null, pruned_at text,"
            " primary key (path, version))"
        )
        self.con.commit()

    def has(self, file: SourceFile) -> bool:
        row = self.con.execute(
            "select 1 from copies where path = ? and version = ? and pruned_at is null",
            [file.path, file.version],
        ).fetchone()
        return row is not None

    def record(self, file: SourceFile, md5: str, sha256: str) -> None:
        with self.con:
            self.con.execute(
                "insert or replace into copies values (?, ?, ?, ?, ?, ?, ?, null)",
                [
                    file.path,
                    file.version,
                    file.size,
                    md5,
                    sha256,
                    file.dt,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ],
            )

    def pruned(self, folder: str) -> None:
        with self.con:
            self.con.execute(
                "update copies set pruned_at = ? "
                "where substr(path, 1, ?) = ? and pruned_at is null",
                [datetime.now(UTC).isoformat(timespec="seconds"), len(folder) + 1, folder + "/"],
            )

    def close(self) -> None:
        self.con.close()


@contextlib.contextmanager
def _exclusive(dest: Path) -> Iterator[None]:
    """One backup per folder at a time: two would race on the same temp files."""
    with open(dest / LOCK, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TerminalError(f"another backup into {dest} is running") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def backup(
    source_uri: str,
    dest_dir: str | os.PathLike,
    retention_days: int | None = 30,
    settings: Settings | None = None,
    *,
    today: date | None = None,
    source: Source | None = None,
) -> BackupReport:
    """Mirror the data files of `source_uri` not yet backed up into `dest_dir`; prune dt=
    folders older than `retention_days` (None keeps everything). Raises TerminalError for bad
    configuration or credentials, TransientError when the listing itself cannot be had."""
    started = time.perf_counter()
    if retention_days is not None and retention_days < 0:
        raise TerminalError(f"retention_days must be >= 0, got {retention_days}")
    settings = settings or Settings.from_env()
    source = source or open_source(source_uri, settings)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    today = today or datetime.now(UTC).date()
    cutoff = today - timedelta(days=retention_days) if retention_days is not None else None
    report = BackupReport(source.describe(), str(dest))
    with _exclusive(dest):
        for stale in dest.rglob(f"*{TEMP_SUFFIX}"):
            stale.unlink()
            report.stale_temp_removed += 1
        manifest = _Manifest(dest / MANIFEST)
        try:
            listing = source.list(set(ds.load_datasets()))
            report.listed = len(listing.files) + len(listing.unreadable)
            for file, reason in listing.unreadable:
                report.failed.append((file.path, reason))
                log.error("backup of %s failed: %s", file.path, reason)
            for file in listing.files:
                if cutoff is not None and date.fromisoformat(file.dt) < cutoff:
                    report.outside_retention += 1
                    continue
                target = dest / file.path
                if manifest.has(file) and _present(target, file.size):
                    report.skipped += 1
                    continue
                _copy_one(source, file, target, manifest, report)
            if cutoff is not None:
                _prune(dest, cutoff, manifest, report)
        finally:
            manifest.close()
    report.seconds = time.perf_counter() - started
    return report


def _present(target: Path, size: int) -> bool:
    try:
        return target.stat().st_size == size
    except FileNotFoundError:
        return False


def _copy_one(
    source: Source, file: SourceFile, target: Path, manifest: _Manifest, report: BackupReport
) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + TEMP_SUFFIX)
    md5, sha256, size = hashlib.md5(usedforsecurity=False), hashlib.sha256(), 0
    try:
        with source.open(file) as stream, open(temp, "wb") as out:
            while chunk := stream.read(CHUNK):
                out.write(chunk)
                md5.update(chunk)
                sha256.update(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        problem = _verify(source, file, size, md5.digest(), sha256.hexdigest(), report)
        if problem:
            raise _Mismatch(problem)
        _keep_superseded(target, sha256.hexdigest())
        os.replace(temp, target)
        _fsync_dir(target.parent)
    except (TransientError, FileError, OSError, _Mismatch) as exc:
        # this file only: the next run tries it again (a changed blob, a network failure,
        # an archived blob, a full disk, a corrupt transfer); the temp file never becomes the copy
        temp.unlink(missing_ok=True)
        report.failed.append((file.path, str(exc) or type(exc).__name__))
        log.error("backup of %s failed: %s", file.path, exc)
        return
    except Exception:
        temp.unlink(missing_ok=True)
        raise
    manifest.record(file, md5.hexdigest(), sha256.hexdigest())
    report.copied.append(file.path)
    report.bytes_copied += size
    log.info("backed up %s (%s bytes)", file.path, f"{size:,}")


class _Mismatch(Exception):
    pass


SUPERSEDED_SUFFIX = ".superseded"


def _keep_superseded(target: Path, new_sha256: str) -> None:
    """A re-uploaded blob with other content must not destroy the copy of the version before
    it (perhaps the one that was loaded): that copy stays beside the new one, as
    `<name>.<its sha256, 16 hex>.superseded` (the loader reading the backup ignores it; retention
    prunes it with its dt= folder)."""
    if not target.exists():
        return
    old = file_version(target).removeprefix("sha256:")
    if old == new_sha256:
        return  # same bytes (only the etag changed): nothing to keep
    kept = target.with_name(f"{target.name}.{old[:16]}{SUPERSEDED_SUFFIX}")
    os.replace(target, kept)
    log.info("kept the copy of the earlier version of %s as %s", target.name, kept.name)


def _verify(
    source: Source, file: SourceFile, size: int, md5: bytes, sha256: str, report: BackupReport
) -> str | None:
    if size != file.size:
        return f"copied {size} bytes, the listing says {file.size}"
    content_md5 = getattr(source, "content_md5", None)
    expected = content_md5(file) if content_md5 else None
    if expected:
        if expected != md5:
            return (
                f"Content-MD5 mismatch: the blob says {base64.b64encode(expected).decode()}, "
                f"the copy has {base64.b64encode(md5).decode()}"
            )
        report.verified_md5 += 1
    elif file.version.startswith("sha256:"):
        if file.version != "sha256:" + sha256:
            return "content hash mismatch: the file changed while it was copied"
        report.verified_hash += 1
    return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(dest: Path, cutoff: date, manifest: _Manifest, report: BackupReport) -> None:
    # only the declared datasets' dt= folders: anything else in dest_dir is not ours to delete
    for name in ds.load_datasets():
        dataset_dir = dest / name
        if not dataset_dir.is_dir():
            continue
        for folder in sorted(p for p in dataset_dir.iterdir() if p.is_dir()):
            m = _DT_DIR.fullmatch(folder.name)
            if not m:
                continue
            try:
                dt = date.fromisoformat(m.group(1))
            except ValueError:
                continue
            if dt < cutoff:
                shutil.rmtree(folder)
                rel = folder.relative_to(dest).as_posix()
                manifest.pruned(rel)
                report.pruned.append(rel)
                log.info("pruned %s (older than %s)", rel, cutoff)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipeline.backup",
        description=(
            "Mirror the landing area's Parquet extracts not yet backed up to a local folder, "
            "same relative layout (a folder the loader can read). Each copy is verified "
            "against the blob's Content-MD5 when it has one (or the local file's content "
            "hash), written to a temp file and renamed into place, and recorded in "
            f"<dest>/{MANIFEST}. Re-running copies only what is new or re-uploaded; an "
            "interrupted run is resumed. dt= folders older than the retention are deleted."
        ),
        epilog=(
            "Settings: DATAWIZ_SOURCE, DATAWIZ_BACKUP_DIR, DATAWIZ_BACKUP_RETENTION_DAYS, and "
            "for Azure AZURE_STORAGE_CONNECTION_STRING or DATAWIZ_AZURE_ACCOUNT_URL + "
            "DATAWIZ_AZURE_SAS_TOKEN (list + read permissions). Exit codes: 0 ok, 1 some files "
            "failed (retried next run), 2 configuration or credentials, 75 transient error."
        ),
    )
    p.add_argument(
        "--source", help="az://<container>/<prefix> or a folder (default: DATAWIZ_SOURCE)"
    )
    p.add_argument("--dest", help="backup folder (default: DATAWIZ_BACKUP_DIR or data/backup)")
    p.add_argument(
        "--retention-days",
        type=int,
        help="delete dt= folders older than this many days (default: "
        "DATAWIZ_BACKUP_RETENTION_DAYS or 30)",
    )
    p.add_argument("--keep-all", action="store_true", help="prune nothing")
    p.add_argument(
        "--today", type=date.fromisoformat, help="the date retention counts from (YYYY-MM-DD)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = Settings.from_env(source=args.source, backup_dir=args.dest)
        retention = (
            None
            if args.keep_all
            else (
                args.retention_days
                if args.retention_days is not None
                else settings.backup_retention_days
            )
        )
        report = backup(settings.source, settings.backup_dir, retention, settings, today=args.today)
    except TerminalError as exc:
        print(f"backup: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except TransientError as exc:
        print(f"backup: transient error, try again later: {exc}", file=sys.stderr)
        return EXIT_TRANSIENT
    print(f"backup: {report.summary()}")
    for path, error in report.failed:
        print(f"backup: failed {path}: {error}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
