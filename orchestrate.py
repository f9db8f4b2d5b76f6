#!/usr/bin/env python3
"""DataWiz orchestrator: runs the evening (dimensions) and morning (facts) pipelines.

A thin command line over pipeline/: it parses arguments, loads settings, runs the declared
steps and turns the outcome into an exit code that cron and alerting understand.
"""

from __future__ import annotations

import argparse
import logging
import sys

from loader.errors import TerminalError
from loader.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2

HELP_EPILOG = """\
settings (environment variables, also read from .env in the working directory):
  DATAWIZ_SOURCE          landing folder or az://<container>/<prefix>  (default data/landing)
  DATAWIZ_TARGET          duckdb | starrocks                           (default duckdb)
  DATAWIZ_DUCKDB_PATH     DuckDB warehouse file             (default data/warehouse.duckdb)
  DATAWIZ_STARROCKS_HOST, _QUERY_PORT (9030), _HTTP_PORT (8030), _USER, _PASSWORD
  AZURE_STORAGE_CONNECTION_STRING, or DATAWIZ_AZURE_ACCOUNT_URL + DATAWIZ_AZURE_SAS_TOKEN
  DATAWIZ_LOAD_TIMEOUT_SECONDS, DATAWIZ_DBT_TIMEOUT_SECONDS  per-step timeouts

exit codes: 0 every step succeeded (warnings allowed), 1 a step failed, 2 bad usage or
configuration (or another run holds the lock).

examples:
  python orchestrate.py run all                      # evening then morning, embedded default
  python orchestrate.py run morning --target starrocks
  python orchestrate.py run evening --source az://landing/extracts
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

    summary = sub.add_parser("summary", help="print row counts of the marts")
    _common(summary)
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
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        settings = Settings.from_env(
            source=args.source, target=args.target, duckdb_path=args.duckdb_path
        )
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
    except TerminalError as exc:
        print(f"datawiz: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
