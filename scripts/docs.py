"""Generate the dbt docs site (model pages, column docs, lineage graph) and serve it locally.

    python -m scripts.docs                 generate, then serve on http://127.0.0.1:8080
    python -m scripts.docs --port 0        any free port (the URL is printed)
    python -m scripts.docs --no-serve      generate only (e.g. to publish the folder)
    python -m scripts.docs --serve-only    serve what was generated last

`dbt docs generate` reads the catalog (column types, row counts) from the warehouse of the
current settings (DATAWIZ_TARGET, DATAWIZ_DUCKDB_PATH, ... from the environment or .env), so
build the warehouse first (`make demo`). The site is served on 127.0.0.1 only: it shows the
warehouse's schema and the SQL of every model, which is not for the whole network.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as `python scripts/docs.py`
    sys.path.insert(0, str(ROOT))

from loader.errors import LoaderError, TerminalError  # noqa: E402
from loader.settings import Settings  # noqa: E402
from pipeline.dbt import DBT_PROJECT, run_dbt  # noqa: E402

SITE_FILES = ("index.html", "manifest.json", "catalog.json")


def site_dir() -> Path:
    """Where dbt writes the site: its target path (DBT_TARGET_PATH, default dbt_project/target)."""
    return DBT_PROJECT / os.environ.get("DBT_TARGET_PATH", "target")


def generate(settings: Settings, compile_sql: bool = True, timeout: float = 900) -> Path:
    """Run `dbt docs generate`; return the folder holding index.html, manifest.json and
    catalog.json. `compile_sql=False` skips compiling every model (faster; the site then shows
    the SQL as written, lineage and docs are the same). Raises TerminalError when dbt fails or a
    file is missing."""
    args = ["docs", "generate"] + ([] if compile_sql else ["--no-compile"])
    result = run_dbt(args, settings, timeout=timeout)
    if not result.ok:
        raise TerminalError(
            f"dbt docs generate failed (exit {result.returncode}):\n{result.output_tail}"
        )
    directory = site_dir()
    missing = [name for name in SITE_FILES if not (directory / name).is_file()]
    if missing:
        raise TerminalError(f"dbt docs generate wrote no {', '.join(missing)} in {directory}")
    return directory


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


def make_server(directory: Path, port: int = 8080, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """An HTTP server for the site folder, bound but not yet serving (call serve_forever()).
    Port 0 picks a free port: read it back from `server.server_address[1]`."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    return ThreadingHTTPServer((host, port), handler)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m scripts.docs",
        description="Generate the dbt docs site and serve it on 127.0.0.1.",
    )
    p.add_argument("--port", type=int, default=8080, help="port to serve on (0 = any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--no-serve", action="store_true", help="generate the site, do not serve")
    mode.add_argument(
        "--serve-only", action="store_true", help="serve the last generated site, do not generate"
    )
    p.add_argument(
        "--no-compile",
        action="store_true",
        help="do not compile the models first (faster; the site shows the SQL as written)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.serve_only:
        directory = site_dir()
        if not (directory / "index.html").is_file():
            print(f"docs: no site in {directory}; run without --serve-only first", file=sys.stderr)
            return 1
    else:
        try:
            directory = generate(Settings.from_env(), compile_sql=not args.no_compile)
        except LoaderError as exc:
            print(f"docs: {exc}", file=sys.stderr)
            return 1
        print(f"docs: site generated in {directory}")
    if args.no_serve:
        return 0
    server = make_server(directory, args.port, args.host)
    host, port = server.server_address[:2]
    print(
        f"docs: serving http://{host}:{port}/ (lineage: http://{host}:{port}/#!/overview?g_v=1); Ctrl-C stops"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
