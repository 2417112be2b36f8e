"""load_records: read a dataset file, detect its format and normalise every row.

Used by training (``job_data.read_job_records``) and by the preview the UI shows, so both read a file
the same way.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import DatasetError, FormatUnknown, RowProblem, describe
from .formats import FIELDS, FORMATS, TAGS, detect_format, sharegpt
from .judged import NORMALISERS
from .readers import RawTable, read_table

MAX_ERRORS = 100  # skipped rows' errors kept for reporting; the count has them all
DETECT_ROWS = 20  # object rows looked at to detect the format
SAMPLE_ROWS = 5  # raw rows an unknown format's error carries, for the mapping's suggestions


@dataclass
class LoadResult:
    """Normalised records of one file, the format used, and what was skipped."""

    records: list[dict[str, Any]]
    format: str
    skipped: int = 0
    errors: list[DatasetError] = field(default_factory=list)
    rows: int = 0  # rows read (records + skipped)
    columns: list[str] = field(default_factory=list)  # the first row's own column names
    notes: list[str] = field(default_factory=list)
    mix: list[dict[str, Any]] = field(default_factory=list)  # a mix of datasets: each one's rows (job_mix.py)


def load_records(
    path: str,
    format: str = "auto",
    columns: dict[str, str] | None = None,
    bad_rows: str = "fail",
    text_split: str = "auto",
    csv_header: str = "auto",
) -> LoadResult:
    """Reads ``path`` and normalises its rows.

    ``format`` is "auto" or one of FORMATS; ``columns`` maps our field names to the file's
    (``{"instruction": "question"}``); ``bad_rows`` is "fail" (raise the first bad row's
    DatasetError) or "skip" (count it, keep its error). Raises DatasetError for a file that
    cannot be read, is empty, or has no usable row.
    """
    result = read_dataset(path, format, columns, bad_rows, text_split, csv_header)
    if not result.records:
        first = f"; the first: {result.errors[0]}" if result.errors else ""
        skipped = "the only row was skipped" if result.rows == 1 else f"all {result.rows} rows were skipped"
        raise DatasetError(f"no usable rows: {skipped}{first}", path, hint="Check the format and the column mapping.")
    return result


def read_dataset(
    path: str,
    format: str = "auto",
    columns: dict[str, str] | None = None,
    bad_rows: str = "fail",
    text_split: str = "auto",
    csv_header: str = "auto",
) -> LoadResult:
    """load_records without the final "no usable rows" check (the preview shows such files)."""
    if format != "auto" and format not in FORMATS:
        raise ValueError(f"format must be auto or one of {', '.join(FORMATS)}, got {format!r}")
    if bad_rows not in ("fail", "skip"):
        raise ValueError(f'bad_rows must be "fail" or "skip", got {bad_rows!r}')
    mapping = _check_columns(path, columns or {})
    tags = {name: mapping.pop(name) for name in TAGS if name in mapping}
    table = read_table(path, text_split, csv_header)
    _check_header(path, table, mapping)
    if not table.rows:
        raise DatasetError("the file has no rows", path, hint="Add rows or choose another file.")
    objects = [_rename(value, mapping) for _, value in table.rows if isinstance(value, dict)]
    chosen = _choose_format(path, table, objects, format)
    normalise = NORMALISERS[chosen]
    if chosen == "sharegpt" and tags:
        normalise = functools.partial(sharegpt, tags=tags)
    result = LoadResult([], chosen, rows=len(table.rows), notes=list(table.notes))
    result.columns = _first_columns(table)
    for number, value in table.rows:
        try:
            result.records.append(_normalise(path, table, number, value, mapping, normalise))
        except DatasetError as error:
            if bad_rows == "fail":
                raise
            result.skipped += 1
            if len(result.errors) < MAX_ERRORS:
                result.errors.append(error)
    return result


def _normalise(
    path: str,
    table: RawTable,
    number: int,
    value: Any,
    mapping: dict[str, str],
    normalise: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    if isinstance(value, DatasetError):
        raise value
    if not isinstance(value, dict):
        raise DatasetError(f"expected an object with the dataset's fields, got {describe(value)}", path, number, unit=table.unit)
    surrogate = _lone_surrogate(value)
    if surrogate:
        raise DatasetError(surrogate[1], path, number, surrogate[0] or None, table.unit)
    try:
        return normalise(_rename(value, mapping))
    except RowProblem as problem:
        raise DatasetError(problem.problem, path, number, _file_field(problem.field, mapping), table.unit) from None


def _lone_surrogate(row: Any) -> tuple[str, str] | None:
    """(field, problem) for the first string in ``row`` holding half of a UTF-16 surrogate pair, else None.

    A JSON escape such as \\ud800 without its pair gives a string that is not Unicode text, which no
    tokenizer can encode: found here, it is a row error naming the field, not a crash mid-training.
    Iterative, so a deeply nested row cannot exhaust the stack.
    """
    # The common case first, in C: a row JSON can write that encodes as UTF-8 holds no half pair
    # (the walk below took 4.7 us of a short row, the check 3.0).
    try:
        json.dumps(row, ensure_ascii=False).encode("utf-8")
        return None
    except (UnicodeEncodeError, TypeError, ValueError, RecursionError):
        pass  # a half pair somewhere, or a value JSON cannot write (a CSV or Parquet type): walk it
    pending: list[tuple[str, Any]] = [("", row)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, dict):
            pending += [(f"{where}.{key}" if where else str(key), item) for key, item in reversed(value.items())]
            pending += [(where, key) for key in value if isinstance(key, str)]
        elif isinstance(value, list):
            pending += [(f"{where}[{index}]", item) for index, item in reversed(list(enumerate(value)))]
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as error:
                code = f"\\u{ord(value[error.start]):04x}"
                return where, (
                    f"holds {code} at character {error.start + 1}, half of a UTF-16 surrogate pair and not "
                    "a character; fix or remove the escape"
                )
    return None


def _check_columns(path: str, columns: dict[str, str]) -> dict[str, str]:
    for ours, theirs in columns.items():
        if ours not in FIELDS:
            raise DatasetError(f'columns: unknown field "{ours}"', path, hint=f"Map one of {', '.join(FIELDS)} to a column of the file.")
        if not isinstance(theirs, str) or not theirs:
            raise DatasetError(f'columns: "{ours}" must name a column of the file', path, hint="")
    return {ours: theirs for ours, theirs in columns.items() if ours != theirs}


def _check_header(path: str, table: RawTable, mapping: dict[str, str]) -> None:
    """A CSV file has one set of column names: a mapping to a column it lacks is refused, naming both."""
    if table.kind != "csv":
        return
    for ours, theirs in mapping.items():
        if theirs in table.header:
            continue
        named = ", ".join(table.header)
        by_position = re.fullmatch(r"column_\d+", theirs) and not table.header[0].startswith("column_")
        hint = (
            'Its first row is read as column names: set the header row to "no" (the first row is data) to '
            "name the columns column_1, column_2, …"
            if by_position
            else "Map one of its columns."
        )
        raise DatasetError(
            f'columns: "{ours}" is mapped to a column "{theirs}" the file does not have (its columns: {named})', path, hint=hint
        )


def _rename(row: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """The row with the file's column names replaced by ours."""
    if not mapping:
        return row
    renamed = {key: value for key, value in row.items() if key not in mapping.values() or key in mapping}
    for ours, theirs in mapping.items():
        if theirs in row:
            renamed[ours] = row[theirs]
        else:
            renamed.pop(ours, None)  # the mapped column is missing: don't fall back to ours
    return renamed


def _file_field(field: str | None, mapping: dict[str, str]) -> str | None:
    """A field path with our top-level name replaced by the file's (``answer`` not ``output``)."""
    if not field:
        return field
    cut = min((index for index in (field.find("["), field.find(".")) if index >= 0), default=len(field))
    head = field[:cut]
    return mapping.get(head, head) + field[cut:]


def _first_columns(table: RawTable) -> list[str]:
    """The file's own column names in the first object rows, in order of appearance."""
    if table.header:
        return list(table.header)
    names: dict[str, None] = {}
    objects = (value for _, value in table.rows if isinstance(value, dict))
    for row in itertools.islice(objects, DETECT_ROWS):
        names.update((str(key), None) for key in row)
    return list(names)


def _choose_format(path: str, table: RawTable, objects: list[dict[str, Any]], format: str) -> str:
    if table.kind == "txt":
        if format not in ("auto", "text"):
            raise DatasetError(
                f'a .txt file is plain text, not "{format}"', path, hint="Set the format to auto or text, or convert the file to .jsonl."
            )
        return "text"
    if format != "auto":
        return format
    detected = detect_format(objects[:DETECT_ROWS])
    if detected is None:
        keys = ", ".join(_first_columns(table)) or "none"
        raise FormatUnknown(
            f"cannot tell the format from the first rows' fields ({keys}); expected instruction/output (Alpaca), "
            "conversations (ShareGPT), messages (OpenAI chat), prompt/completion, text, prompt/chosen/rejected "
            "(preference) or prompt/completion/label (feedback)",
            path,
            _first_columns(table),
            list(itertools.islice((value for _, value in table.rows if isinstance(value, dict)), SAMPLE_ROWS)),
            hint='Choose the format, or map your columns, e.g. {"instruction": "question", "output": "answer"}.',
        )
    return detected
