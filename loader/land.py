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

from loader.datasets import Dataset, load_datasets
from loader.errors import BadFileError, TerminalError
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
) -> LandReport:
    """Land every listed file of `datasets` not yet in the ledger. Bad files are quarantined and
    the others still load; a file that fails for another reason is left for the next run."""
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
    done = sink.done_versions()
    todo = [f for f in listing.files if f.version not in done.get(f.path, ())]
    report.skipped = report.listed - len(todo)
    for i, file in enumerate(todo, 1):
        result = _land_one(source, sink, by_name[file.dataset], file, batch_rows, report.run_id)
        report.results.append(result)
        if progress:
            progress(i, len(todo), result)
    report.seconds = time.perf_counter() - started
    return report


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
                if reader.failure is not None and not isinstance(exc, BadFileError):
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
        reason = exc.reason
        where = source.quarantine(file, reason)
        sink.record(
            LedgerEntry(
                file,
                "quarantined",
                0,
                loaded_at,
                int((time.perf_counter() - t0) * 1000),
                run_id,
                reason,
            )
        )
        log.error("quarantined %s: %s (copy kept at %s)", file.path, reason, where)
        return FileResult(file, "quarantined", 0, time.perf_counter() - t0, reason)
    except TerminalError:
        raise
    except Exception as exc:  # noqa: BLE001 - any other failure leaves the file for the next run
        log.error(
            "failed %s: %s: %s (nothing landed; the next run tries again)",
            file.path,
            type(exc).__name__,
            exc,
        )
        return FileResult(
            file, "failed", 0, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"
        )
