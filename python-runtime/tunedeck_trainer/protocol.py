"""Trainer protocol v1: the events appended to DIR/events.jsonl (see electron/shared/protocol.ts).

Each line is ``{"v":1,"seq":N,"time":<unix seconds>,"type":...,<fields>}``. ``seq`` starts at 1
and grows by 1, continuing after the last line already in the file when a job resumes. The
host tails the file and ingests by seq, so a line is flushed as soon as it is written and a
final event (completed, paused, cancelled, failed) is also fsynced before the process exits.

``EVENT_SCHEMAS`` holds one JSON Schema per event type (protocol.schema.json, generated from
protocol.ts, as the version and exit codes in contract.py are); ``event_errors`` checks one event.
Both sides ignore unknown fields, so every schema allows extra properties.

Imports nothing heavy (no torch), so config failures are reported quickly.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .contract import EXIT_CODES, PROTOCOL_VERSION

FINAL_TYPES = tuple(EXIT_CODES)
SCHEMA_FILE = Path(__file__).with_name("protocol.schema.json")
# One JSON Schema per event type, written from electron/shared/protocol.ts by `npm run config-schema`.
EVENT_SCHEMAS: dict[str, dict[str, Any]] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["events"]
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
        # Called with each event once it is written (experiment logs); see ``add_listener``.
        self._listeners: list[Callable[[dict[str, Any]], None]] = []

    def add_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Calls ``listener(event)`` after every event written from now on. A listener that raises
        is dropped with a note on stderr: a side log must never stop training or lose an event."""
        self._listeners.append(listener)

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
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception as error:  # noqa: BLE001 - see add_listener
                if listener in self._listeners:
                    self._listeners.remove(listener)
                print(f"[tunedeck] experiment log stopped: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return event

    def close(self) -> None:
        """Closes the file (events already written stay flushed)."""
        with self._lock:
            if not self._file.closed:
                self._file.close()
