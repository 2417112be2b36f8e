"""Fuzzing the header guess and the reading suggestion (issue 19): any CSV rows read with the first
row as data keep every cell under column_1..n, and any columns and sampled values give a suggestion
that maps only known fields to the file's own columns.

Bounded and reproducible by default (fuzz_rows.FUZZ_EXAMPLES examples per test, derandomised).
Run: PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_fuzz_reading.py
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fuzz_rows import fuzz, garbage, keys
from tunedeck_trainer.data.csv_header import first_row_is_data
from tunedeck_trainer.data.formats import FIELDS, FORMATS
from tunedeck_trainer.data.readers import read_table
from tunedeck_trainer.data.suggest import suggest_reading

# Cells with what CSV must quote (commas, quotes, line breaks) and what a header guess looks at.
cells = st.one_of(st.text(max_size=30), st.sampled_from(["true", "False", "42", "-1.5e3", "question", "kto_tag", "", " "]))


@fuzz
@given(table=st.integers(1, 4).flatmap(lambda width: st.lists(st.lists(cells, min_size=width, max_size=width), min_size=1, max_size=4)))
def test_a_csv_read_with_its_first_row_as_data_keeps_every_cell(table: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(table)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8")
        read = read_table(str(path), csv_header="no")
    assert isinstance(first_row_is_data(table[0]), bool)
    names = [f"column_{index}" for index in range(1, len(table[0]) + 1)]
    assert read.header == names
    # Rows of blank cells only are skipped, as in any CSV; every other cell is kept under its column.
    expected = [
        {name: cell for name, cell in zip(names, row, strict=True) if cell != ""} for row in table if any(cell.strip() for cell in row)
    ]
    assert [row for _, row in read.rows] == expected


@fuzz
@given(
    columns=st.lists(
        st.one_of(keys, st.sampled_from(["question", "answer", "kto_tag", "good", "bad", "column_1"])), max_size=5, unique=True
    ),
    values=st.lists(st.one_of(cells, garbage, st.booleans()), max_size=10),
)
def test_any_columns_and_values_give_a_suggestion_of_known_fields_and_their_columns(columns: list[str], values: list[Any]) -> None:
    sample = [{column: values[(index + row) % len(values)] for index, column in enumerate(columns)} if values else {} for row in range(3)]
    suggestion = suggest_reading(columns, sample)
    assert suggestion["format"] in ("auto", *FORMATS)
    assert set(suggestion["columns"]) <= set(FIELDS)
    assert set(suggestion["columns"].values()) <= set(columns)
    assert len(set(suggestion["columns"].values())) == len(suggestion["columns"])  # one field per column
