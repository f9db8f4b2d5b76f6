"""The cron-less scheduler (`python orchestrate.py schedule`), built on the `schedule` package.

Every day at DATAWIZ_EVENING_AT (20:30) the evening pipeline, at DATAWIZ_MORNING_AT (06:30) the
morning pipeline, and at DATAWIZ_MAINTAIN_AT (03:00) on the 1st of the month the maintenance.
Times are the host's local time (set TZ for the process, e.g. TZ=Asia/Kolkata).

Each job is a child process (`orchestrate.py run morning ...`), so a crash or a leak in one
run cannot take the scheduler down, and each run takes the same lock as a cron run would.
Jobs run one after another: a long evening run delays the next job rather than overlapping it
(`schedule` runs a job that came due while another ran as soon as that one ends, once). A
scheduler that was down does not catch up on the runs it missed; the next run picks up all the
files that landed meanwhile. SIGTERM or Ctrl-C stops the scheduler after the current job.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import schedule

from loader.errors import TerminalError
from loader.settings import PROJECT_ROOT, Settings

log = logging.getLogger("datawiz.schedule")

ORCHESTRATE = PROJECT_ROOT / "orchestrate.py"
POLL_SECONDS = 30

Job = Callable[[list[str]], int]


def maintenance_due(today: date) -> bool:
    return today.day == 1


def build_scheduler(
    settings: Settings,
    job: Job,
    today: Callable[[], date] = date.today,
    scheduler: schedule.Scheduler | None = None,
) -> schedule.Scheduler:
    """The three daily jobs; `job(args)` runs `orchestrate.py <args>` and returns its exit code."""
    s = scheduler or schedule.Scheduler()

    def monthly() -> int | None:
        return job(["maintain"]) if maintenance_due(today()) else None

    for name, at in (
        ("DATAWIZ_EVENING_AT", settings.evening_at),
        ("DATAWIZ_MORNING_AT", settings.morning_at),
        ("DATAWIZ_MAINTAIN_AT", settings.maintain_at),
    ):
        try:  # a Job is registered only by .do(): this just validates the time
            s.every().day.at(at)
        except schedule.ScheduleValueError:
            raise TerminalError(f"{name} must be a time of day as HH:MM, got {at!r}") from None
    s.every().day.at(settings.evening_at).do(job, ["run", "evening"]).tag("evening")
    s.every().day.at(settings.morning_at).do(job, ["run", "morning"]).tag("morning")
    s.every().day.at(settings.maintain_at).do(monthly).tag("maintain")
    return s


def describe(s: schedule.Scheduler) -> list[str]:
    lines = []
    for j in sorted(s.get_jobs(), key=lambda j: j.next_run):
        (tag,) = j.tags
        when = "daily" if tag != "maintain" else "on the 1st of the month"
        lines.append(
            f"{tag:<9} {when} at {j.at_time:%H:%M}, next check {j.next_run:%Y-%m-%d %H:%M}"
        )
    return lines


def subprocess_job(forward: list[str], orchestrate: Path = ORCHESTRATE) -> Job:
    """A job that runs orchestrate.py in a child process with the same Python, forwarding the
    scheduler's own options (--target, --source, --duckdb-path, -v)."""

    def job(args: list[str]) -> int:
        cmd = [sys.executable, str(orchestrate), *args, *forward]
        print(f"datawiz schedule: starting {' '.join(args)}", flush=True)
        # its own session: a Ctrl-C at the scheduler's terminal (SIGINT to the foreground process
        # group) stops the scheduler after this run instead of killing the run
        rc = subprocess.call(cmd, start_new_session=True)
        print(f"datawiz schedule: {' '.join(args)} exited {rc}", flush=True)
        if rc != 0:
            log.warning("scheduled %s exited %d", " ".join(args), rc)
        return rc

    return job


def run_forever(s: schedule.Scheduler, stop: threading.Event, poll: float = POLL_SECONDS) -> None:
    while not stop.is_set():
        s.run_pending()
        idle = s.idle_seconds
        wait = poll if idle is None else min(max(idle, 0.5), poll)
        stop.wait(wait)
