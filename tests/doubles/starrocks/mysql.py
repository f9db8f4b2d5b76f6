"""StarRocks TEST DOUBLE: the FE's MySQL port (``query_port``, 9030 on a real FE), over ``engine``.

Built on ``mysql-mimic`` (the wire protocol) with our own session instead of mysql-mimic's
MySQL emulation: every statement goes to ``engine.Engine`` (StarRocks SQL through sqlglot onto
DuckDB). What this layer adds:

* one user with a password, checked with ``mysql_native_password`` (as StarRocks does): a wrong
  user or password fails the handshake with 1045 "Access denied"; an empty configured password
  accepts an empty one, like a fresh StarRocks ``root``;
* the database of the handshake (``default_catalog.marts`` as dbt-starrocks sends it, or
  ``marts``) must exist, else the handshake fails, as on StarRocks (the code is 1045, not 1049:
  mysql-mimic only lets authentication fail with 1045; the message names the database);
* session state: ``USE``, ``SET [SESSION|GLOBAL] var = value`` (any name, stored per session and
  shown by ``SHOW VARIABLES`` and ``select @@var``), ``current_user()``, ``database()``,
  ``connection_id()``.

Limits: no TLS, no prepared statements through the engine (COM_STMT_* are mysql-mimic's and
unused by dbt-starrocks or the loader), no affected-row counts in OK packets, no
``KILL``, one user only, no privileges (see engine.py for everything the SQL side does not do).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from typing import Any

from mysql_mimic import (
    ColumnType,
    IdentityProvider,
    MysqlServer,
    NativePasswordAuthPlugin,
    ResultColumn,
    ResultSet,
    User,
)
from mysql_mimic import context as mimic_context
from mysql_mimic.auth import AuthInfo, Forbidden, Success
from mysql_mimic.control import LocalControl
from mysql_mimic.errors import MysqlError
from mysql_mimic.session import BaseSession
from mysql_mimic.variables import SYSTEM_VARIABLES, GlobalVariables, SessionVariables
from sqlglot import exp

from tests.doubles.starrocks.engine import (
    DEFAULT_VARIABLES,
    ER_BAD_DB_ERROR,
    MYSQL_VERSION,
    Engine,
    StarRocksError,
)

log = logging.getLogger(__name__)

_SR_TO_MYSQL = {
    "boolean": ColumnType.TINY,
    "tinyint": ColumnType.TINY,
    "smallint": ColumnType.SHORT,
    "int": ColumnType.LONG,
    "bigint": ColumnType.LONGLONG,
    "largeint": ColumnType.NEWDECIMAL,
    "float": ColumnType.FLOAT,
    "double": ColumnType.DOUBLE,
    "decimal": ColumnType.NEWDECIMAL,
    "date": ColumnType.DATE,
    "datetime": ColumnType.DATETIME,
    "json": ColumnType.JSON,
    "varbinary": ColumnType.BLOB,
}


def _mysql_type(sr_type: str) -> ColumnType:
    return _SR_TO_MYSQL.get(sr_type.split("(")[0].split("<")[0], ColumnType.VAR_STRING)


def _text(value: Any) -> Any:
    """Values the text protocol encodes with ``str()``: keep StarRocks' spelling for a few."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | dict | tuple):
        import json

        return json.dumps(value, default=str)
    return value


class _Control(LocalControl):
    def get(self, connection_id: int):
        return self._connections.get(connection_id)


class _PasswordAndDatabase(NativePasswordAuthPlugin):
    """mysql_native_password, then the handshake's database must exist (as on StarRocks)."""

    def __init__(self, front_end: FrontEnd):
        self.front_end = front_end

    async def auth(self, auth_info: AuthInfo | None = None):
        inner = super().auth(auth_info)
        decision = await inner.__anext__()
        while True:
            if isinstance(decision, Success):
                problem = self.front_end.check_handshake_database()
                yield Forbidden(problem) if problem else decision
                return
            if isinstance(decision, Forbidden):
                name = auth_info.username if auth_info else "?"
                yield Forbidden(f"Access denied for user '{name}' (using password: YES)")
                return
            auth_info = yield decision
            decision = await inner.asend(auth_info)


class _Identity(IdentityProvider):
    def __init__(self, front_end: FrontEnd, user: str, password: str):
        self.plugin = _PasswordAndDatabase(front_end)
        self.user = user
        self.auth_string = (
            NativePasswordAuthPlugin.create_auth_string(password) if password else None
        )

    def get_plugins(self):
        return [self.plugin]

    async def get_user(self, username: str) -> User | None:
        if username == self.user:
            return User(name=username, auth_string=self.auth_string, auth_plugin=self.plugin.name)
        # An unknown user fails like a wrong password (no hint that the user does not exist).
        impossible = hashlib.sha1(b"no such user").hexdigest()
        return User(name=username, auth_string=impossible, auth_plugin=self.plugin.name)


class StarRocksSession(BaseSession):
    """One client connection: current database, session variables, statements to the engine."""

    def __init__(self, front_end: FrontEnd):
        schema = dict(SYSTEM_VARIABLES)
        schema["version"] = (str, MYSQL_VERSION, False)
        schema["version_comment"] = (str, DEFAULT_VARIABLES["version_comment"], False)
        self.variables = SessionVariables(GlobalVariables(schema))
        self.front_end = front_end
        self.engine = front_end.engine
        self.username: str | None = None
        self.database: str | None = None
        self.session_vars: dict[str, str] = {}
        self.connection_id = 0

    async def init(self, connection) -> None:
        self.connection_id = connection.connection_id
        self.database = _strip_catalog(self.database)

    async def use(self, database: str) -> None:  # COM_INIT_DB
        await asyncio.to_thread(self._run_sql, f"use `{database}`")

    async def handle_query(self, sql: str, attrs: dict[str, str]):
        return await asyncio.to_thread(self._run_sql, sql)

    # -- synchronous part, off the event loop
    def _run_sql(self, sql: str):
        try:
            result = None
            for statement in self.engine.parse(sql):
                result = self._run_statement(statement)
            return result
        except StarRocksError as e:
            raise MysqlError(e.message, code=e.code) from None  # type: ignore[arg-type]

    def _run_statement(self, statement: exp.Expression):
        if isinstance(statement, exp.Use):
            self.engine.run(statement, self.database)
            name = statement.this.name
            if isinstance(statement.this, exp.Table) and statement.this.db:
                name = statement.this.name  # default_catalog.db: the db part
            self.database = _strip_catalog(name)
            return None
        if isinstance(statement, exp.Set):
            self._set(statement)
            return None
        if isinstance(statement, exp.Show) and statement.name.upper() == "VARIABLES":
            return self._show_variables(statement)
        statement = self._substitute_session_values(statement)
        result = self.engine.run(statement, self.database)
        if not result.columns:
            return None
        columns = [
            ResultColumn(name=name, type=_mysql_type(sr_type))
            for name, sr_type in zip(result.columns, result.types, strict=True)
        ]
        rows = [tuple(_text(v) for v in row) for row in result.rows]
        return ResultSet(rows=rows, columns=columns)

    def _set(self, statement: exp.Set) -> None:
        for item in statement.expressions:
            assignment = item.this
            if not isinstance(assignment, exp.EQ):
                continue  # SET NAMES utf8mb4, SET CHARACTER SET ...: utf8 only here
            left, right = assignment.left, assignment.right
            name = left.name.lower()
            if isinstance(right, exp.Literal | exp.Boolean):
                value = right.name if isinstance(right, exp.Literal) else str(right.this).lower()
            else:
                value = right.sql(dialect="starrocks")
            self.session_vars[name] = value

    def _variables(self) -> dict[str, str]:
        values = dict(DEFAULT_VARIABLES)
        values.update(self.session_vars)
        return values

    def _show_variables(self, statement: exp.Show) -> ResultSet:
        like = statement.args.get("like")
        pattern = like.name if like is not None else None
        rows = [
            (k, v) for k, v in sorted(self._variables().items()) if self.engine._matches(k, pattern)
        ]
        return ResultSet(
            rows=rows,
            columns=[
                ResultColumn("Variable_name", ColumnType.VAR_STRING),
                ResultColumn("Value", ColumnType.VAR_STRING),
            ],
        )

    def _substitute_session_values(self, statement: exp.Expression) -> exp.Expression:
        """@@variables, current_user(), database(), connection_id() become literals."""
        variables = self._variables()
        user = f"'{self.username}'@'%'"

        def replace(node: exp.Expression):
            if isinstance(node, exp.SessionParameter):
                name = node.name.lower()
                if name not in variables:
                    raise StarRocksError(f"Unknown system variable '{name}'", 1193)
                return exp.Literal.string(variables[name])
            if isinstance(node, exp.CurrentUser):
                return exp.Literal.string(user)
            if isinstance(node, exp.CurrentSchema):
                return exp.Literal.string(self.database) if self.database else exp.null()
            if isinstance(node, exp.Anonymous):
                fname = node.name.lower()
                if fname in ("user", "session_user", "system_user"):
                    return exp.Literal.string(user)
                if fname in ("database", "schema"):
                    return exp.Literal.string(self.database) if self.database else exp.null()
                if fname == "connection_id":
                    return exp.Literal.number(self.connection_id)
            return node

        return statement.transform(replace, copy=False)


def _strip_catalog(database: str | None) -> str | None:
    if database and "." in database:
        catalog, name = database.split(".", 1)
        if catalog.lower() == "default_catalog":
            return name
    return database or None


class FrontEnd:
    """The MySQL port of the double, served from a background thread.

    ``FrontEnd(engine, user, password).start(host, port)`` returns the bound port (0 picks a
    free one); ``stop()`` closes it.
    """

    def __init__(self, engine: Engine, user: str = "root", password: str = ""):
        self.engine = engine
        self.user = user
        self.password = password
        self.control = _Control()
        self.host: str | None = None
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: MysqlServer | None = None

    def check_handshake_database(self) -> str | None:
        """Called during authentication: the problem with the requested database, if any."""
        try:
            connection = self.control.get(mimic_context.connection_id.get())
        except LookupError:
            return None
        database = _strip_catalog(connection.session.database) if connection else None
        if database and "." in database:
            return f"Unknown catalog '{database.split('.')[0]}'"
        if (
            database
            and database.lower() != "information_schema"
            and not self.engine.database_exists(database)
        ):
            return f"Unknown database '{database}' (error {ER_BAD_DB_ERROR})"
        return None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        # mysql-mimic logs every error it returns to a client; the client sees them anyway
        logging.getLogger("mysql_mimic").setLevel(logging.CRITICAL)
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve():
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._server = MysqlServer(
                session_factory=lambda: StarRocksSession(self),
                identity_provider=_Identity(self, self.user, self.password),
                control=self.control,
            )
            try:
                loop.run_until_complete(self._server.start_server(host=host, port=port))
            except BaseException as e:  # surfaced to start()
                errors.append(e)
                ready.set()
                return
            self.port = self._server.sockets()[0].getsockname()[1]
            self.host = host
            ready.set()
            try:
                loop.run_forever()
            finally:
                self._server.close()
                loop.run_until_complete(self._server.wait_closed())
                loop.close()

        self._thread = threading.Thread(target=serve, name="starrocks-double-mysql", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        if self.port is None:
            raise RuntimeError("the MySQL port of the StarRocks double did not start")
        return self.port

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = self._thread = None
