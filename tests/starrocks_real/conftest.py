"""The real-StarRocks suite: runs only when asked (`make test-starrocks`, which sets
DATAWIZ_STARROCKS_REAL=1) and a StarRocks FE answers at DATAWIZ_STARROCKS_HOST; otherwise every
test here is skipped with the reason printed. It never reports a run that did not happen: a server
that answers but cannot be used (a wrong admin password, not StarRocks) fails the session.

It writes into the server's raw, staging, marts and ops databases (the names are the project's)
and starts by dropping what is in raw, staging and marts: point it at a disposable server only,
such as `docker compose up -d` (docker-compose.yml, tests/starrocks_real/setup.sql).
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class RealStarRocks:
    host: str
    query_port: int
    http_port: int
    user: str
    password: str
    admin_user: str
    admin_password: str
    version: str

    def env(self) -> dict[str, str]:
        return {
            "DATAWIZ_TARGET": "starrocks",
            "DATAWIZ_STARROCKS_HOST": self.host,
            "DATAWIZ_STARROCKS_QUERY_PORT": str(self.query_port),
            "DATAWIZ_STARROCKS_HTTP_PORT": str(self.http_port),
            "DATAWIZ_STARROCKS_USER": self.user,
            "DATAWIZ_STARROCKS_PASSWORD": self.password,
        }

    def connect(self, admin: bool = False, **kwargs):
        import mysql.connector

        return mysql.connector.connect(
            host=self.host,
            port=self.query_port,
            user=self.admin_user if admin else self.user,
            password=self.admin_password if admin else self.password,
            autocommit=True,
            connection_timeout=10,
            **kwargs,
        )


def _skip(reason: str):
    # -rs shows it in the summary; this line shows it even without (make test-starrocks).
    print(f"\nSKIPPED real StarRocks suite: {reason}", file=sys.stderr)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def real_starrocks() -> RealStarRocks:
    if os.environ.get("DATAWIZ_STARROCKS_REAL") != "1":
        _skip("not requested (make test-starrocks sets DATAWIZ_STARROCKS_REAL=1)")
    server = RealStarRocks(
        host=os.environ.get("DATAWIZ_STARROCKS_HOST", "127.0.0.1"),
        query_port=int(os.environ.get("DATAWIZ_STARROCKS_QUERY_PORT", "9030")),
        http_port=int(os.environ.get("DATAWIZ_STARROCKS_HTTP_PORT", "8030")),
        user=os.environ.get("DATAWIZ_STARROCKS_USER", "datawiz"),
        password=os.environ.get("DATAWIZ_STARROCKS_PASSWORD", "datawiz-dev-only"),
        admin_user=os.environ.get("DATAWIZ_STARROCKS_ADMIN_USER", "root"),
        admin_password=os.environ.get("DATAWIZ_STARROCKS_ADMIN_PASSWORD", ""),
        version="",
    )
    where = f"{server.host}:{server.query_port}"
    try:
        socket.create_connection((server.host, server.query_port), timeout=3).close()
    except OSError as e:
        _skip(f"no StarRocks FE answers at {where} ({e}); start one with `docker compose up -d`")
    try:
        connection = server.connect(admin=True)
        cursor = connection.cursor()
        cursor.execute("select current_version()")
        version = str(cursor.fetchone()[0])
        cursor.execute("show backends")
        columns = [d[0] for d in cursor.description]
        alive = [r for r in cursor.fetchall() if str(r[columns.index("Alive")]).lower() == "true"]
        connection.close()
    except Exception as e:  # noqa: BLE001 - not StarRocks, a wrong admin password, starting ...
        # a server answers where the suite was asked to run: a failure to say why, not a skip
        # (a skip here would let `make test-starrocks` pass on a misconfigured server)
        pytest.fail(
            f"{where} answers but is not usable as StarRocks admin {server.admin_user!r}"
            f" ({type(e).__name__}: {e}); if it is still starting, wait and retry",
            pytrace=False,
        )
    if "double" in version and os.environ.get("DATAWIZ_STARROCKS_REAL_ACCEPT_DOUBLE") != "1":
        # (DATAWIZ_STARROCKS_REAL_ACCEPT_DOUBLE=1 lets the suite check itself against
        # `python -m tests.doubles.starrocks`; its output then names the double's version.)
        _skip(f"{where} is the StarRocks test double ({version}), not a real server")
    if not alive:
        _skip(f"StarRocks {version} at {where} has no live backend yet; wait and retry")
    return RealStarRocks(**{**server.__dict__, "version": version})
