"""preview: what the UI shows before training, read with the same loader as training."""

from __future__ import annotations

import os
from typing import Any

from .errors import DatasetError
from .loader import MAX_ERRORS, read_dataset
from .masks import token_preview
from .stream import STREAMED, stream_summary


def preview(path: str, format: str = "auto", columns: dict[str, str] | None = None, limit: int = 20,
            tokens: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-serialisable summary of ``path``.

    ``ok`` is False when the file itself cannot be read (``error`` says why). Otherwise
    ``format`` (detected or given), ``rows`` read, ``usable`` and ``skipped`` counts, the file's
    ``columns`` (the first row's keys, for the column mapping), the first ``limit`` normalised
    ``records`` and the bad rows' ``errors`` (at most 100; each with row, unit, field, message).
    With ``tokens`` ({"model": path or None, "maxLength": int, "trainOnInputs": bool, "shown": int}),
    ``tokens`` in the result holds the first examples' tokens marked learned or masked and the
    token counts of every usable row (masks.token_preview); a tokenizer problem is in ``error``
    with ``ok`` still True, since the rows themselves were read.
    """
    if tokens is None and os.path.splitext(path)[1].lower() in STREAMED and os.path.isfile(path):
        # No tokens asked (an import's check): one streamed pass, whatever the file's size.
        try:
            return stream_summary(path, format, columns, max(0, limit))
        except DatasetError as error:
            return {"ok": False, "path": path, "error": error.to_json()}
    try:
        loaded = read_dataset(path, format, columns, bad_rows="skip")
    except DatasetError as error:
        return {"ok": False, "path": path, "error": error.to_json()}
    token_part: dict[str, Any] | None = None
    token_error = None
    if tokens is not None:
        try:
            token_part = token_preview(loaded.records, tokens.get("model"), int(tokens.get("maxLength", 2048)),
                                       bool(tokens.get("trainOnInputs")), int(tokens.get("shown", 3)))
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
