"""Dataset declarations, read from the dbt sources YAML (the one place they are declared)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow as pa
import yaml

SOURCES_YAML = (
    Path(__file__).resolve().parent.parent
    / "dbt_project"
    / "models"
    / "staging"
    / "_landing__sources.yml"
)

LINEAGE_COLUMNS = ("_source_file", "_source_row", "_loaded_at")

_SIMPLE_TYPES = {
    "string": pa.string(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}
_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")


def arrow_type(name: str) -> pa.DataType:
    """Map a declared data_type (domain.md's Arrow logical type names) to a pyarrow type."""
    name = name.strip().lower()
    if name in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[name]
    m = _DECIMAL.fullmatch(name)
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    raise ValueError(f"unknown data_type {name!r} in {SOURCES_YAML.name}")


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str

    @property
    def arrow(self) -> pa.DataType:
        return arrow_type(self.data_type)


@dataclass(frozen=True)
class Dataset:
    name: str
    window: str  # "evening" | "morning"
    kind: str  # "dimension" | "fact"
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    date_column: str | None = None

    @property
    def prefix(self) -> str:
        """Folder of the dataset under the landing root."""
        return self.name

    @property
    def schema(self) -> pa.Schema:
        """Declared columns, as they are read from a file."""
        return pa.schema([(c.name, c.arrow) for c in self.columns])

    @property
    def landed_schema(self) -> pa.Schema:
        """Declared columns plus lineage, as they are landed in raw.<dataset>."""
        return (
            self.schema.append(pa.field("_source_file", pa.string()))
            .append(pa.field("_source_row", pa.int64()))
            .append(pa.field("_loaded_at", pa.timestamp("us", tz="UTC")))
        )


def _parse(doc: dict) -> dict[str, Dataset]:
    out: dict[str, Dataset] = {}
    for source in doc.get("sources", []):
        for table in source.get("tables", []):
            meta = (table.get("config") or {}).get("meta", {}).get("datawiz")
            if not meta:
                continue
            cols = tuple(Column(c["name"], c["data_type"]) for c in table["columns"])
            for c in cols:
                arrow_type(c.data_type)  # fail early on a typo
            out[table["name"]] = Dataset(
                name=table["name"],
                window=meta["window"],
                kind=meta["kind"],
                key=tuple(meta["key"]),
                columns=cols,
                date_column=meta.get("date_column"),
            )
    return out


@cache
def load_datasets(path: Path = SOURCES_YAML) -> dict[str, Dataset]:
    """All declared datasets by name, in declaration order."""
    with open(path) as fh:
        return _parse(yaml.safe_load(fh))


def select(window: str | None = None, names: list[str] | None = None) -> list[Dataset]:
    """Datasets of a window ('evening', 'morning', 'all'/None), optionally restricted by name."""
    datasets = list(load_datasets().values())
    if window and window != "all":
        datasets = [d for d in datasets if d.window == window]
    if names:
        unknown = set(names) - {d.name for d in datasets}
        if unknown:
            raise ValueError(f"unknown dataset(s) for window {window}: {sorted(unknown)}")
        datasets = [d for d in datasets if d.name in names]
    return datasets
