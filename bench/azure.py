"""Landing the sample fis files from Azurite vs from the local folder, in one run, as a ratio;
with the peak RSS of each load.

Each load runs in its own subprocess (a fresh interpreter, a fresh DuckDB file) through the
production path (`loader.land.land` with the source `open_source` builds); the child times the
landing itself, the parent reads the child's peak RSS from `wait4`'s rusage. Azurite runs in
memory on this machine, so the ratio measures the Azure code path (listing, ranged GETs over
HTTP, SDK overhead), not a real network.

    python -m bench --only azure          # via the bench harness
    python -m bench.azure DIR             # this section alone on a landing folder
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTAINER, PREFIX = "bench", "extracts"


def _own_peak_rss_kb() -> int:
    """This process's own peak RSS. ru_maxrss of a forked child starts from the parent's high
    water mark (the fork copies it), so a big parent would hide the child's real figure."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _child(source: str, db: str) -> None:
    """Runs in the subprocess: land the fis files of `source` into `db`, print JSON."""
    from loader import datasets as ds
    from loader.land import land
    from loader.settings import Settings
    from loader.sinks.duckdb import DuckDBSink
    from loader.sources import open_source

    settings = Settings.from_env(source=source)
    src = open_source(source, settings)
    sink = DuckDBSink(db)
    t0 = time.perf_counter()
    try:
        report = land(src, sink, ds.select(names=["fis"]), batch_rows=settings.batch_rows)
    finally:
        sink.close()
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "rows": report.rows,
                "files": len(report.of("loaded")),
                "failed": len(report.of("failed")),
                "seconds": seconds,
                "vmhwm_kb": _own_peak_rss_kb(),
            }
        )
    )


def _measure(source: str, db: Path, env: dict[str, str]) -> dict:
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.azure", "--child", source, str(db)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN would mix all children)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{source} load failed ({proc.returncode}): {stderr[-800:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    if result["failed"]:
        raise RuntimeError(f"{source} load: {result['failed']} files failed")
    result["rows_per_s"] = result["rows"] / result["seconds"]
    result["peak_rss_mb"] = result.pop("vmhwm_kb") / 1024
    result["ru_maxrss_mb"] = usage.ru_maxrss / 1024  # inflated by the parent's, see above
    return result


def run(sample_dir: Path | str, repeat: int = 1) -> dict:
    """Land `sample_dir`'s fis files from Azurite and from the folder; best of `repeat`."""
    from scripts.azurite import Azurite, upload_folder

    sample_dir = Path(sample_dir)
    files = sorted(sample_dir.glob("fis/dt=*/*.parquet"))
    if not files:
        raise FileNotFoundError(f"no fis files under {sample_dir}")
    total_bytes = sum(f.stat().st_size for f in files)
    out: dict[str, object] = {"fis files": len(files), "fis MB": round(total_bytes / 1e6, 1)}
    with tempfile.TemporaryDirectory(prefix="bench-azure-") as tmp, Azurite() as azurite:
        t0 = time.perf_counter()
        container = azurite.service().get_container_client(CONTAINER)
        upload_folder(container, sample_dir, PREFIX, only="fis")
        out["upload to Azurite (s, not measured below)"] = round(time.perf_counter() - t0, 1)
        env = dict(os.environ)
        env["AZURE_STORAGE_CONNECTION_STRING"] = azurite.connection_string
        env.pop("DATAWIZ_SOURCE", None)
        runs: dict[str, list[dict]] = {"local folder": [], "azurite": []}
        for i in range(repeat):
            for name, source in (
                ("local folder", str(sample_dir)),
                ("azurite", f"az://{CONTAINER}/{PREFIX}"),
            ):
                db = Path(tmp) / f"{name.replace(' ', '_')}-{i}.duckdb"
                runs[name].append(_measure(source, db, env))
                db.unlink(missing_ok=True)
        best = {name: min(r, key=lambda x: x["seconds"]) for name, r in runs.items()}
    if best["local folder"]["rows"] != best["azurite"]["rows"]:
        raise RuntimeError(f"row counts differ: {best}")
    for name, r in best.items():
        out[name] = {
            "rows": r["rows"],
            "seconds": r["seconds"],
            "rows_per_s": r["rows_per_s"],
            "peak_rss_mb": r["peak_rss_mb"],
        }
    out["ratio azurite / local (rows/s)"] = round(
        best["azurite"]["rows_per_s"] / best["local folder"]["rows_per_s"], 3
    )
    out["azurite peak RSS (MB)"] = round(best["azurite"]["peak_rss_mb"], 1)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2])
        return 0
    import argparse

    p = argparse.ArgumentParser(
        prog="python -m bench.azure",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("landing", type=Path, help="landing folder with fis/dt=*/*.parquet")
    p.add_argument("--repeat", type=int, default=1, help="runs of each load; the best counts")
    args = p.parse_args(argv)
    print(json.dumps(run(args.landing, args.repeat), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
