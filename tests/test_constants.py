"""Business constants (R10) to MongoDB, against the wire-protocol test double over TCP."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from loader.errors import TerminalError
from loader.settings import Settings
from pipeline.constants import COLLECTION, publish_constants
from pipeline.runner import Step, run_steps
from tests.fixtures.mongo import MONGO_PASSWORD, MONGO_USER

CONSTANTS = {
    "latest_invoice_date": "2026-11-26",
    "latest_dispatch_date": "2026-11-25",
    "current_fiscal_year": "FY2026-27",
    "active_retailers": "812",
    "active_distributors": "41",
}
RUN_1 = datetime(2026, 11, 27, 6, 30, 0, 123000, tzinfo=UTC)
RUN_2 = RUN_1 + timedelta(days=1)


def write_mart(path, constants: dict[str, str | None]) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts")
    con.execute(
        "create or replace table marts.business_constants "
        "(constant_key varchar, constant_value varchar)"
    )
    con.executemany("insert into marts.business_constants values (?, ?)", list(constants.items()))
    con.close()


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    write_mart(path, CONSTANTS)
    return path


def settings_for(warehouse, uri: str, **extra) -> Settings:
    return Settings(duckdb_path=str(warehouse), mongo_uri=uri, mongo_timeout_seconds=1, **extra)


def test_constants_land_as_documents(warehouse, mongo_double, mongo_uri):
    out = publish_constants(settings_for(warehouse, mongo_uri), run_time=RUN_1)

    docs = {d["_id"]: d for d in mongo_double.collection("datawiz", COLLECTION)}
    assert {k: d["value"] for k, d in docs.items()} == CONSTANTS
    for d in docs.values():
        assert set(d) == {"_id", "value", "updated_at"}
        # BSON keeps milliseconds; the double stores what pymongo sent (UTC)
        assert d["updated_at"].replace(tzinfo=UTC) == RUN_1
    assert out.ok and not out.warning and out.rows == 5
    assert "5 inserted, 0 updated" in out.detail
    # one bulk write: a single update command carried all five upserts
    assert mongo_double.commands.count("update") == 1


def test_second_run_updates_in_place(warehouse, mongo_double, mongo_uri):
    settings = settings_for(warehouse, mongo_uri)
    publish_constants(settings, run_time=RUN_1)
    write_mart(warehouse, {**CONSTANTS, "active_retailers": "815"})

    out = publish_constants(settings, run_time=RUN_2)

    docs = {d["_id"]: d for d in mongo_double.collection("datawiz", COLLECTION)}
    assert len(docs) == len(CONSTANTS)
    assert docs["active_retailers"]["value"] == "815"
    assert {d["updated_at"].replace(tzinfo=UTC) for d in docs.values()} == {RUN_2}
    assert "0 inserted, 5 updated" in out.detail


def test_database_comes_from_settings(warehouse, mongo_double, mongo_uri):
    publish_constants(settings_for(warehouse, mongo_uri, mongo_database="webapp"), RUN_1)
    assert len(mongo_double.collection("webapp", COLLECTION)) == 5
    assert mongo_double.collection("datawiz", COLLECTION) == []


def test_skipped_with_reason_without_uri(warehouse):
    report = run_steps(
        "morning",
        [Step("constants", lambda: publish_constants(settings_for(warehouse, "")))],
        echo=lambda line: None,
    )
    (result,) = report.results
    assert result.status == "skipped"
    assert "DATAWIZ_MONGO_URI is not set" in result.detail
    assert report.ok


def test_null_value_is_not_written_and_warns(warehouse, mongo_double, mongo_uri):
    settings = settings_for(warehouse, mongo_uri)
    publish_constants(settings, run_time=RUN_1)
    write_mart(warehouse, {**CONSTANTS, "latest_dispatch_date": None})

    out = publish_constants(settings, run_time=RUN_2)

    docs = {d["_id"]: d for d in mongo_double.collection("datawiz", COLLECTION)}
    assert docs["latest_dispatch_date"]["value"] == "2026-11-25"  # the old value stays
    assert docs["latest_dispatch_date"]["updated_at"].replace(tzinfo=UTC) == RUN_1
    assert out.warning and "latest_dispatch_date" in out.detail


def test_missing_mart_is_terminal(tmp_path, mongo_uri):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(TerminalError, match="marts.business_constants"):
        publish_constants(settings_for(path, mongo_uri), RUN_1)


def constants_step(settings: Settings) -> Step:
    return Step("constants", lambda: publish_constants(settings, RUN_1), retries=2)


def test_outage_is_transient_retried_then_reported(warehouse, mongo_double, mongo_uri):
    with mongo_double.down():
        report = run_steps(
            "morning",
            [constants_step(settings_for(warehouse, mongo_uri))],
            backoff=0.01,
            echo=lambda line: None,
        )
    (result,) = report.results
    assert result.status == "failed" and not report.ok
    assert result.attempts == 3
    assert "transient error after 3 attempt(s): MongoDB unreachable" in result.detail
    assert mongo_double.collection("datawiz", COLLECTION) == []


@pytest.mark.parametrize("fault", ["connection lost", "write concern not confirmed"])
def test_a_write_that_may_not_have_happened_is_retried(warehouse, mongo_double, mongo_uri, fault):
    """The connection lost mid-write, or a replica set that applied the upserts but did not
    confirm the write concern in time (wtimeout): transient, and writing again is safe (upserts
    by _id)."""
    if fault == "connection lost":
        mongo_double.fail("update", times=1, hangup=True)
    else:
        mongo_double.fail_write_concern("update", times=1)
    report = run_steps(
        "morning",
        [constants_step(settings_for(warehouse, mongo_uri))],
        backoff=0.01,
        echo=lambda line: None,
    )
    (result,) = report.results
    assert result.status == "ok" and result.attempts == 2
    assert mongo_double.commands.count("update") == 2
    assert len(mongo_double.collection("datawiz", COLLECTION)) == 5


def test_wrong_password_is_terminal_not_retried(warehouse, mongo_double):
    uri = mongo_double.uri(MONGO_USER, "not-the-password")
    report = run_steps(
        "morning",
        [constants_step(settings_for(warehouse, uri))],
        backoff=0.01,
        echo=lambda line: None,
    )
    (result,) = report.results
    assert result.status == "failed" and result.attempts == 1
    assert "refused the credentials" in result.detail
    assert "not-the-password" not in result.detail


def test_uri_password_is_never_logged(warehouse, mongo_double, mongo_uri, caplog, capsys):
    caplog.set_level(logging.DEBUG)  # pymongo's own loggers included
    settings = settings_for(warehouse, mongo_uri)
    lines: list[str] = []
    ok = run_steps("morning", [constants_step(settings)], echo=lines.append)
    with mongo_double.down():
        down = run_steps("morning", [constants_step(settings)], backoff=0.01, echo=lines.append)
    mongo_double.fail("update", times=1, hangup=False, code=18)
    refused = run_steps("morning", [constants_step(settings)], backoff=0.01, echo=lines.append)

    assert [r.results[0].status for r in (ok, down, refused)] == ["ok", "failed", "failed"]
    seen = "\n".join(
        [caplog.text, *lines, *capsys.readouterr()]
        + [r.results[0].detail for r in (ok, down, refused)]
    )
    assert MONGO_PASSWORD not in seen
    assert MONGO_PASSWORD not in repr(settings)
    assert "127.0.0.1" in seen  # the messages still say where MongoDB was


def test_constants_read_from_starrocks(fresh_starrocks_double, mongo_double, mongo_uri):
    env = fresh_starrocks_double.env()
    con = fresh_starrocks_double.connect()
    cur = con.cursor()
    cur.execute("create database if not exists marts")
    cur.execute(
        "create table marts.business_constants (constant_key varchar(64), "
        "constant_value varchar(64)) duplicate key(constant_key) "
        'distributed by hash(constant_key) buckets 1 properties ("replication_num" = "1")'
    )
    cur.execute(
        "insert into marts.business_constants values "
        "('current_fiscal_year', 'FY2026-27'), ('active_distributors', '41')"
    )
    con.close()
    settings = Settings(
        target="starrocks",
        starrocks_host=env["DATAWIZ_STARROCKS_HOST"],
        starrocks_query_port=int(env["DATAWIZ_STARROCKS_QUERY_PORT"]),
        starrocks_user=env["DATAWIZ_STARROCKS_USER"],
        starrocks_password=env["DATAWIZ_STARROCKS_PASSWORD"],
        mongo_uri=mongo_uri,
    )

    out = publish_constants(settings, RUN_1)

    docs = {d["_id"]: d["value"] for d in mongo_double.collection("datawiz", COLLECTION)}
    assert docs == {"current_fiscal_year": "FY2026-27", "active_distributors": "41"}
    assert out.rows == 2


@pytest.mark.parametrize(
    ("message", "transient"),
    [
        # dnspython's words for a DNS outage, as pymongo passes them on for mongodb+srv://
        ("The resolution lifetime expired after 5.000 seconds: Server 10.0.0.2 UDP port 53", True),
        ("All nameservers failed to answer the query _mongodb._tcp.db.example.com", True),
        # a name that does not exist, or a malformed URI: the setting is wrong, not the network
        ("The DNS query name does not exist: _mongodb._tcp.nosuch.example.com.", False),
        ("Port must be an integer between 0 and 65535: 'abc'", False),
    ],
)
def test_srv_lookup_outage_is_transient_a_wrong_uri_is_not(message, transient):
    from pymongo import errors

    from loader.errors import TransientError
    from pipeline.constants import _classify

    classified = _classify(errors.ConfigurationError(message), Settings())
    assert isinstance(classified, TransientError) is transient
    assert isinstance(classified, TerminalError) is not transient
