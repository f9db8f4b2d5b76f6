"""dbt invocation: a subprocess per command (so a timeout can stop it), results from the JSON
artifacts dbt writes (target/run_results.json), never from dbt's internals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from loader.errors import TerminalError, TransientError
from loader.settings import PROJECT_ROOT, Settings

DBT_PROJECT = PROJECT_ROOT / "dbt_project"


@dataclass
class DbtResult:
    command: list[str]
    returncode: int
    nodes: list[dict] = field(default_factory=list)
    output_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def count(self, status: str) -> int:
        return sum(1 for n in self.nodes if n.get("status") == status)

    @property
    def rows(self) -> int | None:
        """Rows the models wrote, where the adapter reports them (dbt-duckdb does not: None)."""
        counts = [
            (n.get("adapter_response") or {}).get("rows_affected")
            for n in self.nodes
            if n.get("unique_id", "").startswith("model.")
        ]
        counts = [c for c in counts if isinstance(c, int) and c >= 0]
        return sum(counts) if counts else None

    def failures(self) -> list[str]:
        return [
            f"{n['unique_id']}: {n.get('status')}: {(n.get('message') or '').strip()[:300]}"
            for n in self.nodes
            if n.get("status") in ("error", "fail", "runtime error")
        ]

    def summary(self) -> str:
        parts = [
            f"{self.count(s)} {s}"
            for s in ("success", "pass", "warn", "error", "fail", "skipped")
            if self.count(s)
        ]
        return ", ".join(parts) or "no nodes"


def dbt_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["DATAWIZ_TARGET"] = settings.target
    env["DATAWIZ_DUCKDB_PATH"] = str(Path(settings.duckdb_path).resolve())
    env["DATAWIZ_STARROCKS_HOST"] = settings.starrocks_host
    env["DATAWIZ_STARROCKS_QUERY_PORT"] = str(settings.starrocks_query_port)
    env["DATAWIZ_STARROCKS_USER"] = settings.starrocks_user
    env["DATAWIZ_STARROCKS_PASSWORD"] = settings.starrocks_password
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    return env


def run_dbt(args: list[str], settings: Settings, timeout: float | None = None) -> DbtResult:
    """Run `dbt <args>` in the project; raise TransientError on timeout, TerminalError when dbt
    itself cannot start (bad profile, bad project); node failures come back in the result."""
    dbt = Path(sys.executable).parent / "dbt"
    profiles_dir = os.environ.get("DBT_PROFILES_DIR", str(DBT_PROJECT))
    cmd = [str(dbt), *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", profiles_dir]
    target_path = Path(os.environ.get("DBT_TARGET_PATH", DBT_PROJECT / "target"))
    # `dbt source freshness` writes its results to sources.json, every other command to
    # run_results.json
    artifact = "sources.json" if args[:2] == ["source", "freshness"] else "run_results.json"
    run_results = (DBT_PROJECT / target_path) / artifact
    run_results.unlink(missing_ok=True)
    try:
        proc = subprocess.run(
            cmd,
            cwd=DBT_PROJECT,
            env=dbt_env(settings),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise TransientError(f"dbt {' '.join(args)} timed out after {timeout:.0f}s") from exc
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
    nodes: list[dict] = []
    if run_results.exists():
        nodes = json.loads(run_results.read_text()).get("results", [])
    if proc.returncode == 2 or (proc.returncode != 0 and not nodes):
        raise TerminalError(f"dbt {' '.join(args)} could not run (exit {proc.returncode}):\n{tail}")
    return DbtResult(cmd, proc.returncode, nodes, tail)
