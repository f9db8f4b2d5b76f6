"""Run the StarRocks TEST DOUBLE as a standalone process (not StarRocks; see engine.py's limits).

    python -m tests.doubles.starrocks --query-port 9030 --password secret

prints the ports it serves, then one JSON line with them, and runs until interrupted.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from tests.doubles.starrocks.server import StarRocksDouble


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.doubles.starrocks",
        description=(
            "StarRocks test double: a fake FE MySQL port and Stream Load HTTP ports over one "
            "DuckDB database, for running the pipeline with --target starrocks without a "
            "StarRocks server. Not StarRocks: see tests/doubles/starrocks/engine.py for what "
            "it does not emulate."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--query-port",
        type=int,
        default=9030,
        help="MySQL port; 0 = any free port (default %(default)s)",
    )
    parser.add_argument("--user", default="root", help="the one user (default %(default)s)")
    parser.add_argument("--password", default="", help="its password (default: empty)")
    parser.add_argument(
        "--duckdb-path",
        default=":memory:",
        help="DuckDB file holding the data (default: in memory, gone at exit)",
    )
    parser.add_argument(
        "--no-http", action="store_true", help="serve the MySQL port only (no Stream Load)"
    )
    args = parser.parse_args(argv)

    double = StarRocksDouble.start(
        host=args.host,
        query_port=args.query_port,
        user=args.user,
        password=args.password,
        path=args.duckdb_path,
        http=not args.no_http,
    )
    print(f"StarRocks test double on {double.host} (DuckDB {args.duckdb_path})")
    print(f"  query_port (MySQL protocol)   {double.query_port}")
    if double.http_port is not None:
        print(f"  http_port (FE, Stream Load)   {double.http_port}")
        print(f"  be_http_port (BE, after 307)  {double.be_http_port}")
    else:
        print("  no Stream Load HTTP ports (--no-http or tests/doubles/starrocks/http.py absent)")
    print(
        json.dumps(
            {
                "host": double.host,
                "query_port": double.query_port,
                "http_port": double.http_port,
                "be_http_port": double.be_http_port,
            }
        ),
        flush=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
