"""Engines a step's timeout must interrupt. A DuckDB query runs in C and does not stop for the
exception the timeout's alarm raises; `interrupt()` on its connection stops it (the query then
fails with "Query interrupted" and the connection stays usable). Whoever opens a DuckDB
connection for a step registers it while it is open; the alarm (pipeline/runner.py) interrupts
every registered one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Interruptible(Protocol):
    def interrupt(self) -> None: ...


_open: dict[int, Interruptible] = {}


def register(engine: Interruptible) -> None:
    _open[id(engine)] = engine


def unregister(engine: Interruptible) -> None:
    _open.pop(id(engine), None)


@contextmanager
def registered(engine: Interruptible) -> Iterator[None]:
    register(engine)
    try:
        yield
    finally:
        unregister(engine)


def interrupt_all() -> None:
    """Interrupt what every registered engine is running (nothing, if idle)."""
    for engine in list(_open.values()):
        # a connection closed meanwhile has nothing to interrupt
        with contextlib.suppress(Exception):
            engine.interrupt()
