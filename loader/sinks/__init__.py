"""Where landed rows go: raw.<dataset> tables and the load ledger, in DuckDB or StarRocks.

A sink writes a file's rows and its ledger entry so that both become visible together or not
at all: a crash never leaves a file half loaded, or recorded as loaded without its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import pyarrow as pa

from loader.datasets import Dataset
from loader.sources import SourceFile

LEDGER_TABLE = "load_ledger"  # in the raw schema / database


def done_statuses(retry_quarantined: bool = False) -> str:
    """The ledger statuses of a file version that needs no further attempt, as an SQL list:
    loaded, and quarantined as bad unless those are to be tried again."""
    return "('loaded')" if retry_quarantined else "('loaded', 'quarantined')"


def versions_by_path(rows) -> dict[str, set[str]]:
    """(path, version) rows as path -> versions."""
    out: dict[str, set[str]] = {}
    for path, version in rows:
        out.setdefault(path, set()).add(version)
    return out


@dataclass(frozen=True)
class LedgerEntry:
    file: SourceFile
    status: str  # loaded | failed | quarantined
    rows: int
    loaded_at: datetime
    duration_ms: int
    run_id: str
    error: str | None = None


class Sink(Protocol):
    def describe(self) -> str: ...

    def prepare(self, datasets: list[Dataset]) -> None:
        """Create the raw schema, raw tables and the ledger if missing; add declared columns."""
        ...

    def done_versions(self, retry_quarantined: bool = False) -> dict[str, set[str]]:
        """path -> versions that need no further attempt (loaded, or quarantined as bad unless
        `retry_quarantined`)."""
        ...

    def write(self, dataset: Dataset, reader: pa.RecordBatchReader, entry: LedgerEntry) -> int:
        """Land all rows of one file and its ledger entry atomically; return the rows landed."""
        ...

    def record(self, entry: LedgerEntry) -> None:
        """Record a failed or quarantined attempt (no rows)."""
        ...

    def close(self) -> None: ...


def open_sink(settings) -> Sink:
    if settings.target == "starrocks":
        from loader.sinks.starrocks import StarRocksSink

        return StarRocksSink.from_settings(settings)
    from loader.sinks.duckdb import DuckDBSink

    return DuckDBSink(settings.duckdb_path)
