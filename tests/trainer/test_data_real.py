"""The real datasets users bring (LLaMA-Factory's demo files) load with the right format and count.

They live in shared/datasets beside the repository (CI puts shared/ beside the clone).
Run: PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_data_real.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tunedeck_trainer.data import load_records, preview

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def real(name: str) -> str:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"real dataset {name} not found at {SHARED} (CI puts shared/ beside the clone)")
    return str(path)


@pytest.mark.parametrize(
    "name, format, rows",
    [
        ("alpaca_en_demo.json", "alpaca", 999),
        ("dpo_en_demo.json", "preference", 300),
        ("identity.json", "alpaca", 91),
    ],
)
def test_real_file_loads_every_row(name, format, rows):
    result = load_records(real(name))
    assert (result.format, result.rows, len(result.records), result.skipped) == (format, rows, rows, 0)


def test_alpaca_demo_rows_become_user_and_assistant_turns():
    first = load_records(real("alpaca_en_demo.json")).records[0]["messages"]
    assert [message["role"] for message in first] == ["user", "assistant"]
    assert first[0]["content"] == "Describe a process of making crepes."
    assert first[1]["content"].startswith("Making crepes is an easy and delicious process!")


def test_dpo_demo_rows_become_prompt_chosen_rejected():
    record = load_records(real("dpo_en_demo.json")).records[0]
    assert record["prompt"][0]["role"] == "user"
    assert record["prompt"][-1]["role"] == "user"
    assert record["chosen"].startswith("That sounds like a fun and engaging idea!")
    assert isinstance(record["rejected"], str) and record["rejected"] != record["chosen"]


def test_preview_of_a_real_file():
    summary = preview(real("identity.json"), limit=3)
    assert (summary["format"], summary["rows"], len(summary["records"]), summary["errors"]) == ("alpaca", 91, 3, [])
