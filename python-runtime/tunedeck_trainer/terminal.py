"""The trainer's terminal, the pty the host runs it in: echo off for the host's commands, and what
a hangup needs (knowing which descriptors were the terminal, writes that do not raise once it is
gone, sending output to /dev/null). Apart from control.py, which decides what a hangup means
(pause after the current step), because this part is only about descriptors and streams.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .control import Control


def turn_echo_off() -> Callable[[], None] | None:
    """Turns the terminal's echo off and returns what turns it back on, or None when stdin is no
    terminal: in a pty the host's commands would otherwise be echoed into the terminal log."""
    try:
        import termios
    except ImportError:  # Windows: ConPTY input is not echoed by us
        return None
    try:
        descriptor = sys.stdin.fileno()
        if not os.isatty(descriptor):
            return None
        previous = termios.tcgetattr(descriptor)
        quiet = termios.tcgetattr(descriptor)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(descriptor, termios.TCSANOW, quiet)
    except (OSError, ValueError, termios.error):
        return None
    return lambda: termios.tcsetattr(descriptor, termios.TCSANOW, previous)


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` (sys.stdin) is a terminal, the pty the host runs us in."""
    try:
        return stream is not None and is_terminal_descriptor(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False


def is_terminal_descriptor(descriptor: int) -> bool:
    """Whether ``descriptor`` is a terminal, asked before a hangup makes it stop saying so."""
    try:
        return os.isatty(descriptor)
    except OSError:
        return False


def silence_terminal(descriptors: list[int]) -> None:
    """Points the terminal's descriptors among stdout and stderr at /dev/null, for C code too."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for descriptor in descriptors:
        try:
            os.dup2(null, descriptor)
        except OSError:
            pass
    os.close(null)


class HangupSafeStream:
    """A text stream whose writes to a hung-up terminal pause the job instead of raising EIO."""

    _dead = (errno.EIO, errno.EPIPE, errno.ENXIO, errno.EBADF)

    def __init__(self, stream: Any, control: Control) -> None:
        self._stream = stream
        self._control = control

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as error:
            if error.errno not in self._dead:
                raise
            self._control.host_hung_up("a write to its terminal failed")
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            if error.errno not in self._dead:
                raise
            self._control.host_hung_up("a write to its terminal failed")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
