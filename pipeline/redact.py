"""Keep secrets out of logs, run history, alert e-mails and traces.

Every Settings field declared with repr=False is a secret. `redact` replaces their values (and
the password part of any URL, e.g. a MongoDB URI) in free text such as an exception message.
"""

from __future__ import annotations

import logging
import re
from dataclasses import fields
from urllib.parse import unquote, urlsplit

from loader.settings import Settings

MASK = "***"
# scheme://user:password@host -> scheme://user:***@host (any URL, known secret or not)
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@")
# Azure SAS signatures and similar query-string credentials
_QUERY_SECRET = re.compile(r"((?:sig|password|pwd|token|AccountKey)=)[^&;\s]+", re.IGNORECASE)
# shorter values would blank out ordinary words; nobody uses such a password in production
MIN_SECRET_LENGTH = 4


def secret_values(settings: Settings) -> list[str]:
    values: list[str] = []
    for f in fields(settings):
        if f.repr:
            continue
        value = str(getattr(settings, f.name) or "")
        if not value:
            continue
        values.append(value)
        if "://" in value:  # a URI: its password alone may appear, raw or percent-decoded
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                values += [password, unquote(password)]
    # longest first, so a secret that contains another is masked whole
    return sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def redact(text: object, settings: Settings | None = None) -> str:
    out = str(text)
    if settings is not None:
        for value in secret_values(settings):
            out = out.replace(value, MASK)
    out = _URL_PASSWORD.sub(rf"\1{MASK}@", out)
    return _QUERY_SECRET.sub(rf"\1{MASK}", out)


class RedactingFormatter(logging.Formatter):
    """A log formatter that masks secrets in the whole record, traceback included."""

    def __init__(self, fmt: str | None = None, settings: Settings | None = None):
        super().__init__(fmt)
        self.settings = settings

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.settings)


def install_log_redaction(settings: Settings | None) -> None:
    """Put a RedactingFormatter on every handler of the root logger."""
    for handler in logging.getLogger().handlers:
        fmt = handler.formatter._fmt if handler.formatter else None
        handler.setFormatter(RedactingFormatter(fmt, settings))
