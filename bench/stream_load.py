"""Stream Load client: Parquet -> CSV -> HTTP to a loopback endpoint that counts and discards the
bytes, against bare `pyarrow.csv.write_csv` of the same batches (the limit), and the peak RSS of
a process loading one 5-million-row file (target: ratio >= 0.6, peak RSS < 500 MB).

The endpoint runs in its own process (so it does not compete with the client for the GIL) and
speaks just enough of the protocol: the FE's 307, the BE's JSON answer, the transaction
interface. It never parses the payload: what is measured is the client's own cost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

BIG_ROWS = 5_000_000
RSS_LIMIT_MB = 500
TARGET_RATIO = 0.6


# ------------------------------------------------------------------------- counting endpoint
class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    received = 0
    lock = threading.Lock()

    def log_message(self, *args) -> None:
        pass

    def _drain(self) -> int:
        left, n = int(self.headers.get("Content-Length") or 0), 0
        while left:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)
            n += len(chunk)
        with _Sink.lock:
            _Sink.received += n
        return n

    def _answer(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # /count: the bytes received so far
        self._answer({"bytes": _Sink.received})

    def do_PUT(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        n = self._drain()
        if not self.path.startswith("/be"):
            port = self.server.server_address[1]
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{port}/be{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        label = self.headers.get("label", "")
        if "/api/transaction/" in self.path:
            self._answer({"Status": "OK", "Message": "", "Label": label, "LoadBytes": n})
        else:
            self._answer({"Status": "Success", "Message": "OK", "Label": label, "LoadBytes": n})


def serve() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


class CountingEndpoint:
    """The endpoint in its own process (`python -m bench.stream_load --serve`)."""

    def __enter__(self):
        root = Path(__file__).resolve().parent.parent
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.stream_load", "--serve"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        self.port = int(self.proc.stdout.readline())
        return self

    @property
    def bytes(self) -> int:
        import requests

        return requests.get(f"http://127.0.0.1:{self.port}/count", timeout=10).json()["bytes"]

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# --------------------------------------------------------------------------------- measures
def _landed_batches(files: list[Path]) -> tuple[pa.Schema, list[pa.RecordBatch]]:
    """The fis files as the loader hands them to a sink: declared shape plus lineage."""
    from loader import datasets as ds
    from loader.read import FileReader
    from loader.sources import SourceFile

    fis = ds.load_datasets()["fis"]
    now = datetime.now(UTC)
    batches: list[pa.RecordBatch] = []
    for f in files:
        rel = f"fis/{f.parent.name}/{f.name}"
        sf = SourceFile(rel, "fis", f.parent.name[3:], f.stat().st_size, "bench")
        with open(f, "rb") as fh:
            batches.extend(FileReader(fis, sf, fh, 65_536).batches(now))
    return fis.landed_schema, batches


def _client(port: int, **kw):
    from loader.stream_load import StreamLoadClient

    return StreamLoadClient("127.0.0.1", port, "bench", "bench-password", **kw)


def _write_csv_limit(schema: pa.Schema, batches: list[pa.RecordBatch]) -> tuple[int, float]:
    """Bare write_csv of the same batches to /dev/null: the CSV conversion by itself.

    Zoned timestamps are first made naive, as the client must for StarRocks (and write_csv
    formats naive ones faster); the client pays that cast too."""
    from loader.stream_load import CsvEncoder

    enc = CsvEncoder(schema)
    t0 = time.perf_counter()
    with pa.OSFile(os.devnull, "wb") as sink:
        for b in batches:
            pacsv.write_csv(enc.wire(b), sink, write_options=enc.options)
    return 0, time.perf_counter() - t0


def _best(fn, repeat: int = 3):
    results = [fn() for _ in range(repeat)]
    return min(results, key=lambda r: r[-1])


def _make_big_file(files: list[Path], out: Path, rows: int = BIG_ROWS) -> Path:
    """One fis file of `rows` rows, tiled from the sample, written row group by row group."""
    table = pa.concat_tables(pq.read_table(f) for f in files[:60]).combine_chunks()
    out.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(out, table.schema) as writer:
        written = 0
        while written < rows:
            part = table.slice(0, min(table.num_rows, rows - written))
            writer.write_table(part, row_group_size=131_072)
            written += part.num_rows
    return out


_CHILD = r"""
import json, resource, sys, time
from datetime import UTC, datetime
from pathlib import Path
from loader import datasets as ds
from loader.read import FileReader
from loader.sources import SourceFile
from loader.stream_load import StreamLoadClient, make_label

path, port = Path(sys.argv[1]), int(sys.argv[2])
fis = ds.load_datasets()["fis"]
sf = SourceFile("fis/dt=2026-01-01/big.parquet", "fis", "2026-01-01", path.stat().st_size, "v")
client = StreamLoadClient("127.0.0.1", port, "bench", "bench-password")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
with open(path, "rb") as fh:
    reader = FileReader(fis, sf, fh, 65_536)
    result = client.load_batches("raw", "fis", fis.landed_schema,
                                 reader.reader(datetime.now(UTC)), label=make_label("raw", "fis", sf.path, "v"))
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
# ru_maxrss survives fork+exec (Linux), so it starts at the parent's RSS; VmHWM is this
# process image's own high-water mark
hwm = next((int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")), 0)
print(json.dumps({"rows": result.rows, "bytes": result.bytes, "chunks": result.chunks,
                  "status": result.status, "seconds": seconds,
                  "ru_maxrss_before_load_mb": before / 1024, "ru_maxrss_mb": peak / 1024,
                  "peak_rss_mb": max(hwm, 0) / 1024 or peak / 1024}))
"""


def _peak_rss(big: Path, port: int) -> dict:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(big), str(port)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=1800,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"RSS child failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(landing: Path) -> dict:
    files = sorted(Path(landing).glob("fis/dt=*/*.parquet"))
    if not files:
        raise FileNotFoundError(f"no fis files under {landing}")
    out: dict[str, dict] = {}
    with CountingEndpoint() as endpoint:
        # first, while this process is small: a child's ru_maxrss starts at its parent's RSS
        with tempfile.TemporaryDirectory() as tmp:
            big = _make_big_file(files, Path(tmp) / "big.parquet")
            rss = _peak_rss(big, endpoint.port)
            rss["file_mb"] = big.stat().st_size / 1e6
            rss["rows_per_s"] = rss["rows"] / rss["seconds"]

        schema, batches = _landed_batches(files)
        rows = sum(b.num_rows for b in batches)
        _, csv_s = _best(lambda: _write_csv_limit(schema, batches))
        out["pyarrow write_csv (limit)"] = {
            "rows": rows,
            "seconds": csv_s,
            "rows_per_s": rows / csv_s,
        }
        client = _client(endpoint.port)

        def stream():
            before = endpoint.bytes
            t0 = time.perf_counter()
            result = client.load_batches(DB, "fis", schema, batches, label="bench_stream")
            seconds = time.perf_counter() - t0
            return result, endpoint.bytes - before, seconds

        result, received, seconds = _best(stream)
        out["pyarrow write_csv (limit)"]["mb_per_s"] = received / 1e6 / csv_s
        out["client, all fis as one stream (64 MB chunks)"] = {
            "rows": result.rows,
            "mb_sent": received / 1e6,
            "mb_per_s": received / 1e6 / seconds,
            "chunks": result.chunks,
            "seconds": seconds,
            "rows_per_s": result.rows / seconds,
            "ratio_to_limit": csv_s / seconds,
        }

        def per_file():
            before = endpoint.bytes
            t0 = time.perf_counter()
            n = start = 0
            for i, f in enumerate(files):
                k = pq.ParquetFile(f).metadata.num_rows
                part = batches_for(batches, start, k)
                start += k
                n += client.load_batches(DB, "fis", schema, part, label=f"bench_f{i}").rows
            return n, endpoint.bytes - before, time.perf_counter() - t0

        n, received, seconds = _best(per_file, repeat=1)
        out["client, one Stream Load per file"] = {
            "files": len(files),
            "rows": n,
            "mb_sent": received / 1e6,
            "seconds": seconds,
            "rows_per_s": n / seconds,
            "ratio_to_limit": csv_s / seconds,
            "ms_per_file_overhead": max(0.0, (seconds - csv_s) / len(files) * 1000),
        }
        client.close()
    out[f"one {BIG_ROWS:,}-row file (read + CSV + HTTP), own process"] = rss

    stream_ratio = out["client, all fis as one stream (64 MB chunks)"]["ratio_to_limit"]
    out["_verdict"] = {
        "target": f"stream ratio >= {TARGET_RATIO}, peak RSS < {RSS_LIMIT_MB} MB",
        "ratio_met": stream_ratio >= TARGET_RATIO,
        "rss_met": rss["peak_rss_mb"] < RSS_LIMIT_MB,
    }
    return out


DB = "raw"


def batches_for(batches: list[pa.RecordBatch], start: int, n: int) -> list[pa.RecordBatch]:
    """Rows [start, start+n) of the concatenated batches (one file's share), zero-copy."""
    out, pos = [], 0
    for b in batches:
        lo, hi = max(start, pos), min(start + n, pos + b.num_rows)
        if lo < hi:
            out.append(b.slice(lo - pos, hi - lo))
        pos += b.num_rows
        if pos >= start + n:
            break
    return out


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        landing = Path(sys.argv[1] if len(sys.argv) > 1 else "data/bench/landing")
        print(json.dumps(run(landing), indent=2, default=str))
