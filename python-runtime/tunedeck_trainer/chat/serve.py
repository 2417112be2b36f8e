"""The chat process's loop: JSON lines in on stdin, JSON lines out on stdout (protocol v1).

Requests (one object a line; unknown fields and types are ignored, answered with an error):
    {"type": "load", "base": PATH, "adapters": {NAME: PATH}, "device": "auto" | "cpu"}
    {"type": "generate", "id": ID, "messages": [{"role", "content"}], "settings": {...},
     "adapter": NAME | null, "templateFrom": NAME | null}
    {"type": "stop", "id": ID}
    {"type": "unload"}
Responses:
    {"type": "ready", "protocol": 1, "cuda": bool}                         once, at start
    {"type": "loaded", "device", "dtype", "contextLength", "adapters"}     or an error with request "load"
    {"type": "started", "id", "prompt", "promptTokens", "dropped"}   dropped: oldest messages left out to fit the context
    {"type": "token", "id", "text"}
    {"type": "done", "id", "reason": "eos"|"length"|"stop"|"stopped", "text", "tokens", "seconds"}
    {"type": "error", "id": ID | null, "request": TYPE, "message"}
    {"type": "unloaded"}
    {"type": "heartbeat", "time", "generating": N}                          every few seconds

Why stdin/stdout rather than a socket: the host already owns the pipes of the process it starts,
nothing else can connect to them, and closing stdin is a clean way to say "exit". A reader
thread queues requests so the generation loop checks them between every two tokens; answers
that are running are interleaved one token each, so two panes stream at the same pace.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from typing import Any, TextIO

from .model import ChatError, ChatModel, Generation, Settings, dumps


class _Output:
    """Writes protocol lines from the loop and the heartbeat thread without interleaving them."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def send(self, payload: dict[str, Any]) -> None:
        with self.lock:
            self.stream.write(dumps(payload) + "\n")
            self.stream.flush()


def _read(stream: TextIO, requests: queue.Queue[dict[str, Any] | None], output: _Output) -> None:
    import json

    for line in stream:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as error:
            output.send({"type": "error", "id": None, "request": None, "message": f"unreadable request line ({error})"})
            continue
        requests.put(request)
    requests.put(None)


def _heartbeat(output: _Output, seconds: float, state: dict[str, Any], finished: threading.Event) -> None:
    while not finished.wait(seconds):
        output.send({"type": "heartbeat", "time": time.time(), "generating": state["generating"]})


class _Server:
    def __init__(self, output: _Output) -> None:
        self.output = output
        self.chat: ChatModel | None = None
        self.running: dict[str, Generation] = {}

    def handle(self, request: dict[str, Any]) -> None:
        kind = request.get("type")
        try:
            if kind == "load":
                self.load(request)
            elif kind == "generate":
                self.generate(request)
            elif kind == "stop":
                self.stop(str(request.get("id")))
            elif kind == "unload":
                self.unload()
            else:
                self.output.send({"type": "error", "id": request.get("id"), "request": kind, "message": f"unknown request type {kind!r}"})
        except ChatError as error:
            self.output.send({"type": "error", "id": request.get("id"), "request": kind, "message": str(error)})
        except Exception as error:  # noqa: BLE001 - the process must keep serving after any one failure
            message = f"{type(error).__name__}: {error}"
            self.output.send({"type": "error", "id": request.get("id"), "request": kind, "message": message})

    def load(self, request: dict[str, Any]) -> None:
        self.unload(quiet=True)
        adapters = {str(name): str(folder) for name, folder in dict(request.get("adapters") or {}).items()}
        self.chat = ChatModel(str(request.get("base", "")), adapters, str(request.get("device", "auto")))
        self.output.send({"type": "loaded", **self.chat.describe()})

    def generate(self, request: dict[str, Any]) -> None:
        if self.chat is None:
            raise ChatError("No model is loaded: load one before asking it.")
        request_id = str(request.get("id"))
        if request_id in self.running:
            raise ChatError(f"An answer with id {request_id} is already being generated.")
        adapter = request.get("adapter")
        template = request.get("templateFrom", adapter)
        generation = Generation(
            self.chat,
            request_id,
            list(request.get("messages") or []),
            Settings.parse(dict(request.get("settings") or {})),
            None if adapter is None else str(adapter),
            None if template is None else str(template),
        )
        self.running[request_id] = generation
        self.output.send(
            {
                "type": "started",
                "id": request_id,
                "prompt": generation.prompt,
                "promptTokens": len(generation.prompt_ids),
                "dropped": generation.dropped,
            }
        )

    def stop(self, request_id: str) -> None:
        generation = self.running.pop(request_id, None)
        if generation is not None:
            self.finish(generation, "stopped")

    def unload(self, quiet: bool = False) -> None:
        for request_id in list(self.running):
            self.stop(request_id)
        if self.chat is not None:
            self.chat.unload()
            self.chat = None
        if not quiet:
            self.output.send({"type": "unloaded"})

    def finish(self, generation: Generation, reason: str) -> None:
        self.running.pop(generation.id, None)
        seconds = round(time.monotonic() - generation.started, 4)
        self.output.send(
            {
                "type": "done",
                "id": generation.id,
                "reason": reason,
                "text": generation.text(),
                "tokens": len(generation.ids),
                "seconds": seconds,
            }
        )

    def advance(self) -> None:
        """One token for every running answer, in turn."""
        for generation in list(self.running.values()):
            try:
                delta, reason = generation.step()
            except Exception as error:  # noqa: BLE001 - one failed answer must not end the others
                self.running.pop(generation.id, None)
                self.output.send(
                    {"type": "error", "id": generation.id, "request": "generate", "message": f"{type(error).__name__}: {error}"}
                )
                continue
            if delta:
                self.output.send({"type": "token", "id": generation.id, "text": delta})
            if reason is not None:
                self.finish(generation, reason)


def serve(stdin: TextIO, stdout: TextIO, heartbeat_seconds: float = 5.0) -> int:
    """Serves requests until stdin closes; returns the exit code (0)."""
    import torch

    output = _Output(stdout)
    requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
    server = _Server(output)
    state = {"generating": 0}
    finished = threading.Event()
    threading.Thread(target=_read, args=(stdin, requests, output), daemon=True).start()
    threading.Thread(target=_heartbeat, args=(output, heartbeat_seconds, state, finished), daemon=True).start()
    # Test hook: TUNEDECK_CHAT_REPORT_CUDA=1 reports CUDA (the model still loads where it can), so the
    # host's "training comes first" policy can be tested on a machine without a GPU.
    cuda = torch.cuda.is_available() or os.environ.get("TUNEDECK_CHAT_REPORT_CUDA") == "1"
    output.send({"type": "ready", "protocol": 1, "cuda": cuda})
    try:
        while True:
            # Block only when nothing is generating; otherwise take what arrived between two tokens.
            try:
                request = requests.get(block=not server.running)
            except queue.Empty:
                request = {}
            while request:
                server.handle(request)
                try:
                    request = requests.get_nowait()
                except queue.Empty:
                    request = {}
            if request is None:
                break
            state["generating"] = len(server.running)
            server.advance()
    finally:
        finished.set()
        server.unload(quiet=True)
    return 0


if __name__ == "__main__":  # pragma: no cover - use `python -m tunedeck_trainer.chat serve`
    sys.exit(serve(sys.stdin, sys.stdout))
