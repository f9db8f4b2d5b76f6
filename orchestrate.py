#!/usr/bin/env python3
"""DataWiz orchestrator: runs the evening (dimensions) and morning (facts) pipelines.

A thin command line over pipeline/: it parses arguments, loads settings, runs the declared
steps and turns the outcome into an exit code that cron and alerting understand.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from loader.errors import TerminalError, TransientError
from loader.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2

HELP_EPILOG = """\
settings (environment variables, also read from .env in the working directory, or from the
file DATAWIZ_DOTENV names):
  DATAWIZ_SOURCE          landing folder or az://<container>/<prefix>  (default data/landing)
  DATAWIZ_TARGET          duckdb | starrocks                           (default duckdb)
  DATAWIZ_DUCKDB_PATH     DuckDB warehouse file             (default data/warehouse.duckdb)
  DATAWIZ_STARROCKS_HOST, _QUERY_PORT (9030), _HTTP_PORT (8030), _USER, _PASSWORD
  AZURE_STORAGE_CONNECTION_STRING, or DATAWIZ_AZURE_ACCOUNT_URL + DATAWIZ_AZURE_SAS_TOKEN
  DATAWIZ_<STEP>_TIMEOUT_SECONDS   per-step timeouts: LOAD, DBT, BACKUP (3600), CONSTANTS
                                  (600), ROLLUPS (1800), MAINTAIN (14400, the whole run)
  DATAWIZ_LOCK_WAIT_SECONDS (3600) how long a run waits for another one holding the lock
  DATAWIZ_STARROCKS_LOAD_TIMEOUT_SECONDS (600)  one file's Stream Load, begin to commit
  DATAWIZ_DBT_THREADS (2)          dbt's threads
  DATAWIZ_MONGO_URI, DATAWIZ_MONGO_DATABASE (datawiz)    business constants (unset: skipped)
  DATAWIZ_SMTP_HOST, _PORT (587), _USER, _PASSWORD, _FROM, _TLS (starttls|ssl|none)
  DATAWIZ_ALERT_TO (comma-separated), DATAWIZ_ALERT_ON (failure|warning|always|never)
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS  traces (OTLP/HTTP, e.g. SigNoz)
  DATAWIZ_EVENING_AT (20:30), DATAWIZ_MORNING_AT (06:30), DATAWIZ_MAINTAIN_AT (03:00, 1st)
  DATAWIZ_HISTORY_KEEP_DAYS (400)                         run history retention

exit codes: 0 every step succeeded (warnings allowed), 1 a step failed, 2 bad usage or
configuration (or another run still holds the lock after the wait: e-mailed). Docs:
docs/operations.md.

examples:
  python orchestrate.py run all                      # evening then morning, embedded default
  python orchestrate.py run morning --target starrocks
  python orchestrate.py run evening --source az://landing/extracts
  python orchestrate.py status                       # the last runs and their steps
  python orchestrate.py maintain                     # monthly: full refresh, analyze, prune
  python orchestrate.py schedule                     # run everything on time, without cron
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orchestrate.py",
        description="Run the DataWiz pipelines: loader, then dbt build --select tag:<window>.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run a pipeline now",
        description="Run the evening (dimensions), morning (facts) or all (evening then "
        "morning) pipeline: land new files, then dbt build --select tag:<window>.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("window", choices=["evening", "morning", "all"])
    _common(run)
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild incremental models from scratch (monthly maintenance)",
    )

    summary = sub.add_parser(
        "summary",
        help="print row counts of the marts",
        description="Print the row count of every mart and of the loaded files.",
    )
    _common(summary)

    status = sub.add_parser(
        "status",
        help="print the last runs and their steps (run history)",
        description="Print the last runs from ops.run_history, newest first, with one line "
        "per step. Exit 0 when the latest run of every pipeline succeeded, 1 when one of them "
        "failed or was interrupted, or (--max-age-hours) is too old (usable as a health check).",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("--limit", type=int, default=10, help="how many runs (default 10)")
    status.add_argument(
        "--max-age-hours",
        type=float,
        help="also exit 1 when the latest evening or morning run started longer ago than this, "
        "or a run has been running that long: a run that never started (cron, a "
        "bad setting) or hangs sends no alert of its own (e.g. 26 for daily runs)",
    )
    _common(status)

    maintain = sub.add_parser(
        "maintain",
        help="monthly maintenance: full refresh of the incremental facts, analyze, prune",
        description="Monthly maintenance: dbt build --full-refresh of the incremental facts "
        "and what depends on them, DuckDB CHECKPOINT/ANALYZE or StarRocks ANALYZE TABLE and "
        "COMPACT, and pruning of the run history.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(maintain)

    backup = sub.add_parser(
        "backup",
        help="mirror the landing area to a local backup folder (also the last morning step)",
        description="Copy every extract not yet backed up to DATAWIZ_BACKUP_DIR (default "
        "data/backup) in the same relative layout, verify each copy (Content-MD5 or content "
        "hash), record it in the folder's manifest and prune dt= folders older than "
        "DATAWIZ_BACKUP_RETENTION_DAYS (default 30). Idempotent and resumable.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(backup)

    sched = sub.add_parser(
        "schedule",
        help="run the pipelines on time without cron (evening, morning, monthly maintenance)",
        description="Stay in the foreground and run: the evening pipeline daily at "
        "DATAWIZ_EVENING_AT, the morning pipeline daily at DATAWIZ_MORNING_AT, the maintenance "
        "on the 1st at DATAWIZ_MAINTAIN_AT (local time). Each run is a child process. "
        "SIGTERM or Ctrl-C stops after the current run.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sched.add_argument("--list", action="store_true", help="print the jobs and exit")
    _common(sched)
    return p


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target",
        choices=["duckdb", "starrocks"],
        help="warehouse (default: DATAWIZ_TARGET or duckdb)",
    )
    p.add_argument(
        "--source",
        help="landing folder or az://<container>/<prefix> "
        "(default: DATAWIZ_SOURCE or data/landing)",
    )
    p.add_argument("--duckdb-path", help="DuckDB file (default: DATAWIZ_DUCKDB_PATH)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every file and dbt node")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # under cron stdout is a file: each step line (and "waiting for the lock") goes out as it is
    # printed, not when the run ends, or never if the run is killed
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        settings = Settings.from_env(
            source=args.source, target=args.target, duckdb_path=args.duckdb_path
        )
        from pipeline.redact import install_log_redaction

        install_log_redaction(settings)
        if args.command == "run":
            from pipeline.pipelines import run_pipeline

            print(
                f"datawiz: {args.window} pipeline, source {settings.source}, "
                f"target {settings.target}"
            )
            report = run_pipeline(args.window, settings, full_refresh=args.full_refresh)
            verdict = "ok" if report.ok else "FAILED"
            print(f"datawiz: {args.window} pipeline {verdict} in {report.seconds:.1f}s")
            return EXIT_OK if report.ok else EXIT_FAILED
        if args.command == "summary":
            from pipeline.summary import print_summary

            return print_summary(settings)
        if args.command == "status":
            return _status(settings, args.limit, args.max_age_hours)
        if args.command == "maintain":
            from pipeline.maintenance import run_maintenance

            print(f"datawiz: maintenance, target {settings.target}")
            report = run_maintenance(settings)
            verdict = "ok" if report.ok else "FAILED"
            print(f"datawiz: maintenance {verdict} in {report.seconds:.1f}s")
            return EXIT_OK if report.ok else EXIT_FAILED
        if args.command == "schedule":
            return _schedule(settings, args)
        if args.command == "backup":
            from pipeline.pipelines import backup_step

            outcome = backup_step(settings, only_remote=False)
            print(f"datawiz: backup {'ok' if outcome.ok else 'FAILED'}: {outcome.detail}")
            return EXIT_OK if outcome.ok else EXIT_FAILED
    except TerminalError as exc:
        from pipeline.redact import redact

        print(f"datawiz: error: {redact(exc)}", file=sys.stderr)
        return EXIT_CONFIG
    except TransientError as exc:
        from pipeline.redact import redact

        print(f"datawiz: {redact(exc)} (try again later)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_CONFIG


def _status(settings: Settings, limit: int, max_age_hours: float | None = None) -> int:
    from pipeline.history import format_runs, recent_runs

    runs = recent_runs(settings, limit=limit)
    print(f"DataWiz runs on {settings.target} (newest first, times UTC):")
    for line in format_runs(runs):
        print(line)
    latest: dict[str, object] = {}
    for run in runs:  # newest first: the first seen per pipeline is its latest
        latest.setdefault(run.pipeline, run)
    unhealthy = any(run.status in ("failed", "interrupted") for run in latest.values())
    if max_age_hours is not None:
        from pipeline.history import overdue
        from pipeline.pipelines import WINDOWS

        for finding in overdue(settings, max_age_hours, WINDOWS):
            print(f"datawiz: {finding}")
            unhealthy = True
    return EXIT_FAILED if unhealthy else EXIT_OK


def _schedule(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.alerts import check_settings
    from pipeline.schedule import build_scheduler, describe, run_forever, subprocess_job

    check_settings(settings)
    forward = ["--target", settings.target, "--source", settings.source]
    forward += ["--duckdb-path", settings.duckdb_path] + (["-v"] if args.verbose else [])
    scheduler = build_scheduler(settings, subprocess_job(forward))
    stop = threading.Event()
    if not args.list:
        # before the first line: whoever waits for it may stop the scheduler right away
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    for line in describe(scheduler):
        print(f"datawiz schedule: {line}")
    if args.list:
        return EXIT_OK
    sys.stdout.flush()
    run_forever(scheduler, stop)
    print("datawiz schedule: stopped")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
