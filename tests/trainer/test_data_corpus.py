"""The corpus of real-layout files is the regression suite: every file in tests/fixtures/datasets is
listed in its corpus.json with the format and row count the loader must give it, every row is
usable (none refused that a user would call valid), the streamed preview agrees with the whole-file
loader, and every layout in README.md's list has at least one file.

Run: PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_data_corpus.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tunedeck_trainer.data import load_records, preview

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "datasets"
CORPUS = json.loads((FIXTURES / "corpus.json").read_text(encoding="utf-8"))["files"]


def readme_layouts() -> list[str]:
    """The bold names of the "Dataset layouts" list in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Dataset layouts", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- \*\*(.+?)\*\*", section, flags=re.MULTILINE)


def test_every_fixture_is_in_the_corpus_and_every_readme_layout_has_a_file():
    files = {path.name for path in FIXTURES.iterdir()} - {"corpus.json"}
    assert files == {entry["file"] for entry in CORPUS}
    layouts = readme_layouts()
    assert len(layouts) >= 11
    assert set(layouts) == {entry["layout"] for entry in CORPUS}


@pytest.mark.parametrize("entry", CORPUS, ids=[entry["file"] for entry in CORPUS])
def test_each_file_is_read_whole_in_its_format(entry):
    path = str(FIXTURES / entry["file"])
    loaded = load_records(path, columns=entry.get("columns"), bad_rows="skip")
    assert (loaded.format, loaded.rows, len(loaded.records), loaded.skipped) == (entry["format"], entry["rows"], entry["rows"], 0)
    # The preview (streamed for JSON Lines) reads the same records.
    summary = preview(path, columns=entry.get("columns"), limit=50)
    assert (summary["format"], summary["usable"], summary["skipped"]) == (entry["format"], entry["rows"], 0)
    assert summary["records"] == loaded.records
