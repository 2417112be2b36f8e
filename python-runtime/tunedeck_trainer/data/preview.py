"""preview: what the UI shows before training, read with the same loader as training."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from .errors import DatasetError, FormatUnknown
from .loader import MAX_ERRORS, read_dataset
from .masks import TokenStats, load_preview_tokenizer, token_preview
from .stream import STREAMED, detect_streamed, stream_summary
from .suggest import suggest_reading

SAMPLE_CHARACTERS = 300  # of each value an unknown format's sample shows


def _failed(path: str, error: DatasetError) -> dict[str, Any]:
    """The preview of a file that cannot be read. When it reads but its format is unknown, it also
    says so (``needsReading``) with the file's columns, its first rows (values cut short) and a
    suggested format and column mapping, for the reading editor."""
    failed: dict[str, Any] = {"ok": False, "path": path, "error": error.to_json()}
    if isinstance(error, FormatUnknown):
        sample = [{str(key): _cut(value) for key, value in row.items()} for row in error.sample]
        failed.update(needsReading=True, columns=error.columns, sample=sample, suggestion=suggest_reading(error.columns, error.sample))
    return failed


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > SAMPLE_CHARACTERS:
        return value[:SAMPLE_CHARACTERS] + "…"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
        return value if len(text) <= SAMPLE_CHARACTERS else text[:SAMPLE_CHARACTERS] + "…"
    return value


def preview(
    path: str,
    format: str = "auto",
    columns: dict[str, str] | None = None,
    limit: int = 20,
    tokens: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    text_split: str = "auto",
    detect_only: bool = False,
    csv_header: str = "auto",
) -> dict[str, Any]:
    """A JSON-serialisable summary of ``path``.

    ``ok`` is False when the file itself cannot be read (``error`` says why). Otherwise
    ``format`` (detected or given), ``rows`` read, ``usable`` and ``skipped`` counts, the file's
    ``columns`` (the first row's keys, for the column mapping), the first ``limit`` normalised
    ``records`` and the bad rows' ``errors`` (at most 100; each with row, unit, field, message).
    With ``tokens`` ({"model": path or None, "maxLength": int, "trainOnInputs": bool, "shown": int}),
    ``tokens`` in the result holds the first examples' tokens marked learned or masked and the
    token counts of every usable row (masks.token_preview); a tokenizer problem is in ``tokenError``
    with ``ok`` still True, since the rows themselves were read. A JSON Lines file is read in one
    streamed pass with bounded memory, reporting ``progress(bytes read, file size)``; a .txt file is
    split into documents by ``text_split`` (readers.TEXT_SPLITS), a CSV file's first row read as
    ``csv_header`` says (csv_header.CSV_HEADERS). A file whose format is unknown comes back with
    ``needsReading`` and a suggested reading (_failed). ``detect_only``: the format and
    columns only (a JSON Lines file's first rows), no counts or records.
    """
    if detect_only and os.path.splitext(path)[1].lower() in STREAMED and os.path.isfile(path):
        try:
            return detect_streamed(path, format, columns)
        except DatasetError as error:
            return _failed(path, error)
    if detect_only:
        limit, tokens = 0, None
    if os.path.splitext(path)[1].lower() in STREAMED and os.path.isfile(path):
        # One streamed pass, whatever the file's size: rows checked and tokens counted line by line.
        return _streamed(path, format, columns, max(0, limit), tokens, progress)
    return whole_file_preview(path, format, columns, limit, tokens, text_split, csv_header)


def whole_file_preview(
    path: str,
    format: str = "auto",
    columns: dict[str, str] | None = None,
    limit: int = 20,
    tokens: dict[str, Any] | None = None,
    text_split: str = "auto",
    csv_header: str = "auto",
) -> dict[str, Any]:
    """preview() of a file read whole by the loader (.json, .csv, .parquet, .txt, a save_to_disk folder)."""
    try:
        loaded = read_dataset(path, format, columns, bad_rows="skip", text_split=text_split, csv_header=csv_header)
    except DatasetError as error:
        return _failed(path, error)
    token_part: dict[str, Any] | None = None
    token_error = None
    if tokens is not None:
        try:
            token_part = token_preview(
                loaded.records,
                tokens.get("model"),
                int(tokens.get("maxLength", 2048)),
                bool(tokens.get("trainOnInputs")),
                int(tokens.get("shown", 3)),
            )
        except DatasetError as error:
            token_error = str(error)
    return {
        "ok": True,
        "tokens": token_part,
        "tokenError": token_error,
        "path": path,
        "format": loaded.format,
        "rows": loaded.rows,
        "usable": len(loaded.records),
        "skipped": loaded.skipped,
        "columns": loaded.columns,
        "records": loaded.records[: max(0, limit)],
        "errors": [error.to_json() for error in loaded.errors[:MAX_ERRORS]],
        "notes": loaded.notes,
    }


def _streamed(
    path: str,
    format: str,
    columns: dict[str, str] | None,
    limit: int,
    tokens: dict[str, Any] | None,
    progress: Callable[[int, int], None] | None,
) -> dict[str, Any]:
    """preview() of a JSON Lines file: its rows and, when asked, its token counts in the same pass."""
    stats: TokenStats | None = None
    token_error = None
    if tokens is not None:
        try:
            tokenizer, source = load_preview_tokenizer(tokens.get("model"))
            stats = TokenStats(
                tokenizer, source, int(tokens.get("maxLength", 2048)), bool(tokens.get("trainOnInputs")), int(tokens.get("shown", 3))
            )
        except DatasetError as error:
            token_error = str(error)
    failed: list[DatasetError] = []

    def count(record: dict[str, Any]) -> None:
        # The first record the template refuses ends the counting, as it would end training; the rows go on.
        if stats is not None and not failed:
            try:
                stats.add(record)
            except DatasetError as error:
                failed.append(error)

    try:
        summary = stream_summary(path, format, columns, limit, progress, count)
    except DatasetError as error:
        return _failed(path, error)
    if stats is not None and not failed:
        try:
            summary["tokens"] = stats.result()
        except DatasetError as error:
            failed.append(error)
    if failed:
        token_error = str(failed[0])
    summary["tokenError"] = token_error
    return summary
