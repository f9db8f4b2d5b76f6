"""A local landing folder (the embedded default)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path
from typing import BinaryIO

from loader.errors import TerminalError
from loader.sources import QUARANTINE_PREFIX, Ignored, Listing, SourceFile, classify

log = logging.getLogger("datawiz.loader")


def file_version(path: Path) -> str:
    """Content hash: a file re-written under the same name with other content is a new version."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


class LocalSource:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def describe(self) -> str:
        return str(self.root)

    def list(self, datasets: set[str]) -> Listing:
        if not self.root.is_dir():
            raise TerminalError(f"source folder {self.root} does not exist")
        listing = Listing()
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            for name in sorted(filenames):
                full = Path(dirpath) / name
                rel = full.relative_to(self.root).as_posix()
                kind = classify(rel, datasets)
                if isinstance(kind, Ignored):
                    if not rel.startswith(QUARANTINE_PREFIX + "/"):
                        listing.ignored.append(kind)
                    continue
                dataset, dt = kind
                try:
                    listing.files.append(
                        SourceFile(rel, dataset, dt, full.stat().st_size, file_version(full))
                    )
                except FileNotFoundError:
                    continue  # removed since the folder was walked: not there to load
                except OSError as exc:
                    reason = f"cannot read the file: {type(exc).__name__}: {exc.strerror or exc}"
                    listing.unreadable.append((SourceFile(rel, dataset, dt, 0, ""), reason))
        listing.files.sort()
        return listing

    def local_path(self, file: SourceFile) -> Path:
        """Where the warehouse engine can read the file itself (see loader.land)."""
        return (self.root / file.path).resolve()

    def open(self, file: SourceFile) -> BinaryIO:
        return open(self.root / file.path, "rb")

    def quarantine(self, file: SourceFile, reason: str) -> str:
        """Copy the file under _quarantine/ with its reason. When the copy cannot be made (a
        read-only landing mount) it is skipped with a warning, as on Azure: the ledger entry the
        loader writes next still stops the file from being retried, and the original stays."""
        dest = self.root / QUARANTINE_PREFIX / file.path
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.root / file.path, dest)
            dest.with_name(dest.name + ".reason.txt").write_text(reason + "\n")
        except OSError as exc:
            log.warning(
                "could not copy %s to %s (%s); it stays recorded as quarantined",
                file.path,
                dest,
                exc,
            )
            return f"nowhere (copy failed: {type(exc).__name__}: {exc.strerror or exc})"
        return dest.relative_to(self.root).as_posix()
