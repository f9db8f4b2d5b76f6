"""A fault-injecting HTTP/1.1 proxy to put between a client and a real server (Azurite).

Each client request gets its own upstream connection and is forwarded with `Connection: close`,
so the proxy never has to parse a response and every request is a separate, numbered event. A
plan decides per request whether it passes or fails, and how:

- "503":      answer `503 Server Busy` (Azure's throttling reply) without asking upstream
- "drop":     read the request, close the connection without a word
- "reset":    read the request, close with a TCP RST (connection reset by peer)
- "truncate": forward, relay the response headers and half the body, then close
- "stall":    read the request, say nothing for `stall_seconds`, then close (a read timeout)

`log` records (index, method, path, range header, fault) of every request; query strings are
never recorded (they may hold a SAS).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

FAULTS = ("503", "drop", "reset", "truncate", "stall")

_BUSY_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>'
    b"<Message>The server is busy (injected by the test proxy).</Message></Error>"
)


@dataclass(frozen=True)
class Request:
    index: int  # 0-based, in arrival order
    method: str
    path: str  # decoded, without the query string
    query: str
    headers: dict[str, str]  # lower-case names

    @property
    def is_range_read(self) -> bool:
        return self.method == "GET" and ("x-ms-range" in self.headers or "range" in self.headers)


Plan = Callable[[Request], str | None]


def first(n: int, kinds: tuple[str, ...] = ("503", "drop")) -> Plan:
    """Fail the first n requests, cycling through `kinds`."""
    return lambda r: kinds[r.index % len(kinds)] if r.index < n else None


def every(k: int, kinds: tuple[str, ...], when: Callable[[Request], bool] | None = None) -> Plan:
    """Fail every k-th request (among those `when` accepts), cycling through `kinds`."""
    seen = [0]
    lock = threading.Lock()

    def plan(r: Request) -> str | None:
        if when is not None and not when(r):
            return None
        with lock:
            seen[0] += 1
            n = seen[0]
        return kinds[(n // k - 1) % len(kinds)] if n % k == 0 else None

    return plan


def chain(*plans: Plan) -> Plan:
    """The first plan that names a fault wins."""

    def plan(r: Request) -> str | None:
        for p in plans:
            fault = p(r)
            if fault:
                return fault
        return None

    return plan


class FaultyProxy:
    def __init__(
        self,
        upstream_port: int,
        plan: Plan | None = None,
        *,
        upstream_host: str = "127.0.0.1",
        stall_seconds: float = 3.0,
    ):
        self.upstream = (upstream_host, upstream_port)
        self.plan: Plan = plan or (lambda r: None)
        self.stall_seconds = stall_seconds
        self.log: list[tuple[int, str, str, str | None, str | None]] = []
        self._count = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FaultyProxy:
        t = threading.Thread(target=self._accept_loop, name="faulty-proxy", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for t in list(self._threads):
            t.join(timeout=self.stall_seconds + 2)
        self._server.close()

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def faults(self, kind: str | None = None) -> list[tuple]:
        return [e for e in self.log if e[4] and (kind is None or e[4] == kind)]

    def connection_string(self, key: str, account: str = "devstoreaccount1") -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{account};"
        )

    # -- serving -----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        self._server.settimeout(0.1)  # closing a socket does not wake accept(): poll instead
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            t.start()
            self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _serve(self, client: socket.socket) -> None:
        try:
            client.settimeout(30)
            head, body = _read_request(client)
            if head is None:
                return
            request_line, headers, lines = head
            method, target, _ = request_line.split(" ", 2)
            raw_path, _, query = target.partition("?")
            path = unquote(raw_path)
            with self._lock:
                index = self._count
                self._count += 1
            request = Request(index, method, path, query, headers)
            fault = self.plan(request)
            with self._lock:
                self.log.append(
                    (index, method, path, headers.get("x-ms-range", headers.get("range")), fault)
                )
            if fault == "503":
                client.sendall(
                    b"HTTP/1.1 503 The server is busy.\r\n"
                    b"Content-Type: application/xml\r\nx-ms-error-code: ServerBusy\r\n"
                    + f"Content-Length: {len(_BUSY_BODY)}\r\n".encode()
                    + b"Connection: close\r\n\r\n"
                    + _BUSY_BODY
                )
                return
            if fault == "drop":
                return
            if fault == "reset":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if fault == "stall":
                self._stopping.wait(self.stall_seconds)
                return
            if fault not in (None, "truncate"):
                raise ValueError(f"unknown fault {fault!r}")
            self._forward(client, request_line, lines, body, truncate=fault == "truncate")
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                client.close()

    def _forward(
        self,
        client: socket.socket,
        request_line: str,
        lines: list[str],
        body: bytes,
        truncate: bool,
    ) -> None:
        kept = [ln for ln in lines if not ln.lower().startswith(("connection:", "keep-alive:"))]
        head = "\r\n".join([request_line, *kept, "Connection: close", "", ""]).encode("latin-1")
        with socket.create_connection(self.upstream, timeout=30) as up:
            up.sendall(head + body)
            if not truncate:
                while chunk := up.recv(65536):
                    client.sendall(chunk)
                return
            response = b""
            while chunk := up.recv(65536):
                response += chunk
            header_end = response.find(b"\r\n\r\n") + 4
            body_len = len(response) - header_end
            client.sendall(response[: header_end + max(1, body_len // 2)])


def _read_request(sock: socket.socket):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    raw_head, _, body = data.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    headers = {}
    for ln in lines[1:]:
        name, _, value = ln.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        raise OSError("chunked request bodies are not supported by the test proxy")
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return (lines[0], headers, lines[1:]), body
