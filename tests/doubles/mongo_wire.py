"""MongoDB TEST DOUBLE (not MongoDB): a wire-protocol server on 127.0.0.1 for pymongo.

`mockupdb` (a MongoDB wire-protocol server for driver tests) speaks OP_MSG/OP_QUERY over TCP;
behind it sits a small in-memory document store, so the real pymongo client can connect,
authenticate, write and read back, and a test can assert what landed.

What it answers: the handshake (hello/isMaster as a standalone server, wire version 21),
ping, buildInfo, endSessions, killCursors, SCRAM-SHA-256 authentication (saslStart,
saslContinue) when users are given, insert, update (replacement or $set/$unset/$inc/
$setOnInsert, upsert, multi), delete, find (filter, projection of included fields, sort,
skip, limit), count, aggregate ($match, $skip, $limit, $sort, $count, and $group on a constant
_id with constant $sum: what count_documents sends), drop, dropDatabase, listCollections,
listDatabases, create. Fault injection: `fail(command, times, hangup=True)` closes the
connection (pymongo sees a network error) or answers an error code; `down()` hangs up on
everything, handshake included (pymongo sees no server).

Limits (what a green test against the double does NOT prove):

* One standalone server: no replica set, so no retryable writes, no write concern or read
  concern semantics, no transactions, no sessions beyond accepting `lsid`, no change streams.
* Query language: equality (top level and dotted paths) and $eq/$ne/$gt/$gte/$lt/$lte/$in/
  $nin/$exists only; no $or/$and/$regex/$elemMatch, no array matching rules, no collation.
  Comparisons are Python's, not BSON's type order. Anything else is refused with code 2.
* No indexes other than the unique `_id`; no validation, no capped collections, no TTL.
* Cursors: every result comes back in the first batch (cursor id 0); no getMore.
* Authentication: SCRAM-SHA-256 only (no SCRAM-SHA-1, x509, LDAP, OIDC), no roles: an
  authenticated user may do everything, an unauthenticated one only the handshake.
* No compression, no TLS, no OP_MSG checksums; documents are kept as decoded (no size limits).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from mockupdb import MockupDB
from pymongo.saslprep import saslprep

MAX_WIRE_VERSION = 21
SCRAM_ITERATIONS = 4096

# MongoDB error codes
BAD_VALUE = 2
UNAUTHORIZED = 13
AUTHENTICATION_FAILED = 18
COMMAND_NOT_FOUND = 59
DUPLICATE_KEY = 11000
HOST_UNREACHABLE = 6
WRITE_CONCERN_FAILED = 64

_OPEN_COMMANDS = {
    "hello",
    "ismaster",
    "ping",
    "buildinfo",
    "saslstart",
    "saslcontinue",
    "endsessions",
}


class Unsupported(Exception):
    """A request outside what the double implements (answered with code 2)."""


class MongoWireDouble:
    """A MongoDB test double. Use as a context manager, or start() / stop()."""

    def __init__(self, users: dict[str, str] | None = None, verbose: bool = False):
        self.users = dict(users or {})
        self._server = MockupDB(request_timeout=30, verbose=verbose)
        self._lock = threading.RLock()
        # database -> collection -> _id -> document
        self.data: dict[str, dict[str, OrderedDict[Any, dict]]] = {}
        self.commands: list[str] = []  # every command name received, in order (lower case)
        self._authenticated: set[int] = set()  # client ports that passed SCRAM
        self._conversations: dict[int, dict] = {}
        self._faults: dict[str, list[tuple[bool, int]]] = {}
        self._concern_faults: dict[str, int] = {}
        self._down = False
        self._ids = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> MongoWireDouble:
        self._server.autoresponds(self._handle)
        self._server.run()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> MongoWireDouble:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.port

    def uri(self, user: str | None = None, password: str | None = None) -> str:
        creds = f"{user}:{password}@" if user else ""
        return f"mongodb://{creds}127.0.0.1:{self.port}/?directConnection=true"

    # -- test helpers ------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all documents, received commands and pending faults (between tests)."""
        with self._lock:
            self.data.clear()
            self.commands.clear()
            self._faults.clear()
            self._concern_faults.clear()
            self._down = False

    def collection(self, database: str, name: str) -> list[dict]:
        """A copy of the documents of one collection, in insertion order."""
        with self._lock:
            return [copy.deepcopy(d) for d in self.data.get(database, {}).get(name, {}).values()]

    def fail(self, command: str, times: int = 1, hangup: bool = True, code: int = 0) -> None:
        """Make the next `times` requests of `command` hang up (network error) or fail."""
        with self._lock:
            self._faults.setdefault(command.lower(), []).extend([(hangup, code)] * times)

    def fail_write_concern(self, command: str, times: int = 1) -> None:
        """Apply the next `times` writes of `command`, then answer as a replica set whose write
        concern timed out (writeConcernError 64, `wtimeout`): the write happened, unconfirmed."""
        with self._lock:
            self._concern_faults[command.lower()] = (
                self._concern_faults.get(command.lower(), 0) + times
            )

    @contextmanager
    def down(self) -> Iterator[None]:
        """While inside, hang up on every request: the server looks unreachable."""
        self._down = True
        try:
            yield
        finally:
            self._down = False

    # -- dispatch ----------------------------------------------------------------------------

    def _handle(self, request) -> bool:
        if self._down:
            return request.hangup()
        doc = request.doc
        name = next(iter(doc)).lower() if doc else ""
        self.commands.append(name)
        with self._lock:
            faults = self._faults.get(name)
            if faults:
                hangup, code = faults.pop(0)
                if hangup:
                    return request.hangup()
                return request.command_err(code=code or HOST_UNREACHABLE, errmsg="injected fault")
        port = request.client_port
        if self.users and name not in _OPEN_COMMANDS and port not in self._authenticated:
            return request.command_err(
                code=UNAUTHORIZED, errmsg=f"command {name} requires authentication"
            )
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is None:
            return request.command_err(
                code=COMMAND_NOT_FOUND, errmsg=f"no such command: '{name}' (MongoDB test double)"
            )
        database = doc.get("$db", "admin")
        try:
            with self._lock:
                reply = handler(doc, database, port)
        except Unsupported as exc:
            return request.command_err(code=BAD_VALUE, errmsg=f"test double: {exc}")
        if "ok" in reply and not reply["ok"]:
            return request.replies(reply)
        with self._lock:
            if self._concern_faults.get(name):
                self._concern_faults[name] -= 1
                reply["writeConcernError"] = {
                    "code": WRITE_CONCERN_FAILED,
                    "codeName": "WriteConcernFailed",
                    "errmsg": "waiting for replication timed out",
                    "errInfo": {"wtimeout": True},
                }
        return request.ok(**reply)

    # -- handshake and admin -----------------------------------------------------------------

    def _hello(self, doc, database, port) -> dict:
        reply = {
            "ismaster": True,
            "isWritablePrimary": True,
            "helloOk": True,
            "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48_000_000,
            "maxWriteBatchSize": 100_000,
            "localTime": datetime.now(UTC),
            "logicalSessionTimeoutMinutes": 30,
            "connectionId": next(self._ids),
            "minWireVersion": 0,
            "maxWireVersion": MAX_WIRE_VERSION,
            "readOnly": False,
        }
        if "saslSupportedMechs" in doc and self.users:
            reply["saslSupportedMechs"] = ["SCRAM-SHA-256"]
        return reply

    _cmd_hello = _hello
    _cmd_ismaster = _hello

    def _cmd_ping(self, doc, database, port) -> dict:
        return {}

    def _cmd_buildinfo(self, doc, database, port) -> dict:
        return {"version": "7.0.0-test-double", "versionArray": [7, 0, 0, 0]}

    def _cmd_endsessions(self, doc, database, port) -> dict:
        return {}

    def _cmd_killcursors(self, doc, database, port) -> dict:
        return {"cursorsKilled": doc.get("cursors", []), "cursorsNotFound": []}

    def _cmd_listdatabases(self, doc, database, port) -> dict:
        return {"databases": [{"name": n, "sizeOnDisk": 0, "empty": False} for n in self.data]}

    def _cmd_listcollections(self, doc, database, port) -> dict:
        names = list(self.data.get(database, {}))
        batch = [{"name": n, "type": "collection", "options": {}} for n in names]
        return {"cursor": {"id": 0, "ns": f"{database}.$cmd.listCollections", "firstBatch": batch}}

    def _cmd_create(self, doc, database, port) -> dict:
        self._coll(database, doc["create"])
        return {}

    def _cmd_drop(self, doc, database, port) -> dict:
        self.data.get(database, {}).pop(doc["drop"], None)
        return {}

    def _cmd_dropdatabase(self, doc, database, port) -> dict:
        self.data.pop(database, None)
        return {}

    # -- SCRAM-SHA-256 (RFC 5802 / 7677), the server side ------------------------------------

    def _cmd_saslstart(self, doc, database, port) -> dict:
        if doc.get("mechanism") != "SCRAM-SHA-256":
            return _auth_failed(f"mechanism {doc.get('mechanism')} not supported by the double")
        client_first = bytes(doc["payload"])
        first_bare = client_first.split(b",", 2)[2]
        fields = dict(p.split(b"=", 1) for p in first_bare.split(b","))
        user = fields[b"n"].decode().replace("=2C", ",").replace("=3D", "=")
        if user not in self.users:
            return _auth_failed("unknown user")
        salt = os.urandom(16)
        nonce = fields[b"r"] + base64.b64encode(os.urandom(18))
        server_first = (
            b"r="
            + nonce
            + b",s="
            + base64.b64encode(salt)
            + b",i="
            + str(SCRAM_ITERATIONS).encode()
        )
        self._conversations[port] = {
            "user": user,
            "salt": salt,
            "nonce": nonce,
            "auth_prefix": first_bare + b"," + server_first,
        }
        return {"conversationId": 1, "done": False, "payload": server_first}

    def _cmd_saslcontinue(self, doc, database, port) -> dict:
        conv = self._conversations.pop(port, None)
        if conv is None:
            return _auth_failed("no SASL conversation")
        client_final = bytes(doc["payload"])
        without_proof, _, proof = client_final.rpartition(b",p=")
        if not without_proof.endswith(b"r=" + conv["nonce"]):
            return _auth_failed("nonce mismatch")
        password = saslprep(self.users[conv["user"]]).encode()
        salted = hashlib.pbkdf2_hmac("sha256", password, conv["salt"], SCRAM_ITERATIONS)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        auth_message = conv["auth_prefix"] + b"," + without_proof
        client_sig = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        sent_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), client_sig, strict=True))
        if not hmac.compare_digest(hashlib.sha256(sent_key).digest(), stored_key):
            return _auth_failed("Authentication failed.")
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        server_sig = hmac.new(server_key, auth_message, hashlib.sha256).digest()
        self._authenticated.add(port)
        return {"conversationId": 1, "done": True, "payload": b"v=" + base64.b64encode(server_sig)}

    # -- CRUD --------------------------------------------------------------------------------

    def _coll(self, database: str, name: str) -> OrderedDict[Any, dict]:
        return self.data.setdefault(database, {}).setdefault(name, OrderedDict())

    def _cmd_insert(self, doc, database, port) -> dict:
        coll = self._coll(database, doc["insert"])
        n, errors = 0, []
        for i, d in enumerate(doc.get("documents", [])):
            d = dict(d)
            d.setdefault("_id", ObjectId())
            if _key(d["_id"]) in coll:
                errors.append(_dup(i, d["_id"]))
                if doc.get("ordered", True):
                    break
                continue
            coll[_key(d["_id"])] = d
            n += 1
        return _write_reply(n, errors)

    def _cmd_update(self, doc, database, port) -> dict:
        coll = self._coll(database, doc["update"])
        n = modified = 0
        upserted, errors = [], []
        for i, u in enumerate(doc.get("updates", [])):
            spec, change = u.get("q", {}), u["u"]
            if isinstance(change, list):
                raise Unsupported("update pipelines")
            matches = [d for d in coll.values() if _matches(d, spec)]
            if not u.get("multi"):
                matches = matches[:1]
            if matches:
                for d in matches:
                    new = _apply(d, change, inserting=False)
                    if new.get("_id") != d.get("_id"):
                        raise Unsupported("changing _id")
                    n += 1
                    if new != d:
                        modified += 1
                    coll[_key(d["_id"])] = new
            elif u.get("upsert"):
                seed = {k: v for k, v in spec.items() if not k.startswith("$") and "." not in k}
                seed = {k: v for k, v in seed.items() if not isinstance(v, dict)}
                new = _apply(seed, change, inserting=True)
                if "_id" not in new:
                    new = {"_id": ObjectId(), **new}
                if _key(new["_id"]) in coll:
                    errors.append(_dup(i, new["_id"]))
                    continue
                coll[_key(new["_id"])] = new
                n += 1
                upserted.append({"index": i, "_id": new["_id"]})
        reply = _write_reply(n, errors)
        reply["nModified"] = modified
        if upserted:
            reply["upserted"] = upserted
        return reply

    def _cmd_delete(self, doc, database, port) -> dict:
        coll = self._coll(database, doc["delete"])
        n = 0
        for d in doc.get("deletes", []):
            victims = [k for k, v in coll.items() if _matches(v, d.get("q", {}))]
            if d.get("limit", 0) == 1:
                victims = victims[:1]
            for k in victims:
                del coll[k]
            n += len(victims)
        return {"n": n}

    def _cmd_find(self, doc, database, port) -> dict:
        docs = self._select(database, doc["find"], doc.get("filter", {}))
        if doc.get("sort"):
            docs = _sort(docs, doc["sort"])
        docs = docs[doc.get("skip", 0) :]
        if doc.get("limit"):
            docs = docs[: abs(doc["limit"])]
        if doc.get("projection"):
            docs = [_project(d, doc["projection"]) for d in docs]
        ns = f"{database}.{doc['find']}"
        return {"cursor": {"id": 0, "ns": ns, "firstBatch": docs}}

    def _cmd_count(self, doc, database, port) -> dict:
        return {"n": len(self._select(database, doc["count"], doc.get("query") or {}))}

    def _cmd_aggregate(self, doc, database, port) -> dict:
        docs = self._select(database, doc["aggregate"], {})
        for stage in doc.get("pipeline", []):
            (op, arg), *rest = stage.items()
            if rest:
                raise Unsupported("a stage with several operators")
            if op == "$match":
                docs = [d for d in docs if _matches(d, arg)]
            elif op == "$skip":
                docs = docs[arg:]
            elif op == "$limit":
                docs = docs[:arg]
            elif op == "$sort":
                docs = _sort(docs, arg)
            elif op == "$count":
                docs = [{arg: len(docs)}] if docs else []
            elif op == "$group":
                docs = _group(docs, arg)
            else:
                raise Unsupported(f"aggregation stage {op}")
        ns = f"{database}.{doc['aggregate']}"
        return {"cursor": {"id": 0, "ns": ns, "firstBatch": docs}}

    def _select(self, database: str, name: str, spec: dict) -> list[dict]:
        coll = self.data.get(database, {}).get(name, {})
        return [copy.deepcopy(d) for d in coll.values() if _matches(d, spec)]


# -- document helpers (module level: pure functions) ---------------------------------------


def _auth_failed(why: str) -> dict:
    return {
        "ok": 0,
        "code": AUTHENTICATION_FAILED,
        "codeName": "AuthenticationFailed",
        "errmsg": why,
    }


def _dup(index: int, _id) -> dict:
    return {"index": index, "code": DUPLICATE_KEY, "errmsg": f"E11000 duplicate key: {_id!r}"}


def _write_reply(n: int, errors: list[dict]) -> dict:
    reply: dict = {"n": n}
    if errors:
        reply["writeErrors"] = errors
    return reply


def _key(value) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


_MISSING = object()


def _get(doc: dict, path: str):
    cur: Any = doc
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


def _matches(doc: dict, spec: dict) -> bool:
    for path, cond in spec.items():
        if path.startswith("$"):
            raise Unsupported(f"query operator {path}")
        value = _get(doc, path)
        if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            for op, arg in cond.items():
                if not _compare(op, value, arg):
                    return False
        elif value is _MISSING or value != cond:
            return False
    return True


def _compare(op: str, value, arg) -> bool:
    present = value is not _MISSING
    try:
        match op:
            case "$eq":
                return present and value == arg
            case "$ne":
                return not present or value != arg
            case "$gt":
                return present and value > arg
            case "$gte":
                return present and value >= arg
            case "$lt":
                return present and value < arg
            case "$lte":
                return present and value <= arg
            case "$in":
                return present and value in arg
            case "$nin":
                return not present or value not in arg
            case "$exists":
                return present == bool(arg)
    except TypeError:
        return False
    raise Unsupported(f"query operator {op}")


def _set_path(doc: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    cur = doc
    for part in parents:
        cur = cur.setdefault(part, {})
    cur[last] = value


def _apply(doc: dict, change: dict, inserting: bool) -> dict:
    operators = [k for k in change if k.startswith("$")]
    if not operators:  # a replacement document keeps only the _id
        new = {"_id": doc["_id"]} if "_id" in doc else {}
        new.update(change)
        return new
    if len(operators) != len(change):
        raise Unsupported("mixing update operators and fields")
    new = copy.deepcopy(doc)
    for op, fields in change.items():
        for path, value in fields.items():
            if op == "$set" or (op == "$setOnInsert" and inserting):
                _set_path(new, path, value)
            elif op == "$setOnInsert":
                continue
            elif op == "$unset":
                parent = _get(new, path.rpartition(".")[0]) if "." in path else new
                if isinstance(parent, dict):
                    parent.pop(path.rpartition(".")[2], None)
            elif op == "$inc":
                current = _get(new, path)
                _set_path(new, path, (0 if current is _MISSING else current) + value)
            else:
                raise Unsupported(f"update operator {op}")
    return new


def _sort(docs: list[dict], spec: dict) -> list[dict]:
    for path, direction in reversed(list(spec.items())):
        present = [d for d in docs if _get(d, path) is not _MISSING]
        missing = [d for d in docs if _get(d, path) is _MISSING]
        present.sort(key=lambda d, p=path: _get(d, p), reverse=direction < 0)
        docs = missing + present if direction > 0 else present + missing
    return docs


def _project(doc: dict, projection: dict) -> dict:
    include = [k for k, v in projection.items() if v and k != "_id"]
    if not include:
        raise Unsupported("exclusion projections")
    out = {"_id": doc["_id"]} if projection.get("_id", 1) and "_id" in doc else {}
    for path in include:
        value = _get(doc, path)
        if value is not _MISSING:
            _set_path(out, path, value)
    return out


def _group(docs: list[dict], spec: dict) -> list[dict]:
    group_id = spec.get("_id")
    if isinstance(group_id, str) and group_id.startswith("$"):
        raise Unsupported("$group by a field")
    out: dict[str, Any] = {"_id": group_id}
    for name, acc in spec.items():
        if name == "_id":
            continue
        if list(acc) != ["$sum"] or not isinstance(acc["$sum"], int | float):
            raise Unsupported(f"$group accumulator {acc}")
        out[name] = acc["$sum"] * len(docs)
    return [out] if docs else []
