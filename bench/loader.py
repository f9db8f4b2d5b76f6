"""Loader throughput: our loader vs DuckDB's own read_parquet (the practical limit), and the
tools a user would pick instead (dlt, pandas.to_sql), on the same fis files in one run."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from loader import datasets as ds
from loader.land import land
from loader.sinks.duckdb import DuckDBSink
from loader.sources.local import LocalSource


def _fis_files(landing: Path) -> list[Path]:
    return sorted(landing.glob("fis/dt=*/*.parquet"))


def run_loader(landing: Path, db: Path) -> tuple[int, float]:
    sink = DuckDBSink(db)
    t0 = time.perf_counter()
    try:
        report = land(LocalSource(landing), sink, ds.select(names=["fis"]))
    finally:
        sink.close()
    return report.rows, time.perf_counter() - t0


def run_ctas(files: list[Path], db: Path) -> tuple[int, float]:
    con = duckdb.connect(str(db))
    listed = ", ".join(f"'{f}'" for f in files)
    t0 = time.perf_counter()
    con.execute(
        f"create table fis as select * from read_parquet([{listed}], "
        "filename = true, file_row_number = true)"
    )
    seconds = time.perf_counter() - t0
    rows = con.execute("select count(*) from fis").fetchone()[0]
    con.close()
    return rows, seconds


def run_dlt(files: list[Path], workdir: Path) -> tuple[int, float]:
    import dlt

    def batches():
        for f in files:
            yield from pq.ParquetFile(f).iter_batches(batch_size=65_536)

    pipeline = dlt.pipeline(
        pipeline_name="bench_fis",
        destination=dlt.destinations.duckdb(str(workdir / "dlt.duckdb")),
        dataset_name="raw",
        pipelines_dir=str(workdir / "dlt_pipelines"),
        progress=None,
    )
    t0 = time.perf_counter()
    pipeline.run(dlt.resource(batches(), name="fis"), loader_file_format="parquet")
    seconds = time.perf_counter() - t0
    con = duckdb.connect(str(workdir / "dlt.duckdb"), read_only=True)
    rows = con.execute("select count(*) from raw.fis").fetchone()[0]
    con.close()
    return rows, seconds


def run_pandas(files: list[Path], db: Path, max_rows: int = 100_000) -> tuple[int, float]:
    """pandas.to_sql over SQLAlchemy (duckdb_engine): slow, so measured on the first rows only."""
    import pandas as pd
    import sqlalchemy

    frames, n = [], 0
    for f in files:
        frame = pq.read_table(f).to_pandas()
        frames.append(frame)
        n += len(frame)
        if n >= max_rows:
            break
    df = pd.concat(frames).head(max_rows)
    engine = sqlalchemy.create_engine(f"duckdb:///{db}")
    t0 = time.perf_counter()
    df.to_sql("fis", engine, index=False, chunksize=10_000, method="multi")
    seconds = time.perf_counter() - t0
    engine.dispose()
    return len(df), seconds


def run(landing: Path) -> dict:
    files = _fis_files(landing)
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        for name, fn in (
            ("duckdb read_parquet CTAS (limit)", lambda: run_ctas(files, tmpd / "ctas.duckdb")),
            ("datawiz loader", lambda: run_loader(landing, tmpd / "loader.duckdb")),
            ("dlt (duckdb destination)", lambda: run_dlt(files, tmpd)),
            ("pandas.to_sql (first 100k rows)", lambda: run_pandas(files, tmpd / "pd.duckdb")),
        ):
            try:
                rows, seconds = fn()
                out[name] = {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}
            except Exception as exc:  # noqa: BLE001 - a competitor that fails is reported
                out[name] = {"error": f"{type(exc).__name__}: {exc}"}
    limit = out["duckdb read_parquet CTAS (limit)"].get("rows_per_s")
    ours = out["datawiz loader"].get("rows_per_s")
    for v in out.values():
        if "rows_per_s" in v and limit:
            v["ratio_to_limit"] = v["rows_per_s"] / limit
    out["_verdict"] = {
        "target": "loader >= 0.5 of the read_parquet limit",
        "met": bool(ours and limit and ours / limit >= 0.5),
    }
    return out
