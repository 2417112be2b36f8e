"""Whether a CSV file's first row names its columns or is already data.

Many exported CSV files (spreadsheets saved without headers, ``df.to_csv(header=False)``) start
with a data row. Read as a header, its values would become column names and the first example
would be lost. ``first_row_is_data`` guesses, from the first row alone, the way a person would:
a row that holds a known field name is a header; a row with a number, a true/false, a long
sentence or the same value twice is data. The guess only applies to ``dataset.csvHeader`` "auto";
"yes" and "no" say it outright. Columns of a file without a header are named column_1..n.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..contract import FIELDS

CSV_HEADERS = ("auto", "yes", "no")
LONG_NAME = 40  # characters: longer than any column name people give
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|\.\d+)([eE][+-]?\d+)?$")
_KNOWN = {*FIELDS, "kto_tag", "id", "idx", "index"}


def data_column_names(count: int) -> list[str]:
    """column_1, column_2, ...: the names of a header-less file's columns, as the mapping shows them."""
    return [f"column_{index}" for index in range(1, count + 1)]


def _looks_like_value(cell: str) -> bool:
    text = cell.strip()
    if not text:
        return False
    if _NUMBER.match(text) or text.lower() in ("true", "false"):
        return True
    # Column names are short labels; a sentence, or anything with line breaks, is a value.
    return len(text) > LONG_NAME or "\n" in text or text.endswith("?") or bool(re.search(r"[.?!]\s+\S", text))


def first_row_is_data(first: Sequence[str]) -> bool:
    """True when ``first`` (a CSV file's first row) looks like one of its data rows, not a header."""
    names = [cell.strip() for cell in first]
    if any(name.lower() in _KNOWN for name in names):
        return False
    if any(_looks_like_value(name) for name in names):
        return True
    filled = [name for name in names if name]
    # A header names each column once; the same value twice in a row is data.
    return len(set(filled)) < len(filled)
