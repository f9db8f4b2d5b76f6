"""One run at a time per warehouse: the lock file `.datawiz.lock` beside the DuckDB file, taken
by every pipeline run (orchestrate.py) and by the loader run by hand, so cron may start a run
while another goes on (the monthly maintenance into the morning run) without the two landing
or building the same things at once."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from loader.errors import TerminalError
from loader.settings import Settings


class LockHeld(TerminalError):
    """Another run still held the lock when this one had waited as long as it may (`wait`
    seconds; 0: it did not wait)."""

    def __init__(self, message: str, wait: float):
        super().__init__(message)
        self.wait = wait


# how often a run waiting for the lock tries it again
LOCK_POLL_SECONDS = 5.0


@contextmanager
def run_lock(
    settings: Settings, command: str = "", echo: Callable[[str], None] = print
) -> Iterator[None]:
    """Hold the warehouse's lock. A run that finds it held waits for it up to
    DATAWIZ_LOCK_WAIT_SECONDS, saying once whom it waits for, then gives up (LockHeld). The
    holder writes its pid, command and start time into the lock file."""
    lock_path = Path(settings.duckdb_path).resolve().parent / ".datawiz.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    wait = max(0.0, float(settings.lock_wait_seconds))
    started = time.monotonic()
    announced = False
    with open(lock_path, "a+") as fh:  # not "w": that would wipe the holder's line
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                holder = _lock_holder(lock_path)
                if waited >= wait:
                    raise LockHeld(
                        f"another DataWiz run holds {lock_path} ({holder})"
                        + (f"; waited {waited:.0f}s for it" if wait else ""),
                        wait,
                    ) from None
                if not announced:
                    announced = True
                    echo(
                        f"datawiz: waiting up to {wait:.0f}s for the run that holds the lock "
                        f"({holder})"
                    )
                time.sleep(min(LOCK_POLL_SECONDS, wait - waited))
        if announced:
            echo(f"datawiz: lock free after {time.monotonic() - started:.0f}s; starting")
        fh.seek(0)
        fh.truncate()
        fh.write(
            f"pid {os.getpid()}: {command or 'datawiz'} since "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n"
        )
        fh.flush()
        yield


def _lock_holder(lock_path: Path) -> str:
    try:
        line = lock_path.read_text().strip()
    except OSError:
        line = ""
    return line or "holder unknown"
