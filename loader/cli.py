"""The loader's command line: a thin layer over loader.land."""

from __future__ import annotations

import argparse
import logging
import sys

from loader import datasets as ds
from loader.errors import TerminalError, TransientError
from loader.land import FileResult, LandReport, land
from loader.lock import run_lock
from loader.settings import Settings
from loader.sinks import open_sink
from loader.sources import open_source

# Exit codes, for cron and alerting: 0 ok; 1 a file failed (retried next run); 2 bad usage or
# configuration; 3 some files were quarantined (the rest landed); 75 transient (try again later).
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_QUARANTINED, EXIT_TRANSIENT = 0, 1, 2, 3, 75


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m loader",
        description=(
            "Land every Parquet extract of the source that the load ledger does not hold yet "
            "(by path and version) into raw.<dataset>, unchanged but for the lineage columns "
            "_source_file, _source_row and _loaded_at. Each file lands with its ledger entry "
            "in one transaction; a bad file is quarantined and the others still load."
        ),
        epilog=(
            "Settings come from DATAWIZ_* environment variables or .env: DATAWIZ_SOURCE, "
            "DATAWIZ_TARGET, DATAWIZ_DUCKDB_PATH, DATAWIZ_STARROCKS_HOST/_QUERY_PORT/_HTTP_PORT/"
            "_USER/_PASSWORD, AZURE_STORAGE_CONNECTION_STRING or DATAWIZ_AZURE_ACCOUNT_URL + "
            "DATAWIZ_AZURE_SAS_TOKEN, DATAWIZ_LOCK_WAIT_SECONDS (it waits for a running "
            "pipeline's lock). Exit codes: 0 ok, 1 a file failed, 2 configuration error or the "
            "lock still held, 3 files quarantined, 75 transient error."
        ),
    )
    p.add_argument(
        "--source",
        help="landing folder or az://<container>/<prefix> "
        "(default: DATAWIZ_SOURCE or data/landing)",
    )
    p.add_argument(
        "--target",
        choices=["duckdb", "starrocks"],
        help="warehouse (default: DATAWIZ_TARGET or duckdb)",
    )
    p.add_argument("--duckdb-path", help="DuckDB file (default: DATAWIZ_DUCKDB_PATH)")
    p.add_argument(
        "--window",
        choices=["evening", "morning", "all"],
        default="all",
        help="land only the datasets of this schedule window (default: all)",
    )
    p.add_argument(
        "--dataset", action="append", metavar="NAME", help="land only this dataset (repeatable)"
    )
    p.add_argument(
        "--list",
        action="store_true",
        help="list the data files found (path, size, version; loaded or not) and what is "
        "ignored with the reason; lands nothing and opens no warehouse",
    )
    p.add_argument(
        "--retry-quarantined",
        action="store_true",
        help="try the files quarantined before again, e.g. after the dataset declaration was "
        "corrected (a file still bad is quarantined again; the ledger keeps every entry)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, warnings only")
    return p


def exit_code(report: LandReport) -> int:
    if report.of("failed"):
        return EXIT_FAILED
    if report.of("quarantined"):
        return EXIT_QUARANTINED
    return EXIT_OK


def _progress_printer(quiet: bool):
    tty = sys.stderr.isatty() and not quiet

    def show(i: int, n: int, r: FileResult) -> None:
        if tty:
            width = 30
            done = int(width * i / n)
            sys.stderr.write(
                f"\r[{'#' * done}{'.' * (width - done)}] {i}/{n} files  {r.file.path[-48:]:<48}"
            )
            if i == n:
                sys.stderr.write("\n")
            sys.stderr.flush()

    return show


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr if not sys.stderr.isatty() else sys.stdout,
    )
    try:
        settings = Settings.from_env(
            source=args.source, target=args.target, duckdb_path=args.duckdb_path
        )
        selected = ds.select(args.window, args.dataset)
        source = open_source(settings.source, settings)
        if args.list:
            # classified against every dataset (another window's files are not junk), shown
            # for the selected ones
            names = {d.name for d in selected}
            listing = source.list(set(ds.load_datasets()))
            for f in (f for f in listing.files if f.dataset in names):
                print(f"{f.path}\t{f.size}\t{f.version}")
            for f, reason in listing.unreadable:
                if f.dataset in names:
                    print(f"# unreadable {f.path}: {reason}")
            for ig in listing.ignored:
                print(f"# ignored {ig.path}: {ig.reason}")
            return EXIT_OK
        # the lock of the scheduled runs: landing by hand while one runs would race it
        with run_lock(settings, "python -m loader", _to_stderr):
            sink = open_sink(settings)
            try:
                report = land(
                    source,
                    sink,
                    selected,
                    batch_rows=settings.batch_rows,
                    progress=_progress_printer(args.quiet),
                    retry_quarantined=args.retry_quarantined,
                )
            finally:
                sink.close()
    except (TerminalError, ValueError) as exc:
        print(f"loader: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except TransientError as exc:
        print(f"loader: transient error, try again later: {exc}", file=sys.stderr)
        return EXIT_TRANSIENT
    print(f"loader: {report.summary()}")
    for r in report.of("quarantined") + report.of("failed"):
        print(f"loader: {r.status} {r.file.path}: {r.error}", file=sys.stderr)
    return exit_code(report)
