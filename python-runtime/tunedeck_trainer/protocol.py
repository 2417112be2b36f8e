"""Trainer protocol v1: the events appended to DIR/events.jsonl (see electron/shared/protocol.ts).

Each line is ``{"v":1,"seq":N,"time":<unix seconds>,"type":...,<fields>}``. ``seq`` starts at 1
and grows by 1, continuing after the last line already in the file when a job resumes. The
host tails the file and ingests by seq, so a line is flushed as soon as it is written and a
final event (completed, paused, cancelled, failed) is also fsynced before the process exits.

``EVENT_SCHEMAS`` holds one JSON Schema per event type; ``event_errors`` checks one event.
Both sides ignore unknown fields, so every schema allows extra properties.

Imports nothing heavy (no torch), so config failures are reported quickly.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

PROTOCOL_VERSION = 1
EXIT_CODES = {"completed": 0, "failed": 1, "paused": 3, "cancelled": 4}
FINAL_TYPES = tuple(EXIT_CODES)
PHASES = ["loading_model", "loading_data", "training", "saving", "evaluating"]
LOG_LEVELS = ["debug", "info", "warning", "error"]
CHECKPOINT_KINDS = ["periodic", "named", "pause"]

_INT0 = {"type": "integer", "minimum": 0}
_INT1 = {"type": "integer", "minimum": 1}
_NUMBER = {"type": "number"}
_STRING = {"type": "string"}


def _event(type_name: str, **fields: dict[str, Any]) -> dict[str, Any]:
    """A schema for one event type: the common header plus ``fields``; all of them required."""
    properties: dict[str, Any] = {
        "v": {"const": PROTOCOL_VERSION},
        "seq": _INT1,
        "time": _NUMBER,
        "type": {"const": type_name},
        **fields,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{type_name} event",
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": True,
    }


EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "started": _event(
        "started",
        step=_INT0,
        totalSteps=_INT0,
        epochs=_NUMBER,
        examples=_INT0,
        device=_STRING,
        dtype=_STRING,
        trainableParams=_INT0,
        totalParams=_INT0,
    ),
    "heartbeat": _event("heartbeat", phase={"enum": PHASES}),
    "dataset": _event(
        "dataset", format=_STRING, examples=_INT0, skipped=_INT0, truncated=_INT0, validationExamples=_INT0
    ),
    "step": _event(
        "step",
        step=_INT1,
        totalSteps=_INT1,
        loss=_NUMBER,
        lr=_NUMBER,
        gradNorm={"type": ["number", "null"]},
        tokens=_INT0,
        epoch={"type": "number", "minimum": 0},
        tokensPerSecond={"type": "number", "minimum": 0},
    ),
    "memory": _event(
        "memory",
        estimatedMb={"type": "number", "minimum": 0},
        freeMb={"type": ["number", "null"], "minimum": 0},
        fits={"type": ["boolean", "null"]},
        detail={"type": "object", "additionalProperties": {"type": "number"}},
    ),
    "oom": _event(
        "oom",
        step=_INT0,
        batchSize=_INT1,
        maxSeqLength=_INT1,
        retry={"type": "boolean"},
        newBatchSize={"type": ["integer", "null"], "minimum": 1},
        newGradientAccumulation={"type": ["integer", "null"], "minimum": 1},
    ),
    "eval": _event("eval", step=_INT0, loss=_NUMBER),
    "checkpoint": _event(
        "checkpoint",
        step=_INT0,
        name=_STRING,
        kind={"enum": CHECKPOINT_KINDS},
        path=_STRING,
        loss={"type": ["number", "null"]},
        bytes=_INT0,
    ),
    "log": _event("log", level={"enum": LOG_LEVELS}, message=_STRING),
    "completed": _event("completed", step=_INT0, adapterPath=_STRING),
    "paused": _event("paused", step=_INT0, checkpoint=_STRING),
    "cancelled": _event("cancelled", step=_INT0),
    "failed": _event("failed", error=_STRING, traceback={"type": ["string", "null"]}),
}
# `field` on failed is optional (and nullable): the config field or file the error is about.
EVENT_SCHEMAS["failed"]["properties"]["field"] = {"type": ["string", "null"]}
# `mfu` on step is optional (and nullable): model FLOPs utilisation on a GPU whose peak is known.
EVENT_SCHEMAS["step"]["properties"]["mfu"] = {"type": ["number", "null"], "minimum": 0}

EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Tunedeck trainer event (protocol v1)",
    "oneOf": list(EVENT_SCHEMAS.values()),
}


def event_errors(event: Any) -> list[str]:
    """Problems with one parsed event line, empty when it is valid. Needs the jsonschema package."""
    import jsonschema  # test-time dependency only

    if not isinstance(event, dict):
        return ["an event must be a JSON object"]
    schema = EVENT_SCHEMAS.get(event.get("type"))  # type: ignore[arg-type]
    if schema is None:
        return [f"unknown event type {event.get('type')!r}"]
    validator = jsonschema.Draft202012Validator(schema)
    errors = []
    for error in validator.iter_errors(event):
        where = ".".join(str(part) for part in error.absolute_path) or "(event)"
        errors.append(f"{where}: {error.message}")
    return errors


def last_seq(path: Path) -> tuple[int, int]:
    """The last seq in an events file and the byte length of its whole lines (a torn tail is ignored)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0, 0
    end = data.rfind(b"\n") + 1  # everything after the last newline is a torn write
    seq = 0
    for line in data[:end].splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("seq"), int) and not isinstance(value.get("seq"), bool):
            seq = max(seq, value["seq"])
    return seq, end


class EventWriter:
    """Appends protocol events to events.jsonl; thread safe; refuses anything after a final event."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        seq, whole = last_seq(self.path)
        self._seq = seq
        self._file = open(self.path, "ab")
        if self._file.tell() > whole:
            # A torn last line from a killed run: cut it off so the next event starts a clean line.
            self._file.truncate(whole)
            self._file.seek(whole)
        self.final: dict[str, Any] | None = None

    @property
    def seq(self) -> int:
        """The seq of the last event written (0 before any)."""
        return self._seq

    def emit(self, type_name: str, **fields: Any) -> dict[str, Any] | None:
        """Writes one event and returns it; returns None when a final event was already written."""
        with self._lock:
            if self.final is not None:
                return None
            self._seq += 1
            event = {"v": PROTOCOL_VERSION, "seq": self._seq, "time": time.time(), "type": type_name, **fields}
            line = json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
            self._file.write(line.encode("utf-8"))
            self._file.flush()
            if type_name in FINAL_TYPES:
                os.fsync(self._file.fileno())
                self.final = event
            return event

    def close(self) -> None:
        """Closes the file (events already written stay flushed)."""
        with self._lock:
            if not self._file.closed:
                self._file.close()
