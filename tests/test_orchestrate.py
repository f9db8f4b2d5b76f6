"""orchestrate.py as cron sees it: exit codes, one line per step, the constants step, alerts,
run history, maintenance and the scheduler.

The loader runs for real on a tiny landing folder; dbt is replaced by a stand-in (`fake_dbt`)
that builds marts.business_constants from raw.fis, because a real `dbt build` takes a minute
here (the dbt models have their own tests). MongoDB is the wire-protocol double, SMTP a real
aiosmtpd server.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

import orchestrate
from loader import lock
from loader.errors import TerminalError
from loader.settings import PROJECT_ROOT, Settings, read_dotenv
from pipeline import maintenance, pipelines
from pipeline.dbt import DbtResult
from pipeline.history import recent_runs
from pipeline.runner import StepOutcome
from pipeline.schedule import build_scheduler, describe, maintenance_due
from tests.fixtures.mongo import MONGO_PASSWORD
from tests.fixtures.sample import fis_table, write_parquet


@pytest.fixture
def landing(tmp_path) -> Path:
    root = tmp_path / "landing"
    write_parquet(root, "fis/dt=2026-11-25/part-001.parquet", fis_table(20))
    write_parquet(root, "fis/dt=2026-11-26/part-001.parquet", fis_table(10, start=20))
    return root


class FakeDbt:
    """Stands in for pipeline.dbt.run_dbt: records the commands, builds the constants mart."""

    def __init__(self, fail: bool = False, warn: bool = False):
        self.fail = fail
        self.warn = warn
        self.calls: list[list[str]] = []
        self.freshness_calls: list[list[str]] = []

    def __call__(self, args, settings, timeout=None):
        if list(args[:2]) == ["source", "freshness"]:
            self.freshness_calls.append(list(args))
            nodes = [{"unique_id": "source.datawiz.landing.fis", "status": "pass", "timing": []}]
            return DbtResult(["dbt", *args], 0, nodes, "")
        self.calls.append(list(args))
        if self.fail:
            node = {
                "unique_id": "model.datawiz.fct_secondary_sales",
                "status": "error",
                "message": "Binder Error: column x not found",
                "timing": [],
            }
            return DbtResult(["dbt", *args], 1, [node], "")
        con = duckdb.connect(settings.duckdb_path)
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.business_constants as "
            "select 'latest_invoice_date' as constant_key, "
            "cast(max(invoice_date) as varchar) as constant_value from raw.fis "
            "union all select 'fis_lines', cast(count(*) as varchar) from raw.fis"
        )
        con.close()
        now = datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z"  # as dbt writes it
        node = {
            "unique_id": "model.datawiz.business_constants",
            "status": "success",
            "adapter_response": {"rows_affected": 2},
            "timing": [{"name": "execute", "started_at": now, "completed_at": now}],
        }
        nodes = [node]
        if self.warn:
            nodes.append(
                {"unique_id": "test.datawiz.fis_recent.85eb0e1d23", "status": "warn", "timing": []}
            )
        return DbtResult(["dbt", *args], 0, nodes, "")


@pytest.fixture
def env(tmp_path, monkeypatch, landing):
    """A clean environment for one warehouse in tmp_path (no .env of the developer)."""
    for key in list(__import__("os").environ):
        if key.startswith(("DATAWIZ_", "OTEL_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATAWIZ_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("DATAWIZ_SOURCE", str(landing))
    monkeypatch.setenv("DATAWIZ_MONGO_TIMEOUT_SECONDS", "1")
    return tmp_path


def use_dbt(monkeypatch, fake: FakeDbt) -> FakeDbt:
    monkeypatch.setattr(pipelines, "run_dbt", fake)
    monkeypatch.setattr(maintenance, "run_dbt", fake)
    return fake


@contextlib.contextmanager
def held_lock(folder: Path, holder: str = "pid 4242: maintain since 2026-12-01 03:00:00 UTC"):
    """The run lock beside the warehouse, held as another run holds it (closing it releases)."""
    with open(folder / ".datawiz.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(holder + "\n")
        held.flush()
        yield held


def use_smtp(monkeypatch, smtp_server) -> None:
    """Alert e-mails to the test SMTP server (plain, on-call address)."""
    monkeypatch.setenv("DATAWIZ_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("DATAWIZ_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("DATAWIZ_SMTP_TLS", "none")
    monkeypatch.setenv("DATAWIZ_ALERT_TO", "oncall@example.com")


def step_lines(out: str) -> list[list[str]]:
    return [line.split()[:2] for line in out.splitlines() if not line.startswith("datawiz")]


def test_morning_run_lands_builds_and_publishes(env, monkeypatch, capsys, mongo_double, mongo_uri):
    monkeypatch.setenv("DATAWIZ_MONGO_URI", mongo_uri)
    dbt = use_dbt(monkeypatch, FakeDbt())

    assert orchestrate.main(["run", "morning"]) == orchestrate.EXIT_OK

    out = capsys.readouterr().out
    # a local landing folder needs no backup: the step says so
    assert step_lines(out) == [
        ["load-morning", "ok"],
        ["freshness-morning", "ok"],
        ["dbt-morning", "ok"],
        ["constants", "ok"],
        ["backup", "skipped"],
    ]
    assert out.splitlines()[-1].startswith("datawiz: morning pipeline ok in ")
    assert dbt.calls == [
        [
            "build", "--select", "tag:morning", "--exclude", "tag:audit",
            "--exclude-resource-type", "unit_test",
        ]
    ]  # fmt: skip
    assert dbt.freshness_calls == [
        ["source", "freshness", "--select", "source:landing.fis", "source:landing.fid"]
    ]
    docs = {d["_id"]: d["value"] for d in mongo_double.collection("datawiz", "business_constants")}
    assert docs == {"latest_invoice_date": "2026-11-03", "fis_lines": "30"}
    (run,) = recent_runs(Settings.from_env())
    assert run.status == "ok" and [s.step for s in run.steps] == [
        "load-morning",
        "freshness-morning",
        "dbt-morning",
        "constants",
        "backup",
    ]
    assert MONGO_PASSWORD not in out


def test_failed_run_exits_1_alerts_once_and_rerun_picks_up(env, monkeypatch, capsys, smtp_server):
    use_smtp(monkeypatch, smtp_server)
    use_dbt(monkeypatch, FakeDbt(fail=True))

    assert orchestrate.main(["run", "morning"]) == orchestrate.EXIT_FAILED
    out = capsys.readouterr().out
    assert step_lines(out) == [
        ["load-morning", "ok"],
        ["freshness-morning", "ok"],
        ["dbt-morning", "failed"],
        ["constants", "skipped"],
        ["backup", "skipped"],
    ]
    (mail,) = smtp_server.received
    assert "morning pipeline FAILED" in mail.message["Subject"]
    body = mail.message.get_content()
    assert "Binder Error: column x not found" in body
    assert "orchestrate.py run morning --target duckdb --source" in body

    assert orchestrate.main(["status"]) == orchestrate.EXIT_FAILED
    capsys.readouterr()

    use_dbt(monkeypatch, FakeDbt())
    assert orchestrate.main(["run", "morning"]) == orchestrate.EXIT_OK
    rerun = capsys.readouterr().out
    assert "skipped 2 already loaded" in rerun  # the loader picks up where the run stopped
    assert "constants          skipped" in rerun  # no DATAWIZ_MONGO_URI in this test
    assert len(smtp_server.received) == 1  # success sends nothing (DATAWIZ_ALERT_ON=failure)

    assert orchestrate.main(["status"]) == orchestrate.EXIT_OK
    status = capsys.readouterr().out
    assert "(failed at dbt-morning)" in status and "rerun after" in status


def test_mongo_outage_fails_the_run_without_leaking_the_password(
    env, monkeypatch, capsys, mongo_double, mongo_uri
):
    monkeypatch.setenv("DATAWIZ_MONGO_URI", mongo_uri)
    monkeypatch.setattr("pipeline.runner.time.sleep", lambda s: None)  # no backoff waits
    use_dbt(monkeypatch, FakeDbt())

    with mongo_double.down():
        code = orchestrate.main(["run", "morning", "-v"])

    captured = capsys.readouterr()
    assert code == orchestrate.EXIT_FAILED
    (constants,) = [line for line in captured.out.splitlines() if line.startswith("constants")]
    assert "failed" in constants and "after 3 attempt(s): MongoDB unreachable" in constants
    assert MONGO_PASSWORD not in captured.out + captured.err


def test_dbt_warnings_name_the_tests_and_keep_exit_0(env, monkeypatch, capsys):
    use_dbt(monkeypatch, FakeDbt(warn=True))
    assert orchestrate.main(["run", "morning"]) == orchestrate.EXIT_OK
    (dbt_line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("dbt-")]
    assert dbt_line.split()[1] == "warn"
    assert dbt_line.endswith("1 success, 1 warn; warn: fis_recent")


def test_evening_audits_the_facts_once_they_exist(env, monkeypatch, capsys):
    """The table-level audits run in the evening, and only once a morning has built the facts."""
    dbt = use_dbt(monkeypatch, FakeDbt())
    audit = ["test", "--select", "tag:audit", "--exclude-resource-type", "unit_test"]
    assert orchestrate.main(["run", "morning"]) == orchestrate.EXIT_OK  # lands raw.fis
    capsys.readouterr()

    # fact extracts landed but no facts were built (the fake dbt builds none): a warning
    assert orchestrate.main(["run", "evening"]) == orchestrate.EXIT_OK
    out = capsys.readouterr().out
    lines = dict(line.split()[:2] for line in out.splitlines()[:-1])
    assert lines["audit"] == "warn"
    assert "although fact extracts have landed" in out
    assert audit not in dbt.calls
    # before any extract: nothing to audit, and nothing to warn about
    empty = Settings(target="duckdb", duckdb_path=str(env / "empty.duckdb"))
    assert pipelines.audit_step(empty).skipped
    con = duckdb.connect(str(env / "empty.duckdb"))
    con.execute("create schema marts")
    con.close()
    outcome = pipelines.audit_step(empty)
    assert outcome.skipped and "not built" in outcome.detail

    con = duckdb.connect(str(env / "warehouse.duckdb"))
    for fact in ("fct_secondary_sales", "fct_primary_dispatch"):
        con.execute(f"create table marts.{fact} as select 1 as x")
    con.close()
    assert orchestrate.main(["run", "evening"]) == orchestrate.EXIT_OK
    lines = dict(line.split()[:2] for line in capsys.readouterr().out.splitlines()[:-1])
    assert lines["audit"] == "ok"
    assert dbt.calls[-1] == audit
    assert [c for c in dbt.calls if c[0] == "build"][-1][:5] == [
        "build", "--select", "tag:evening", "--exclude", "tag:audit",
    ]  # fmt: skip


def test_maintain_refreshes_optimizes_and_prunes(env, monkeypatch, capsys):
    dbt = use_dbt(monkeypatch, FakeDbt())
    assert orchestrate.main(["run", "morning"]) == 0
    capsys.readouterr()

    assert orchestrate.main(["maintain"]) == orchestrate.EXIT_OK

    out = capsys.readouterr().out
    assert step_lines(out) == [
        ["dbt-full-refresh", "ok"],
        ["optimize", "ok"],
        ["prune-history", "ok"],
    ]
    assert dbt.calls[-1] == [
        "build",
        "--full-refresh",
        "--select",
        "config.materialized:incremental+",
    ]
    assert "checkpoint + analyze: " in out
    assert recent_runs(Settings.from_env())[0].pipeline == "maintain"


def test_exit_2_for_bad_configuration_and_a_held_lock(env, monkeypatch, capsys, smtp_server):
    use_dbt(monkeypatch, FakeDbt())
    use_smtp(monkeypatch, smtp_server)
    monkeypatch.setenv("DATAWIZ_ALERT_ON", "sometimes")
    assert orchestrate.main(["run", "evening"]) == orchestrate.EXIT_CONFIG
    assert "DATAWIZ_ALERT_ON" in capsys.readouterr().err
    monkeypatch.delenv("DATAWIZ_ALERT_ON")

    monkeypatch.setenv("DATAWIZ_LOCK_WAIT_SECONDS", "0")
    with held_lock(env):
        assert orchestrate.main(["run", "evening"]) == orchestrate.EXIT_CONFIG
    err = capsys.readouterr().err
    assert "another DataWiz run holds" in err and "(pid 4242: maintain since" in err
    assert smtp_server.received == []  # told not to wait: the caller hears it, no e-mail


def test_a_run_waits_for_the_lock_then_runs(env, monkeypatch, capsys):
    """The monthly maintenance running into the morning: the morning waits for it, then runs."""
    use_dbt(monkeypatch, FakeDbt())
    monkeypatch.setenv("DATAWIZ_LOCK_WAIT_SECONDS", "30")
    monkeypatch.setattr(lock, "LOCK_POLL_SECONDS", 0.1)
    published = []

    def publish(_settings, started):
        published.append(started)
        return StepOutcome("published")

    monkeypatch.setattr(pipelines, "publish_constants", publish)
    with held_lock(env) as held:
        release = threading.Timer(1.5, held.close)  # closing the file releases the lock
        release.start()
        try:
            begun = datetime.now(UTC)
            t0 = time.monotonic()
            assert orchestrate.main(["run", "morning"]) == orchestrate.EXIT_OK
            waited = time.monotonic() - t0
        finally:
            release.cancel()
    out = capsys.readouterr().out
    assert "waiting up to 30s for the run that holds the lock (pid 4242: maintain" in out
    # the run starts when it has the lock: its constants are not dated from before the wait
    (started,) = published
    assert (started - begun).total_seconds() >= 1.5
    assert waited >= 1.5 and "lock free after" in out
    assert step_lines(out)[0] == ["load-morning", "ok"]
    # the lock file names the run that holds it now
    assert (env / ".datawiz.lock").read_text().startswith(f"pid {os.getpid()}: run morning since")


def test_a_run_that_waited_in_vain_exits_2_and_alerts(env, monkeypatch, capsys, smtp_server):
    """A run that did not happen sends the alert e-mail (cron's own mail is usually off)."""
    use_dbt(monkeypatch, FakeDbt())
    use_smtp(monkeypatch, smtp_server)
    monkeypatch.setenv("DATAWIZ_LOCK_WAIT_SECONDS", "1")
    monkeypatch.setattr(lock, "LOCK_POLL_SECONDS", 0.1)
    with held_lock(env):
        assert orchestrate.main(["run", "morning"]) == orchestrate.EXIT_CONFIG
    assert "waited 1s for it" in capsys.readouterr().err
    (mail,) = smtp_server.received
    assert "morning pipeline FAILED" in mail.message["Subject"]
    body = mail.message.get_content()
    assert "lock: failed after 1 attempt(s)" in body and "pid 4242: maintain" in body
    assert "python orchestrate.py run morning" in body
    assert recent_runs(Settings.from_env()) == []  # nothing ran, nothing recorded


@pytest.mark.parametrize("command", ["run", "summary", "status", "maintain", "schedule"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        orchestrate.main([command, "--help"])
    assert done.value.code == 0
    assert f"usage: orchestrate.py {command}" in capsys.readouterr().out


def test_summary_says_what_is_missing_without_a_traceback(env, capsys):
    warehouse = str(env / "warehouse.duckdb")
    assert orchestrate.main(["summary"]) == orchestrate.EXIT_CONFIG
    assert f"datawiz: error: no warehouse at {warehouse} yet" in capsys.readouterr().err
    # files landed, no mart built yet: each mart shows as missing, exit 1
    pipelines.load_step(Settings.from_env(), "morning")
    assert orchestrate.main(["summary"]) == orchestrate.EXIT_FAILED
    out = capsys.readouterr().out
    assert out.count("missing") == 9 and re.search(r"raw files loaded +2\n", out)
    # the file in use by another process: one line, try again later
    with duckdb.connect(warehouse):
        holder = subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "orchestrate.py"), "summary"],
            capture_output=True,
            text=True,
            cwd=env,
        )
    assert holder.returncode == orchestrate.EXIT_FAILED
    assert "is in use by another process (try again later)" in holder.stderr
    assert "Traceback" not in holder.stderr


def test_schedule_jobs_and_monthly_maintenance():
    settings = Settings(evening_at="21:15", morning_at="05:45", maintain_at="02:30")
    ran: list[list[str]] = []
    today = [date(2026, 12, 2)]
    s = build_scheduler(settings, lambda args: ran.append(args) or 0, today=lambda: today[0])

    jobs = {next(iter(j.tags)): j.at_time.strftime("%H:%M") for j in s.get_jobs()}
    assert jobs == {"evening": "21:15", "morning": "05:45", "maintain": "02:30"}
    s.run_all()
    assert sorted(ran) == [["run", "evening"], ["run", "morning"]]  # not the 1st: no maintenance
    today[0] = date(2027, 1, 1)
    ran.clear()
    s.run_all()
    assert sorted(ran) == [["maintain"], ["run", "evening"], ["run", "morning"]]
    assert maintenance_due(date(2026, 12, 1)) and not maintenance_due(date(2026, 12, 31))
    assert describe(s)[0].split()[0] in {"evening", "morning", "maintain"}


def test_schedule_refuses_a_bad_time(env, monkeypatch, capsys):
    monkeypatch.setenv("DATAWIZ_MORNING_AT", "6.30am")
    assert orchestrate.main(["schedule", "--list"]) == orchestrate.EXIT_CONFIG
    assert "DATAWIZ_MORNING_AT must be a time of day as HH:MM" in capsys.readouterr().err


def test_schedule_process_starts_and_stops_on_sigterm(env):
    proc = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "orchestrate.py"), "schedule"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=env,
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("datawiz schedule: ")
        # its signal handlers are in place before its first line
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "datawiz schedule: stopped" in out


def test_maintenance_sql_on_starrocks(fresh_starrocks_double):
    env = fresh_starrocks_double.env()
    con = fresh_starrocks_double.connect()
    cur = con.cursor()
    for db, table in (("raw", "fis"), ("marts", "fct_secondary_sales"), ("marts", "dim_customer")):
        cur.execute(f"create database if not exists {db}")
        cur.execute(
            f"create table {db}.{table} (k varchar(10), v int) duplicate key(k) "
            'distributed by hash(k) buckets 1 properties ("replication_num" = "1")'
        )
    con.close()
    settings = Settings(
        target="starrocks",
        starrocks_host=env["DATAWIZ_STARROCKS_HOST"],
        starrocks_query_port=int(env["DATAWIZ_STARROCKS_QUERY_PORT"]),
        starrocks_user=env["DATAWIZ_STARROCKS_USER"],
        starrocks_password=env["DATAWIZ_STARROCKS_PASSWORD"],
    )

    declared = maintenance.maintenance_steps(settings)
    steps = [s.name for s in declared]
    # maintenance must end before the morning run that waits for its lock: a full refresh past
    # its timeout is not started over, and the table statements have a timeout of their own
    assert declared[0].retries == 0
    assert [s.timeout for s in declared[1:3]] == [settings.dbt_timeout_seconds] * 2
    optimized = maintenance.optimize_step(settings)
    compacted = maintenance.compact_step(settings)
    pruned = maintenance.prune_history_step(settings)

    assert steps == ["dbt-full-refresh", "optimize", "compact", "prune-history"]
    assert optimized.detail == "analyze table: 3 of 3 tables" and not optimized.warning
    assert compacted.detail == "compaction queued for 2 tables"  # raw.fis, marts.fct_*
    assert pruned.rows == 0  # no history table yet: nothing to prune, no error


def test_the_schedules_select_the_audits_apart(tmp_path, monkeypatch):
    """With the real dbt project: the audit step selects exactly the facts' whole-table tests
    and the dimensions' hold-back check, and neither window's build selects them."""
    from dbt.cli.main import dbtRunner

    from pipeline.dbt import DBT_PROJECT
    from pipeline.pipelines import AUDIT_ARGS, dbt_build_args

    monkeypatch.setenv("DATAWIZ_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("DATAWIZ_TARGET", "duckdb")

    def selected(args: list[str]) -> set[str]:
        selection = [a for a in args if a not in ("build", "test", "--full-refresh")]
        result = dbtRunner().invoke(
            [
                "ls", *selection, "--resource-type", "test", "--output", "name", "--quiet",
                "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
                "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path),
            ]
        )  # fmt: skip
        assert result.success, result.exception
        return set(result.result)

    audits = selected(AUDIT_ARGS)
    assert {a.split("_fct_")[0] for a in audits} == {
        "unique_key_combination",
        "reconciles_with_landing",
        "not_null",  # _built_at, by which the morning's row tests pick their rows
        "assert_dimension_not_held_back",  # a dimension days behind its drops: an error
    }
    assert len(audits) == 7
    morning = selected(dbt_build_args("morning"))
    assert morning and not audits & morning
    assert "not_null_fct_secondary_sales_invoice_no" in morning
    assert not audits & selected(dbt_build_args("evening"))


def test_a_file_that_fails_to_land_is_retried_within_the_load_step(landing, tmp_path, monkeypatch):
    """A file that fails transiently (a lost connection, not a bad file) is not left for
    tomorrow while the builds are skipped today: the load step lands it again (the files
    already landed are not landed twice), and the step reports every file and row. A failure
    that would repeat (rows the warehouse rejects) is not retried: the step fails at once."""
    from loader.sinks.duckdb import DuckDBSink
    from loader.stream_load import StreamLoadError

    real_write = DuckDBSink.write
    attempts = []
    failure: list[Exception] = [OSError("connection reset by peer")]

    def no_group(self, *args, **kwargs):
        raise OSError("group insert refused")  # every group falls back to file by file

    def flaky_write(self, dataset, reader, entry):
        attempts.append(entry.file.path)
        if entry.file.path.startswith("fis/dt=2026-11-26/") and failure:
            raise failure.pop()
        return real_write(self, dataset, reader, entry)

    monkeypatch.setattr(DuckDBSink, "write_local_files", no_group)
    monkeypatch.setattr(DuckDBSink, "write", flaky_write)
    (landing / "fis/dt=2026-11-26/part-002.parquet").write_bytes(b"junk")  # quarantined
    warehouse = tmp_path / "wh.duckdb"
    settings = Settings(source=str(landing), duckdb_path=str(warehouse))
    outcome = pipelines.load_step(settings, "morning", retry_backoff=0)
    assert outcome.ok and outcome.warning and outcome.rows == 30
    assert "loaded 2 (30 rows)" in outcome.detail and "failed 0" in outcome.detail
    assert "quarantined fis/dt=2026-11-26/part-002.parquet" in outcome.detail
    assert sorted(attempts) == [
        "fis/dt=2026-11-25/part-001.parquet",
        "fis/dt=2026-11-26/part-001.parquet",
        "fis/dt=2026-11-26/part-001.parquet",
    ]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.fis").fetchall() == [(30,)]

    # rows rejected by the warehouse: the same rows would be rejected again
    write_parquet(landing, "fis/dt=2026-11-26/part-003.parquet", fis_table(5, start=40))
    attempts.clear()
    failure.append(StreamLoadError("2 rows rejected", label="x"))
    outcome = pipelines.load_step(settings, "morning", retry_backoff=0)
    assert not outcome.ok and attempts == ["fis/dt=2026-11-26/part-003.parquet"]
    assert "failed fis/dt=2026-11-26/part-003.parquet: StreamLoadError: 2 rows rejected" in (
        outcome.detail
    )


def test_a_load_past_its_timeout_is_stopped_retried_and_picked_up_by_the_next_run(
    landing, tmp_path, monkeypatch
):
    """The step's alarm goes off inside the loader's per-file `except Exception`: the load must
    stop there (each attempt at its deadline), not mark the file failed and go on to the next
    one past the deadline; nothing is half-landed, and the next run lands every file."""
    from loader.sources.local import LocalSource
    from pipeline.runner import run_steps

    real_open = LocalSource.open
    opened: list[str] = []

    def hanging_open(self, file):
        opened.append(file.path)
        time.sleep(30)
        return real_open(self, file)

    monkeypatch.setattr(LocalSource, "open", hanging_open)
    warehouse = tmp_path / "wh.duckdb"
    settings = Settings(source=str(landing), duckdb_path=str(warehouse), load_timeout_seconds=1)
    (step,) = [s for s in pipelines.steps_for("morning", settings) if s.name == "load-morning"]
    assert step.timeout == 1 and step.retries == 2
    t0 = time.perf_counter()
    report = run_steps("morning", [step], backoff=0.01, echo=lambda _line: None)
    elapsed = time.perf_counter() - t0
    (result,) = report.results
    assert result.status == "failed"
    assert "timed out after 1s" in result.detail
    assert result.attempts == 3
    # one file opened per attempt, each attempt stopped at its deadline (the two files would
    # take 30 s each if the loader swallowed the alarm)
    assert len(opened) == 3
    assert elapsed < 10

    monkeypatch.setattr(LocalSource, "open", real_open)
    outcome = pipelines.load_step(settings, "morning")
    assert outcome.ok and outcome.rows == 30
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.fis").fetchall() == [(30,)]


def test_step_timeouts_and_dbt_threads_come_from_dotenv_too(tmp_path, monkeypatch):
    from loader.errors import TerminalError
    from pipeline.dbt import dbt_env

    for name in (
        "DATAWIZ_LOAD_TIMEOUT_SECONDS",
        "DATAWIZ_DBT_TIMEOUT_SECONDS",
        "DATAWIZ_DBT_THREADS",
    ):
        monkeypatch.delenv(name, raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text("DATAWIZ_LOAD_TIMEOUT_SECONDS=7\nDATAWIZ_DBT_THREADS=3\n")
    monkeypatch.setenv("DATAWIZ_DBT_TIMEOUT_SECONDS", "11")  # the environment works as before
    settings = Settings.from_env(dotenv=dotenv)
    timeouts = {s.name: s.timeout for s in pipelines.steps_for("evening", settings)}
    assert timeouts["load-evening"] == 7
    # dbt's timeout goes to the dbt command itself, whose child is killed when it passes
    dbt_timeouts = []
    monkeypatch.setattr(
        pipelines,
        "run_dbt",
        lambda args, settings, timeout=None: dbt_timeouts.append(timeout) or DbtResult(args, 0),
    )
    pipelines.dbt_build_step(settings, "evening")
    assert dbt_timeouts == [11]
    assert dbt_env(settings)["DATAWIZ_DBT_THREADS"] == "3"
    dotenv.write_text("DATAWIZ_LOAD_TIMEOUT_SECONDS=an hour\n")
    with pytest.raises(TerminalError, match="DATAWIZ_LOAD_TIMEOUT_SECONDS must be an integer"):
        Settings.from_env(dotenv=dotenv)


def test_settings_read_the_dotenv_file_datawiz_dotenv_names(tmp_path, monkeypatch):
    """Cron can point at a .env anywhere; the test session itself points it nowhere, so a
    developer's .env in the project never reaches a test."""
    monkeypatch.delenv("DATAWIZ_SOURCE", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DATAWIZ_SOURCE=a developer's own\n")
    assert Settings.from_env().source == Settings().source  # the session's: no file
    dotenv = tmp_path / "datawiz.env"
    dotenv.write_text("DATAWIZ_SOURCE=az://extracts/sales\n")
    monkeypatch.setenv("DATAWIZ_DOTENV", str(dotenv))
    assert Settings.from_env().source == "az://extracts/sales"
    # a mistyped name stops the run rather than run on the defaults
    monkeypatch.setenv("DATAWIZ_DOTENV", str(tmp_path / "datawiz.evn"))
    with pytest.raises(TerminalError, match="DATAWIZ_DOTENV names .*datawiz.evn"):
        Settings.from_env()
    monkeypatch.setenv("DATAWIZ_DOTENV", str(tmp_path))
    with pytest.raises(TerminalError, match="which is not a file"):
        Settings.from_env()


def test_dotenv_comments_quotes_and_the_example_file(tmp_path, monkeypatch):
    """.env as docker compose and python-dotenv read it (an inline comment is not part of the
    value), and .env.example, which users copy, reads back as every setting's default."""
    from dataclasses import fields

    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "DATAWIZ_ALERT_ON=warning   # failure | warning | always | never\n"
        "DATAWIZ_MONGO_DATABASE=datawiz\t# the default\n"
        "DATAWIZ_SMTP_PASSWORD='s3cret # with a hash'  # quoted: kept whole\n"
        "DATAWIZ_MONGO_URI=mongodb://u:pa#ss@h/\n"  # a # not after a blank is data
    )
    for name in ("DATAWIZ_ALERT_ON", "DATAWIZ_MONGO_DATABASE", "DATAWIZ_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("DATAWIZ_MONGO_URI", raising=False)
    settings = Settings.from_env(dotenv=dotenv)
    assert (settings.alert_on, settings.mongo_database) == ("warning", "datawiz")
    assert settings.smtp_password == "s3cret # with a hash"
    assert settings.mongo_uri == "mongodb://u:pa#ss@h/"

    example = PROJECT_ROOT / ".env.example"
    listed = read_dotenv(example)
    for f in fields(Settings):
        names = {f"DATAWIZ_{f.name.upper()}", f.name.upper()}
        assert names & listed.keys(), f"{f.name} is not in .env.example"
    for name in list(os.environ):
        if name.startswith("DATAWIZ_") or name.startswith("OTEL_") or name.startswith("AZURE_"):
            monkeypatch.delenv(name)
    from_example = Settings.from_env(dotenv=example)
    differ = {
        f.name: getattr(from_example, f.name)
        for f in fields(Settings)
        if getattr(from_example, f.name) != getattr(Settings(), f.name)
    }
    # the example names the least-privilege user docs/starrocks.md creates (and
    # tests/starrocks_real/setup.sql), where the default is the admin
    assert differ == {"starrocks_user": "datawiz"}
    assert "TO USER 'datawiz'@" in (PROJECT_ROOT / "docs/starrocks.md").read_text()


def test_a_long_load_prints_its_progress_in_the_shape_of_the_step_lines(landing, tmp_path, capsys):
    settings = Settings(source=str(landing), duckdb_path=str(tmp_path / "wh.duckdb"))
    # every file counts as long here: a line after each file but the last
    outcome = pipelines.load_step(settings, "morning", progress_every=0)
    assert outcome.ok
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    name, status, seconds, rows, _, *done = lines[0].split()
    assert (name, status) == ("load-morning", "running") and seconds.endswith("s")
    assert int(rows.replace(",", "")) in (10, 20)  # the first file landed (groups: per file)
    assert " ".join(done) == "1 of 2 files done"
    # a short load prints nothing but its step line (cron mails stay one line per step)
    (tmp_path / "wh.duckdb").unlink()
    pipelines.load_step(settings, "morning")
    assert capsys.readouterr().out == ""


def test_a_load_whose_engine_hangs_is_stopped_at_its_timeout(landing, tmp_path, monkeypatch):
    """DuckDB turns the alarm into an error of its own (the query is interrupted), which the
    loader catches: it falls back to landing file by file, and the next file's query hangs too.
    The alarm goes off again and the loader checks the deadline after each file, so each attempt
    ends within about two seconds of its deadline, as a timeout, with nothing landed."""
    from loader.sinks.duckdb import DuckDBSink
    from pipeline.runner import REFIRE_SECONDS, run_steps

    calls = []

    def hang(self, *args, **kwargs):
        calls.append(args)
        self.con.execute("select count(*) from range(1000000000000) as t(i) where i % 7 = 3")
        raise AssertionError("the query was not interrupted")

    monkeypatch.setattr(DuckDBSink, "write_local_files", hang)
    monkeypatch.setattr(DuckDBSink, "write", hang)
    write_parquet(landing, "fis/dt=2026-11-26/part-002.parquet", fis_table(5, start=30))
    write_parquet(landing, "fis/dt=2026-11-26/part-003.parquet", fis_table(5, start=35))
    warehouse = tmp_path / "wh.duckdb"
    settings = Settings(source=str(landing), duckdb_path=str(warehouse), load_timeout_seconds=1)
    (step,) = [s for s in pipelines.steps_for("morning", settings) if s.name == "load-morning"]
    t0 = time.perf_counter()
    report = run_steps("morning", [step], backoff=0.01, echo=lambda _line: None)
    elapsed = time.perf_counter() - t0
    (result,) = report.results
    assert (result.status, result.attempts) == ("failed", 3)
    assert "timed out after 1s" in result.detail
    # each attempt: the group's write stopped at the deadline, then the first file it fell
    # back to stopped by one re-fire, and the loader stops after that file (without the check
    # it would go on with the other two files: four writes an attempt, a re-fire each)
    assert len(calls) == 3 * 2
    assert elapsed < 3 * (1 + 3 * REFIRE_SECONDS) + 5  # nothing hung (a loaded machine's slack)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        landed = con.execute("select count(*) from raw.load_ledger").fetchall()
    assert landed == [(0,)]


def test_a_step_whose_duckdb_query_passes_its_timeout_is_a_timeout_and_retried(tmp_path):
    """Any step with a DuckDB connection open (the warehouse's), not only the loader: the query
    is interrupted at the deadline, and DuckDB's "Query interrupted" counts as the timeout it
    is (retried as transient), not as a crash."""
    from pipeline import warehouse as wh
    from pipeline.runner import Step, StepOutcome, run_steps

    settings = Settings(duckdb_path=str(tmp_path / "wh.duckdb"))
    attempts = []

    def long_query() -> StepOutcome:
        attempts.append(time.perf_counter())
        with wh.connect(settings) as con:
            con.execute("select count(*) from range(1000000000000) as t(i) where i % 7 = 3")
        return StepOutcome("done")

    step = Step("rollups", long_query, retries=1, timeout=0.5)
    t0 = time.perf_counter()
    (result,) = run_steps("test", [step], backoff=0.01, echo=lambda _line: None).results
    assert (result.status, result.attempts) == ("failed", 2)
    assert result.detail.startswith("transient error after 2 attempt(s): step rollups timed out")
    assert time.perf_counter() - t0 < 15  # 2 x 0.5 s; an uninterrupted query runs for hours


def test_a_run_budget_caps_the_steps_and_their_retries():
    """Maintenance's budget (DATAWIZ_MAINTAIN_TIMEOUT_SECONDS for the whole run): a step's
    timeout ends with it, no retry starts past it, and a later step is not run but warned."""
    from pipeline.runner import Step, StepOutcome, run_steps

    attempts = []

    def slow() -> StepOutcome:
        attempts.append(time.monotonic())
        time.sleep(5)
        return StepOutcome("done")

    steps = [
        Step("quick", lambda: StepOutcome("done")),
        Step("dbt-full-refresh", slow, retries=3, timeout=60),
        Step("optimize", lambda: StepOutcome("done")),
    ]
    t0 = time.monotonic()
    report = run_steps("maintain", steps, backoff=0.01, echo=lambda _l: None, budget=1.0)
    assert time.monotonic() - t0 < 4  # not 60 s, nor four attempts of 5 s
    quick, refresh, optimize = report.results
    assert quick.status == "ok"
    assert (refresh.status, refresh.attempts) == ("failed", 1) and "timed out" in refresh.detail
    assert optimize.status == "warn" and "time budget (1s) is used up" in optimize.detail
    assert len(attempts) == 1 and not report.ok
