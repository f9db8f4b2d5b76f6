"""StarRocks Stream Load: Arrow record batches into a StarRocks table over HTTP, exactly once.

How a load goes (facts in ../shared/docs/starrocks.md; FE `LoadAction`, BE `stream_load.cpp`):

* The FE answers `PUT /api/<db>/<table>/_stream_load` with a 307 to a BE. `requests` drops the
  `Authorization` header when a redirect changes the port, and does not wait for `100 Continue`,
  so following the redirect would upload the payload twice and without credentials. We resolve
  the BE first with an empty-bodied PUT (`allow_redirects=False`), then PUT the payload to the
  `Location` ourselves, with Basic auth and `Expect: 100-continue`, once.
* The payload is CSV written by pyarrow (RFC 4180: text enclosed in `"`, a `"` inside doubled,
  which StarRocks reads with `enclose: "`), NULL written as `\\N`, no header row (the `columns`
  header gives the order), time zone stated (`timezone: UTC`; timestamps with a zone are sent as
  their UTC wall clock). `escape` is deliberately NOT set: StarRocks applies it inside enclosed
  fields too, so every backslash in the data would be eaten; RFC 4180 quoting needs no escape.
  `strict_mode: true` and `max_filter_ratio: 0`: a value StarRocks cannot convert fails the whole
  load (instead of silently becoming NULL), which is what raw landing wants.
* Each load carries a label derived from (database, table, file path, file version, chunk), so a
  retry or a re-run of the same file can never load it twice while StarRocks remembers the label
  (3 days by default); the load ledger covers the time after that.
* Answers are read from the JSON `Status`, not the HTTP status: `Success`; `Publish Timeout`
  (committed, visible soon) is done; `Label Already Exists` is done when the existing job is
  `FINISHED`, and waited for when it is `RUNNING`; `Fail` is retried with the same label, unless
  rows were rejected (retrying the same rows cannot help: the error names the first of them,
  fetched from the `ErrorURL`). A non-JSON answer, a 5xx, a reset or a timeout is transient:
  retried with backoff, then a TransientError. 401/403 is a TerminalError naming host and user.
* A file whose CSV exceeds one chunk (64 MB by default) goes through the transaction interface
  (`/api/transaction/begin`, `load` per chunk, `prepare`, `commit`; `rollback` on any error), so
  it lands all or nothing while memory stays bounded by one chunk.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import requests

from loader.errors import LoaderError, TerminalError, TransientError

log = logging.getLogger("datawiz.loader.stream_load")

DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024
LABEL_MAX = 128
NULL = "\\N"
SEPARATOR = ","
ENCLOSE = '"'
ERROR_ROWS_SHOWN = 5

_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")
# Fail messages that another attempt cannot fix (wrong table, columns, rights).
_TERMINAL_FAIL = re.compile(
    r"access denied|no valid basic authorization|unknown (table|database|column)|"
    r"does not exist|no database selected|no table selected|privilege",
    re.IGNORECASE,
)


class StreamLoadError(LoaderError):
    """A load StarRocks refused for its data (rows rejected): retrying the same rows cannot help.

    Not a TerminalError: the run goes on with the other files and the next run tries this one
    again (the table or the declaration may have been fixed meanwhile)."""

    def __init__(self, message: str, *, label: str, rejected: list[str] | None = None):
        super().__init__(message)
        self.label = label
        self.rejected = rejected or []


@dataclass(frozen=True)
class LoadResult:
    label: str
    status: str  # Success | Publish Timeout | Already Loaded | Empty
    rows: int  # rows in the payload (what the file holds)
    loaded_rows: int | None  # NumberLoadedRows as StarRocks reported it (None: not reported)
    bytes: int
    chunks: int
    attempts: int
    seconds: float


def make_label(database: str, table: str, path: str, version: str, chunk: int = 0) -> str:
    """A Stream Load label for one file version (and chunk): the same inputs give the same label.

    Letters, digits and `_` only, at most 128 characters. A readable prefix (table and the tail
    of the path) helps whoever reads SHOW LOAD; the hash of all inputs makes it unique, since
    the prefix alone is lossy (`a-b` and `a_b` both become `a_b`)."""
    digest = hashlib.sha256(
        "\x00".join([database, table, path, version, str(chunk)]).encode()
    ).hexdigest()[:32]
    readable = _LABEL_UNSAFE.sub("_", f"{table}_{'_'.join(path.split('/')[-2:])}").strip("_")
    room = LABEL_MAX - len("datawiz__") - len(digest) - len(f"_c{chunk}")
    return f"datawiz_{readable[:room]}_c{chunk}_{digest}"


# ---------------------------------------------------------------------------------------- CSV
class CsvEncoder:
    """Record batches of one schema -> CSV bytes StarRocks reads with the headers below."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        fields = []
        for f in schema:
            t = f.type
            if pa.types.is_timestamp(t) and t.tz is not None:
                # StarRocks DATETIME has no zone: send the UTC wall clock (timezone: UTC).
                t = pa.timestamp(t.unit)
            elif pa.types.is_dictionary(t):
                t = t.value_type
            elif pa.types.is_large_string(t):
                t = pa.string()
            fields.append(pa.field(f.name, t))
        self.wire_schema = pa.schema(fields)
        self._casts = [a != b for a, b in zip(schema.types, self.wire_schema.types, strict=True)]
        self.options = pacsv.WriteOptions(
            include_header=False,
            delimiter=SEPARATOR,
            null_string=NULL,
            quoting_style="needed",
        )

    def headers(self) -> dict[str, str]:
        # the FE parses `columns` as SQL (`COLUMNS (<header>)`), so quoted names are fine
        return {
            "format": "csv",
            "columns": ", ".join(f"`{n}`" for n in self.schema.names),
            "column_separator": SEPARATOR,
            "enclose": ENCLOSE,
            "timezone": "UTC",
            "strict_mode": "true",
            "max_filter_ratio": "0",
        }

    def wire(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if not any(self._casts):
            return batch
        arrays = [
            pc.cast(col, t) if cast else col
            for col, t, cast in zip(batch.columns, self.wire_schema.types, self._casts, strict=True)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=self.wire_schema)

    def encode(self, batch: pa.RecordBatch) -> pa.Buffer:
        sink = pa.BufferOutputStream()
        pacsv.write_csv(self.wire(batch), sink, write_options=self.options)
        return sink.getvalue()

    def chunks(
        self, batches: Iterable[pa.RecordBatch], chunk_bytes: int
    ) -> Iterator[tuple[Payload, int, bool]]:
        """(CSV of whole rows, rows, is_last) per chunk of about `chunk_bytes`.

        One batch is read ahead so the last chunk is known as such when it is yielded: a file
        that fits one chunk is sent as one plain Stream Load. Each batch is encoded into its
        own buffer (no growing-and-copying of one big buffer): memory is one chunk plus one
        batch."""
        it = iter(batches)
        pending = next(it, None)
        while pending is not None:
            parts: list[pa.Buffer] = []
            rows = size = 0
            while pending is not None:
                if pending.num_rows:
                    buf = self.encode(pending)
                    parts.append(buf)
                    size += buf.size
                    rows += pending.num_rows
                pending = next(it, None)
                if size >= chunk_bytes:
                    break
            if rows or pending is None:
                yield Payload(parts), rows, pending is None


class Payload:
    """CSV bytes held as the per-batch buffers they were written into, sent without joining:
    an iterable with a length, so `requests` sends it with a Content-Length, and re-iterable,
    so a retry sends it again."""

    def __init__(self, parts: list[pa.Buffer]):
        self.parts = parts
        self.size = sum(p.size for p in parts)

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[memoryview]:
        return (memoryview(p) for p in self.parts)

    def to_bytes(self) -> bytes:
        return b"".join(p.to_pybytes() for p in self.parts)


# --------------------------------------------------------------------------------------- HTTP
@dataclass
class _Answer:
    http_status: int
    body: dict | None  # parsed JSON, None when the body was not JSON
    text: str
    url: str
    location: str = ""


class StreamLoadClient:
    """Stream Load and the transaction interface against one FE. Credentials never leave this
    object except in the Authorization header; no error or log line carries the password."""

    def __init__(
        self,
        host: str,
        http_port: int = 8030,
        user: str = "root",
        password: str = "",
        *,
        scheme: str = "http",
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        max_attempts: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        running_wait: float = 300.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 900.0,
        load_timeout: int = 600,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.host = host
        self.http_port = http_port
        self.user = user
        self._auth = (user, password)
        self.base = f"{scheme}://{host}:{http_port}"
        self.chunk_bytes = chunk_bytes
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.running_wait = running_wait
        self.timeout = (connect_timeout, read_timeout)
        self.load_timeout = load_timeout
        self.session = session or requests.Session()
        # No proxies or .netrc from the environment: the cluster is talked to directly, with
        # exactly the credentials given here.
        self.session.trust_env = False
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"StreamLoadClient({self.user}@{self.base})"

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.http_port}"

    def close(self) -> None:
        self.session.close()

    # ---------------------------------------------------------------- public
    def load_batches(
        self,
        database: str,
        table: str,
        schema: pa.Schema,
        batches: Iterable[pa.RecordBatch],
        *,
        label: str,
    ) -> LoadResult:
        """Load all `batches` into `database.table` under `label`, all or nothing.

        One chunk: one Stream Load (retried under the same label). More: one transaction.
        An exception raised by `batches` itself (e.g. a corrupt file) propagates unchanged after
        any open transaction has been rolled back."""
        started = time.perf_counter()
        encoder = CsvEncoder(schema)
        chunks = encoder.chunks(batches, self.chunk_bytes)
        first = next(chunks, None)
        if first is None or (first[2] and first[1] == 0):
            return LoadResult(label, "Empty", 0, 0, 0, 0, 0, time.perf_counter() - started)
        if first[2]:
            payload, rows, _ = first
            return self.stream_load(
                database,
                table,
                payload,
                encoder.headers(),
                label=label,
                rows=rows,
                started=started,
            )
        # Hand the first chunk over without keeping a reference here: a chunk is freed as soon
        # as it is sent, so memory holds one chunk (plus the batch being encoded), not two.
        pending = [first]
        del first
        return self._transaction_load(
            database, table, encoder.headers(), label, pending, chunks, started
        )

    def stream_load(
        self,
        database: str,
        table: str,
        payload: bytes | pa.Buffer | Payload,
        headers: dict[str, str],
        *,
        label: str,
        rows: int,
        started: float | None = None,
    ) -> LoadResult:
        """One Stream Load of `payload`, exactly once under `label` (see the module docstring)."""
        started = time.perf_counter() if started is None else started
        path = f"/api/{database}/{table}/_stream_load"
        hdrs = {**headers, "label": label, "timeout": str(self.load_timeout)}
        size = payload.size if isinstance(payload, pa.Buffer | Payload) else len(payload)
        attempt = 0
        running_since: float | None = None
        last_problem = ""
        while True:
            attempt += 1
            try:
                answer = self._put_via_fe(path, hdrs, payload)
            except _Transient as exc:
                last_problem = str(exc)
                if attempt >= self.max_attempts:
                    raise TransientError(
                        f"Stream Load of {database}.{table} (label {label}) failed after "
                        f"{attempt} attempts: {last_problem}"
                    ) from None
                self._backoff(attempt, f"{database}.{table}: {last_problem}")
                continue
            body = answer.body or {}
            status = str(body.get("Status", ""))
            message = str(body.get("Message", ""))
            if status in ("Success", "Publish Timeout"):
                if status == "Publish Timeout":
                    log.warning(
                        "%s.%s label %s: Publish Timeout (committed, visible shortly)",
                        database,
                        table,
                        label,
                    )
                return self._done(label, status, rows, body, size, 1, attempt, started)
            if status == "Label Already Exists":
                job = str(body.get("ExistingJobStatus", ""))
                if job == "FINISHED":
                    log.info("%s.%s label %s already loaded: nothing sent", database, table, label)
                    return LoadResult(
                        label,
                        "Already Loaded",
                        rows,
                        None,
                        0,
                        1,
                        attempt,
                        time.perf_counter() - started,
                    )
                # RUNNING (or not said): an earlier attempt with this label is in flight.
                running_since = running_since or time.monotonic()
                if time.monotonic() - running_since > self.running_wait:
                    raise TransientError(
                        f"Stream Load of {database}.{table}: label {label} is still held by a "
                        f"running load after {self.running_wait:.0f}s; StarRocks aborts it at its "
                        "timeout, then a re-run loads the file"
                    )
                attempt -= 1  # waiting for a running job is not a failed attempt
                self._sleep(min(self.max_backoff, max(self.backoff, 0.01)))
                continue
            if status == "Fail":
                rejected = self._rejected_rows(body)
                if rejected or int(body.get("NumberFilteredRows") or 0) > 0:
                    raise StreamLoadError(
                        f"StarRocks rejected rows loading {database}.{table} (label {label}): "
                        f"{message}" + _show_rows(rejected),
                        label=label,
                        rejected=rejected,
                    )
                if _TERMINAL_FAIL.search(message):
                    raise TerminalError(
                        f"Stream Load of {database}.{table} refused by "
                        f"{self.host}:{self.http_port} for user {self.user!r}: {message}"
                    )
                last_problem = f"Fail: {message}"
            else:
                raise TerminalError(
                    f"Stream Load of {database}.{table}: unexpected answer from {answer.url} "
                    f"(HTTP {answer.http_status}): {_clip(answer.text)}"
                )
            if attempt >= self.max_attempts:
                raise TransientError(
                    f"Stream Load of {database}.{table} (label {label}) failed after {attempt} "
                    f"attempts: {last_problem}"
                )
            self._backoff(attempt, f"{database}.{table}: {last_problem}")

    # ---------------------------------------------------------------- transactions
    def _transaction_load(
        self,
        database: str,
        table: str,
        headers: dict[str, str],
        label: str,
        pending: list[tuple[Payload, int, bool]],
        rest: Iterator[tuple[Payload, int, bool]],
        started: float,
    ) -> LoadResult:
        def chunks_in_order() -> Iterator[tuple[Payload, int, bool]]:
            while pending:
                yield pending.pop()
            yield from rest

        try:
            begun = self._begin(database, table, label)
        except _TxnAnswer as exc:
            raise self._txn_failure(exc, label) from None
        if begun is not None:  # already loaded under this label: count the rows, send nothing
            rows = sum(n for _, n, _ in chunks_in_order())
            return LoadResult(label, begun, rows, None, 0, 0, 1, time.perf_counter() - started)
        rows = size = chunks = 0
        try:
            for payload, n, _ in chunks_in_order():
                self._txn("load", database, table, label, headers, payload)
                rows += n
                size += payload.size
                chunks += 1
                del payload  # before the next chunk is encoded
            self._txn("prepare", database, table, label)
            body = self._txn("commit", database, table, label)
        except _TxnAnswer as exc:
            self._rollback(database, table, label, exc)
            raise self._txn_failure(exc, label) from None
        except BaseException as exc:
            self._rollback(database, table, label, exc)
            raise
        status = "Publish Timeout" if body.get("Status") == "PUBLISH_TIMEOUT" else "Success"
        return self._done(label, status, rows, body, size, chunks, 1, started)

    def _txn_failure(self, exc: _TxnAnswer, label: str) -> LoaderError:
        """The error to raise for a transaction operation that did not answer OK."""
        if exc.rejected or int(exc.body.get("NumberFilteredRows") or 0) > 0:
            return StreamLoadError(str(exc), label=label, rejected=exc.rejected)
        if _TERMINAL_FAIL.search(str(exc.body.get("Message", ""))):
            return TerminalError(f"{exc} (user {self.user!r} at {self.host}:{self.http_port})")
        return TransientError(f"{exc}; nothing of the file is visible")

    def _begin(self, database: str, table: str, label: str) -> str | None:
        """Begin a transaction; None when begun, "Already Loaded" when the label is FINISHED."""
        waited_since: float | None = None
        rolled_back = False
        while True:
            try:
                return self._txn_begin_once(database, table, label)
            except _LabelRunning:
                waited_since = waited_since or time.monotonic()
                if time.monotonic() - waited_since <= self.running_wait:
                    self._sleep(min(self.max_backoff, max(self.backoff, 0.01)))
                    continue
                if rolled_back:
                    raise TransientError(
                        f"transaction load of {database}.{table}: label {label} is still held by "
                        "another transaction; a re-run loads the file once StarRocks aborts it"
                    ) from None
                # Still RUNNING after the wait: a transaction orphaned by an earlier run that
                # died mid-file (labels are ours alone). Roll it back, then begin afresh.
                log.warning(
                    "%s.%s label %s: rolling back a transaction left open by an earlier run",
                    database,
                    table,
                    label,
                )
                self._rollback(database, table, label, None)
                rolled_back = True
                waited_since = None

    def _txn_begin_once(self, database: str, table: str, label: str) -> str | None:
        try:
            self._txn(
                "begin",
                database,
                table,
                label,
                {"timeout": str(self.load_timeout), "idle_transaction_timeout": "300"},
            )
        except _TxnAnswer as exc:
            if exc.status == "LABEL_ALREADY_EXISTS":
                if exc.body.get("ExistingJobStatus") == "FINISHED":
                    log.info("%s.%s label %s already loaded: nothing sent", database, table, label)
                    return "Already Loaded"
                raise _LabelRunning() from None
            raise
        return None

    def _txn(
        self,
        op: str,
        database: str,
        table: str,
        label: str,
        headers: dict[str, str] | None = None,
        payload: Payload | None = None,
    ) -> dict:
        hdrs = {**(headers or {}), "label": label, "db": database, "table": table}
        path = f"/api/transaction/{op}"
        try:
            if op == "load":
                answer = self._put_via_fe(path, hdrs, payload, method="PUT")
            else:
                answer = self._request_via_fe("POST", path, hdrs)
        except _Transient as exc:
            raise TransientError(
                f"transaction {op} for {database}.{table} (label {label}): {exc}"
            ) from None
        body = answer.body or {}
        status = str(body.get("Status", ""))
        if status == "OK" or (op == "commit" and status == "PUBLISH_TIMEOUT"):
            return body
        raise _TxnAnswer(op, database, table, label, status, body, self._rejected_rows(body))

    def _rollback(self, database: str, table: str, label: str, cause: BaseException | None):
        try:
            self._txn("rollback", database, table, label)
            log.info("%s.%s label %s: transaction rolled back", database, table, label)
        except (LoaderError, _TxnAnswer) as exc:
            if cause is not None:
                log.warning(
                    "%s.%s label %s: rollback after %s failed: %s (StarRocks aborts the "
                    "transaction at its timeout)",
                    database,
                    table,
                    label,
                    type(cause).__name__,
                    exc,
                )

    # ---------------------------------------------------------------- HTTP plumbing
    def _put_via_fe(
        self, path: str, headers: dict[str, str], payload, method: str = "PUT"
    ) -> _Answer:
        """Resolve the BE with an empty-bodied request to the FE, then send the payload once.

        The probe of a plain Stream Load carries no label: should the configured port be a BE
        that loads instead of redirecting, the empty probe cannot consume our label."""
        probe_headers = dict(headers)
        if path.endswith("/_stream_load"):
            probe_headers.pop("label", None)
        target = self._resolve(method, path, probe_headers)
        return self._send(method, target, headers, payload)

    def _request_via_fe(self, method: str, path: str, headers: dict[str, str]) -> _Answer:
        """A bodiless request: to the FE, and once more to the BE it redirects to (with auth)."""
        first = self._to_fe(method, path, headers)
        if first.http_status in (301, 302, 303, 307, 308):
            return self._send(method, self._location(first), headers, b"")
        return first

    def _to_fe(self, method: str, path: str, headers: dict[str, str]) -> _Answer:
        """The empty-bodied request to the FE. The FE closes its connection after each load
        request, so a pooled connection may be dead when reused: a connection error (not a
        timeout) is retried at once; the FE only redirects, so asking twice is harmless."""
        try:
            return self._send(method, self.base + path, headers, b"", allow_redirects=False)
        except _Transient as exc:
            if not exc.connection:
                raise
            return self._send(method, self.base + path, headers, b"", allow_redirects=False)

    def _resolve(self, method: str, path: str, headers: dict[str, str]) -> str:
        answer = self._to_fe(method, path, headers)
        if answer.http_status in (301, 302, 303, 307, 308):
            return self._location(answer)
        body = answer.body or {}
        if body.get("Status") == "FAILED" or "msg" in body:
            message = str(body.get("Message") or body.get("msg") or "")
            if re.search(r"alive|timeout|busy", message, re.IGNORECASE):
                raise _Transient(f"FE at {self.host}:{self.http_port}: {message}")
            raise TerminalError(
                f"the FE at {self.host}:{self.http_port} refused {path} for user "
                f"{self.user!r}: {message}"
            )
        # Answered without redirecting, in BE vocabulary: this port is a BE; send it there.
        return self.base + path

    def _location(self, answer: _Answer) -> str:
        location = answer.location
        if not location:
            raise _Transient(f"redirect without Location from {answer.url}")
        parts = urlsplit(location)
        # the FE's Location holds the BE's registered address, never credentials; drop any
        return urlunsplit(
            (
                parts.scheme,
                parts.hostname + (f":{parts.port}" if parts.port else ""),
                parts.path,
                parts.query,
                "",
            )
        )

    def _send(
        self, method: str, url: str, headers: dict[str, str], payload, allow_redirects=False
    ) -> _Answer:
        hdrs = {"Expect": "100-continue", **headers}
        data = memoryview(payload) if isinstance(payload, pa.Buffer) else payload
        try:
            resp = self.session.request(
                method,
                url,
                data=data if data is not None else b"",
                headers=hdrs,
                auth=self._auth,
                allow_redirects=allow_redirects,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise _Transient(
                f"{type(exc).__name__} talking to {_hostport(url)}",
                connection=isinstance(exc, requests.ConnectionError)
                and not isinstance(exc, requests.Timeout),
            ) from None
        if resp.status_code in (401, 403):
            raise TerminalError(
                f"StarRocks at {_hostport(url)} refused the credentials of user {self.user!r} "
                f"(HTTP {resp.status_code})"
            )
        if resp.status_code >= 500:
            raise _Transient(f"HTTP {resp.status_code} from {_hostport(url)}")
        answer = _Answer(resp.status_code, None, resp.text, url, resp.headers.get("Location", ""))
        if resp.status_code in (301, 302, 303, 307, 308):
            return answer
        try:
            parsed = resp.json()
            answer.body = parsed if isinstance(parsed, dict) else None
        except ValueError:
            answer.body = None
        if answer.body is None:
            raise _Transient(
                f"non-JSON answer from {_hostport(url)} (HTTP {resp.status_code}): "
                f"{_clip(resp.text)}"
            )
        return answer

    def _rejected_rows(self, body: dict) -> list[str]:
        url = body.get("ErrorURL")
        if not url:
            return []
        try:
            resp = self.session.get(url, timeout=self.timeout, auth=self._auth, stream=True)
            lines = []
            for line in resp.iter_lines(decode_unicode=True):
                if line:
                    lines.append(_clip(line, 500))
                if len(lines) >= ERROR_ROWS_SHOWN:
                    break
            resp.close()
            return lines
        except requests.RequestException as exc:
            return [f"(could not fetch {url}: {type(exc).__name__})"]

    def _backoff(self, attempt: int, why: str) -> None:
        delay = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        log.warning(
            "retrying in %.1fs (attempt %d/%d): %s", delay, attempt + 1, self.max_attempts, why
        )
        self._sleep(delay)

    def _done(self, label, status, rows, body, size, chunks, attempts, started) -> LoadResult:
        loaded = body.get("NumberLoadedRows")
        result = LoadResult(
            label,
            status,
            rows,
            int(loaded) if loaded is not None else None,
            size,
            chunks,
            attempts,
            time.perf_counter() - started,
        )
        if result.loaded_rows is not None and result.loaded_rows != rows:
            # cannot happen with max_filter_ratio 0; say so loudly if it does
            log.warning(
                "label %s: sent %d rows but StarRocks reports %d loaded (%s filtered, %s "
                "unselected)",
                label,
                rows,
                result.loaded_rows,
                body.get("NumberFilteredRows", 0),
                body.get("NumberUnselectedRows", 0),
            )
        log.info(
            "stream load %s: %s, %s rows, %s bytes, %d chunk(s) in %.2fs",
            label,
            status,
            f"{rows:,}",
            f"{size:,}",
            chunks,
            result.seconds,
        )
        return result


# ----------------------------------------------------------------------------- small helpers
class _Transient(Exception):
    """Internal: an attempt failed in a way worth retrying."""

    def __init__(self, message: str, connection: bool = False):
        super().__init__(message)
        self.connection = connection  # refused/reset/closed, as opposed to timed out or 5xx


class _LabelRunning(Exception):
    """Internal: begin found the label held by a transaction that is still open."""


class _TxnAnswer(LoaderError):
    """A transaction operation answered something else than OK."""

    def __init__(self, op, database, table, label, status, body, rejected):
        message = str(body.get("Message", ""))
        super().__init__(
            f"transaction {op} for {database}.{table} (label {label}) answered {status or '?'}: "
            f"{message}" + _show_rows(rejected)
        )
        self.status = status
        self.body = body
        self.rejected = rejected


def _show_rows(rows: list[str]) -> str:
    if not rows:
        return ""
    return "; first rejected rows:\n  " + "\n  ".join(rows)


def _clip(text: str, n: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _hostport(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
