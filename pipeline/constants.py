"""Business constants (R10): marts.business_constants -> MongoDB collection business_constants.

The warehouse computes the constants (dbt model marts.business_constants); only its few rows
come to Python. Each becomes the document {_id: constant_key, value: constant_value,
updated_at: <run time>}, written with one bulk_write of upserting ReplaceOne operations: a
run updates the documents in place, never duplicates them, and a document holds exactly those
three fields. Constants that disappear from the mart are left in MongoDB (the app may still
read them); a constant whose value is null is not written (the old value stays) and the step
ends with a warning.

Errors: an unreachable MongoDB (no server, network error, timeout, a primary stepping down)
is transient and retried by the runner; a bad URI, bad credentials or a refused write is
terminal. Error text never carries the URI's password (pymongo's messages name hosts only, and
everything is passed through redact as well).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from loader.errors import TerminalError, TransientError
from loader.settings import Settings
from pipeline import warehouse
from pipeline.redact import redact
from pipeline.runner import StepOutcome

log = logging.getLogger("datawiz.constants")

COLLECTION = "business_constants"
MART = "marts.business_constants"

# server-side codes worth a retry (not a network error, but the cluster is changing state)
_TRANSIENT_CODES = {6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436}
_AUTH_CODES = {13, 18}


def read_constants(settings: Settings) -> list[tuple[str, str | None]]:
    """(constant_key, constant_value) rows of the mart, computed in the warehouse."""
    sql = f"select constant_key, constant_value from {MART} order by constant_key"
    with warehouse.connect(settings, read_only=True) as con:
        try:
            rows = con.execute(sql)
        except TransientError:
            raise
        except Exception as exc:  # noqa: BLE001 - a missing mart is a terminal, readable error
            raise TerminalError(
                f"cannot read {MART} (has dbt built the morning models?): {redact(exc, settings)}"
            ) from None
    return [(str(k), None if v is None else str(v)) for k, v in rows]


# what pymongo's ConfigurationError says when resolving a mongodb+srv:// host timed out or no
# name server answered (dnspython's messages), as opposed to a name that does not exist
_DNS_TRANSIENT = ("lifetime expired", "timed out", "nameservers failed", "no nameservers")


def _classify(exc: Exception, settings: Settings) -> Exception:
    from pymongo import errors

    text = redact(exc, settings)
    if isinstance(exc, errors.ServerSelectionTimeoutError):
        # pymongo appends a long topology description; the first part says what happened
        text = text.split(", Timeout:")[0].split(", Topology Description:")[0]
        return TransientError(f"MongoDB unreachable: {text}")
    if isinstance(exc, errors.ConnectionFailure | errors.ExecutionTimeout | errors.WTimeoutError):
        return TransientError(f"MongoDB connection lost: {text}")
    if isinstance(exc, errors.ConfigurationError):
        if any(m in text.lower() for m in _DNS_TRANSIENT):
            # a mongodb+srv:// URI is resolved through DNS at connect time: a DNS outage
            return TransientError(f"MongoDB host lookup failed (DNS): {text}")
        return TerminalError(f"DATAWIZ_MONGO_URI is not usable: {text}")
    if isinstance(exc, errors.BulkWriteError):
        write_errors = exc.details.get("writeErrors") or []
        if not write_errors:
            # every write applied, the write concern not confirmed in time (a wtimeout, a
            # primary stepping down): the upserts are idempotent, so writing again is safe
            concern = (exc.details.get("writeConcernErrors") or [{}])[0]
            return TransientError(
                "MongoDB did not confirm the write concern: "
                f"{redact(concern.get('errmsg'), settings)}"
            )
        return TerminalError(
            f"MongoDB refused the write: {redact(write_errors[0].get('errmsg'), settings)}"
        )
    if isinstance(exc, errors.OperationFailure):
        if exc.code in _AUTH_CODES:
            return TerminalError(f"MongoDB refused the credentials of DATAWIZ_MONGO_URI: {text}")
        if exc.code in _TRANSIENT_CODES or exc.has_error_label("RetryableWriteError"):
            return TransientError(f"MongoDB temporarily refused the write: {text}")
        return TerminalError(f"MongoDB error: {text}")
    return TerminalError(f"MongoDB error: {type(exc).__name__}: {text}")


def _hosts(uri: str) -> str:
    from pymongo import uri_parser

    try:
        nodes = uri_parser.parse_uri(uri, warn=True)["nodelist"]
    except Exception:  # noqa: BLE001 - only used for the report line
        return "?"
    return ",".join(f"{h}:{p}" for h, p in nodes)


def publish_constants(
    settings: Settings, run_time: datetime | None = None, client_factory=None
) -> StepOutcome:
    """The morning pipeline's `constants` step."""
    if not settings.mongo_uri:
        return StepOutcome("DATAWIZ_MONGO_URI is not set: constants not published", skipped=True)
    from pymongo import MongoClient, ReplaceOne, errors

    run_time = (run_time or datetime.now(UTC)).astimezone(UTC)
    rows = read_constants(settings)
    if not rows:
        raise TerminalError(f"{MART} is empty: nothing to publish")
    nulls = [k for k, v in rows if v is None]
    operations = [
        ReplaceOne({"_id": key}, {"value": value, "updated_at": run_time}, upsert=True)
        for key, value in rows
        if value is not None
    ]
    timeout_ms = settings.mongo_timeout_seconds * 1000
    factory = client_factory or MongoClient
    client = None
    try:
        client = factory(
            settings.mongo_uri,
            appname="datawiz",
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            socketTimeoutMS=3 * timeout_ms,
            tz_aware=True,
        )
        collection = client[settings.mongo_database][COLLECTION]
        result = collection.bulk_write(operations, ordered=False) if operations else None
    except errors.PyMongoError as exc:
        raise _classify(exc, settings) from None
    finally:
        if client is not None:
            client.close()
    inserted = result.upserted_count if result else 0
    updated = result.matched_count if result else 0
    detail = (
        f"{len(operations)} constants to {settings.mongo_database}.{COLLECTION} on "
        f"{_hosts(settings.mongo_uri)}: {inserted} inserted, {updated} updated"
    )
    if nulls:
        detail += f"; null, not written: {', '.join(nulls)}"
    return StepOutcome(detail, len(operations), warning=bool(nulls))
