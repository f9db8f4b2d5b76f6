"""Running declared steps: one line per step, retries with backoff for transient errors only,
a timeout per step, and dependencies (a step whose prerequisite failed is skipped)."""

from __future__ import annotations

import logging
import re
import signal
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from loader import cancel
from loader.errors import TerminalError, TransientError
from pipeline.redact import redact

log = logging.getLogger("datawiz.pipeline")


@dataclass
class Timing:
    """A timed piece of a step (e.g. one dbt node), shown as a child span in traces."""

    name: str
    started_at: datetime
    finished_at: datetime
    attributes: dict[str, str | int | float | bool] = field(default_factory=dict)


@dataclass
class StepOutcome:
    """What a step function returns: a one-line detail, rows, and whether it fully succeeded.
    `skipped` says the step had nothing to do by configuration (the detail says why)."""

    detail: str = ""
    rows: int | None = None
    ok: bool = True
    warning: bool = False
    skipped: bool = False
    children: list[Timing] = field(default_factory=list)


@dataclass
class Step:
    name: str
    run: Callable[[], StepOutcome]
    retries: int = 0
    timeout: float | None = None
    needs: tuple[str, ...] = ()
    # when False, the step's failure is reported but does not fail the pipeline
    required: bool = True
    # evening | morning | maintain: recorded in run history and traces
    window: str = ""


@dataclass
class StepResult:
    name: str
    status: str  # ok | warn | failed | skipped
    seconds: float = 0.0
    rows: int | None = None
    detail: str = ""
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    children: list[Timing] = field(default_factory=list)

    def line(self) -> str:
        rows = f"{self.rows:,} rows" if self.rows is not None else "-"
        detail = one_line(self.detail)
        return f"{self.name:<18} {self.status:<7} {self.seconds:7.1f}s  {rows:>14}  {detail}"


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def one_line(text: str, limit: int = 2000) -> str:
    """Logs and cron mails get one line per step: no newlines, no terminal colour codes."""
    flat = " | ".join(x.strip() for x in _ANSI.sub("", text).splitlines() if x.strip())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


@dataclass
class RunReport:
    pipeline: str
    results: list[StepResult] = field(default_factory=list)
    seconds: float = 0.0
    run_id: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return all(r.status in ("ok", "warn", "skipped") for r in self.results)

    @property
    def status(self) -> str:
        """failed | warn | ok: the verdict of the whole run."""
        if not self.ok:
            return "failed"
        return "warn" if any(r.status == "warn" for r in self.results) else "ok"

    @property
    def rows(self) -> int:
        return sum(r.rows or 0 for r in self.results)


class Observer:
    """Hooks around a run (run history, traces, alerts). Every method is optional; an
    observer that raises is logged and ignored: bookkeeping never fails a pipeline."""

    def run_started(self, report: RunReport) -> None: ...

    def step_started(self, step: Step) -> None: ...

    def step_finished(self, step: Step, result: StepResult) -> None: ...

    def run_finished(self, report: RunReport) -> None: ...


def _notify(observers: Sequence[Observer], method: str, *args) -> None:
    for observer in observers:
        try:
            getattr(observer, method)(*args)
        except Exception:  # noqa: BLE001 - see Observer
            log.exception("%s.%s failed (ignored)", type(observer).__name__, method)


class StepTimeout(BaseException):
    """A step ran past its timeout. Raised by the alarm inside whatever the step was doing, so
    it derives from BaseException, as KeyboardInterrupt does: a step's own `except Exception`
    (the loader's per-file handling, the backup's per-blob one) cannot swallow it and go on
    past the deadline. The runner treats it as transient: the step is retried."""


# once the alarm has gone off, it goes off again this often until the step ends, and each time
# interrupts the engines (loader/cancel.py) without raising again: an engine (DuckDB) turns the
# first alarm's exception into an error of its own, which a step may catch and go on with the
# next item; a query that then blocks is interrupted again, check_deadline() stops the loop,
# and a step's cleanup (a rollback, killing a child) is never cut short by a second exception
REFIRE_SECONDS = 1.0
_expired: list[str] = []  # the message of the running step's passed deadline (main thread)


def check_deadline() -> None:
    """Raise StepTimeout if the running step's deadline has passed: for a step's own loops,
    between items (the loader calls it after each file)."""
    if _expired:
        raise StepTimeout(_expired[0])


@contextmanager
def _deadline(seconds: float | None, name: str):
    """SIGALRM-based timeout: works for the main thread (cron runs us there); steps that run
    subprocesses (dbt) also pass their own timeout down so the child is killed. Whatever a
    step raises once its deadline has passed (DuckDB's "Query interrupted"), or a step that
    returns late, is a timeout."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    message = f"step {name} timed out after {seconds:.0f}s"
    active = True

    def fire(signum, frame):
        if not active:
            return
        signal.setitimer(signal.ITIMER_REAL, REFIRE_SECONDS)
        cancel.interrupt_all()  # a DuckDB query does not stop for an exception alone
        if not _expired:
            _expired.append(message)
            raise StepTimeout(message)

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
        check_deadline()
    except StepTimeout:
        raise
    except BaseException as exc:
        if _expired:
            raise StepTimeout(message) from exc
        raise
    finally:
        active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _expired.clear()


def run_steps(
    pipeline: str,
    steps: list[Step],
    *,
    backoff: float = 2.0,
    echo: Callable[[str], None] = print,
    observers: Sequence[Observer] = (),
    run_id: str = "",
    scrub: Callable[[str], str] = redact,
    budget: float | None = None,
) -> RunReport:
    """Run the steps in order; `scrub` takes secrets out of error text before it is printed,
    logged or handed to the observers (pass a settings-aware redact to mask known secrets).
    `budget`: seconds for the whole run; each step's timeout (and its retries) end with it, and
    a step that would start after it warns instead of running."""
    report = RunReport(pipeline, run_id=run_id, started_at=datetime.now(UTC))
    _notify(observers, "run_started", report)
    started = time.perf_counter()
    ends = time.monotonic() + budget if budget else None
    status_of: dict[str, str] = {}
    for step in steps:
        _notify(observers, "step_started", step)
        blocked = [n for n in step.needs if status_of.get(n) not in ("ok", "warn")]
        if blocked:
            res = _not_run(step, "skipped", f"needs {', '.join(blocked)}")
        elif ends is not None and time.monotonic() >= ends:
            res = _not_run(
                step, "warn", f"not run: the run's time budget ({budget:.0f}s) is used up"
            )
        else:
            res = _run_one(step, backoff, scrub, ends)
        status_of[step.name] = res.status
        report.results.append(res)
        echo(res.line())
        log.info("step %s", res.line())
        _notify(observers, "step_finished", step, res)
    report.seconds = time.perf_counter() - started
    report.finished_at = datetime.now(UTC)
    _notify(observers, "run_finished", report)
    return report


def _not_run(step: Step, status: str, detail: str) -> StepResult:
    now = datetime.now(UTC)
    return StepResult(step.name, status, detail=detail, started_at=now, finished_at=now)


def _run_one(
    step: Step, backoff: float, scrub: Callable[[str], str] = redact, ends: float | None = None
) -> StepResult:
    """One step, retried on transient errors; `ends` (time.monotonic()) caps its timeout and
    its retries: the run's budget."""
    t0 = time.perf_counter()
    started_at = datetime.now(UTC)
    attempt = 0
    while True:
        attempt += 1
        timeout = step.timeout
        if ends is not None:
            left = max(ends - time.monotonic(), 0.001)
            timeout = left if timeout is None else min(timeout, left)
        try:
            with _deadline(timeout, step.name):
                out = step.run()
            status = "ok" if out.ok and not out.warning else ("warn" if out.ok else "failed")
            if not out.ok and not step.required:
                status = "warn"
            if out.skipped and out.ok:
                status = "skipped"
            return StepResult(
                step.name,
                status,
                time.perf_counter() - t0,
                out.rows,
                scrub(out.detail),
                attempt,
                started_at,
                datetime.now(UTC),
                out.children,
            )
        except (TransientError, StepTimeout) as exc:
            wait = backoff * 2 ** (attempt - 1)
            if attempt <= step.retries and (ends is None or time.monotonic() + wait < ends):
                log.warning(
                    "step %s: transient error (attempt %d), retrying in %.0fs: %s",
                    step.name,
                    attempt,
                    wait,
                    scrub(str(exc)),
                )
                time.sleep(wait)
                continue
            detail = f"transient error after {attempt} attempt(s): {exc}"
        except TerminalError as exc:
            detail = f"error: {exc}"
        except Exception as exc:  # noqa: BLE001 - an unexpected bug still ends in a report line
            log.exception("step %s crashed", step.name)
            detail = f"crashed: {type(exc).__name__}: {exc}"
        detail = scrub(detail)
        status = "failed" if step.required else "warn"
        log.error("step %s %s: %s", step.name, status, detail)
        return StepResult(
            step.name,
            status,
            time.perf_counter() - t0,
            None,
            one_line(detail, 800),
            attempt,
            started_at,
            datetime.now(UTC),
        )
