"""Where the tests run."""

from __future__ import annotations

import os


def in_ci() -> bool:
    """CI (`.ci/run` exports CI=true; other runners set CI=1 or true): a test that would skip
    elsewhere because a tool is missing (chromium, Azurite) fails instead."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
