"""An Azure Blob Storage landing area: `az://<container>/<prefix>`.

Listing reads metadata only, one `list_blobs` per dataset prefix (plus one delimited listing of
the top level, to report what else lies there). A blob's version is its etag. `open()` never
downloads a blob whole: it returns a seekable stream that serves each read with ranged GETs
through a small read-ahead window, every GET pinned to the listed etag, so a blob replaced while
it is read fails with BlobChangedError instead of mixing two versions.

Errors are classified once, here: throttling, 5xx, timeouts and dropped connections are retried
with backoff (the SDK's retry policy, configured explicitly, and a retry around each range read)
and become TransientError when retries run out; bad credentials, missing permissions and a
missing container are TerminalError at once. Messages name the account and the container and
never carry the key or the SAS token: the SDK's own exception text can contain the request URL
(with `sig=`), so it is never copied into ours.
"""

from __future__ import annotations

import io
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    IncompleteReadError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobPrefix, BlobServiceClient, ContainerClient, ExponentialRetry

from loader.errors import FileError, TerminalError, TransientError
from loader.sources import QUARANTINE_PREFIX, Ignored, Listing, SourceFile, classify

log = logging.getLogger("datawiz.loader.azure")

# The SDK logs every request at INFO (URL with the query redacted): far too chatty next to the
# loader's one line per file. Quiet it unless someone configured that logger explicitly.
_http_log = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
if _http_log.level == logging.NOTSET:
    _http_log.setLevel(logging.WARNING)


class _RedactSasSignature(logging.Filter):
    """urllib3 logs each request line at DEBUG, query string included: with a SAS that is the
    signature. Rewrite such records so debug logging never writes a usable token."""

    _SIG = re.compile(r"(?i)\bsig=[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "sig=" in message.lower():
            record.msg = self._SIG.sub("sig=REDACTED", message)
            record.args = ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactSasSignature())

_URI = re.compile(r"az://(?P<container>[a-z0-9][a-z0-9-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?")
T = TypeVar("T")


class BlobChangedError(TransientError):
    """The blob was replaced or deleted after it was listed: this version cannot be read whole.

    Nothing of it is landed; the next run lists the current version and loads that."""


@dataclass(frozen=True)
class RetryConfig:
    """How hard to try before a transient failure is given up as TransientError.

    The SDK retries each request `retries` times (waits backoff, then backoff + (2*backoff)**n
    seconds). A range read is re-attempted `range_retries` more times when a failure still
    escapes the SDK (a body cut short after its downloader's own attempts): waits
    `backoff * 2**(n-1)` capped at `max_backoff`, +-`jitter` (a fraction) so that parallel
    clients do not retry in step."""

    retries: int = 5
    range_retries: int = 3
    backoff: float = 1.0
    max_backoff: float = 30.0
    jitter: float = 0.2
    connect_timeout: float = 20.0
    read_timeout: float = 60.0

    def delay(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return max(0.0, base * (1 + random.uniform(-self.jitter, self.jitter)))

    def sdk_policy(self) -> ExponentialRetry:
        # jitter is in seconds there
        return ExponentialRetry(
            initial_backoff=self.backoff,
            increment_base=2 * self.backoff,
            retry_total=self.retries,
            random_jitter_range=self.backoff * self.jitter,
        )


def parse_uri(uri: str) -> tuple[str, str]:
    """(container, prefix) of `az://<container>/<prefix>`; the prefix has no slashes around it."""
    m = _URI.fullmatch(uri.strip())
    if not m:
        raise TerminalError(
            f"{uri!r} is not az://<container>/<prefix> (container: 3-63 lower-case letters, "
            "digits and dashes)"
        )
    return m.group("container"), (m.group("prefix") or "").strip("/")


def _secrets_of(connection_string: str, sas_token: str, account_url: str) -> list[str]:
    """Every string that must never appear in a message: the key, the SAS and its signature."""
    secrets = []
    for part in connection_string.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() in ("accountkey", "sharedaccesssignature") and value:
            secrets.append(value.strip())
    for token in (sas_token, account_url.partition("?")[2]):
        if token:
            secrets.append(token.lstrip("?"))
            secrets.extend(parse_qs(token.lstrip("?")).get("sig", []))
    return [s for s in secrets if len(s) >= 8]


def _error_code(exc: BaseException) -> str:
    code = getattr(exc, "error_code", None) or ""
    return str(getattr(code, "value", code))


def describe_error(exc: BaseException) -> str:
    """A short, secret-free description: status and error code, never the SDK's message text."""
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        return f"HTTP {exc.status_code} {_error_code(exc) or exc.reason or ''}".strip()
    if isinstance(exc, ServiceRequestError):
        return "connection failed (ServiceRequestError)"
    if isinstance(exc, ServiceResponseError | IncompleteReadError | DecodeError):
        return f"connection dropped or response cut short ({type(exc).__name__})"
    if isinstance(exc, HttpResponseError):
        return f"response failed ({type(exc).__name__})"
    return type(exc).__name__


def _refused_account(exc: BaseException) -> bool:
    """Azure refused the credentials or a permission: every blob would fail the same way."""
    return isinstance(exc, ClientAuthenticationError) or (
        isinstance(exc, HttpResponseError) and exc.status_code in (401, 403)
    )


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ServiceRequestError | ServiceResponseError | IncompleteReadError):
        return True
    if isinstance(exc, DecodeError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        return status is None or status == 408 or status == 429 or status >= 500
    return False


class AzureSource:
    """A container and prefix. Paths (SourceFile.path, `_source_file`) are relative to the prefix."""

    def __init__(
        self,
        container: ContainerClient,
        prefix: str = "",
        *,
        retry: RetryConfig | None = None,
        read_ahead: int = 1 << 20,
        max_range: int = 8 << 20,
        secrets: list[str] | None = None,
    ):
        self.container = container
        self.prefix = prefix.strip("/")
        self.retry = retry or RetryConfig()
        self.read_ahead = read_ahead
        self.max_range = max_range
        self.account = container.account_name or "?"
        self.container_name = container.container_name
        self._secrets = secrets or []
        # Content-MD5 of each listed blob, by relative path (for backup verification)
        self._md5: dict[str, bytes] = {}

    @classmethod
    def from_uri(cls, uri: str, settings=None, **options: Any) -> AzureSource:
        """Connect with AZURE_STORAGE_CONNECTION_STRING, or DATAWIZ_AZURE_ACCOUNT_URL plus
        DATAWIZ_AZURE_SAS_TOKEN (a SAS may also sit in the URL's query). No request is made
        here: the first listing tells whether the credentials and the container are good."""
        if settings is None:
            from loader.settings import Settings

            settings = Settings.from_env()
        container_name, prefix = parse_uri(uri)
        retry = options.pop("retry", None) or RetryConfig(
            retries=settings.azure_max_retries, read_timeout=settings.azure_timeout_seconds
        )
        conn = settings.azure_storage_connection_string
        url = settings.azure_account_url
        sas = settings.azure_sas_token
        secrets = _secrets_of(conn, sas, url)
        client_options = {
            "retry_policy": retry.sdk_policy(),
            "connection_timeout": retry.connect_timeout,
            "read_timeout": retry.read_timeout,
        }
        try:
            if conn:
                service = BlobServiceClient.from_connection_string(conn, **client_options)
            elif url:
                service = BlobServiceClient(
                    url, credential=sas.lstrip("?") or None, **client_options
                )
            else:
                raise TerminalError(
                    f"no Azure credentials for {uri}: set AZURE_STORAGE_CONNECTION_STRING, or "
                    "DATAWIZ_AZURE_ACCOUNT_URL and DATAWIZ_AZURE_SAS_TOKEN"
                )
        except (ValueError, AzureError) as exc:
            # a malformed connection string or URL; the SDK's text may quote it, so drop it
            raise TerminalError(
                f"cannot use the Azure settings for {uri}: {type(exc).__name__} "
                "(check AZURE_STORAGE_CONNECTION_STRING / DATAWIZ_AZURE_ACCOUNT_URL)"
            ) from None
        return cls(
            service.get_container_client(container_name),
            prefix,
            retry=retry,
            secrets=secrets,
            **options,
        )

    # -- naming ------------------------------------------------------------------------------

    def describe(self) -> str:
        where = f"az://{self.container_name}/{self.prefix}".rstrip("/")
        return f"{where} (account {self.account})"

    def _where(self) -> str:
        return f"account {self.account}, container {self.container_name}"

    def blob_name(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def _relative(self, name: str) -> str:
        return name[len(self.prefix) + 1 :] if self.prefix else name

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- errors ------------------------------------------------------------------------------

    def _terminal_or_transient(self, exc: BaseException, doing: str) -> Exception:
        what = describe_error(exc)
        if _refused_account(exc):
            hint = (
                "the SAS token lacks a permission (list + read are needed; write for quarantine)"
                if "Permission" in _error_code(exc)
                else "check the account key, SAS token or its expiry"
            )
            return TerminalError(
                self._redact(f"Azure refused {doing} ({what}) for {self._where()}: {hint}")
            )
        if isinstance(exc, ResourceNotFoundError) and _error_code(exc) == "ContainerNotFound":
            return TerminalError(
                self._redact(
                    f"container {self.container_name} does not exist in account {self.account}"
                )
            )
        if _is_transient(exc):
            return TransientError(
                self._redact(
                    f"{doing} failed for {self._where()} after {self.retry.retries} retries: {what}"
                )
            )
        return TerminalError(self._redact(f"{doing} failed for {self._where()}: {what}"))

    def _call(self, fn: Callable[[], T], doing: str) -> T:
        """Run one SDK call (the SDK retries transient failures itself) and classify failures."""
        try:
            return fn()
        except AzureError as exc:
            raise self._terminal_or_transient(exc, doing) from None

    # -- listing -----------------------------------------------------------------------------

    def list(self, datasets: set[str]) -> Listing:
        listing = Listing()
        base = f"{self.prefix}/" if self.prefix else ""
        # The top level, by delimiter: reports other folders and stray blobs without reading
        # what lies inside folders that are not datasets.
        top = self._call(
            lambda: list(self.container.walk_blobs(name_starts_with=base, delimiter="/")),
            "listing blobs",
        )
        present = set()
        for item in top:
            rel = self._relative(item.name)
            if isinstance(item, BlobPrefix):
                folder = rel.rstrip("/")
                if folder in datasets:
                    present.add(folder)
                elif folder != QUARANTINE_PREFIX:
                    listing.ignored.append(Ignored(rel, "not under a known dataset folder"))
            else:
                listing.ignored.append(Ignored(rel, "not under a known dataset folder"))
        for dataset in sorted(present):
            blobs = self._call(
                lambda d=dataset: list(self.container.list_blobs(name_starts_with=f"{base}{d}/")),
                f"listing blobs of {dataset}",
            )
            for blob in blobs:
                rel = self._relative(blob.name)
                kind = classify(rel, datasets)
                if isinstance(kind, Ignored):
                    listing.ignored.append(kind)
                    continue
                ds_name, dt = kind
                listing.files.append(
                    SourceFile(rel, ds_name, dt, int(blob.size), blob.etag.strip('"'))
                )
                md5 = blob.content_settings.content_md5 if blob.content_settings else None
                if md5:
                    self._md5[rel] = bytes(md5)
                else:
                    self._md5.pop(rel, None)
        listing.files.sort()
        listing.ignored.sort(key=lambda i: i.path)
        return listing

    def content_md5(self, file: SourceFile) -> bytes | None:
        """The blob's Content-MD5 as listed, when the service holds one."""
        return self._md5.get(file.path)

    # -- reading -----------------------------------------------------------------------------

    def open(self, file: SourceFile) -> BlobRangeReader:
        return BlobRangeReader(self, file)

    def fetch(self, file: SourceFile, offset: int, length: int) -> bytes:
        """Bytes [offset, offset+length) of exactly the listed version, retried with backoff."""
        name = self.blob_name(file.path)
        attempt = 0
        while True:
            try:
                data = self.container.download_blob(
                    name,
                    offset=offset,
                    length=length,
                    etag=f'"{file.version}"',
                    match_condition=MatchConditions.IfNotModified,
                    max_concurrency=1,
                ).readall()
                if len(data) != length:
                    raise IncompleteReadError(f"got {len(data)} of {length} bytes")
                return data
            except (ResourceModifiedError, ResourceNotFoundError) as exc:
                raise BlobChangedError(
                    f"{file.path} in {self._where()} was replaced or deleted after it was "
                    f"listed (listed etag {file.version}, {describe_error(exc)}): nothing of "
                    "this version is landed; the next run loads the current one"
                ) from None
            except (AzureError, OSError) as exc:
                if not _is_transient(exc):
                    error = self._terminal_or_transient(exc, f"reading {file.path}")
                    if _refused_account(exc):
                        raise error from None
                    # this blob only (archived, leased, a bad range): the others still load
                    raise FileError(str(error)) from None
                attempt += 1
                if attempt > self.retry.range_retries:
                    raise TransientError(
                        self._redact(
                            f"reading {file.path} (bytes {offset}-{offset + length - 1}) from "
                            f"{self._where()} failed {attempt} times: {describe_error(exc)}"
                        )
                    ) from None
                delay = self.retry.delay(attempt)
                log.warning(
                    "range read of %s failed (%s); retry %d/%d in %.1fs",
                    file.path,
                    describe_error(exc),
                    attempt,
                    self.retry.range_retries,
                    delay,
                )
                time.sleep(delay)

    # -- quarantine --------------------------------------------------------------------------

    def quarantine(self, file: SourceFile, reason: str) -> str:
        """Server-side copy to <prefix>/_quarantine/<path>, the reason in the blob's metadata.

        Needs write permission. Without it (403) the copy is skipped with a warning: the ledger
        entry the loader writes next still stops the file from being retried."""
        dest = self.blob_name(f"{QUARANTINE_PREFIX}/{file.path}")
        source = self.container.get_blob_client(self.blob_name(file.path))
        metadata = {
            "datawiz_reason": _header_safe(reason),
            "datawiz_source_path": _header_safe(file.path),
            "datawiz_source_etag": file.version,
            "datawiz_quarantined_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        try:
            self.container.get_blob_client(dest).start_copy_from_url(
                source.url,
                metadata=metadata,
                source_etag=f'"{file.version}"',
                source_match_condition=MatchConditions.IfNotModified,
            )
        except AzureError as exc:
            status = getattr(exc, "status_code", None)
            log.warning(
                "could not copy %s to %s in %s (%s%s); it stays recorded as quarantined",
                file.path,
                dest,
                self._where(),
                describe_error(exc),
                ": the credentials need write permission" if status == 403 else "",
            )
            return f"nowhere (copy failed: {describe_error(exc)})"
        return f"az://{self.container_name}/{dest}"


def _header_safe(text: str, limit: int = 1024) -> str:
    """Metadata values travel as HTTP headers: printable ASCII on one line."""
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text)[:limit]


class BlobRangeReader(io.RawIOBase):
    """A seekable read-only stream over one listed blob version, served by ranged GETs.

    Reads within the read-ahead window come from one buffer of at most `read_ahead` bytes; a
    read near the end pulls the last window (Parquet starts at the footer, so a small file costs
    one GET). Reads larger than the window are fetched directly in ranges of `max_range`."""

    def __init__(self, source: AzureSource, file: SourceFile):
        super().__init__()
        self.source = source
        self.file = file
        self.size = file.size
        self.pos = 0
        self._buf = b""
        self._buf_start = 0
        self.requests = 0  # ranged GETs made (for tests and the bench)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self.pos + offset
        elif whence == io.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self.pos = pos
        return pos

    def read(self, n: int = -1) -> bytes | bytearray:
        if self.closed:
            raise ValueError("read from a closed stream")
        if n is None or n < 0:
            n = self.size - self.pos
        n = max(0, min(n, self.size - self.pos))
        if n == 0:
            return b""
        out = self._read(self.pos, n)
        self.pos += len(out)
        return out

    def readall(self) -> bytes | bytearray:
        return self.read(-1)

    def readinto(self, b) -> int:
        data = self.read(len(b))
        memoryview(b)[: len(data)] = data
        return len(data)

    def _read(self, pos: int, n: int) -> bytes | bytearray:
        end = pos + n
        buf_end = self._buf_start + len(self._buf)
        if self._buf_start <= pos and end <= buf_end:
            return self._buf[pos - self._buf_start : end - self._buf_start]
        if n >= self.source.read_ahead:
            if n <= self.source.max_range:
                return self._fetch(pos, n)
            # filled in place: a list of parts and a join would hold the data twice
            out = bytearray(n)
            view = memoryview(out)
            for start in range(pos, end, self.source.max_range):
                length = min(self.source.max_range, end - start)
                view[start - pos : start - pos + length] = self._fetch(start, length)
            return out
        start = pos
        if pos + self.source.read_ahead > self.size:
            start = max(0, self.size - self.source.read_ahead)
        length = min(self.source.read_ahead, self.size - start)
        self._buf = b""  # drop the old window before fetching: at most one window in memory
        self._buf = self._fetch(start, length)
        self._buf_start = start
        return self._buf[pos - start : end - start]

    def _fetch(self, offset: int, length: int) -> bytes:
        self.requests += 1
        return self.source.fetch(self.file, offset, length)

    def close(self) -> None:
        self._buf = b""
        super().close()
