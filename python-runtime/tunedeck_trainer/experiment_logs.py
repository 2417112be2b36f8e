"""Experiment logs in the formats users' own tools read: TensorBoard event files in DIR/tensorboard/,
and MLflow and Weights & Biases when the user's environment turns them on (experiment_sinks.py).

Written from the protocol's events (``EventWriter.add_listener``), so the numbers are exactly the
ones the app charts, and nothing in the loop knows about them. Only rank 0 writes (under torchrun
every rank runs this code; RANK says which one this is). View them with

    tensorboard --logdir <data>/jobs/<id>/tensorboard

Scalars: train/loss, train/learning_rate, train/grad_norm, train/tokens_per_second, train/epoch,
train/mfu, a method's own numbers (DPO's rewards, ...) as train/<name>, and eval/loss (and
eval/<name>), each at the job's step. MLflow and W&B get the same tags and values.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from .experiment_sinks import BackgroundSink, wanted_sinks
from .protocol import FINAL_TYPES, EventWriter

FOLDER = "tensorboard"
# Protocol field -> TensorBoard tag, for the fields every method's step event has.
STEP_TAGS = {
    "loss": "train/loss",
    "lr": "train/learning_rate",
    "gradNorm": "train/grad_norm",
    "tokensPerSecond": "train/tokens_per_second",
    "epoch": "train/epoch",
    "mfu": "train/mfu",
}
# Header and bookkeeping fields that are not a measurement.
NOT_SCALARS = {"v", "seq", "time", "type", "step", "totalSteps", "tokens", "peakMemoryMb"}


def is_rank_zero() -> bool:
    """True outside torchrun and on its rank 0."""
    return os.environ.get("RANK", "0") == "0"


def scalars(event: dict[str, Any]) -> dict[str, float]:
    """The tags and values one step or eval event gives; empty for other events."""
    kind = event.get("type")
    if kind not in ("step", "eval"):
        return {}
    prefix = "train" if kind == "step" else "eval"
    result = {}
    for field, value in event.items():
        if field in NOT_SCALARS or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # a null grad norm or MFU is not a point
        tag = STEP_TAGS.get(field, f"{prefix}/{field}") if kind == "step" else f"eval/{field}"
        result[tag] = float(value)
    return result


class TensorBoardLog:
    """Writes step and eval events as TensorBoard scalars; closes its file on the final event."""

    def __init__(self, job_dir: Path) -> None:
        self.folder = Path(job_dir) / FOLDER
        self._writer: Any = None
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        with self._lock:
            values = scalars(event)
            if values:
                step = int(event["step"])
                if self._writer is None:
                    self._writer = self._open(step)
                for tag, value in values.items():
                    self._writer.add_scalar(tag, value, global_step=step, walltime=event["time"])
            if event.get("type") in FINAL_TYPES:
                self.close_locked()

    def _open(self, first_step: int) -> Any:
        from torch.utils.tensorboard import SummaryWriter  # imported late: the runner's checks stay quick

        # A resumed job repeats the steps after its checkpoint: purge_step makes TensorBoard drop the
        # earlier run's points from this step on, so each step is shown once. flush_secs keeps a live view current.
        return SummaryWriter(log_dir=str(self.folder), purge_step=first_step, flush_secs=5)

    def close(self) -> None:
        """Flushes and closes the event file (a no-op when nothing was written)."""
        with self._lock:
            self.close_locked()

    def close_locked(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class ExperimentLogs:
    """The job's TensorBoard log and the MLflow / W&B sinks the environment turns on, fed the same scalars."""

    def __init__(self, job_dir: Path) -> None:
        self.tensorboard = TensorBoardLog(job_dir)
        self.sinks: list[BackgroundSink] = wanted_sinks(job_dir)

    def __call__(self, event: dict[str, Any]) -> None:
        values = scalars(event)
        if values:
            for sink in self.sinks:
                sink.log(int(event["step"]), values, event["time"])
        if event.get("type") in FINAL_TYPES:
            for sink in self.sinks:
                sink.finish(event["type"])
        self.tensorboard(event)

    def close(self) -> None:
        """Ends every log (a run that never reached a final event ends as killed)."""
        for sink in self.sinks:
            sink.finish(None)
        self.tensorboard.close()


def attach(events: EventWriter, job_dir: Path) -> ExperimentLogs | None:
    """Starts the job's experiment logs on rank 0; returns them (None on other ranks)."""
    if not is_rank_zero():
        return None
    logs = ExperimentLogs(job_dir)
    events.add_listener(logs)
    return logs
