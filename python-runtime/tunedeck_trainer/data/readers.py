"""File readers: turn a dataset file into numbered raw rows, whatever its type.

Each reader returns a :class:`RawTable`; a row that could not even be parsed (a broken JSONL
line) is kept in place as a :class:`DatasetError` so that "fail" stops at the first bad row in
file order and "skip" counts it. Problems with the whole file raise DatasetError right away.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from .csv_header import CSV_HEADERS, data_column_names, first_row_is_data
from .errors import DatasetError

SUPPORTED = ".json, .jsonl, .csv, .parquet, .txt, or a folder written by datasets' save_to_disk"
_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n")


@dataclass
class RawTable:
    """The rows of one file, each as (row or line number, parsed value or DatasetError)."""

    rows: list[tuple[int, Any]]
    unit: str  # "row" or "line": what the numbers count
    kind: str  # json, jsonl, csv, parquet, arrow, txt
    notes: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)  # a CSV file's column names, in order


TEXT_SPLITS = ("auto", "line", "paragraph", "file")


def read_table(path: str, text_split: str = "auto", csv_header: str = "auto") -> RawTable:
    """Reads ``path`` by its type; raises DatasetError naming the file when it cannot.

    ``text_split`` says where a .txt file's documents end (TEXT_SPLITS; see _read_txt);
    ``csv_header`` whether a CSV file's first row names its columns (CSV_HEADERS; see csv_header.py).
    """
    if not os.path.exists(path):
        raise DatasetError("no such file", path, hint="Choose an existing dataset file.")
    if os.path.isdir(path):
        return _read_saved_dataset(path)
    if os.path.getsize(path) == 0:
        raise DatasetError("the file is empty (0 bytes)", path, hint="Choose a file with rows, or add rows to it.")
    extension = os.path.splitext(path)[1].lower()
    if extension == ".json":
        return _read_json(path)
    if extension in (".jsonl", ".ndjson"):
        return RawTable(_jsonl_rows(path, _read_text(path)), "line", "jsonl")
    if extension == ".csv":
        return _read_csv(path, csv_header)
    if extension == ".parquet":
        return _read_parquet(path)
    if extension == ".txt":
        return _read_txt(path, text_split)
    shown = extension or "(no extension)"
    raise DatasetError(f"unsupported file type {shown}", path, hint=f"Use {SUPPORTED}.")


def _read_text(path: str) -> str:
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DatasetError(f"not UTF-8 text (line {line}, byte {error.start})", path, hint="Save the file as UTF-8.") from error


def _read_json(path: str) -> RawTable:
    text = _read_text(path)
    if not text.strip():
        raise DatasetError("the file is empty (only blank space)", path, hint="Choose a file with rows, or add rows to it.")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":
            # Many "JSON" datasets are really JSON Lines; read them line by line instead.
            return RawTable(_jsonl_rows(path, text), "line", "jsonl", ["read as JSON Lines (one object per line)"])
        raise DatasetError(
            f"not valid JSON at column {error.colno} ({error.msg})",
            path,
            error.lineno,
            unit="line",
            hint="Fix the file: a .json dataset is one array of rows (or use .jsonl, one row per line).",
        ) from error
    if isinstance(data, dict):
        lists = [key for key, value in data.items() if isinstance(value, list)]
        if len(lists) != 1:
            found = ", ".join(lists) if lists else "none"
            raise DatasetError(
                f"the top-level object must hold exactly one list of rows (lists found: {found})",
                path,
                hint='Make the file an array of rows, or an object with one list such as {"data": [...]}.',
            )
        data = data[lists[0]]
    if not isinstance(data, list):
        raise DatasetError(
            f"expected an array of rows at the top level, got {type(data).__name__}",
            path,
            hint="Make the file an array of rows.",
        )
    return RawTable(list(enumerate(data, start=1)), "row", "json")


def _jsonl_rows(path: str, text: str) -> list[tuple[int, Any]]:
    rows: list[tuple[int, Any]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            problem = f"not valid JSON ({error.msg} at column {error.colno})"
            rows.append((number, DatasetError(problem, path, number, unit="line")))
    return rows


def _read_csv(path: str, header_choice: str = "auto") -> RawTable:
    text = _read_text(path)
    if text.lstrip()[:1] in ("{", "["):
        # A header row that is a JSON object would otherwise read as a CSV without rows.
        raise DatasetError(
            "holds JSON, not CSV (it starts with a JSON object or array)",
            path,
            hint="Rename it .jsonl (one object per line) or .json (one array).",
        )
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    if header_choice not in CSV_HEADERS:
        raise ValueError(f"csv_header must be one of {', '.join(CSV_HEADERS)}, got {header_choice!r}")
    # newline="": only \r and \n end a CSV line (str.splitlines would also split cells at \x1c-\x1e, \x85, \u2028).
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, Any]] = []
    notes: list[str] = []
    try:
        header = next(reader, None)
        if header is None:
            return RawTable([], "line", "csv")
        first, header = header, [name.strip() for name in header]
        start = reader.line_num + 1
        if header_choice == "no" or (header_choice == "auto" and first_row_is_data(header)):
            names = data_column_names(len(header))
            if any(cell.strip() for cell in first):  # a blank line is no row, first or not
                rows.append((1, {name: cell for name, cell in zip(names, first, strict=True) if cell != ""}))
            header = names
            notes.append(f"the first row is data, not column names: the columns are {header[0]} to {header[-1]}")
        for cells in reader:
            number, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                problem = f"has {len(cells)} cells but the header has {len(header)} columns"
                rows.append((number, DatasetError(problem, path, number, unit="line")))
                continue
            # Empty cells count as missing, so optional columns may be left blank, and so may a short row's last ones.
            rows.append((number, {name: cell for name, cell in zip(header, cells, strict=False) if cell != ""}))
    except csv.Error as error:
        raise DatasetError(f"not valid CSV ({error})", path, reader.line_num, unit="line", hint="Fix the file's quoting.") from error
    return RawTable(rows, "line", "csv", notes, header=header)


def _read_parquet(path: str) -> RawTable:
    import pyarrow.parquet as parquet

    try:
        table = parquet.read_table(path)
    except Exception as error:  # pyarrow raises several types for a damaged file
        raise DatasetError(f"cannot read as Parquet ({error})", path, hint="Check that the file is a complete Parquet file.") from error
    return RawTable(list(enumerate(table.to_pylist(), start=1)), "row", "parquet")


def _read_saved_dataset(path: str) -> RawTable:
    """A folder from ``Dataset.save_to_disk`` (or a DatasetDict's, using its train split)."""
    import pyarrow as arrow

    splits_file = os.path.join(path, "dataset_dict.json")
    notes: list[str] = []
    if os.path.isfile(splits_file):
        splits = _load_json_file(splits_file).get("splits", [])
        chosen = "train" if "train" in splits else (splits[0] if len(splits) == 1 else None)
        if chosen is None:
            raise DatasetError(
                f"holds several splits ({', '.join(splits)}) and none is named train", path, hint="Save the split to train on by itself."
            )
        notes.append(f"using split {chosen}")
        path = os.path.join(path, chosen)
    state_file = os.path.join(path, "state.json")
    if not os.path.isfile(state_file):
        raise DatasetError(
            "is a folder but not a dataset saved with save_to_disk (no state.json)", path, hint=f"Choose a file: {SUPPORTED}."
        )
    rows: list[dict[str, Any]] = []
    for entry in _load_json_file(state_file).get("_data_files", []):
        data_file = os.path.join(path, entry["filename"])
        try:
            with arrow.memory_map(data_file) as source:
                try:
                    table = arrow.ipc.open_stream(source).read_all()
                except arrow.ArrowInvalid:
                    source.seek(0)
                    table = arrow.ipc.open_file(source).read_all()
        except (OSError, arrow.ArrowInvalid) as error:
            raise DatasetError(
                f"cannot read {entry['filename']} ({error})", path, hint="Save the dataset again with save_to_disk."
            ) from error
        rows.extend(table.to_pylist())
    return RawTable(list(enumerate(rows, start=1)), "row", "arrow", notes)


def _load_json_file(path: str) -> dict[str, Any]:
    try:
        value = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise DatasetError(f"not valid JSON ({error})", path) from error
    return value if isinstance(value, dict) else {}


def _read_txt(path: str, split: str = "auto") -> RawTable:
    """One document per line, per paragraph (paragraphs are separated by blank lines) or one for
    the whole file. "auto": per paragraph when the file has a blank line, else per line, as the
    ``datasets`` text loader reads a file of one article per line."""
    if split not in TEXT_SPLITS:
        raise ValueError(f"text_split must be one of {', '.join(TEXT_SPLITS)}, got {split!r}")
    text = _read_text(path).replace("\r\n", "\n")
    if split == "auto":
        split = "paragraph" if _BLANK_LINES.search(text.strip("\n")) else "line"
    if split == "file":
        rows = [(1 + len(text) - len(text.lstrip("\n")), {"text": text.strip("\n").rstrip()})] if text.strip() else []
        return RawTable(rows, "line", "txt", ["the whole file is one document"])
    if split == "line":
        rows = [(number, {"text": line.rstrip()}) for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
        return RawTable(rows, "line", "txt", ["one document per line"])
    rows = []
    position = 0
    for match in [*_BLANK_LINES.finditer(text), None]:
        end = match.start() if match else len(text)
        paragraph = text[position:end]
        if paragraph.strip():
            leading = len(paragraph) - len(paragraph.lstrip("\n"))
            line = text.count("\n", 0, position) + 1 + leading
            rows.append((line, {"text": paragraph.strip("\n").rstrip()}))
        if match:
            position = match.end()
    return RawTable(rows, "line", "txt", ["one document per paragraph (blank lines end them)"])
