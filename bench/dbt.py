"""dbt: full refresh of every model on 13 months of sample data vs an incremental morning run
that adds one new day of fis and fid (target: incremental <= 15% of the full refresh)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from loader.settings import Settings
from pipeline.dbt import run_dbt
from pipeline.pipelines import load_step

# as the scheduled runs do: unit tests check SQL (CI), not data
NO_UNIT = ["--exclude-resource-type", "unit_test"]


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run(landing: Path, days: int = 400, end: date = date(2026, 11, 26)) -> dict:
    from loader.sample import generate

    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        work = tmpd / "landing"
        # hard links: the copy costs nothing and the generator writes new files only
        subprocess.run(["cp", "-al", str(landing), str(work)], check=True)
        settings = Settings.from_env(
            source=str(work), target="duckdb", duckdb_path=str(tmpd / "wh.duckdb")
        )
        os.environ["DBT_TARGET_PATH"] = str(tmpd / "target")
        try:
            for window in ("evening", "morning"):
                load_step(settings, window)
            first, t_first = _timed(lambda: run_dbt(["build", *NO_UNIT], settings))
            full, t_full = _timed(lambda: run_dbt(["build", "--full-refresh", *NO_UNIT], settings))
            generate(work, days=days + 1, seed=7, end=end + timedelta(days=1), scale=1.0)
            loaded, t_load = _timed(lambda: load_step(settings, "morning"))
            incr, t_incr = _timed(
                lambda: run_dbt(["build", "--select", "tag:morning", *NO_UNIT], settings)
            )
            # the dbt process's own start (imports, manifest) is a fixed cost in both runs
            _, t_start = _timed(lambda: run_dbt(["ls", "--select", "tag:morning"], settings))
            # a real day: the evening drop of the new day lands first, so the morning run also
            # enriches every held fact again with the new master data
            load_step(settings, "evening")
            run_dbt(["build", "--select", "tag:evening", *NO_UNIT], settings)
            day, t_day = _timed(
                lambda: run_dbt(["build", "--select", "tag:morning", *NO_UNIT], settings)
            )
        finally:
            os.environ.pop("DBT_TARGET_PATH", None)
            shutil.rmtree(tmpd / "target", ignore_errors=True)
    return {
        "first build (all models + tests)": {"seconds": t_first, "ok": first.ok},
        "full refresh (all models + tests)": {
            "seconds": t_full,
            "ok": full.ok,
            "nodes": full.summary(),
        },
        "morning load of one new day": {"seconds": t_load, "rows": loaded.rows},
        "incremental morning dbt build": {
            "seconds": t_incr,
            "ok": incr.ok,
            "nodes": incr.summary(),
        },
        "dbt process start + parse (dbt ls), in both runs": {"seconds": t_start},
        "morning dbt build after a new evening drop": {
            "seconds": t_day,
            "ok": day.ok,
            "ratio to full refresh": t_day / t_full,
        },
        "_ratio": {
            "incremental / full refresh, without the fixed dbt start": (t_incr - t_start)
            / (t_full - t_start),
            "incremental / full refresh": t_incr / t_full,
            "target": "<= 0.15",
            "met": t_incr / t_full <= 0.15,
        },
    }
