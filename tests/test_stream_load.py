"""The Stream Load client against the StarRocks double's HTTP half (loopback only)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal

import pyarrow as pa
import pytest
import requests

from loader.errors import TerminalError, TransientError
from loader.stream_load import CsvEncoder, StreamLoadClient, StreamLoadError, make_label
from tests.doubles.starrocks import http as double_http
from tests.doubles.starrocks.engine import Engine

PASSWORD = "s3cr3t-Pa55word"
DB, TABLE = "raw", "t"


@pytest.fixture
def engine():
    e = Engine()
    e.execute(f"create database {DB}")
    e.execute(
        f"create table {DB}.{TABLE} (s varchar(65533), i int, d decimal(14,2), f double, "
        "b boolean, day date, ts datetime, loaded datetime) duplicate key(s)"
    )
    return e


@pytest.fixture
def double(engine):
    handle = double_http.start(engine, users={"loader": PASSWORD})
    yield handle
    handle.stop()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


def client(double, sleeps, **kw) -> StreamLoadClient:
    kw.setdefault("max_attempts", 3)
    kw.setdefault("read_timeout", 5)
    return StreamLoadClient("127.0.0.1", double.fe_port, "loader", PASSWORD, sleep=sleeps, **kw)


def sample(n: int = 9) -> pa.Table:
    texts = ["a", "b,c", 'q"x', "l\nm", "", None, "\\N", "back\\slash", "\t tab"]
    return pa.table(
        {
            "s": pa.array([texts[k % len(texts)] for k in range(n)]),
            "i": pa.array([None if k == 1 else k for k in range(n)], pa.int32()),
            "d": pa.array(
                [Decimal("1.50") if k % 2 else None for k in range(n)], pa.decimal128(14, 2)
            ),
            "f": pa.array([k / 3 for k in range(n)]),
            "b": pa.array([None if k == 2 else k % 2 == 0 for k in range(n)]),
            "day": pa.array([dt.date(2026, 1, 1) + dt.timedelta(days=k) for k in range(n)]),
            "ts": pa.array([dt.datetime(2026, 1, 4, 12, 30, 1, 123456)] * n, pa.timestamp("us")),
            "loaded": pa.array(
                [dt.datetime(2026, 2, 1, 6, 0, tzinfo=dt.UTC)] * n, pa.timestamp("us", tz="UTC")
            ),
        }
    )


def rows_in(engine) -> list[tuple]:
    return engine.execute(f"select s, i, d, f, b, day, ts, loaded from {DB}.{TABLE}")[1]


def count(engine) -> int:
    return engine.execute(f"select count(*) from {DB}.{TABLE}")[1][0][0]


def load(c: StreamLoadClient, table: pa.Table, label: str = "lbl_1", chunk_rows: int = 4):
    return c.load_batches(DB, TABLE, table.schema, table.to_batches(chunk_rows), label=label)


# ------------------------------------------------------------------------------- labels, CSV
def test_label_is_deterministic_safe_and_unique():
    a = make_label("raw", "fis", "fis/dt=2026-01-04/part-001.parquet", "v1")
    assert a == make_label("raw", "fis", "fis/dt=2026-01-04/part-001.parquet", "v1")
    assert re.fullmatch(r"[A-Za-z0-9_]{1,128}", a)
    others = {
        make_label("raw", "fis", "fis/dt=2026-01-04/part-001.parquet", "v2"),
        make_label("raw", "fis", "fis/dt=2026-01-04/part-001.parquet", "v1", chunk=1),
        make_label("raw2", "fis", "fis/dt=2026-01-04/part-001.parquet", "v1"),
        make_label("raw", "fid", "fis/dt=2026-01-04/part-001.parquet", "v1"),
        make_label("raw", "fis", "fis/dt=2026-01-04/part_001.parquet", "v1"),  # '-' vs '_'
    }
    assert a not in others and len(others) == 5
    long = make_label("raw", "x" * 100, "d/dt=2026-01-04/" + "y" * 300 + ".parquet", "e" * 64)
    assert len(long) <= 128 and re.fullmatch(r"[A-Za-z0-9_]+", long)


def test_csv_encoding_nulls_quotes_zones_and_headers():
    t = sample()
    enc = CsvEncoder(t.schema)
    (payload, rows, last), *more = list(enc.chunks(t.to_batches(), 1 << 20))
    text = payload.to_bytes().decode()
    assert rows == 9 and last and not more
    lines = text.split("\n")
    assert lines[0].startswith('"a",0,\\N,0,true,2026-01-01,2026-01-04 12:30:01.123456,')
    assert '"q""x"' in text  # a quote inside text is doubled (RFC 4180, StarRocks `enclose`)
    assert '"l\nm"' in text  # a newline stays inside the enclosed field
    assert "\n\\N,5," in text  # NULL text is an unenclosed \N ...
    assert '"\\N"' in text  # ... while the text "\N" is enclosed
    assert "Z" not in text and "+00" not in text  # zoned timestamps go as their UTC wall clock
    assert "2026-02-01 06:00:00" in text
    h = enc.headers()
    assert h["columns"] == "`s`, `i`, `d`, `f`, `b`, `day`, `ts`, `loaded`"
    assert h["enclose"] == '"' and h["column_separator"] == ","
    assert h["timezone"] == "UTC" and h["max_filter_ratio"] == "0" and h["strict_mode"] == "true"
    assert "escape" not in h  # an escape char would eat the backslashes of the data


# ---------------------------------------------------------------------- protocol with the FE
def test_round_trip_through_redirect_with_auth_and_expect(double, engine, sleeps):
    t = sample()
    result = load(client(double, sleeps), t)
    assert (result.status, result.rows, result.loaded_rows, result.chunks) == ("Success", 9, 9, 1)
    got = sorted(rows_in(engine), key=lambda r: r[5])
    # every cell as sent: texts with separators, quotes and \\N, NULLs, decimals, the doubles'
    # every digit, dates, microseconds; a zoned timestamp as its UTC wall clock
    want = [
        (*list(r.values())[:7], r["loaded"].astimezone(dt.UTC).replace(tzinfo=None))
        for r in t.to_pylist()
    ]
    assert got == want
    assert got[1][1] is None and got[2][4] is None and got[0][2] is None
    assert got[1][2] == Decimal("1.50")
    fe, be = double.stats.of("fe"), double.stats.of("be")
    assert len(fe) == 1 and len(be) == 1
    # the payload crossed the wire once, to the BE; the FE only saw an empty probe
    assert double.stats.fe_body_bytes == 0
    assert double.stats.be_body_bytes == result.bytes > 0
    for r in fe + be:
        assert r.headers.get("expect") == "100-continue"
        assert r.headers.get("authorization") == "<present>"
    assert be[0].headers["label"] == "lbl_1"
    assert be[0].headers["content-length"] == str(result.bytes)  # not chunked: sized, once
    assert "transfer-encoding" not in be[0].headers
    assert "label" not in fe[0].headers  # the probe cannot consume the label anywhere


def test_a_be_address_works_too(double, engine, sleeps):
    """Pointed at a BE (which loads instead of redirecting), the label-less empty probe loads
    nothing of ours, and the payload then goes to that same address, once."""
    c = StreamLoadClient("127.0.0.1", double.be_port, "loader", PASSWORD, sleep=sleeps)
    assert load(c, sample()).status == "Success"
    assert load(c, sample(200), label="big", chunk_rows=20).status == "Success"
    c.chunk_bytes = 2000
    assert load(c, sample(200), label="txn", chunk_rows=20).chunks > 2
    assert count(engine) == 9 + 200 + 200
    assert double.stats.of("fe") == []


def test_double_refuses_what_starrocks_refuses(double):
    url = f"http://127.0.0.1:{double.fe_port}/api/{DB}/{TABLE}/_stream_load"
    no_expect = requests.put(url, data=b"x", auth=("loader", PASSWORD), allow_redirects=False)
    assert "There is no 100-continue header" in no_expect.json()["Message"]
    bad = requests.put(url, data=b"", auth=("loader", "wrong"), headers={"Expect": "100-continue"})
    assert bad.status_code == 401
    be = f"http://127.0.0.1:{double.be_port}/api/{DB}/{TABLE}/_stream_load"
    no_auth = requests.put(be, data=b"a\t1\n", headers={"Expect": "100-continue"})
    assert no_auth.json()["Status"] == "Fail"
    assert "no valid Basic authorization" in no_auth.json()["Message"]


def test_bad_credentials_are_terminal_and_never_show_the_password(double, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    c = StreamLoadClient("127.0.0.1", double.fe_port, "loader", "not-" + PASSWORD, sleep=sleeps)
    with pytest.raises(TerminalError) as info:
        load(c, sample())
    message = str(info.value)
    assert "127.0.0.1" in message and "'loader'" in message and "401" in message
    assert PASSWORD not in message and "not-" + PASSWORD not in message
    assert PASSWORD not in repr(c) and PASSWORD not in caplog.text
    assert sleeps == []  # not retried


# ------------------------------------------------------------------------------ every Status
def test_publish_timeout_is_done_and_never_loaded_again(double, engine, sleeps):
    double.inject("publish_timeout")
    c = client(double, sleeps)
    assert load(c, sample()).status == "Publish Timeout"
    assert count(engine) == 9
    again = load(c, sample())
    assert again.status == "Already Loaded" and again.rows == 9
    assert count(engine) == 9


def test_resending_the_same_file_loads_nothing_twice(double, engine, sleeps):
    c = client(double, sleeps)
    load(c, sample())
    sent = double.stats.be_body_bytes
    second = load(c, sample())
    assert second.status == "Already Loaded" and second.bytes == 0
    assert count(engine) == 9
    assert double.label_state(DB, "lbl_1") == "FINISHED"
    assert double.stats.be_body_bytes == 2 * sent  # asked with the payload, loaded nothing


def test_label_running_then_finished_waits_and_is_done(double, engine, sleeps):
    double.inject("running_then_finished")  # loads, but answers RUNNING (a parallel attempt)
    result = load(client(double, sleeps), sample())
    assert result.status == "Already Loaded"
    assert len(sleeps) == 1  # waited once, asked again with the same label
    assert count(engine) == 9
    labels = {r.headers["label"] for r in double.stats.of("be", "_stream_load")}
    assert labels == {"lbl_1"}


def test_label_running_until_the_wait_is_over_is_transient(double, engine, sleeps):
    double.inject("label_running", times=50)
    c = client(double, sleeps, running_wait=0.0, backoff=0.001)
    with pytest.raises(TransientError, match="still held by a running load"):
        load(c, sample())
    assert count(engine) == 0


def test_fail_is_retried_with_the_same_label(double, engine, sleeps):
    double.inject("fail", times=2)
    result = load(client(double, sleeps), sample())
    assert result.status == "Success" and result.attempts == 3
    assert sleeps == [1.0, 2.0]  # exponential backoff
    assert count(engine) == 9
    labels = [r.headers["label"] for r in double.stats.of("be", "_stream_load")]
    assert labels == ["lbl_1"] * 3


def test_fail_every_time_gives_up_with_a_transient_error(double, engine, sleeps):
    double.inject("fail", times=3)
    with pytest.raises(TransientError, match="failed after 3 attempts: Fail: injected"):
        load(client(double, sleeps), sample())
    assert count(engine) == 0
    assert double.label_state(DB, "lbl_1") is None  # a failed label stays reusable


@pytest.mark.parametrize("outcome", ["http500", "non_json", "reset"])
def test_transient_answers_are_retried(double, engine, sleeps, outcome):
    double.inject(outcome)
    result = load(client(double, sleeps), sample())
    assert result.status == "Success" and result.attempts == 2
    assert count(engine) == 9


@pytest.mark.parametrize("outcome", ["reset", "non_json", "http500"])
def test_lost_answer_after_commit_is_exactly_once(double, engine, sleeps, outcome):
    double.inject(outcome, apply=True)  # committed, but the client never hears of it
    result = load(client(double, sleeps), sample())
    assert result.status == "Already Loaded"
    assert count(engine) == 9


def test_slow_answer_times_out_and_the_retry_meets_the_label(double, engine, sleeps):
    double.inject("slow", apply=True, delay=1.0)
    result = load(client(double, sleeps, read_timeout=0.3), sample())
    assert result.status == "Already Loaded"
    assert count(engine) == 9


def test_transient_every_time_gives_a_transient_error(double, engine, sleeps):
    double.inject("http500", times=3)
    with pytest.raises(TransientError, match="HTTP 500"):
        load(client(double, sleeps), sample())
    assert count(engine) == 0


def test_redirect_failures_are_transient_too(double, engine, sleeps):
    double.inject("reset", op="redirect")
    assert load(client(double, sleeps), sample()).status == "Success"
    assert count(engine) == 9


def test_rejected_rows_are_shown_and_nothing_lands(double, engine, sleeps):
    bad = sample().set_column(1, "i", pa.array(["1", "2", "three", "4", "5", "6", "7", "8", "9"]))
    with pytest.raises(StreamLoadError) as info:
        load(client(double, sleeps), bad)
    message = str(info.value)
    assert "too many filtered rows" in message
    assert "'three' is invalid for column 'i'" in message and '"q""x","three"' in message
    assert info.value.rejected and sleeps == []  # the same rows would fail again: no retry
    assert count(engine) == 0


def test_unknown_table_is_terminal(double, engine, sleeps):
    c = client(double, sleeps)
    t = sample()
    with pytest.raises(TerminalError, match="does not exist"):
        c.load_batches(DB, "nope", t.schema, t.to_batches(), label="x")


def test_empty_input_sends_nothing(double, sleeps):
    t = sample(0)
    result = client(double, sleeps).load_batches(DB, TABLE, t.schema, [], label="e")
    assert result.status == "Empty" and result.rows == 0
    assert double.stats.requests == []


# -------------------------------------------------------------------------- transactions
def test_big_file_goes_through_one_transaction(double, engine, sleeps):
    t = sample(200)
    result = load(client(double, sleeps, chunk_bytes=2000), t, chunk_rows=20)
    assert result.status == "Success" and result.rows == 200 and result.loaded_rows == 200
    assert result.chunks > 2
    assert count(engine) == 200
    ops = [r.path.rsplit("/", 1)[-1] for r in double.stats.of("be")]
    assert ops == ["begin"] + ["load"] * result.chunks + ["prepare", "commit"]
    assert double.stats.fe_body_bytes == 0
    assert double.stats.be_body_bytes == result.bytes
    assert all(r.headers.get("authorization") == "<present>" for r in double.stats.requests)
    # re-running the file: begin meets the FINISHED label, nothing is sent, rows are counted
    again = load(client(double, sleeps, chunk_bytes=2000), t, chunk_rows=20)
    assert again.status == "Already Loaded" and again.rows == 200
    assert count(engine) == 200


def test_a_dropped_fe_connection_does_not_fail_a_transaction(double, engine, sleeps):
    # the FE closes its connections; a pooled one found dead is asked again, at once
    double.inject("reset", op="redirect", skip=3)
    double.inject("reset", op="redirect", skip=5)
    result = load(client(double, sleeps, chunk_bytes=2000), sample(200), chunk_rows=20)
    assert result.status == "Success" and count(engine) == 200
    assert double.faults == [] and sleeps == []


def test_failure_in_chunk_two_leaves_nothing_visible(double, engine, sleeps):
    double.inject("fail", op="load", skip=1)
    t = sample(200)
    c = client(double, sleeps, chunk_bytes=2000)
    with pytest.raises(TransientError, match="injected failure in load"):
        load(c, t, chunk_rows=20)
    assert count(engine) == 0
    assert double.txns == {} and double.label_state(DB, "lbl_1") is None
    assert load(c, t, chunk_rows=20).rows == 200  # the next run loads it, once
    assert count(engine) == 200


def test_reader_failure_mid_file_rolls_back_and_propagates(double, engine, sleeps):
    t = sample(200)

    def batches():
        yield from t.to_batches(20)[:6]
        raise ValueError("corrupt page")

    c = client(double, sleeps, chunk_bytes=2000)
    with pytest.raises(ValueError, match="corrupt page"):
        c.load_batches(DB, TABLE, t.schema, batches(), label="lbl_r")
    assert count(engine) == 0
    assert [r.path for r in double.stats.of("be")][-1] == "/api/transaction/rollback"
    assert double.label_state(DB, "lbl_r") is None


def test_rejected_rows_in_a_transaction_roll_it_back(double, engine, sleeps):
    values = [str(k) for k in range(200)]
    values[150] = "x150"
    bad = sample(200).set_column(1, "i", pa.array(values))
    with pytest.raises(StreamLoadError, match="'x150' is invalid"):
        load(client(double, sleeps, chunk_bytes=2000), bad, chunk_rows=20)
    assert count(engine) == 0


def test_commit_answer_lost_is_exactly_once_on_rerun(double, engine, sleeps):
    double.inject("reset", op="commit", apply=True)
    t = sample(200)
    c = client(double, sleeps, chunk_bytes=2000)
    with pytest.raises(TransientError):
        load(c, t, chunk_rows=20)
    assert count(engine) == 200  # it did commit
    again = load(c, t, chunk_rows=20)
    assert again.status == "Already Loaded" and count(engine) == 200


def test_publish_timeout_at_commit_is_done(double, engine, sleeps):
    double.inject("publish_timeout", op="commit")
    result = load(client(double, sleeps, chunk_bytes=2000), sample(200), chunk_rows=20)
    assert result.status == "Publish Timeout" and count(engine) == 200


def test_orphaned_transaction_is_rolled_back_after_the_wait(double, engine, sleeps):
    c = client(double, sleeps, chunk_bytes=2000, running_wait=0.0)
    c._txn("begin", DB, TABLE, "lbl_1")  # a run that died right after begin
    result = load(c, sample(200), chunk_rows=20)
    assert result.status == "Success" and count(engine) == 200
    ops = [r.path.rsplit("/", 1)[-1] for r in double.stats.of("be")]
    assert ops[:4] == ["begin", "begin", "rollback", "begin"]


# ------------------------------------------------------------------------------ secrets
def test_no_password_in_any_error_or_log(double, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    errors = []
    for outcome in ("fail", "http500", "non_json", "reset"):
        double.inject(outcome, times=3)
        try:
            load(client(double, sleeps), sample(), label=f"l_{outcome}")
        except Exception as exc:  # noqa: BLE001 - collecting every message
            errors.append(f"{exc!r} {exc}")
    bad = sample().set_column(1, "i", pa.array(["z"] * 9))
    with pytest.raises(StreamLoadError) as info:
        load(client(double, sleeps), bad, label="l_bad")
    errors.append(str(info.value))
    assert len(errors) == 5
    for text in errors + [caplog.text]:
        assert PASSWORD not in text
