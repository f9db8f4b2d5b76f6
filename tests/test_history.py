"""Run history (ops.run_history): written as each step ends, read by `orchestrate.py status`,
on DuckDB and on the StarRocks test double (its MySQL port, the SQL a real FE would get)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

import orchestrate
from loader.errors import TransientError
from loader.settings import Settings
from pipeline import history, warehouse
from pipeline.history import RunHistory, format_runs, prune, recent_runs
from pipeline.runner import Step, StepOutcome, run_steps


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(duckdb_path=str(tmp_path / "warehouse.duckdb"))


def run(settings: Settings, steps: list[Step], run_id: str, pipeline: str = "morning"):
    observer = RunHistory(settings, [s.name for s in steps])
    return run_steps(
        pipeline, steps, echo=lambda line: None, observers=[observer], run_id=run_id, backoff=0
    )


def rows(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(settings.duckdb_path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_each_step_is_recorded_as_it_ends(settings):
    seen_by_second_step: list[tuple] = []

    def second() -> StepOutcome:
        # the first step's row must already be in the warehouse while the run goes on
        seen_by_second_step.extend(
            rows(
                settings, "select step, status, row_count from ops.run_history where kind = 'step'"
            )
        )
        return StepOutcome("built", 7)

    steps = [
        Step("load-morning", lambda: StepOutcome("loaded", 100)),
        Step("dbt-morning", second, needs=("load-morning",)),
    ]
    run(settings, steps, "R-1")

    assert seen_by_second_step == [("load-morning", "ok", 100)]
    recorded = rows(
        settings,
        "select kind, step, status, row_count, attempts, seconds >= 0, started_at <= finished_at "
        "from ops.run_history where finished_at is not null order by recorded_at",
    )
    assert recorded == [
        ("step", "load-morning", "ok", 100, 1, True, True),
        ("step", "dbt-morning", "ok", 7, 1, True, True),
        ("run", "morning", "ok", 107, None, True, True),
    ]


def failing_steps(fail_at: str | None) -> list[Step]:
    def step(name: str):
        def go() -> StepOutcome:
            if name == fail_at:
                return StepOutcome(f"{name} broke", ok=False)
            return StepOutcome(f"{name} done", 1)

        return go

    return [
        Step("load-morning", step("load-morning")),
        Step("dbt-morning", step("dbt-morning"), needs=("load-morning",)),
        Step("constants", step("constants"), needs=("dbt-morning",)),
    ]


def test_rerun_after_failure_is_shown_by_status(settings, capsys):
    run(settings, failing_steps("dbt-morning"), "R-FAIL")
    args = ["status", "--duckdb-path", settings.duckdb_path]

    assert orchestrate.main(args) == orchestrate.EXIT_FAILED
    first = capsys.readouterr().out

    run(settings, failing_steps(None), "R-RERUN")
    assert orchestrate.main(args) == orchestrate.EXIT_OK
    second = capsys.readouterr().out

    assert "morning  FAILED" in first and "run R-FAIL" in first
    assert "dbt-morning        failed" in first and "constants          skipped" in first
    lines = second.splitlines()
    rerun_at = next(i for i, line in enumerate(lines) if "run R-RERUN" in line)
    fail_at = next(i for i, line in enumerate(lines) if "run R-FAIL" in line)
    assert rerun_at < fail_at  # newest first
    assert "rerun after R-FAIL (failed at dbt-morning)" in lines[rerun_at + 1]


def test_unrelated_runs_are_not_called_reruns(settings):
    run(settings, failing_steps("dbt-morning"), "R-MORNING")
    run(settings, [Step("load-evening", lambda: StepOutcome("ok", 1))], "R-EVENING", "evening")
    (evening, morning) = recent_runs(settings)
    assert evening.run_id == "R-EVENING" and "rerun" not in evening.detail
    assert morning.status == "failed"


def test_a_run_that_died_shows_as_interrupted(settings):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    with warehouse.connect(settings) as con:
        history.ensure_table(con, settings)
        con.execute(
            "insert into ops.run_history (run_id, kind, step, pipeline, status, started_at, "
            "detail, host, target, recorded_at) values (?, 'run', 'evening', 'evening', "
            "'running', ?, ?, ?, 'duckdb', ?)",
            [
                "R-DIED",
                datetime(2026, 11, 1),
                f"pid={dead.stdout.strip()}",
                socket.gethostname(),
                datetime(2026, 11, 1),
            ],
        )
    (died,) = recent_runs(settings)
    assert died.status == "interrupted"
    assert orchestrate.main(["status", "--duckdb-path", settings.duckdb_path]) == 1

    run(settings, [Step("load-evening", lambda: StepOutcome("ok", 1))], "R-AGAIN", "evening")
    again = recent_runs(settings)[0]
    assert again.detail.endswith("rerun after R-DIED (interrupted at start)")


def test_a_live_run_shows_as_running(settings):
    observed: list[str] = []

    def look() -> StepOutcome:
        observed.append(recent_runs(settings)[0].status)
        return StepOutcome("ok")

    run(settings, [Step("load-evening", look)], "R-LIVE", "evening")
    assert observed == ["running"] and recent_runs(settings)[0].status == "ok"


def test_status_as_a_health_check_knows_a_run_that_did_not_happen_or_hangs(settings, capsys):
    """A run that never started (cron down, a held lock, a bad setting: no alert of its own) or
    one that hangs: `status --max-age-hours` exits 1 and says which pipeline."""
    args = ["status", "--duckdb-path", settings.duckdb_path, "--max-age-hours", "26"]
    # nothing recorded at all: no evening and no morning run
    assert orchestrate.main(args) == 1
    out = capsys.readouterr().out
    assert "datawiz: no evening run recorded" in out and "datawiz: no morning run recorded" in out
    run(settings, failing_steps(None), "R-MORNING")
    run(settings, [Step("load-evening", lambda: StepOutcome("ok", 1))], "R-EVENING", "evening")
    assert orchestrate.main(args) == 0
    capsys.readouterr()

    def age(run_id: str, hours: float) -> None:
        then = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=hours)
        with warehouse.connect(settings) as con:
            con.execute(
                "update ops.run_history set started_at = ? where run_id = ?", [then, run_id]
            )

    age("R-MORNING", 30)
    assert orchestrate.main(args) == 1
    assert "datawiz: the latest morning run started 30.0 h ago" in capsys.readouterr().out
    # beyond the listing's --limit too: five newer evening runs do not hide the old morning
    for n in range(5):
        run(settings, [Step("load-evening", lambda: StepOutcome("ok", 1))], f"R-E{n}", "evening")
    assert orchestrate.main([*args, "--limit", "5"]) == 1
    # `run all` counts for both windows
    run(settings, failing_steps(None), "R-ALL", "all")
    capsys.readouterr()
    assert orchestrate.main(args) == 0
    # without the option, age does not count
    age("R-ALL", 30)
    assert orchestrate.main(args[:-2]) == 0
    # a run still going (this process is alive) for 30 hours
    with warehouse.connect(settings) as con:
        con.execute(
            "insert into ops.run_history (run_id, kind, step, pipeline, status, started_at, "
            "detail, host, target, recorded_at) values ('R-HUNG', 'run', 'evening', 'evening', "
            "'running', ?, ?, ?, 'duckdb', ?)",
            [
                datetime(2026, 11, 1),
                f"pid={os.getpid()}",
                socket.gethostname(),
                datetime(2026, 11, 1),
            ],
        )
    age("R-HUNG", 30)
    age("R-ALL", 1)
    capsys.readouterr()
    assert orchestrate.main(args) == 1
    assert "datawiz: the evening run R-HUNG has been running 30.0 h" in capsys.readouterr().out


def test_status_without_history(settings, capsys):
    assert orchestrate.main(["status", "--duckdb-path", settings.duckdb_path]) == 0
    assert "no runs recorded yet" in capsys.readouterr().out


def test_prune_keeps_recent_runs(settings):
    run(settings, failing_steps(None), "R-NEW")
    with warehouse.connect(settings) as con:
        con.execute(
            "insert into ops.run_history (run_id, kind, step, pipeline, status, recorded_at) "
            "values ('R-OLD', 'run', 'morning', 'morning', 'ok', ?)",
            [datetime.now(UTC).replace(tzinfo=None) - timedelta(days=500)],
        )
    assert prune(settings, keep_days=400) == 1
    assert [r.run_id for r in recent_runs(settings)] == ["R-NEW"]
    assert prune(settings, keep_days=400) == 0


def test_history_failure_never_fails_the_run(tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the warehouse folder should be")
    settings = Settings(duckdb_path=str(blocker / "warehouse.duckdb"))
    report = run(settings, [Step("load-evening", lambda: StepOutcome("ok", 1))], "R-X", "evening")
    assert report.ok
    assert "run history not written" in caplog.text


def test_details_are_one_line_and_redacted(tmp_path):
    settings = Settings(duckdb_path=str(tmp_path / "w.duckdb"), smtp_password="Hist-Secret-1")
    steps = [Step("x", lambda: StepOutcome("line one\nline two Hist-Secret-1\x1b[31m red\x1b[0m"))]
    run(settings, steps, "R-R", "evening")
    (step,) = recent_runs(settings)[0].steps
    assert step.detail == "line one | line two *** red"


def test_format_runs_lists_steps_under_their_run():
    run_record = history.RunRecord(
        "R-1",
        "evening",
        "ok",
        datetime(2026, 11, 27, 20, 30),
        None,
        12.5,
        10,
        "1 ok",
        "etl01",
        "duckdb",
        [history.StepRecord("load-evening", "ok", None, None, 1.0, 10, 1, "loaded")],
    )
    lines = format_runs([run_record])
    assert lines[0].startswith("2026-11-27 20:30:00 UTC  evening  ok")
    assert "run R-1  on etl01 (duckdb)" in lines[0]
    assert lines[1] == "    1 ok"
    assert lines[2].split() == ["load-evening", "ok", "1.0s", "10", "rows", "loaded"]


# -- StarRocks (the test double's MySQL port) --------------------------------------------------


@pytest.fixture
def starrocks_settings(starrocks_double) -> Settings:
    env = starrocks_double.env()
    return Settings(
        target="starrocks",
        starrocks_host=env["DATAWIZ_STARROCKS_HOST"],
        starrocks_query_port=int(env["DATAWIZ_STARROCKS_QUERY_PORT"]),
        starrocks_user=env["DATAWIZ_STARROCKS_USER"],
        starrocks_password=env["DATAWIZ_STARROCKS_PASSWORD"],
    )


def test_history_on_starrocks(starrocks_settings):
    with warehouse.connect(starrocks_settings) as con:
        con.execute("drop table if exists ops.run_history")
    run(starrocks_settings, failing_steps("dbt-morning"), "SR-FAIL")
    run(starrocks_settings, failing_steps(None), "SR-OK")

    runs = recent_runs(starrocks_settings)
    assert [(r.run_id, r.status) for r in runs] == [("SR-OK", "ok"), ("SR-FAIL", "failed")]
    assert [s.step for s in runs[0].steps] == ["load-morning", "dbt-morning", "constants"]
    assert "rerun after SR-FAIL (failed at dbt-morning)" in runs[0].detail
    assert prune(starrocks_settings, keep_days=0, now=datetime.now(UTC) + timedelta(days=1)) > 0
    assert recent_runs(starrocks_settings) == []


def test_starrocks_unreachable_is_transient(closed_port):
    settings = Settings(
        target="starrocks",
        starrocks_host="127.0.0.1",
        starrocks_query_port=closed_port,
        starrocks_password="Sr-Secret-77",
    )
    with pytest.raises(TransientError, match="StarRocks unreachable") as info:
        warehouse.connect(settings).__enter__()
    assert "Sr-Secret-77" not in str(info.value)
