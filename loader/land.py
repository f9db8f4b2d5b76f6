"""Landing: the files a source lists, minus those the ledger already holds, into the sink.

Discovery is "listed minus ledger" by (path, version), never a timestamp cursor, so late or
same-second files cannot be missed and a re-uploaded file with new content is loaded again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from loader.datasets import Dataset, load_datasets
from loader.errors import BadFileError, TerminalError, TransientError
from loader.read import FileReader
from loader.sinks import LedgerEntry, Sink
from loader.sources import Ignored, Source, SourceFile

log = logging.getLogger("datawiz.loader")


@dataclass
class FileResult:
    file: SourceFile
    status: str  # loaded | quarantined | failed
    rows: int = 0
    seconds: float = 0.0
    error: str | None = None
    # a failure worth trying again at once (a lost connection, an I/O error), not one that
    # will repeat (rows the warehouse rejected, a file the loader may not read)
    transient: bool = False


@dataclass
class LandReport:
    run_id: str
    source: str
    sink: str
    listed: int = 0
    skipped: int = 0
    ignored: list[Ignored] = field(default_factory=list)
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def of(self, status: str) -> list[FileResult]:
        return [r for r in self.results if r.status == status]

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.of("loaded"))

    @property
    def ok(self) -> bool:
        """True when nothing failed; quarantined files are reported but do not fail the run."""
        return not self.of("failed")

    def summary(self) -> str:
        return (
            f"listed {self.listed} files, loaded {len(self.of('loaded'))} ({self.rows:,} rows), "
            f"skipped {self.skipped} already loaded, quarantined {len(self.of('quarantined'))}, "
            f"failed {len(self.of('failed'))}, ignored {len(self.ignored)} non-data files "
            f"in {self.seconds:.1f}s"
        )


Progress = Callable[[int, int, FileResult], None]


def land(
    source: Source,
    sink: Sink,
    datasets: list[Dataset],
    *,
    batch_rows: int = 65_536,
    run_id: str | None = None,
    progress: Progress | None = None,
    retry_quarantined: bool = False,
) -> LandReport:
    """Land every listed file of `datasets` not yet in the ledger. Bad files are quarantined and
    the others still load; a file that fails for another reason is left for the next run.
    `retry_quarantined`: files quarantined before are tried again (after the declaration was
    corrected); the ledger keeps the earlier entries, a file still bad is quarantined again."""
    started = time.perf_counter()
    report = LandReport(run_id or uuid.uuid4().hex[:12], source.describe(), sink.describe())
    by_name = {d.name: d for d in datasets}
    sink.prepare(datasets)
    # classify against every declared dataset, so another window's files are not "junk"
    listing = source.list(set(load_datasets()))
    listing.files = [f for f in listing.files if f.dataset in by_name]
    report.listed = len(listing.files)
    report.ignored = listing.ignored
    for item in listing.ignored:
        log.info("ignored %s: %s", item.path, item.reason)
    done = sink.done_versions(retry_quarantined)
    todo = [f for f in listing.files if f.version not in done.get(f.path, ())]
    report.skipped = report.listed - len(todo)
    unreadable = [(f, reason) for f, reason in listing.unreadable if f.dataset in by_name]

    def done_one(result: FileResult) -> None:
        report.results.append(result)
        if progress:
            progress(len(report.results), len(todo) + len(unreadable), result)

    for file, reason in unreadable:
        log.error("failed %s: %s (the next run tries again)", file.path, reason)
        done_one(FileResult(file, "failed", 0, 0.0, reason))
    if _engine_reads_files(source, sink):
        _land_in_engine(source, sink, by_name, todo, batch_rows, report.run_id, done_one)
    elif callable(getattr(sink, "write_group", None)):
        _land_streamed_groups(source, sink, by_name, todo, batch_rows, report.run_id, done_one)
    else:
        for file in todo:
            done_one(
                _land_one(source, sink, by_name[file.dataset], file, batch_rows, report.run_id)
            )
    report.seconds = time.perf_counter() - started
    return report


# --- files the warehouse engine can read itself (a local folder into DuckDB) ----------------
# Pushing the read into the engine lands a group of files with one multi-threaded
# read_parquet, instead of streaming each file's batches through Python. The group commits
# with the ledger entries of all its files, so each file is still all-or-nothing.

GROUP_MAX_ROWS = 2_000_000
GROUP_MAX_FILES = 500
_GLOB_CHARS = frozenset("*?[")


def _engine_reads_files(source: Source, sink: Sink) -> bool:
    return callable(getattr(source, "local_path", None)) and callable(
        getattr(sink, "write_local_files", None)
    )


def _land_in_engine(source, sink, by_name, todo, batch_rows, run_id, done_one) -> None:
    groups: list[list[tuple[SourceFile, int]]] = []
    current: list[tuple[SourceFile, int]] = []
    rows_in_group = 0
    for file in todo:
        dataset = by_name[file.dataset]
        t0 = time.perf_counter()
        try:  # the footer check (schema, readability) happens before anything is written
            with source.open(file) as stream:
                reader = FileReader(dataset, file, stream, batch_rows)
                rows = reader.rows_expected
                exact = reader.exact_types
        except BadFileError as exc:
            done_one(_quarantine(source, sink, file, exc.reason, datetime.now(UTC), 0.0, run_id))
            continue
        except TerminalError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. removed since listed: left for next run
            done_one(_failed(file, exc, t0))
            continue
        if not exact or _GLOB_CHARS.intersection(str(source.local_path(file))):
            # the engine's casts round where Arrow's safe casts refuse (decimal scale, ns
            # timestamps), and read_parquet takes [ ] * ? as a glob: such files go file by file
            done_one(_land_one(source, sink, dataset, file, batch_rows, run_id))
            continue
        if current and (
            current[0][0].dataset != file.dataset
            or rows_in_group + rows > GROUP_MAX_ROWS
            or len(current) >= GROUP_MAX_FILES
        ):
            groups.append(current)
            current, rows_in_group = [], 0
        current.append((file, rows))
        rows_in_group += rows
    if current:
        groups.append(current)

    for group in groups:
        dataset = by_name[group[0][0].dataset]
        t0 = time.perf_counter()
        loaded_at = datetime.now(UTC)
        entries = [LedgerEntry(f, "loaded", rows, loaded_at, 0, run_id) for f, rows in group]
        try:
            sink.write_local_files(dataset, source.local_path, entries)
        except TerminalError:
            raise
        except Exception as exc:  # noqa: BLE001 - one file spoiled the group: go file by file
            log.warning(
                "group of %d %s files failed (%s: %s); landing them one by one",
                len(group),
                dataset.name,
                type(exc).__name__,
                str(exc)[:200],
            )
            for file, _ in group:
                done_one(_land_one(source, sink, dataset, file, batch_rows, run_id))
            continue
        seconds = (time.perf_counter() - t0) / len(group)
        for file, rows in group:
            log.info("loaded %s: %s rows", file.path, f"{rows:,}")
            done_one(FileResult(file, "loaded", rows, seconds))


# --- files streamed through Python (a remote source into DuckDB) ----------------------------
# A group of files streams as one chain of record batches into one INSERT, committed with the
# ledger entries of all its files: one transaction per group instead of per file. If anything
# in the group fails, the group is rolled back and its files land one by one, which isolates a
# bad file (quarantined) or a failing one (left for the next run).

STREAM_GROUP_MAX_BYTES = 256 * 1024 * 1024


def _stream_groups(todo: list[SourceFile]) -> list[list[SourceFile]]:
    groups: list[list[SourceFile]] = []
    size = 0
    for file in todo:
        if groups and (
            groups[-1][0].dataset == file.dataset
            and size + file.size <= STREAM_GROUP_MAX_BYTES
            and len(groups[-1]) < GROUP_MAX_FILES
        ):
            groups[-1].append(file)
            size += file.size
        else:
            groups.append([file])
            size = file.size
    return groups


def _land_streamed_groups(source, sink, by_name, todo, batch_rows, run_id, done_one) -> None:
    for group in _stream_groups(todo):
        dataset = by_name[group[0].dataset]
        if len(group) == 1:
            done_one(_land_one(source, sink, dataset, group[0], batch_rows, run_id))
            continue
        t0 = time.perf_counter()
        loaded_at = datetime.now(UTC)
        rows_of: dict[str, int] = {}

        def batches(group=group, dataset=dataset, loaded_at=loaded_at, rows_of=rows_of):
            for file in group:
                with source.open(file) as stream:
                    reader = FileReader(dataset, file, stream, batch_rows)
                    yield from reader.batches(loaded_at)
                    rows_of[file.path] = reader.rows_read

        def entries(group=group, loaded_at=loaded_at, rows_of=rows_of) -> list[LedgerEntry]:
            return [LedgerEntry(f, "loaded", rows_of[f.path], loaded_at, 0, run_id) for f in group]

        try:
            sink.write_group(
                dataset,
                pa.RecordBatchReader.from_batches(dataset.landed_schema, batches()),
                entries,
            )
        except Exception as exc:  # noqa: BLE001 - one file spoiled the group: go file by file
            log.warning(
                "group of %d %s files failed (%s: %s); landing them one by one",
                len(group), dataset.name, type(exc).__name__, str(exc)[:200],
            )  # fmt: skip
            for file in group:
                done_one(_land_one(source, sink, dataset, file, batch_rows, run_id))
            continue
        seconds = (time.perf_counter() - t0) / len(group)
        for file in group:
            log.info("loaded %s: %s rows", file.path, f"{rows_of[file.path]:,}")
            done_one(FileResult(file, "loaded", rows_of[file.path], seconds))


def _quarantine(
    source, sink, file: SourceFile, reason: str, loaded_at: datetime, t0: float, run_id: str
) -> FileResult:
    """Copy a bad file aside and record it as quarantined. If the record cannot be written (a
    lost connection), the file fails instead, and the next run finds it bad again: the run goes
    on with the other files."""
    where = source.quarantine(file, reason)
    seconds = time.perf_counter() - t0 if t0 else 0.0
    try:
        sink.record(
            LedgerEntry(file, "quarantined", 0, loaded_at, int(seconds * 1000), run_id, reason)
        )
    except TerminalError:
        raise
    except Exception as exc:  # noqa: BLE001 - this file only: the others still load
        failed = _failed(file, exc, t0 or time.perf_counter())
        failed.error = f"bad file ({reason}), not recorded as quarantined: {failed.error}"
        return failed
    log.error("quarantined %s: %s (copy kept at %s)", file.path, reason, where)
    return FileResult(file, "quarantined", 0, seconds, reason)


def _land_one(
    source: Source, sink: Sink, dataset: Dataset, file: SourceFile, batch_rows: int, run_id: str
) -> FileResult:
    t0 = time.perf_counter()
    loaded_at = datetime.now(UTC)
    entry = LedgerEntry(file, "loaded", 0, loaded_at, 0, run_id)
    reader: FileReader | None = None
    try:
        with source.open(file) as stream:
            reader = FileReader(dataset, file, stream, batch_rows)
            try:
                rows = sink.write(dataset, reader.reader(loaded_at), entry)
            except Exception as exc:
                if reader.failure is not None and reader.failure is not exc:
                    raise reader.failure from exc
                raise
        if reader.extra_columns:
            log.warning(
                "%s: undeclared column(s) ignored: %s", file.path, ", ".join(reader.extra_columns)
            )
        result = FileResult(file, "loaded", rows, time.perf_counter() - t0)
        log.info("loaded %s: %s rows in %.2fs", file.path, f"{rows:,}", result.seconds)
        return result
    except BadFileError as exc:
        return _quarantine(source, sink, file, exc.reason, loaded_at, t0, run_id)
    except TerminalError:
        raise
    except Exception as exc:  # noqa: BLE001 - any other failure leaves the file for the next run
        return _failed(file, exc, t0)


def _failed(file: SourceFile, exc: Exception, t0: float) -> FileResult:
    log.error(
        "failed %s: %s: %s (nothing landed; the next run tries again)",
        file.path,
        type(exc).__name__,
        exc,
    )
    transient = isinstance(exc, TransientError) or (
        isinstance(exc, OSError) and not isinstance(exc, PermissionError)
    )
    return FileResult(
        file, "failed", 0, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}", transient
    )
