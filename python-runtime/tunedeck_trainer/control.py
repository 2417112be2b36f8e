"""Control from the host: JSON commands on stdin, signals, and the heartbeat thread.

Commands, one JSON object per line on stdin (the pty's input, echo turned off):

    {"cmd":"pause"}                  finish the current optimizer step, save a pause checkpoint, exit 3
    {"cmd":"checkpoint","name":"x"}  after the current step save checkpoints/x, then go on
    {"cmd":"cancel"}                 stop after the current micro-batch, exit 4

Signals: SIGINT (Ctrl-C, the host's escalation) cancels at once, even in the middle of loading
a model; SIGTERM pauses once training has started and cancels before that. Signals are read
through ``signal.set_wakeup_fd`` by a thread, so they act even while the main thread is stuck
inside a long C call.

Host gone: when the host dies (kill -9, a crash, the app or terminal closed) the pty hangs up:
SIGHUP arrives and reads of stdin end (EOF or EIO). Either one pauses the job: the loop finishes
the current optimizer step, saves a pause checkpoint and exits 3, and events.jsonl tells the next
host. Nothing may die on the way: SIGHUP is handled rather than fatal, and writes to the dead
terminal go to /dev/null instead of raising EIO. A stdin that is a pipe or /dev/null (scripts,
tests) ending is not a hangup; training goes on. What touches the terminal itself (echo, the
hangup-safe streams, silencing a dead one) is terminal.py.
"""

from __future__ import annotations

import errno
import json
import os
import queue
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from . import terminal
from .protocol import EXIT_CODES, EventWriter

HEARTBEAT_SECONDS = 5.0
# Names the trainer gives its own checkpoints; a named checkpoint may not take them.
_RESERVED = re.compile(r"^(step|pause)-\d+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def valid_checkpoint_name(name: Any) -> str | None:
    """Why ``name`` cannot name a checkpoint folder, or None when it can."""
    if not isinstance(name, str) or not _NAME.match(name):
        return "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    if _RESERVED.match(name):
        return "names like step-N and pause-N are kept for automatic checkpoints"
    return None


class Control:
    """What the host asked for; the training loop polls it at safe points."""

    def __init__(self, events: EventWriter) -> None:
        self.events = events
        self.pause = threading.Event()
        self.cancel = threading.Event()
        self.checkpoints: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.training = threading.Event()  # set once the optimisation loop runs
        self.phase = "loading_data"
        self.step = 0
        self._restore_tty: Callable[[], None] | None = None
        self.host_gone = threading.Event()
        self._hangup_lock = threading.RLock()  # a failed flush inside re-enters
        # stdout/stderr descriptors that were the terminal at start (a hung-up tty no longer says so).
        self._terminal_descriptors: list[int] = []

    # --- commands --------------------------------------------------------------------------

    def handle_line(self, line: str) -> None:
        """Acts on one line from stdin; anything it does not understand becomes a warning."""
        line = line.strip()
        if not line:
            return
        try:
            command = json.loads(line)
        except ValueError:
            self._warn(f"ignored control input that is not JSON: {line[:80]!r}")
            return
        name = command.get("cmd") if isinstance(command, dict) else None
        if name == "pause":
            print("[tunedeck] pause requested: finishing the current step", flush=True)
            self.pause.set()
        elif name == "cancel":
            print("[tunedeck] cancel requested", flush=True)
            self.request_cancel()
        elif name == "checkpoint":
            problem = valid_checkpoint_name(command.get("name"))
            if problem:
                self._warn(f"ignored checkpoint command: name {command.get('name')!r}: {problem}")
            else:
                self.checkpoints.put(command["name"])
        else:
            self._warn(f"ignored unknown control command: {line[:80]!r}")

    def request_cancel(self) -> None:
        """Cancels after the current micro-batch, or at once when training has not started."""
        self.cancel.set()
        if not self.training.is_set():
            self.exit_now("cancelled")

    def host_hung_up(self, how: str) -> None:
        """The host is gone: silence the dead terminal, then pause after the current step."""
        with self._hangup_lock:
            if self.host_gone.is_set():
                return
            self.host_gone.set()
            terminal.silence_terminal(self._terminal_descriptors)
            self.pause.set()
        # The terminal is gone; the log event is what the next host reads.
        self.events.emit("log", level="warning", message=f"the host went away ({how}): pausing after the current step")

    def exit_now(self, kind: str) -> None:
        """Writes the final event and ends the process immediately (from any thread)."""
        self.events.emit(kind, step=self.step)
        final = self.events.final or {"type": kind}
        print(f"[tunedeck] {final['type']} at step {self.step}", flush=True)
        self.restore_terminal()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_CODES[final["type"]])

    def _warn(self, message: str) -> None:
        print(f"[tunedeck] warning: {message}", file=sys.stderr, flush=True)
        self.events.emit("log", level="warning", message=message)

    # --- threads ---------------------------------------------------------------------------

    def start(self, read_stdin: bool = True, handle_signals: bool = True) -> None:
        """Starts the heartbeat, and optionally the stdin reader and signal handling."""
        threading.Thread(target=self._heartbeat, name="tunedeck-heartbeat", daemon=True).start()
        if read_stdin and terminal.is_terminal(sys.stdin):
            self._terminal_descriptors = [descriptor for descriptor in (1, 2) if terminal.is_terminal_descriptor(descriptor)]
            # Writes that race the hangup (before silence_terminal) must not raise in the loop.
            sys.stdout = terminal.HangupSafeStream(sys.stdout, self)  # type: ignore[assignment]
            sys.stderr = terminal.HangupSafeStream(sys.stderr, self)  # type: ignore[assignment]
        if read_stdin and sys.stdin is not None:
            restore = terminal.turn_echo_off()
            if restore is not None:
                self._restore_tty = restore
            threading.Thread(target=self._read_stdin, name="tunedeck-stdin", daemon=True).start()
        if handle_signals and threading.current_thread() is threading.main_thread():
            self._install_signals()

    def _heartbeat(self) -> None:
        stopped = threading.Event()
        while not stopped.wait(HEARTBEAT_SECONDS):
            if self.events.emit("heartbeat", phase=self.phase) is None:
                return  # a final event was written

    def _read_stdin(self) -> None:
        # Raw reads on the descriptor, not sys.stdin.buffer: a daemon thread blocked inside a
        # BufferedReader holds its lock, and interpreter shutdown then aborts with
        # "_enter_buffered_busy" (signal 6) instead of exiting with our code.
        try:
            descriptor = sys.stdin.fileno()
            from_tty = os.isatty(descriptor)
        except (OSError, ValueError):
            return
        pending = b""
        while True:
            try:
                chunk = os.read(descriptor, 4096)
            except OSError as error:
                # EIO: the pty's other side (the host) closed.
                if from_tty and error.errno == errno.EIO:
                    self.host_hung_up("its terminal hung up")
                return
            except ValueError:
                return
            if not chunk:
                if from_tty:
                    self.host_hung_up("its terminal closed")
                return  # a pipe or /dev/null that ended: a script without control input; keep training
            pending += chunk.replace(b"\r", b"\n")
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                if raw.strip():
                    self.handle_line(raw.decode("utf-8", errors="replace"))

    def restore_terminal(self) -> None:
        """Turns echo back on if we turned it off (matters when run by hand in a terminal)."""
        if self._restore_tty is not None:
            try:
                self._restore_tty()
            except Exception:  # the terminal may be gone already
                pass
            self._restore_tty = None

    def _install_signals(self) -> None:
        # A socket pair, not a pipe: Windows only accepts a socket as the wakeup fd.
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        self._signal_sockets = (reader, writer)
        hangup = getattr(signal, "SIGHUP", None)  # absent on Windows
        for number in (signal.SIGINT, signal.SIGTERM, *([hangup] if hangup else [])):
            # A Python-level handler is needed for the C handler to write the wakeup fd; the
            # real work happens in the watcher thread.
            signal.signal(number, lambda *_: None)
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        threading.Thread(target=self._watch_signals, args=(reader,), name="tunedeck-signals", daemon=True).start()

    def _watch_signals(self, reader: socket.socket) -> None:
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data:
                return
            for number in data:
                if number == signal.SIGINT:
                    print("\n[tunedeck] interrupted (SIGINT): cancelling", flush=True)
                    self.exit_now("cancelled")
                elif number == signal.SIGTERM:
                    if self.training.is_set():
                        print("[tunedeck] SIGTERM: pausing after the current step", flush=True)
                        self.pause.set()
                    else:
                        self.exit_now("cancelled")
                elif number == getattr(signal, "SIGHUP", None):
                    self.host_hung_up("SIGHUP")
