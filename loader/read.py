"""Reading one Parquet file as record batches in the declared shape, with lineage columns.

Memory stays bounded: batches are read one at a time (`batch_rows` rows each), whatever the
file's size. A file that cannot be brought into the declared shape is a BadFileError naming the
file and the reason; nothing of it is landed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from loader.datasets import Dataset
from loader.errors import BadFileError
from loader.sources import SourceFile


class FileReader:
    """Opens a file, checks its schema against the declaration, then yields landed batches."""

    def __init__(self, dataset: Dataset, file: SourceFile, stream: BinaryIO, batch_rows: int):
        self.dataset = dataset
        self.file = file
        self.batch_rows = batch_rows
        try:
            self.parquet = pq.ParquetFile(stream)
        except (pa.ArrowException, OSError) as exc:
            if _stream_error(exc):
                raise
            raise BadFileError(file.path, f"not a readable Parquet file ({exc})") from exc
        self.rows_expected = self.parquet.metadata.num_rows
        file_schema = self.parquet.schema_arrow
        declared = {c.name for c in dataset.columns}
        twice = sorted({n for n in file_schema.names if file_schema.names.count(n) > 1} & declared)
        if twice:
            raise BadFileError(file.path, f"column(s) {', '.join(twice)} appear more than once")
        missing = [c.name for c in dataset.columns if c.name not in file_schema.names]
        if missing:
            raise BadFileError(file.path, f"missing declared column(s) {', '.join(missing)}")
        self.extra_columns = [n for n in file_schema.names if n not in dataset.schema.names]
        # every declared column already has its declared type: nothing to cast
        self.exact_types = all(file_schema.field(c.name).type == c.arrow for c in dataset.columns)
        for col in dataset.columns:
            have = file_schema.field(col.name).type
            if have != col.arrow and not _castable(have, col.arrow):
                raise BadFileError(
                    file.path, f"column {col.name} is {have}, cannot be read as {col.data_type}"
                )
        self.rows_read = 0
        self.failure: BaseException | None = None

    def batches(self, loaded_at: datetime) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._batches(loaded_at)
        except GeneratorExit:
            raise  # the stream closed early: no failure of the file
        except BaseException as exc:
            # the engine consuming the stream wraps this in its own error (or hides it behind an
            # aborted transaction): keep the real cause for the caller (a step's timeout too)
            self.failure = exc
            raise

    def _batches(self, loaded_at: datetime) -> Iterator[pa.RecordBatch]:
        schema = self.dataset.landed_schema
        names = self.dataset.schema.names
        source_file = pa.scalar(self.file.path, pa.string())
        loaded = pa.scalar(loaded_at, pa.timestamp("us", tz="UTC"))
        try:
            for batch in self.parquet.iter_batches(batch_size=self.batch_rows, columns=names):
                n = batch.num_rows
                arrays = []
                for name, target in zip(names, self.dataset.schema.types, strict=True):
                    arr = batch.column(name)
                    if arr.type != target:
                        try:
                            arr = pc.cast(arr, target, safe=True)
                        except pa.ArrowInvalid as exc:
                            raise BadFileError(self.file.path, f"column {name}: {exc}") from exc
                    arrays.append(arr)
                arrays.append(pa.repeat(source_file, n))
                arrays.append(pa.arange(self.rows_read, self.rows_read + n))
                arrays.append(pa.repeat(loaded, n))
                self.rows_read += n
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        except (OSError, pa.ArrowException) as exc:
            if _stream_error(exc):
                raise
            if isinstance(exc, pa.ArrowInvalid) and "cannot" not in str(exc).lower():
                raise BadFileError(self.file.path, f"corrupt data ({exc})") from exc
            raise BadFileError(self.file.path, f"read failed ({exc})") from exc
        if self.rows_read != self.rows_expected:
            raise BadFileError(
                self.file.path,
                f"read {self.rows_read} rows but the footer says {self.rows_expected}",
            )

    def reader(self, loaded_at: datetime) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(
            self.dataset.landed_schema, self.batches(loaded_at)
        )


def _stream_error(exc: BaseException) -> bool:
    """An I/O error of the stream itself (a disk's EIO, a reset connection), which pyarrow passes
    through unchanged, or memory running out (pyarrow's ArrowMemoryError is an ArrowException
    too), as opposed to Arrow's own verdict on the bytes (a plain OSError without errno, or
    another ArrowException). The first says nothing about the file: it is retried by the next
    run, never quarantined."""
    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, pa.ArrowException) or not isinstance(exc, OSError):
        return False
    return type(exc) is not OSError or exc.errno is not None


def _castable(have: pa.DataType, want: pa.DataType) -> bool:
    """Widening or representation changes we accept (e.g. int32 from int16, ns timestamps)."""
    if pa.types.is_null(have):
        return True
    if pa.types.is_integer(want):
        return pa.types.is_integer(have)
    if pa.types.is_floating(want):
        return pa.types.is_integer(have) or pa.types.is_floating(have) or pa.types.is_decimal(have)
    if pa.types.is_decimal(want):
        return pa.types.is_decimal(have) or pa.types.is_integer(have)
    if pa.types.is_timestamp(want):
        return pa.types.is_timestamp(have)
    if pa.types.is_date(want):
        return pa.types.is_date(have)
    if pa.types.is_string(want):
        return (
            pa.types.is_string(have)
            or pa.types.is_large_string(have)
            or (pa.types.is_dictionary(have) and _castable(have.value_type, want))
        )
    if pa.types.is_boolean(want):
        return pa.types.is_boolean(have)
    return False
