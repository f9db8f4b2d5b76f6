"""Running declared steps: one line per step, retries with backoff for transient errors only,
a timeout per step, and dependencies (a step whose prerequisite failed is skipped)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from loader.errors import TerminalError, TransientError

log = logging.getLogger("datawiz.pipeline")


@dataclass
class StepOutcome:
    """What a step function returns: a one-line detail, rows, and whether it fully succeeded."""

    detail: str = ""
    rows: int | None = None
    ok: bool = True
    warning: bool = False


@dataclass
class Step:
    name: str
    run: Callable[[], StepOutcome]
    retries: int = 0
    timeout: float | None = None
    needs: tuple[str, ...] = ()
    # when False, the step's failure is reported but does not fail the pipeline
    required: bool = True


@dataclass
class StepResult:
    name: str
    status: str  # ok | warn | failed | skipped
    seconds: float = 0.0
    rows: int | None = None
    detail: str = ""
    attempts: int = 0

    def line(self) -> str:
        rows = f"{self.rows:,} rows" if self.rows is not None else "-"
        return f"{self.name:<18} {self.status:<7} {self.seconds:7.1f}s  {rows:>14}  {self.detail}"


@dataclass
class RunReport:
    pipeline: str
    results: list[StepResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.status in ("ok", "warn", "skipped") for r in self.results)


class StepTimeout(TransientError):
    pass


@contextmanager
def _deadline(seconds: float | None, name: str):
    """SIGALRM-based timeout: works for the main thread (cron runs us there); steps that run
    subprocesses (dbt) also pass their own timeout down so the child is killed."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum, frame):
        raise StepTimeout(f"step {name} timed out after {seconds:.0f}s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_steps(
    pipeline: str, steps: list[Step], *, backoff: float = 2.0, echo: Callable[[str], None] = print
) -> RunReport:
    report = RunReport(pipeline)
    started = time.perf_counter()
    status_of: dict[str, str] = {}
    for step in steps:
        blocked = [n for n in step.needs if status_of.get(n) not in ("ok", "warn")]
        if blocked:
            res = StepResult(step.name, "skipped", detail=f"needs {', '.join(blocked)}")
        else:
            res = _run_one(step, backoff)
        status_of[step.name] = res.status
        report.results.append(res)
        echo(res.line())
        log.info("step %s", res.line())
    report.seconds = time.perf_counter() - started
    return report


def _run_one(step: Step, backoff: float) -> StepResult:
    t0 = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        try:
            with _deadline(step.timeout, step.name):
                out = step.run()
            status = "ok" if out.ok and not out.warning else ("warn" if out.ok else "failed")
            if not out.ok and not step.required:
                status = "warn"
            return StepResult(
                step.name, status, time.perf_counter() - t0, out.rows, out.detail, attempt
            )
        except TransientError as exc:
            if attempt <= step.retries:
                wait = backoff * 2 ** (attempt - 1)
                log.warning(
                    "step %s: transient error (attempt %d), retrying in %.0fs: %s",
                    step.name,
                    attempt,
                    wait,
                    exc,
                )
                time.sleep(wait)
                continue
            detail = f"transient error after {attempt} attempt(s): {exc}"
        except TerminalError as exc:
            detail = f"error: {exc}"
        except Exception as exc:  # noqa: BLE001 - an unexpected bug still ends in a report line
            log.exception("step %s crashed", step.name)
            detail = f"crashed: {type(exc).__name__}: {exc}"
        status = "failed" if step.required else "warn"
        log.error("step %s %s: %s", step.name, status, detail)
        one_line = " | ".join(x.strip() for x in detail.splitlines() if x.strip())
        return StepResult(
            step.name, status, time.perf_counter() - t0, None, one_line[:800], attempt
        )
