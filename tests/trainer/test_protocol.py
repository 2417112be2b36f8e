"""Protocol v1: the shared vectors, and how events.jsonl is written and continued."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, read_events
from tunedeck_trainer.protocol import EVENT_SCHEMA, EVENT_SCHEMAS, EventWriter, event_errors

VALID_LINES = (FIXTURES / "protocol" / "valid.jsonl").read_text().splitlines()
INVALID_LINES = (FIXTURES / "protocol" / "invalid.jsonl").read_text().splitlines()
REASONS = [line for line in (FIXTURES / "protocol" / "invalid-reasons.txt").read_text().splitlines() if not line.startswith("#")]


@pytest.mark.parametrize("line", VALID_LINES)
def test_valid_vector_passes(line: str) -> None:
    assert event_errors(json.loads(line)) == []


@pytest.mark.parametrize("index", range(len(INVALID_LINES)), ids=lambda index: REASONS[index])
def test_invalid_vector_fails(index: int) -> None:
    assert event_errors(json.loads(INVALID_LINES[index])) != []


def test_vectors_cover_every_event_type() -> None:
    types = {json.loads(line)["type"] for line in VALID_LINES}
    assert types == set(EVENT_SCHEMAS)
    assert len(REASONS) == len(INVALID_LINES)


def test_the_combined_schema_agrees_with_the_per_type_ones() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(EVENT_SCHEMA)
    assert all(validator.is_valid(json.loads(line)) for line in VALID_LINES)
    assert not any(validator.is_valid(json.loads(line)) for line in INVALID_LINES)


def test_seq_continues_after_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = EventWriter(path)
    writer.emit("heartbeat", phase="loading_data")
    writer.emit("log", level="info", message="hello")
    writer.close()
    with open(path, "ab") as handle:  # a process killed in the middle of a write
        handle.write(b'{"v":1,"seq":3,"time":1.0,"type":"hea')
    writer = EventWriter(path)
    event = writer.emit("cancelled", step=0)
    writer.close()
    assert event is not None and event["seq"] == 3
    events = read_events(tmp_path)
    assert [event["seq"] for event in events] == [1, 2, 3]
    assert all(event_errors(event) == [] for event in events)


def test_nothing_is_written_after_a_final_event(tmp_path: Path) -> None:
    writer = EventWriter(tmp_path / "events.jsonl")
    assert writer.emit("completed", step=3, adapterPath="/x") is not None
    assert writer.emit("heartbeat", phase="training") is None
    writer.close()
    assert [event["type"] for event in read_events(tmp_path)] == ["completed"]
