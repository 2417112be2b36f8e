"""DatasetError: one problem in a dataset file, naming the file, the row or line, and the field."""

from __future__ import annotations

import os
from typing import Any

SKIP_HINT = 'Fix the row or set bad rows to "skip".'


class DatasetError(Exception):
    """A dataset problem the user can fix.

    ``file`` is the dataset path, ``row`` the 1-based row (the line number for JSONL and CSV,
    ``unit`` says which), ``field`` the column or nested field (``conversations[2].from``).
    ``row`` is None for problems with the whole file (unreadable, unknown type, empty), which
    cannot be skipped.
    """

    def __init__(
        self,
        problem: str,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        unit: str = "row",
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.row = row
        self.field = field
        self.unit = unit
        self.hint = hint if hint is not None else (SKIP_HINT if row is not None else "")
        super().__init__(self._message())

    def _message(self) -> str:
        where = os.path.basename(self.file.rstrip("/\\")) if self.file else "dataset"
        if self.row is not None:
            where += f" {self.unit} {self.row}"
        text = f"{where}: "
        if self.field:
            text += f'field "{self.field}": '
        text += self.problem.rstrip(".") + "."
        if self.hint:
            text += " " + self.hint
        return text

    def to_json(self) -> dict[str, Any]:
        """The error as plain data for the preview (the UI shows ``message``)."""
        return {"row": self.row, "unit": self.unit, "field": self.field, "message": str(self)}


class RowProblem(Exception):
    """Raised by the format readers inside one row; the loader adds the file and row."""

    def __init__(self, problem: str, field: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.field = field


def describe(value: Any) -> str:
    """How a wrong value reads in a message: null, a number (3), a list, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return "an empty string" if not value.strip() else "a string"
    if isinstance(value, (list, tuple)):
        return "an empty list" if not value else "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class FormatUnknown(DatasetError):
    """The file reads, but its first rows' fields fit no format: what the user must map or choose.

    ``columns`` are the file's column names and ``sample`` its first rows as read, so the reading
    editor can suggest a format and a mapping (suggest.py) instead of only refusing the file.
    """

    def __init__(self, problem: str, file: str, columns: list[str], sample: list[dict[str, Any]], hint: str) -> None:
        super().__init__(problem, file, hint=hint)
        self.columns = columns
        self.sample = sample
