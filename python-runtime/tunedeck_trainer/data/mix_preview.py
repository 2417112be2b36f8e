"""The preview of a mix of datasets: each read in its own format (as whole_file_preview reads one),
their records drawn and interleaved as the trainer does (mixing.mix_rows), and the mix tokenised, so
the form's counts and steps are those of the job."""

from __future__ import annotations

from typing import Any

from .errors import DatasetError
from .loader import read_dataset
from .masks import token_preview
from .mixing import mix_rows
from .preview import whole_file_preview


def mix_preview(
    path: str,
    format: str,
    columns: dict[str, str] | None,
    text_split: str,
    weight: float,
    mix: list[dict[str, Any]],
    seed: int,
    limit: int,
    tokens: dict[str, Any] | None,
    csv_header: str = "auto",
) -> dict[str, Any]:
    """whole_file_preview of ``path`` (its rows, columns and errors), with ``records`` and ``tokens`` of the
    mix and ``mix``: each dataset's format, usable rows, weight and rows taken; one that cannot be read
    gives no rows and carries its ``error``."""
    result = whole_file_preview(path, format, columns, 0, None, text_split, csv_header)
    if not result["ok"]:
        return result
    parts = [
        {"path": path, "format": format, "columns": columns or {}, "textSplit": text_split, "csvHeader": csv_header, "weight": weight},
        *mix,
    ]
    records: list[list[dict[str, Any]]] = []
    shown: list[dict[str, Any]] = []
    for part in parts:
        entry = {"path": part["path"], "format": None, "rows": 0, "weight": float(part.get("weight", 1)), "taken": 0, "error": None}
        try:
            loaded = read_dataset(
                part["path"],
                part.get("format", "auto"),
                part.get("columns") or {},
                bad_rows="skip",
                text_split=part.get("textSplit", "auto"),
                csv_header=part.get("csvHeader", "auto"),
            )
            entry.update(format=loaded.format, rows=len(loaded.records))
            records.append(loaded.records)
        except DatasetError as error:
            entry["error"] = str(error)
            records.append([])
        shown.append(entry)
    mixed, counts = mix_rows(records, [entry["weight"] for entry in shown], seed)
    for entry, count in zip(shown, counts, strict=True):
        entry["taken"] = count
    result.update(mix=shown, records=mixed[: max(0, limit)])
    if tokens is not None:
        try:
            result["tokens"] = token_preview(
                mixed,
                tokens.get("model"),
                int(tokens.get("maxLength", 2048)),
                bool(tokens.get("trainOnInputs")),
                int(tokens.get("shown", 3)),
            )
        except DatasetError as error:
            result["tokenError"] = str(error)
    return result
