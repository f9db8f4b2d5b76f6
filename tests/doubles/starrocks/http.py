"""StarRocks TEST DOUBLE, Stream Load half: a fake FE HTTP port and a fake BE HTTP port.

This is not StarRocks. It imitates what the loader relies on (../shared/docs/starrocks.md; FE
`LoadAction`/`TransactionLoadAction`, BE `stream_load.cpp`/`transaction_stream_load.cpp`):

* FE (`fe_port`): Basic auth checked first (401 for missing or wrong credentials), then
  `PUT /api/<db>/<table>/_stream_load` without `Expect: 100-continue` is refused with
  "There is no 100-continue header"; otherwise a 307 to the same path on the BE, the Location
  without credentials. `/api/transaction/<op>` is redirected the same way. The FE reads and
  counts any body it is sent (`stats.fe_body_bytes`), so a test can show the payload went once.
* BE (`be_port`): refuses a request without Basic auth ("no valid Basic authorization") and
  wrong credentials ("Access denied"), reads the CSV as the headers say (`columns`,
  `column_separator`, `row_delimiter`, `enclose`, `escape`, `skip_header`, `\\N` = NULL),
  converts every value to the table column's type (from `engine.table_columns`), counts rows it
  cannot convert as filtered; more filtered rows than `max_filter_ratio` (default 0) allows =
  `Status: Fail` with an `ErrorURL` (served by the BE) listing the rejected rows, nothing loaded.
  Otherwise the rows are appended in one `engine.insert_arrow` call. Labels are remembered per
  database (`Label Already Exists` with `ExistingJobStatus` RUNNING/FINISHED; a failed or
  rolled-back label is reusable). The transaction interface keeps loaded chunks aside until
  `commit`, checks the filter ratio at `prepare`/`commit`, and requires every `load` of a
  transaction to carry the same headers ("load request not equal last").
* Faults for the reliability suite: `inject(outcome, op=..., skip=..., apply=...)` queues forced
  outcomes: `fail`, `publish_timeout`, `running_then_finished`, `label_running`, `http500`,
  `non_json`, `reset` (connection closed with RST, no answer), `slow` (answer after `delay`).
  `apply=True` carries the request out before the forced answer (e.g. committed, then the
  connection resets), which is how a retry meets its own label.

Limits (what a green test against the double does NOT prove):

* Only CSV is parsed (no JSON, no compression); `where`, `partitions`, `columns` expressions
  (`col = expr`), `trim_space`, `negative`, `merge_condition` and `__op` are not supported.
* Conversion rules are this file's, written from the docs: integers must be plain digits within
  range; DATE is `YYYY-MM-DD`; DATETIME `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` (a zone suffix such as
  `Z` is rejected); booleans `true/false/1/0`; VARCHAR(n) length is checked in bytes; decimals
  are rounded half up to the scale and rejected when they overflow. `strict_mode: false` (the
  StarRocks default) turns a value that cannot be converted into NULL, as StarRocks does.
  NOT NULL is not checked (the engine does not report nullability). An enclosed `"\\N"` is the
  two-character string, not NULL (unconfirmed on a real server).
* One BE; no tablets, versions, memory limits or "too many versions"; `Publish Timeout`,
  RUNNING labels, resets and slow answers happen only when injected. A label is remembered
  forever (StarRocks forgets it after `label_keep_max_second`, 3 days by default).
* The transaction interface is single-table and serial, without `prepared_timeout`,
  `idle_transaction_timeout` or channels; FE-side answers (e.g. `FAILED`) are not imitated.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import itertools
import json
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa

OUTCOMES = (
    "fail",
    "publish_timeout",
    "running_then_finished",
    "label_running",
    "http500",
    "non_json",
    "reset",
    "slow",
)
OPS = ("stream_load", "begin", "load", "prepare", "commit", "rollback", "redirect", "any")


# ------------------------------------------------------------------------------ public types
@dataclass
class Fault:
    outcome: str
    op: str = "stream_load"
    skip: int = 0  # let this many matching requests (counted from injection) through first
    apply: bool = False  # carry the request out before answering with the fault
    delay: float = 0.0  # for "slow": seconds before the answer


@dataclass
class Request:
    server: str  # "fe" | "be"
    method: str
    path: str
    headers: dict[str, str]  # Authorization replaced by "<present>"
    body_bytes: int


@dataclass
class Stats:
    fe_body_bytes: int = 0
    be_body_bytes: int = 0
    requests: list[Request] = field(default_factory=list)

    def of(self, server: str, path_part: str = "") -> list[Request]:
        return [r for r in self.requests if r.server == server and path_part in r.path]


@dataclass
class _Txn:
    id: int
    db: str
    table: str
    label: str
    state: str = "PREPARE"  # PREPARE | PREPARED
    signature: tuple | None = None
    tables: list[pa.Table] = field(default_factory=list)
    total: int = 0
    filtered: int = 0
    rejected: list[str] = field(default_factory=list)
    bytes: int = 0
    max_filter_ratio: float = 0.0


class StreamLoadDouble:
    """The running FE and BE HTTP servers and their state (labels, transactions, faults)."""

    def __init__(self, engine, host: str, users: dict[str, str]):
        self.engine = engine
        self.host = host
        self.users = dict(users)
        self.stats = Stats()
        self.faults: list[Fault] = []
        self.labels: dict[tuple[str, str], str] = {}  # (db, label) -> RUNNING | FINISHED
        self.txns: dict[tuple[str, str], _Txn] = {}
        self.error_logs: dict[str, list[str]] = {}
        self.lock = threading.RLock()
        self._txn_ids = itertools.count(1000)
        self._match_counts: dict[int, int] = {}
        self.fe = _Server((host, 0), _FEHandler, self)
        self.be = _Server((host, 0), _BEHandler, self)
        self.fe_port = self.fe.server_address[1]
        self.be_port = self.be.server_address[1]
        self._threads = [
            threading.Thread(
                target=s.serve_forever, args=(0.05,), name=f"starrocks-double-{n}", daemon=True
            )
            for n, s in (("fe", self.fe), ("be", self.be))
        ]
        for t in self._threads:
            t.start()

    # -------------------------------------------------------------- test API
    def inject(
        self,
        outcome: str,
        op: str = "stream_load",
        *,
        skip: int = 0,
        apply: bool = False,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; one of {OUTCOMES}")
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}; one of {OPS}")
        with self.lock:
            for _ in range(times):
                self.faults.append(Fault(outcome, op, skip, apply, delay))

    def label_state(self, db: str, label: str) -> str | None:
        with self.lock:
            return self.labels.get((db, label))

    def reset_stats(self) -> None:
        with self.lock:
            self.stats = Stats()

    def stop(self) -> None:
        for s in (self.fe, self.be):
            s.shutdown()
            s.server_close()

    def __enter__(self) -> StreamLoadDouble:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -------------------------------------------------------------- internals
    def _take_fault(self, op: str) -> Fault | None:
        """The fault to apply to this request: every queued fault for `op` counts the request;
        the first one that has let `skip` requests through fires (and is used up)."""
        with self.lock:
            fired = None
            for fault in self.faults:
                if fault.op not in (op, "any"):
                    continue
                seen = self._match_counts.get(id(fault), 0)
                self._match_counts[id(fault)] = seen + 1
                if fired is None and seen >= fault.skip:
                    fired = fault
            if fired is not None:
                self.faults.remove(fired)
                self._match_counts.pop(id(fired), None)
            return fired

    def _error_url(self, rejected: list[str]) -> str:
        name = uuid.uuid4().hex
        with self.lock:
            self.error_logs[name] = list(rejected)
        return f"http://{self.host}:{self.be_port}/api/_load_error_log?file=error_log_{name}"


def start(engine, host: str = "127.0.0.1", users: dict[str, str] | None = None):
    """Start the FE and BE HTTP servers on free loopback ports; `handle.stop()` ends them."""
    return StreamLoadDouble(engine, host, users if users is not None else {"root": ""})


# --------------------------------------------------------------------------------- servers
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, double: StreamLoadDouble):
        self.double = double
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # so `Expect: 100-continue` is answered with 100 Continue
    disable_nagle_algorithm = True  # headers and body go in separate writes: no 40 ms stalls
    server_name = "?"

    @property
    def double(self) -> StreamLoadDouble:
        return self.server.double  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet in tests
        pass

    # ---- reading
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(parts)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.double.lock:
            if self.server_name == "fe":
                self.double.stats.fe_body_bytes += len(body)
            else:
                self.double.stats.be_body_bytes += len(body)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if "authorization" in headers:
                headers["authorization"] = "<present>"
            self.double.stats.requests.append(
                Request(self.server_name, self.command, self.path, headers, len(body))
            )
        return body

    def _credentials(self) -> tuple[str, str] | None:
        value = self.headers.get("Authorization", "")
        if not value.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user, password

    def _authorized(self) -> bool | None:
        """None: no credentials; False: wrong ones; True: good."""
        creds = self._credentials()
        if creds is None:
            return None
        user, password = creds
        return self.double.users.get(user) == password

    # ---- writing
    def _send(self, code: int, body: bytes, content_type: str, extra: dict | None = None):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, payload: dict, close: bool = False) -> None:
        extra = {"Connection": "close"} if close else None
        self._send(200, json.dumps(payload, indent=4).encode(), "application/json", extra)

    def _reset(self) -> None:
        """Close the connection with RST and no answer."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        self.close_connection = True

    def _forced(self, fault: Fault, normal) -> None:
        """Answer with `fault` (after carrying the request out when fault.apply)."""
        result = normal() if fault.apply else None
        if fault.outcome == "slow":
            time.sleep(fault.delay)
            self._json(result if result is not None else normal())
        elif fault.outcome == "http500":
            self._send(500, b"Internal Server Error", "text/plain")
        elif fault.outcome == "non_json":
            self._send(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        elif fault.outcome == "reset":
            self._reset()
        else:  # Status-level outcomes are the handler's business
            raise AssertionError(fault.outcome)


class _FEHandler(_Handler):
    server_name = "fe"

    def do_PUT(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def do_GET(self) -> None:
        self._read_body()
        self._send(404, b"not found", "text/plain")

    def _route(self) -> None:
        self._read_body()
        path = urlsplit(self.path).path
        ok = self._authorized()
        if not ok:
            self._send(
                401,
                b'{"code":401,"msg":"Unauthorized"}',
                "application/json",
                {"WWW-Authenticate": 'Basic realm="starrocks-double"'},
            )
            return
        is_stream_load = re.fullmatch(r"/api/[^/]+/[^/]+/_stream_load", path) is not None
        is_txn = re.fullmatch(r"/api/transaction/\w+", path) is not None
        if not (is_stream_load or is_txn):
            self._send(404, b"not found", "text/plain")
            return
        if is_stream_load and self.headers.get("Expect", "").lower() != "100-continue":
            self._json(
                {
                    "Status": "FAILED",
                    "Message": "class com.starrocks.common.DdlException: "
                    "There is no 100-continue header",
                },
                close=True,
            )
            return
        fault = self.double._take_fault("redirect")
        if fault is not None and fault.outcome in ("http500", "non_json", "reset", "slow"):
            if fault.outcome == "slow":
                time.sleep(fault.delay)
            else:
                self._forced(fault, lambda: None)
                return
        location = f"http://{self.double.host}:{self.double.be_port}{self.path}"
        # the FE closes the connection after a load request (LoadAction: forceCloseConnection)
        self._send(307, b"", "text/plain", {"Location": location, "Connection": "close"})


class _BEHandler(_Handler):
    server_name = "be"

    def do_GET(self) -> None:
        self._read_body()
        parts = urlsplit(self.path)
        if parts.path == "/api/_load_error_log":
            name = (parse_qs(parts.query).get("file") or [""])[0].removeprefix("error_log_")
            with self.double.lock:
                lines = self.double.error_logs.get(name)
            if lines is None:
                self._send(404, b"no such error log", "text/plain")
            else:
                self._send(200, ("\n".join(lines) + "\n").encode(), "text/plain")
            return
        self._send(404, b"not found", "text/plain")

    def do_PUT(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        body = self._read_body()
        path = urlsplit(self.path).path
        m = re.fullmatch(r"/api/([^/]+)/([^/]+)/_stream_load", path)
        if m:
            self._stream_load(m.group(1), m.group(2), body)
            return
        m = re.fullmatch(r"/api/transaction/(\w+)", path)
        if m:
            self._transaction(m.group(1).lower(), body)
            return
        self._send(404, b"not found", "text/plain")

    def _auth_error(self) -> str | None:
        ok = self._authorized()
        if ok is None:
            return "no valid Basic authorization"
        if not ok:
            user = (self._credentials() or ("?", ""))[0]
            return f"Access denied for user '{user}'"
        return None

    # ---- plain Stream Load
    def _stream_load(self, db: str, table: str, body: bytes) -> None:
        label = self.headers.get("label") or f"double_{uuid.uuid4().hex}"
        problem = self._auth_error()
        if problem:
            self._json(_load_answer(label, "Fail", problem))
            return
        fault = self.double._take_fault("stream_load")
        if fault is not None and fault.outcome in ("http500", "non_json", "reset", "slow"):
            self._forced(fault, lambda: self._do_stream_load(db, table, label, body))
            return
        if fault is not None and fault.outcome == "fail" and not fault.apply:
            self._json(
                _load_answer(
                    label,
                    "Fail",
                    "injected failure: nothing loaded",
                    txn=next(self.double._txn_ids),
                )
            )
            return
        if fault is not None and fault.outcome == "label_running":
            self._json(_label_exists(label, "RUNNING"))
            return
        answer = self._do_stream_load(db, table, label, body)
        if fault is not None and answer["Status"] == "Success":
            if fault.outcome == "publish_timeout":
                answer["Status"] = "Publish Timeout"
                answer["Message"] = "transaction commit successfully, but publish timeout"
            elif fault.outcome == "running_then_finished":
                answer = _label_exists(label, "RUNNING")
        self._json(answer)

    def _do_stream_load(self, db: str, table: str, label: str, body: bytes) -> dict:
        d = self.double
        with d.lock:
            state = d.labels.get((db, label))
            if state is not None:
                return _label_exists(label, state)
            d.labels[(db, label)] = "RUNNING"
        txn_id = next(d._txn_ids)
        started = time.perf_counter()
        try:
            try:
                columns = d.engine.table_columns(db, table)
            except KeyError:
                return _load_answer(
                    label, "Fail", f"Table '{table}' does not exist in '{db}'", txn=txn_id
                )
            try:
                opts = _CsvOptions.from_headers(self.headers)
                parsed = _parse(body, opts, columns)
            except _HeaderError as exc:
                return _load_answer(label, "Fail", str(exc), txn=txn_id)
            counts = {
                "NumberTotalRows": parsed.total,
                "NumberFilteredRows": parsed.filtered,
                "NumberUnselectedRows": 0,
                "LoadBytes": len(body),
            }
            if parsed.filtered > opts.max_filter_ratio * parsed.total:
                return _load_answer(
                    label,
                    "Fail",
                    "too many filtered rows" if parsed.total else "no data",
                    txn=txn_id,
                    counts={**counts, "NumberLoadedRows": parsed.total - parsed.filtered},
                    error_url=d._error_url(parsed.rejected),
                )
            if parsed.table.num_rows:
                d.engine.insert_arrow(db, table, parsed.table)
            with d.lock:
                d.labels[(db, label)] = "FINISHED"
            return _load_answer(
                label,
                "Success",
                "OK",
                txn=txn_id,
                counts={
                    **counts,
                    "NumberLoadedRows": parsed.table.num_rows,
                    "LoadTimeMs": int((time.perf_counter() - started) * 1000),
                },
                error_url=d._error_url(parsed.rejected) if parsed.rejected else None,
            )
        finally:
            with d.lock:
                if d.labels.get((db, label)) == "RUNNING":
                    del d.labels[(db, label)]  # failed: the label is reusable

    # ---- transaction interface
    def _transaction(self, op: str, body: bytes) -> None:
        label = self.headers.get("label", "")
        if not label:
            self._json({"Status": "INVALID_ARGUMENT", "Message": "empty label"})
            return
        if op not in ("begin", "load", "prepare", "commit", "rollback"):
            self._json(
                {"Status": "INVALID_ARGUMENT", "Message": f"unsupport transaction operation {op}"}
            )
            return
        problem = self._auth_error()
        if problem:
            self._json({"Status": "INTERNAL_ERROR", "Message": problem})
            return
        db = self.headers.get("db", "")
        fault = self.double._take_fault(op)
        handler = getattr(self, f"_txn_{op}")
        if fault is not None and fault.outcome in ("http500", "non_json", "reset", "slow"):
            self._forced(fault, lambda: handler(db, label, body))
            return
        if fault is not None and fault.outcome == "fail":
            if fault.apply:
                handler(db, label, body)
            else:
                self._abort(db, label)
            self._json(
                {"Status": "INTERNAL_ERROR", "Message": f"injected failure in {op}", "Label": label}
            )
            return
        answer = handler(db, label, body)
        committed = answer.get("Status") == "OK"
        if (
            fault is not None
            and op == "commit"
            and fault.outcome == "publish_timeout"
            and committed
        ):
            answer["Status"] = "PUBLISH_TIMEOUT"
            answer["Message"] = "publish timeout"
        if fault is not None and op == "begin" and fault.outcome == "label_running":
            self._abort(db, label)
            answer = {
                "Status": "LABEL_ALREADY_EXISTS",
                "ExistingJobStatus": "RUNNING",
                "Message": f"Label [{label}] has already been used.",
            }
        self._json(answer)

    def _abort(self, db: str, label: str) -> None:
        d = self.double
        with d.lock:
            if d.txns.pop((db, label), None) is not None:
                d.labels.pop((db, label), None)

    def _txn_begin(self, db: str, label: str, body: bytes) -> dict:
        d = self.double
        table = self.headers.get("table", "")
        with d.lock:
            state = d.labels.get((db, label))
            if state is not None:
                return {
                    "Status": "LABEL_ALREADY_EXISTS",
                    "ExistingJobStatus": state,
                    "Message": f"Label [{label}] has already been used.",
                }
            try:
                d.engine.table_columns(db, table)
            except KeyError:
                return {
                    "Status": "INTERNAL_ERROR",
                    "Message": f"Table '{table}' does not exist in '{db}'",
                }
            txn = _Txn(next(d._txn_ids), db, table, label)
            d.txns[(db, label)] = txn
            d.labels[(db, label)] = "RUNNING"
        return {"Status": "OK", "Message": "", "Label": label, "TxnId": txn.id, "BeginTxnTimeMs": 0}

    def _txn_load(self, db: str, label: str, body: bytes) -> dict:
        d = self.double
        with d.lock:
            txn = d.txns.get((db, label))
        if txn is None:
            return {
                "Status": "TXN_NOT_EXISTS",
                "Message": f"Transaction with label {label} not exists",
            }
        table = self.headers.get("table", "")
        if table != txn.table:
            return {
                "Status": "INVALID_ARGUMENT",
                "Message": f"Request table {table} not equal transaction table {txn.table}",
            }
        if txn.state != "PREPARE":
            return {"Status": "INTERNAL_ERROR", "Message": "Transcation State Invalid"}
        try:
            opts = _CsvOptions.from_headers(self.headers)
        except _HeaderError as exc:
            self._abort(db, label)
            return {"Status": "INVALID_ARGUMENT", "Message": str(exc)}
        if txn.signature is None:
            txn.signature = opts.signature()
            txn.max_filter_ratio = opts.max_filter_ratio
        elif txn.signature != opts.signature():
            self._abort(db, label)
            return {"Status": "INTERNAL_ERROR", "Message": "load request not equal last."}
        parsed = _parse(body, opts, d.engine.table_columns(db, txn.table))
        txn.tables.append(parsed.table)
        txn.total += parsed.total
        txn.filtered += parsed.filtered
        txn.rejected += parsed.rejected
        txn.bytes += len(body)
        return {
            "Status": "OK",
            "Message": "",
            "Label": label,
            "TxnId": txn.id,
            "LoadBytes": len(body),
            "StreamLoadPlanTimeMs": 0,
            "ReceivedDataTimeMs": 0,
        }

    def _finish(self, db: str, label: str, commit: bool) -> dict:
        d = self.double
        with d.lock:
            txn = d.txns.get((db, label))
            state = d.labels.get((db, label))
        if txn is None:
            if commit and state == "FINISHED":
                return {"Status": "OK", "Message": "Transaction already commited", "Label": label}
            return {
                "Status": "TXN_NOT_EXISTS",
                "Message": f"transaction with label {label} not exists",
            }
        if not txn.tables:
            self._abort(db, label)
            return {
                "Status": "INTERNAL_ERROR",
                "Message": f"transaction {txn.id} hasn't send any data yet",
            }
        counts = {
            "TxnId": txn.id,
            "NumberTotalRows": txn.total,
            "NumberLoadedRows": txn.total - txn.filtered,
            "NumberFilteredRows": txn.filtered,
            "NumberUnselectedRows": 0,
            "LoadBytes": txn.bytes,
        }
        if txn.filtered > txn.max_filter_ratio * txn.total:
            self._abort(db, label)
            return {
                "Status": "INTERNAL_ERROR",
                "Message": "too many filtered rows",
                "Label": label,
                **counts,
                "ErrorURL": d._error_url(txn.rejected),
            }
        if not commit:
            txn.state = "PREPARED"
            return {"Status": "OK", "Message": "", "Label": label, **counts}
        data = pa.concat_tables(txn.tables)
        if data.num_rows:
            d.engine.insert_arrow(db, txn.table, data)
        with d.lock:
            d.txns.pop((db, label), None)
            d.labels[(db, label)] = "FINISHED"
        return {"Status": "OK", "Message": "", "Label": label, **counts}

    def _txn_prepare(self, db: str, label: str, body: bytes) -> dict:
        return self._finish(db, label, commit=False)

    def _txn_commit(self, db: str, label: str, body: bytes) -> dict:
        return self._finish(db, label, commit=True)

    def _txn_rollback(self, db: str, label: str, body: bytes) -> dict:
        d = self.double
        with d.lock:
            txn = d.txns.get((db, label))
        if txn is None:
            return {
                "Status": "TXN_NOT_EXISTS",
                "Message": f"transaction with label {label} not exists",
            }
        self._abort(db, label)
        return {"Status": "OK", "Message": "", "Label": label}


def _load_answer(label, status, message, *, txn=0, counts=None, error_url=None) -> dict:
    answer = {
        "TxnId": txn,
        "Label": label,
        "Status": status,
        "Message": message,
        "NumberTotalRows": 0,
        "NumberLoadedRows": 0,
        "NumberFilteredRows": 0,
        "NumberUnselectedRows": 0,
        "LoadBytes": 0,
        "LoadTimeMs": 0,
        "BeginTxnTimeMs": 0,
        "StreamLoadPlanTimeMs": 0,
        "ReadDataTimeMs": 0,
        "WriteDataTimeMs": 0,
        "CommitAndPublishTimeMs": 0,
    }
    answer.update(counts or {})
    if error_url:
        answer["ErrorURL"] = error_url
    return answer


def _label_exists(label: str, state: str) -> dict:
    return {
        "Status": "Label Already Exists",
        "ExistingJobStatus": state,
        "Message": f"Label [{label}] has already been used.",
        "Label": label,
    }


# ------------------------------------------------------------------------------ CSV parsing
class _HeaderError(Exception):
    pass


def _unhex(value: str) -> str:
    """StarRocks accepts separators as `\\x01`-style hex."""
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), value)


@dataclass(frozen=True)
class _CsvOptions:
    columns: tuple[str, ...] | None
    separator: str = "\t"
    row_delimiter: str = "\n"
    enclose: str | None = None
    escape: str | None = None
    skip_header: int = 0
    max_filter_ratio: float = 0.0
    strict: bool = False

    @classmethod
    def from_headers(cls, headers) -> _CsvOptions:
        fmt = (headers.get("format") or "csv").lower()
        if fmt != "csv":
            raise _HeaderError(f"the StarRocks double only parses CSV, not {fmt!r}")
        cols = headers.get("columns")
        columns = None
        if cols:
            columns = tuple(c.strip().strip("`") for c in cols.split(","))
            if any("=" in c for c in columns):
                raise _HeaderError("the StarRocks double does not evaluate column expressions")
        enclose = headers.get("enclose") or None
        escape = headers.get("escape") or None
        for name, v in (("enclose", enclose), ("escape", escape)):
            if v is not None and len(v.encode()) != 1:
                raise _HeaderError(f"{name} must be a single-byte character, got {v!r}")
        try:
            ratio = float(headers.get("max_filter_ratio") or 0)
            skip = int(headers.get("skip_header") or 0)
        except ValueError as exc:
            raise _HeaderError(str(exc)) from None
        strict = (headers.get("strict_mode") or "false").lower()
        if strict not in ("true", "false"):
            raise _HeaderError("Invalid strict mode format. Must be bool type")
        return cls(
            columns=columns,
            separator=_unhex(headers.get("column_separator") or "\t"),
            row_delimiter=_unhex(headers.get("row_delimiter") or "\n"),
            enclose=enclose,
            escape=escape,
            skip_header=skip,
            max_filter_ratio=ratio,
            strict=strict == "true",
        )

    def signature(self) -> tuple:
        return (
            self.columns,
            self.separator,
            self.row_delimiter,
            self.enclose,
            self.escape,
            self.skip_header,
            self.max_filter_ratio,
            self.strict,
        )


@dataclass
class _Parsed:
    table: pa.Table
    total: int
    filtered: int
    rejected: list[str]


def _field_regex(opts: _CsvOptions) -> re.Pattern:
    sep, row = re.escape(opts.separator), re.escape(opts.row_delimiter)
    esc = re.escape(opts.escape) if opts.escape else None
    plain_char = f"(?:(?!{sep}|{row}){'(?!' + esc + ')' if esc else ''}.)"
    plain = f"(?:{plain_char}{'|' + esc + '.' if esc else ''})*"
    parts = []
    if opts.enclose:
        enc = re.escape(opts.enclose)
        inner = f"(?:[^{enc}{esc or ''}]|{enc}{enc}{'|' + esc + '.' if esc else ''})*"
        parts.append(f"{enc}(?P<q>{inner}){enc}")
        plain = f"(?!{enc}){plain}"
    parts.append(f"(?P<u>{plain})")
    return re.compile(f"(?:{'|'.join(parts)})(?P<t>{sep}|{row}|\\Z)", re.DOTALL)


def _split(text: str, opts: _CsvOptions) -> list[tuple[list[tuple[str, bool]] | None, str]]:
    """Rows as ([(raw value, enclosed)], raw row text); None fields for a malformed row."""
    rx = _field_regex(opts)
    rows: list[tuple[list[tuple[str, bool]] | None, str]] = []
    pos, n = 0, len(text)
    while pos < n:
        start, fields = pos, []
        while True:
            m = rx.match(text, pos)
            if m is None or (m.end() == pos and pos < n):
                end = text.find(opts.row_delimiter, pos)
                end = n if end < 0 else end
                rows.append((None, text[start:end]))
                pos = end + len(opts.row_delimiter)
                break
            if opts.enclose and m.group("q") is not None:
                fields.append((m.group("q"), True))
            else:
                fields.append((m.group("u"), False))
            pos = m.end()
            if m.group("t") != opts.separator:
                rows.append((fields, text[start:pos].rstrip(opts.row_delimiter)))
                break
            if pos >= n:  # a separator at the very end: one more, empty, field
                fields.append(("", False))
                rows.append((fields, text[start:pos]))
                break
    return rows[opts.skip_header :]


def _unescape(value: str, enclosed: bool, opts: _CsvOptions) -> str:
    if enclosed and opts.enclose:
        value = value.replace(opts.enclose * 2, opts.enclose)
    if opts.escape:
        value = re.sub(re.escape(opts.escape) + "(.)", r"\1", value, flags=re.DOTALL)
    return value


class _Invalid(Exception):
    pass


_INT_RANGES = {
    "tinyint": 8,
    "smallint": 16,
    "int": 32,
    "integer": 32,
    "bigint": 64,
    "largeint": 128,
}


def _converter(sr_type: str):
    """(arrow type, str -> python value) for a StarRocks column type."""
    t = sr_type.strip().lower()
    base = re.sub(r"\(.*\)", "", t).strip()
    if base in _INT_RANGES:
        bits = _INT_RANGES[base]
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

        def to_int(v: str) -> int:
            if not re.fullmatch(r"[+-]?\d+", v):
                raise _Invalid
            i = int(v)
            if not lo <= i <= hi:
                raise _Invalid
            return i

        arrow = {8: pa.int8(), 16: pa.int16(), 32: pa.int32(), 64: pa.int64()}.get(bits)
        return arrow or pa.decimal128(38, 0), to_int
    if base in ("double", "float"):

        def to_float(v: str) -> float:
            try:
                return float(v)
            except ValueError:
                raise _Invalid from None

        return (pa.float64() if base == "double" else pa.float32()), to_float
    if base in ("decimal", "decimalv2", "decimalv3", "decimal32", "decimal64", "decimal128"):
        m = re.search(r"\((\d+)\s*(?:,\s*(\d+))?\)", t)
        p, s = (int(m.group(1)), int(m.group(2) or 0)) if m else (10, 0)
        quantum = Decimal(1).scaleb(-s)

        def to_decimal(v: str) -> Decimal:
            try:
                d = Decimal(v.strip())
            except InvalidOperation:
                raise _Invalid from None
            if not d.is_finite():
                raise _Invalid
            d = d.quantize(quantum, rounding=ROUND_HALF_UP)
            if len(d.as_tuple().digits) - max(0, -d.as_tuple().exponent) > p - s and d != 0:
                raise _Invalid
            return d

        return pa.decimal128(p, s), to_decimal
    if base == "boolean":

        def to_bool(v: str) -> bool:
            low = v.strip().lower()
            if low in ("true", "1"):
                return True
            if low in ("false", "0"):
                return False
            raise _Invalid

        return pa.bool_(), to_bool
    if base == "date":

        def to_date(v: str) -> dt.date:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
                raise _Invalid
            try:
                return dt.date.fromisoformat(v)
            except ValueError:
                raise _Invalid from None

        return pa.date32(), to_date
    if base == "datetime":

        def to_datetime(v: str) -> dt.datetime:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2}(\.\d{1,6})?)?", v):
                raise _Invalid
            try:
                return dt.datetime.fromisoformat(v)
            except ValueError:
                raise _Invalid from None

        return pa.timestamp("us"), to_datetime
    if base in ("varchar", "char", "string"):
        m = re.search(r"\((\d+)\)", t)
        limit = int(m.group(1)) if m else (1 if base == "char" else 65533)

        def to_str(v: str) -> str:
            if len(v.encode()) > limit:
                raise _Invalid
            return v

        return pa.string(), to_str
    return pa.string(), lambda v: v  # json, varbinary, ...: kept as text


def _parse(body: bytes, opts: _CsvOptions, table_columns: list[tuple[str, str]]) -> _Parsed:
    types = {name.lower(): (name, sr_type) for name, sr_type in table_columns}
    names = list(opts.columns) if opts.columns else [n for n, _ in table_columns]
    missing = [c for c in names if c.lower() not in types]
    if missing:
        raise _HeaderError(f"Unknown column '{missing[0]}' in the columns header")
    target = [types[c.lower()] for c in names]
    convs = [(_converter(sr_type), name, sr_type) for name, sr_type in target]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _HeaderError(f"payload is not UTF-8: {exc}") from None
    values: list[list] = [[] for _ in names]
    rejected: list[str] = []
    total = 0
    for fields, raw in _split(text, opts):
        total += 1
        if fields is None:
            rejected.append(f"Error: Malformed enclosed field. Row: {raw}")
            continue
        if len(fields) != len(names):
            rejected.append(
                "Error: Value count does not match column count. "
                f"Expect {len(names)}, but got {len(fields)}. Row: {raw}"
            )
            continue
        row, problem = [], None
        for (value, enclosed), ((_, conv), name, sr_type) in zip(fields, convs, strict=True):
            if value == "\\N" and not enclosed:
                row.append(None)
                continue
            text_value = _unescape(value, enclosed, opts)
            try:
                row.append(conv(text_value))
            except _Invalid:
                if opts.strict:
                    problem = (
                        f"Error: Value '{text_value}' is invalid for column '{name}' "
                        f"({sr_type}). Row: {raw}"
                    )
                    break
                row.append(None)
        if problem:
            rejected.append(problem)
            continue
        for i, v in enumerate(row):
            values[i].append(v)
    arrays = [
        pa.array(vals, type=arrow) for vals, ((arrow, _), _, _) in zip(values, convs, strict=True)
    ]
    table = pa.Table.from_arrays(arrays, names=[name for name, _ in target])
    return _Parsed(table, total, len(rejected), rejected)
