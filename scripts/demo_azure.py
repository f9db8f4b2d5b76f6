"""`make demo-azure`: the Azure path end to end on a local Azurite.

Starts azurite-blob (in memory, a free port), uploads a sample landing folder to
az://landing/extracts (generating the sample first if the folder is empty), then runs exactly
what production runs, pointed at the container through AZURE_STORAGE_CONNECTION_STRING:

  1. python -m loader --source az://landing/extracts      (lands every file)
  2. the same again                                         (lands nothing: all skipped)
  3. python -m pipeline.backup --source az://landing/extracts --dest <backup>
  4. with --pipeline: python orchestrate.py run all --source az://landing/extracts (loader + dbt)

and stops Azurite. Usage: python -m scripts.demo_azure [--landing DIR] [--days N] [--scale X]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from scripts.azurite import ROOT, Azurite, upload_folder

CONTAINER, PREFIX = "landing", "extracts"


def _run(title: str, argv: list[str], env: dict[str, str]) -> int:
    print(f"\n== {title}\n$ {' '.join(argv)}", flush=True)
    t0 = time.perf_counter()
    code = subprocess.run(argv, env=env, cwd=ROOT).returncode
    print(f"-> exit {code} in {time.perf_counter() - t0:.1f}s", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m scripts.demo_azure",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--landing",
        type=Path,
        default=ROOT / "data/azure_demo/landing",
        help="sample landing folder to upload (generated when empty)",
    )
    p.add_argument("--days", type=int, default=40, help="days of sample data to generate")
    p.add_argument("--scale", type=float, default=0.05, help="sample volume (1.0 = full)")
    p.add_argument("--duckdb-path", type=Path, default=ROOT / "data/azure_demo/warehouse.duckdb")
    p.add_argument("--backup-dir", type=Path, default=ROOT / "data/azure_demo/backup")
    p.add_argument(
        "--pipeline",
        action="store_true",
        help="also run orchestrate.py run all (loader + dbt) from the container",
    )
    args = p.parse_args(argv)

    if not any(args.landing.glob("*/dt=*/*.parquet")):
        from loader.sample import generate

        print(
            f"generating {args.days} days of sample data (scale {args.scale}) in "
            f"{args.landing} ...",
            flush=True,
        )
        generate(args.landing, days=args.days, end=date(2026, 11, 26), scale=args.scale)
    for stale in (args.duckdb_path,):
        stale.unlink(missing_ok=True)
    args.duckdb_path.parent.mkdir(parents=True, exist_ok=True)

    with Azurite() as azurite:
        print(f"Azurite listens on 127.0.0.1:{azurite.port} (account devstoreaccount1)")
        t0 = time.perf_counter()
        container = azurite.service().get_container_client(CONTAINER)
        names = upload_folder(container, args.landing, PREFIX)
        print(
            f"uploaded {len(names)} blobs to az://{CONTAINER}/{PREFIX} in "
            f"{time.perf_counter() - t0:.1f}s"
        )
        env = dict(os.environ)
        env.update(
            AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string,
            DATAWIZ_SOURCE=f"az://{CONTAINER}/{PREFIX}",
            DATAWIZ_DUCKDB_PATH=str(args.duckdb_path),
            DATAWIZ_BACKUP_DIR=str(args.backup_dir),
            DATAWIZ_TARGET="duckdb",
        )
        py = sys.executable
        uri = f"az://{CONTAINER}/{PREFIX}"
        loader = [py, "-m", "loader", "--source", uri, "--duckdb-path", str(args.duckdb_path)]
        codes = [
            _run("load every file from the container", [*loader, "-q"], env),
            _run("run again: every blob is unchanged, nothing is loaded", [*loader, "-q"], env),
            _run(
                "back the container up to a local folder",
                [
                    py,
                    "-m",
                    "pipeline.backup",
                    "--source",
                    uri,
                    "--dest",
                    str(args.backup_dir),
                    "--keep-all",
                    "-q",
                ],
                env,
            ),
        ]
        if args.pipeline:
            codes.append(
                _run(
                    "the whole pipeline from the container",
                    [py, "orchestrate.py", "run", "all", "--source", uri],
                    env,
                )
            )
    print("\nAzurite stopped.")
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
