"""A JSON Lines file checked in one streamed pass with bounded memory: what an import of a
multi-gigabyte file needs. The result has the preview's shape (preview.py) and the same rows,
formats and errors as the whole-file loader, but holds only one line, the first ``limit``
records and the first MAX_ERRORS errors at a time.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from .errors import DatasetError
from .formats import TAGS, sharegpt
from .judged import NORMALISERS
from .loader import DETECT_ROWS, MAX_ERRORS, _check_columns, _choose_format, _first_columns, _normalise, _rename
from .readers import RawTable

STREAMED = (".jsonl", ".ndjson")
PROGRESS_SECONDS = 0.25


def _lines(path: str) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as handle:
        yield from enumerate(handle, start=1)


def _parse(path: str, number: int, line: bytes) -> Any | None:
    """The line's value, a DatasetError for a broken line, or None for a blank one."""
    try:
        text = line.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"not UTF-8 text (line {number}, byte {error.start} of the line)", path, hint="Save the file as UTF-8."
        ) from error
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        return DatasetError(f"not valid JSON ({error.msg} at column {error.colno})", path, number, unit="line")


def _first_rows_format(path: str, format: str, mapping: dict[str, str]) -> tuple[str, RawTable]:
    """(the format, the first rows): the format detected from the first DETECT_ROWS rows, or ``format``."""
    first: list[tuple[int, Any]] = []
    for number, line in _lines(path):
        value = _parse(path, number, line)
        if value is not None:
            first.append((number, value))
        if len(first) >= DETECT_ROWS:
            break
    if not first:
        raise DatasetError("the file has no rows", path, hint="Add rows or choose another file.")
    sample = RawTable(first, "line", "jsonl")
    objects = [_rename(value, mapping) for _, value in first if isinstance(value, dict)]
    return _choose_format(path, sample, objects, format), sample


def detect_streamed(path: str, format: str = "auto", columns: dict[str, str] | None = None) -> dict[str, Any]:
    """The preview's fields with only the format and columns, from the first rows of a JSON Lines file
    (what jobs.create needs to check the method, without reading a file of any size whole)."""
    if os.path.getsize(path) == 0:
        raise DatasetError("the file is empty (0 bytes)", path, hint="Choose a file with rows, or add rows to it.")
    mapping = {ours: theirs for ours, theirs in _check_columns(path, columns or {}).items() if ours not in TAGS}
    chosen, sample = _first_rows_format(path, format, mapping)
    return {
        "ok": True,
        "path": path,
        "format": chosen,
        "rows": 0,
        "usable": 0,
        "skipped": 0,
        "columns": _first_columns(sample),
        "records": [],
        "errors": [],
        "notes": [],
        "tokens": None,
        "tokenError": None,
    }


def stream_summary(
    path: str,
    format: str = "auto",
    columns: dict[str, str] | None = None,
    limit: int = 20,
    progress: Callable[[int, int], None] | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Reads a .jsonl file line by line; returns the preview's fields (``ok`` True) or raises DatasetError.

    ``on_record`` sees every usable record in order (the token counts); ``progress(bytes read,
    file size)`` is called about every quarter of a second and once at the end.
    """
    if os.path.getsize(path) == 0:
        raise DatasetError("the file is empty (0 bytes)", path, hint="Choose a file with rows, or add rows to it.")
    total = os.path.getsize(path)
    mapping = _check_columns(path, columns or {})
    tags = {name: mapping.pop(name) for name in TAGS if name in mapping}
    chosen, sample = _first_rows_format(path, format, mapping)
    normalise = NORMALISERS[chosen]
    if chosen == "sharegpt" and tags:
        normalise = functools.partial(sharegpt, tags=tags)
    table = RawTable([], "line", "jsonl")
    records: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    rows = usable = skipped = done = 0
    next_report = time.monotonic() + PROGRESS_SECONDS
    for number, line in _lines(path):
        done += len(line)
        # Every line counts towards progress, bad and blank ones too (a file of bad rows still moves the bar).
        if progress and number % 64 == 0 and time.monotonic() >= next_report:
            progress(done, total)
            next_report = time.monotonic() + PROGRESS_SECONDS
        value = _parse(path, number, line)
        if value is None:
            continue
        rows += 1
        try:
            record = _normalise(path, table, number, value, mapping, normalise)
        except DatasetError as error:
            skipped += 1
            if len(errors) < MAX_ERRORS:
                errors.append(error.to_json())
            continue
        usable += 1
        if len(records) < limit:
            records.append(record)
        if on_record is not None:
            on_record(record)
    if progress:
        progress(total, total)
    return {
        "ok": True,
        "path": path,
        "format": chosen,
        "rows": rows,
        "usable": usable,
        "skipped": skipped,
        "columns": _first_columns(sample),
        "records": records,
        "errors": errors,
        "notes": [],
        "tokens": None,
        "tokenError": None,
    }
