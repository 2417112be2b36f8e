"""Exceptions that end a job in a known way (the runner turns them into final events)."""

from __future__ import annotations


class TrainerError(Exception):
    """A problem the user can fix; ``field`` names the config field or file it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Paused(Exception):
    """Training stopped at a step boundary after saving checkpoint ``name``."""

    def __init__(self, step: int, name: str) -> None:
        super().__init__(f"paused at step {step}")
        self.step = step
        self.name = name


class Cancelled(Exception):
    """Training stopped without saving, at the host's request."""

    def __init__(self, step: int) -> None:
        super().__init__(f"cancelled at step {step}")
        self.step = step
