"""StarRocks TEST DOUBLE: start the whole double (engine + MySQL port + Stream Load HTTP ports).

``StarRocksDouble.start(...)`` is what the pytest fixtures and ``python -m tests.doubles.starrocks``
use. The Stream Load half (``tests.doubles.starrocks.http``) is optional: without it the double
serves the MySQL port only and ``http_port`` is None.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from tests.doubles.starrocks.engine import Engine
from tests.doubles.starrocks.mysql import FrontEnd


@dataclass
class StarRocksDouble:
    host: str
    query_port: int
    http_port: int | None  # the FE's HTTP port (Stream Load goes here first, then a 307)
    be_http_port: int | None  # the BE's HTTP port the FE redirects to
    user: str
    password: str
    engine: Engine
    front_end: FrontEnd
    stream_load: Any = None  # tests.doubles.starrocks.http.StreamLoadDouble, when available
    extra: dict = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        host: str = "127.0.0.1",
        query_port: int = 0,
        user: str = "root",
        password: str = "",
        path: str = ":memory:",
        http: bool = True,
        statement_log: str | None = None,
    ) -> StarRocksDouble:
        engine = Engine(path, statement_log=statement_log)
        front_end = FrontEnd(engine, user, password)
        port = front_end.start(host, query_port)
        stream_load = None
        if http:
            try:
                http_module = importlib.import_module("tests.doubles.starrocks.http")
            except ModuleNotFoundError:
                http_module = None
            if http_module is not None:
                stream_load = http_module.start(engine, host, users={user: password})
        return cls(
            host=host,
            query_port=port,
            http_port=getattr(stream_load, "fe_port", None),
            be_http_port=getattr(stream_load, "be_port", None),
            user=user,
            password=password,
            engine=engine,
            front_end=front_end,
            stream_load=stream_load,
        )

    def env(self) -> dict[str, str]:
        """The settings that point the pipeline (loader and dbt) at this double."""
        env = {
            "DATAWIZ_TARGET": "starrocks",
            "DATAWIZ_STARROCKS_HOST": self.host,
            "DATAWIZ_STARROCKS_QUERY_PORT": str(self.query_port),
            "DATAWIZ_STARROCKS_USER": self.user,
            "DATAWIZ_STARROCKS_PASSWORD": self.password,
        }
        if self.http_port is not None:
            env["DATAWIZ_STARROCKS_HTTP_PORT"] = str(self.http_port)
        return env

    def connect(self, database: str | None = None, **kwargs):
        """A mysql-connector connection to the MySQL port (the driver dbt-starrocks uses)."""
        import mysql.connector

        args = dict(
            host=self.host,
            port=self.query_port,
            user=self.user,
            password=self.password,
            autocommit=True,
        )
        if database:
            args["database"] = database
        args.update(kwargs)
        return mysql.connector.connect(**args)

    def stop(self) -> None:
        if self.stream_load is not None:
            self.stream_load.stop()
        self.front_end.stop()
