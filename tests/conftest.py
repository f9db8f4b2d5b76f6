"""Shared pytest fixtures. Service fixtures live in tests/fixtures/ (one module per service)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Tests never read the developer's own .env (Settings.from_env reads the file DATAWIZ_DOTENV
# names; a test of .env passes its own) or write to the default warehouse.
os.environ["DATAWIZ_DOTENV"] = os.devnull
os.environ.setdefault("DATAWIZ_DUCKDB_PATH", "/nonexistent/set-by-the-test.duckdb")

pytest_plugins = [
    module
    for module in (
        "tests.fixtures.sample",
        "tests.fixtures.azurite",
        "tests.fixtures.starrocks",
        "tests.fixtures.mongo",
        "tests.fixtures.smtp",
    )
    if (ROOT / (module.replace(".", "/") + ".py")).exists()
]
