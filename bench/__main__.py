"""`make bench`: the performance measurements, side by side in one run, as ratios.

Sections run in turn; a section whose module is missing or fails is reported, not hidden.
Usage: python -m bench [--only loader,dbt,azure,stream_load] [--landing DIR] [--days N]
                       [--scale X]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import time
from datetime import date
from pathlib import Path

SECTIONS = ("loader", "dbt", "azure", "stream_load")


def ensure_sample(landing: Path, days: int, scale: float = 1.0) -> Path:
    if not any(landing.glob("fis/dt=*/*.parquet")):
        from loader.sample import generate

        print(
            f"bench: generating the sample ({days} days, scale {scale}) into {landing} ...",
            flush=True,
        )
        generate(landing, days=days, seed=7, end=date(2026, 11, 26), scale=scale)
    return landing


def _print_section(name: str, result: dict) -> None:
    print(f"\n== {name}")
    for key, value in result.items():
        if isinstance(value, dict):
            shown = ", ".join(
                f"{k}={v:,.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items()
            )
            print(f"  {key:<40} {shown}")
        else:
            print(f"  {key:<40} {value}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--only", help="comma-separated sections: " + ",".join(SECTIONS))
    p.add_argument("--landing", default="data/bench/landing", type=Path)
    p.add_argument("--days", type=int, default=400)
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="sample volume (1.0: ~1M fis lines in 400 days); another scale gets its own landing"
        " folder next to --landing (e.g. data/bench/landing-x5)",
    )
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = p.parse_args(argv)
    sections = args.only.split(",") if args.only else list(SECTIONS)
    landing = args.landing
    if args.scale != 1.0:
        landing = landing.with_name(f"{landing.name}-x{args.scale:g}")
    landing = ensure_sample(landing, args.days, args.scale)
    results: dict[str, dict] = {}
    for name in sections:
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            # the sections that generate more data (dbt: the new days) generate it at --scale
            wants_scale = "scale" in inspect.signature(module.run).parameters
            results[name] = module.run(landing, **({"scale": args.scale} if wants_scale else {}))
        except ModuleNotFoundError as exc:
            results[name] = {"_error": f"not available: {exc}"}
        except Exception as exc:  # noqa: BLE001 - report and go on with the next section
            results[name] = {"_error": f"{type(exc).__name__}: {exc}"}
        results[name]["_section_seconds"] = round(time.perf_counter() - t0, 1)
        _print_section(name, results[name])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
