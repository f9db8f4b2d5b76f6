"""Where the extracts come from. A source lists files (metadata only) and opens one for reading.

Both kinds, a local folder and an Azure Blob container, share the path rules of domain.md §3:
`<dataset>/dt=<YYYY-MM-DD>/<name>.parquet` relative to the root; everything else is ignored and
reported, never loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO, Protocol

QUARANTINE_PREFIX = "_quarantine"
_DT = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True, order=True)
class SourceFile:
    path: str  # relative to the source root, '/' separators; also the sort order ("later file")
    dataset: str
    dt: str
    size: int
    version: str  # content hash (local) or etag (Azure): a new version is loaded again


@dataclass(frozen=True)
class Ignored:
    path: str
    reason: str


@dataclass
class Listing:
    files: list[SourceFile] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    # data files that could not be looked at (e.g. no permission to read): (file, reason); they
    # fail this run, named, and the others still load
    unreadable: list[tuple[SourceFile, str]] = field(default_factory=list)


def classify(path: str, datasets: set[str]) -> tuple[str, str] | Ignored:
    """(dataset, dt) for a data file, or the reason it is not one."""
    parts = path.split("/")
    if parts[0] == QUARANTINE_PREFIX:
        return Ignored(path, "quarantined file")
    if parts[0] not in datasets:
        return Ignored(path, "not under a known dataset folder")
    name = parts[-1]
    if not name.endswith(".parquet"):
        return Ignored(path, "not a .parquet file")
    if name.startswith((".", "_")):
        return Ignored(path, "hidden or temporary file")
    if len(parts) != 3:
        return Ignored(path, "not directly under <dataset>/dt=<YYYY-MM-DD>/")
    m = _DT.fullmatch(parts[1])
    if not m:
        return Ignored(path, "folder is not dt=<YYYY-MM-DD>")
    try:
        date.fromisoformat(m.group(1))
    except ValueError:
        return Ignored(path, f"dt={m.group(1)} is not a valid date")
    return parts[0], m.group(1)


class Source(Protocol):
    """A landing area. `describe()` names it for logs (never with credentials)."""

    def describe(self) -> str: ...

    def list(self, datasets: set[str]) -> Listing: ...

    def open(self, file: SourceFile) -> BinaryIO:
        """A seekable binary stream of exactly the listed version of the file."""
        ...

    def quarantine(self, file: SourceFile, reason: str) -> str:
        """Copy a bad file aside (under _quarantine/) with its reason; return where it went."""
        ...


def open_source(uri: str, settings=None) -> Source:
    """A local folder, or `az://<container>/<prefix>` for Azure Blob Storage."""
    if uri.startswith("az://"):
        from loader.sources.azure import AzureSource

        return AzureSource.from_uri(uri, settings)
    from loader.sources.local import LocalSource

    return LocalSource(uri)
