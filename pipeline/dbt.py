"""dbt invocation: each command in a process of its own (so a timeout can stop it), results from
the JSON artifacts dbt writes (target/run_results.json), never from dbt's internals.

The process is forked from a server that has imported dbt once (multiprocessing's `forkserver`
with `dbt.cli.main` preloaded), and runs the command with dbt's programmatic entry point
(`dbtRunner().invoke`, the same code path as the `dbt` CLI). Importing dbt costs 6-7 s of CPU
here (mashumaro compiles its dataclasses on import); a fresh `dbt` process per command paid it
every time, so a morning run paid it twice and a test session dozens of times. Now the first
command of a Python process pays it once; a later one forks in milliseconds and spends its
1.5-2.5 s start in dbt itself (profile, project, partial-parse check). Every
command still gets a fresh interpreter state (dbt keeps global state: flags, adapters, event
manager) and its own exit code, and a hung command is killed without touching its parent.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import functools
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import traceback
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
    env["DATAWIZ_DBT_THREADS"] = str(settings.dbt_threads)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    return env


_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# what `dbt build` imports on its first invocation, so each forked child finds it imported (a
# module that is not installed is skipped by the server)
_PRELOAD = (
    "dbt.cli.main",
    "dbt.task.build",
    "dbt.task.list",
    "dbt.task.freshness",
    "dbt.task.docs.generate",
    "dbt.parser.sql",
    "dbt.adapters.duckdb",
    "dbt.adapters.duckdb.impl",
    "dbt.adapters.starrocks",
    "dbt.adapters.starrocks.impl",
    "duckdb",
    "daff",
    "sqlparse",
    "pipeline.dbt",
)


@functools.cache
def _context():
    """The forkserver context, with dbt imported in the server (once per parent process)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(_PRELOAD))
    return context


def _die_with_parent() -> None:
    """Linux: the kernel kills this child when its parent, the fork server, ends (killed, or
    crashed), so the parent never sees a dead server while dbt goes on writing. (A server
    whose orchestrator was SIGKILLed stays up until its running child finishes, as a `dbt`
    subprocess would have run on: that case is not covered.)"""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's timeout and interrupt handling still apply


def _invoke(args: list[str], env: dict[str, str], output: str) -> None:
    """In the forked child: `dbt <args>` with the CLI's exit codes (0 ok, 1 a node failed,
    2 dbt could not run), its output to the file `output`."""
    _die_with_parent()
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(DBT_PROJECT)
    code = 2
    try:
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(args)
        if result.exception is not None:
            print(f"{type(result.exception).__name__}: {result.exception}", file=sys.stderr)
        code = 0 if result.success else 1 if result.exception is None else 2
    except BaseException:  # noqa: BLE001 - reported through the exit code and the output
        traceback.print_exc()
    finally:
        # a multiprocessing child ends with os._exit, which skips atexit: run the handlers dbt
        # and its adapters registered, as the dbt CLI's exit does (dbt-duckdb closes its
        # database there, which checkpoints it: no write-ahead log is left behind)
        atexit._run_exitfuncs()
    sys.exit(code)


def _run(cmd_args: list[str], env: dict[str, str], timeout: float | None) -> tuple[int, str]:
    """Run dbt in a child forked from the dbt-preloaded server; (exit code, output).
    Raises TimeoutError after `timeout` seconds, with the child killed."""
    with tempfile.TemporaryDirectory(prefix="datawiz-dbt-") as tmp:
        output = Path(tmp) / "output.log"
        child = _context().Process(target=_invoke, args=(cmd_args, env, str(output)))
        try:
            child.start()
            child.join(timeout)
            if child.exitcode is None:
                raise TimeoutError
        finally:
            # also when an interrupt (the runner's deadline, Ctrl-C) ends the wait
            if child.pid is not None and child.exitcode is None:
                child.terminate()
                child.join(10)
                if child.exitcode is None:
                    child.kill()
                    child.join()
        text = output.read_text(errors="replace") if output.exists() else ""
    return child.exitcode, text


def run_dbt(args: list[str], settings: Settings, timeout: float | None = None) -> DbtResult:
    """Run `dbt <args>` in the project; raise TransientError on timeout, TerminalError when dbt
    itself cannot start (bad profile, bad project); node failures come back in the result."""
    profiles_dir = os.environ.get("DBT_PROFILES_DIR", str(DBT_PROJECT))
    cmd_args = [*args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", profiles_dir]
    cmd = ["dbt", *cmd_args]
    target_path = Path(os.environ.get("DBT_TARGET_PATH", DBT_PROJECT / "target"))
    # `dbt source freshness` writes its results to sources.json, every other command to
    # run_results.json
    artifact = "sources.json" if args[:2] == ["source", "freshness"] else "run_results.json"
    run_results = (DBT_PROJECT / target_path) / artifact
    run_results.unlink(missing_ok=True)
    try:
        returncode, output = _run(cmd_args, dbt_env(settings), timeout)
    except TimeoutError as exc:
        raise TransientError(f"dbt {' '.join(args)} timed out after {timeout:.0f}s") from exc
    tail = "\n".join(output.strip().splitlines()[-30:])
    nodes: list[dict] = []
    if run_results.exists():
        nodes = json.loads(run_results.read_text()).get("results", [])
    if returncode != 0 and (returncode == 2 or not nodes):
        raise TerminalError(f"dbt {' '.join(args)} could not run (exit {returncode}):\n{tail}")
    return DbtResult(cmd, returncode, nodes, tail)
