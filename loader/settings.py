"""Typed settings, loaded in one place: environment variables prefixed DATAWIZ_ (plus the Azure
SDK's own AZURE_STORAGE_CONNECTION_STRING), with an optional `.env` file below them.

Secrets are fields with repr=False: they never appear in a repr, a log line or an exception.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from loader.errors import TerminalError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


_QUOTED = re.compile(r"""^(['"])(.*?)\1\s*(?:#.*)?$""")


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as python-dotenv and docker compose read them: blank lines and # comments
    ignored; a value in quotes is what the quotes hold (a # inside is kept); an unquoted value
    ends before a # that follows whitespace (`KEY=value  # comment`), so a secret holding ` #`
    must be quoted."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if quoted := _QUOTED.match(value):
            value = quoted.group(2)
        else:
            value = re.split(r"\s#", value, maxsplit=1)[0].strip()
        values[key.strip()] = value
    return values


def _env(dotenv: Path | None = None) -> dict[str, str]:
    """The environment wins over .env (cron sets the environment explicitly). The .env read is
    `dotenv`, else the file DATAWIZ_DOTENV names (cron can point at one), else ./.env."""
    if dotenv is None:
        named = os.environ.get("DATAWIZ_DOTENV")
        if named and (not Path(named).exists() or Path(named).is_dir()):
            # a typo in a cron line must not run on the defaults (an empty warehouse)
            raise TerminalError(f"DATAWIZ_DOTENV names {named}, which is not a file")
        dotenv = Path(named or Path.cwd() / ".env")
    merged = read_dotenv(dotenv)
    merged.update(os.environ)
    return merged


@dataclass(frozen=True)
class Settings:
    # where the extracts are: a local folder or az://<container>/<prefix>
    source: str = "data/landing"
    # duckdb (embedded default) or starrocks
    target: str = "duckdb"
    duckdb_path: str = "data/warehouse.duckdb"

    starrocks_host: str = "127.0.0.1"
    starrocks_query_port: int = 9030
    starrocks_http_port: int = 8030
    starrocks_user: str = "root"
    starrocks_password: str = field(default="", repr=False)
    # extra PROPERTIES for raw tables, e.g. "replication_num=1"
    starrocks_table_properties: str = "replication_num=1"

    azure_storage_connection_string: str = field(default="", repr=False)
    azure_account_url: str = ""
    azure_sas_token: str = field(default="", repr=False)
    # Azure requests: retries (with exponential backoff) before a transient error is given up,
    # and the read timeout of one request in seconds
    azure_max_retries: int = 5
    azure_timeout_seconds: int = 60

    # blob backup (pipeline/backup.py): local mirror folder and how many days of dt= to keep
    backup_dir: str = "data/backup"
    backup_retention_days: int = 30

    # rows per record batch read from a Parquet file (bounds the loader's memory)
    batch_rows: int = 65_536

    # operations (pipeline/): MongoDB for the business constants (R10; unset URI = step
    # skipped), e-mail alerts, OpenTelemetry (standard OTEL_ names), schedule, run history
    mongo_uri: str = field(default="", repr=False)
    mongo_database: str = "datawiz"
    mongo_timeout_seconds: int = 10
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = "datawiz@localhost"
    smtp_tls: str = "starttls"  # starttls | ssl | none
    alert_to: str = ""  # comma-separated addresses; empty = no e-mail
    alert_on: str = "failure"  # failure | warning (failure or warnings) | always | never
    otel_exporter_otlp_endpoint: str = ""
    otel_exporter_otlp_headers: str = field(default="", repr=False)
    evening_at: str = "20:30"
    morning_at: str = "06:30"
    maintain_at: str = "03:00"  # on the 1st of each month
    history_keep_days: int = 400
    # a step that runs longer is stopped and retried (orchestrate.py, pipeline/runner.py)
    load_timeout_seconds: int = 3600
    dbt_timeout_seconds: int = 3600
    backup_timeout_seconds: int = 3600
    constants_timeout_seconds: int = 600
    rollups_timeout_seconds: int = 1800
    maintain_timeout_seconds: int = 4 * 3600
    # StarRocks's timeout for one file's Stream Load (its transaction, begin to commit: the
    # read, the CSV and every chunk); raise it for very large files (the FE caps it at
    # max_stream_load_timeout_second)
    starrocks_load_timeout_seconds: int = 600
    # a run that finds another one holding the lock waits this long for it (then exit 2, alert)
    lock_wait_seconds: int = 3600
    # dbt's threads (the profile reads DATAWIZ_DBT_THREADS, set from here)
    dbt_threads: int = 2

    @classmethod
    def from_env(cls, dotenv: Path | None = None, **overrides) -> Settings:
        env = _env(dotenv)
        values: dict[str, object] = {}
        for f in fields(cls):
            names = [f"DATAWIZ_{f.name.upper()}"]
            if f.name == "azure_storage_connection_string":
                names.append("AZURE_STORAGE_CONNECTION_STRING")
            if f.name.startswith("otel_"):
                names.append(f.name.upper())
            for name in names:
                if env.get(name, "") != "":
                    raw = env[name]
                    if f.type == "int":
                        try:
                            values[f.name] = int(raw)
                        except ValueError:
                            raise TerminalError(f"{name} must be an integer, got {raw!r}") from None
                    else:
                        values[f.name] = raw
                    break
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        if settings.target not in ("duckdb", "starrocks"):
            raise TerminalError(
                f"DATAWIZ_TARGET must be duckdb or starrocks, got {settings.target!r}"
            )
        return settings
