"""MLflow and Weights & Biases: the same scalars as the TensorBoard log, sent when the user turns them on
with their tools' usual settings (the host passes MLFLOW_* and WANDB_* on to the trainer):

- MLflow when MLFLOW_TRACKING_URI is set; the experiment is MLFLOW_EXPERIMENT_NAME (default "tunedeck").
- W&B when WANDB_PROJECT is set, or WANDB_MODE is set to anything but "disabled"; wandb reads its
  other settings (WANDB_API_KEY, WANDB_ENTITY, WANDB_DIR, offline mode, ...) itself.

A job keeps one run in each tool across trainer starts: the run's id is kept in the job folder
(DIR/experiment-runs.json) and a resumed job goes on in it. A resume trains again the steps after
its checkpoint; MLflow keeps both values of such a step, and W&B (whose own step only goes forward
and drops a repeated one) gets the job's step as the metric train/step, its charts' step axis.

Each sink sends from its own thread: a tracking server that is slow or down (MLflow retries for
minutes) must never hold up a training step. A sink that cannot start or send writes one line to the
terminal, drops what is left, and the job goes on.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# How long closing waits for a sink to send what is queued before leaving it behind.
CLOSE_WAIT_SECONDS = 60.0
# Each tool's run id for the job, kept across trainer starts.
RUNS_FILE = "experiment-runs.json"
# The final event -> MLflow's run status.
MLFLOW_STATUS = {"completed": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}


def note(message: str) -> None:
    print(f"[tunedeck] {message}", file=sys.stderr, flush=True)


def kept_run(job_dir: Path, tool: str) -> str | None:
    """The run id ``tool`` logged this job to before, if any."""
    try:
        value = json.loads((job_dir / RUNS_FILE).read_text(encoding="utf-8")).get(tool)
    except (OSError, ValueError, AttributeError):
        return None  # none yet, or unreadable: a new run
    return value if isinstance(value, str) and value else None


def keep_run(job_dir: Path, tool: str, run_id: str) -> None:
    """Records ``run_id`` as ``tool``'s run for the job (written whole: a crash leaves the old file)."""
    try:
        runs = json.loads((job_dir / RUNS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        runs = {}
    runs = {**(runs if isinstance(runs, dict) else {}), tool: run_id}
    temporary = job_dir / f"{RUNS_FILE}.tmp"
    temporary.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, job_dir / RUNS_FILE)


class BackgroundSink:
    """Queues (step, scalars, time) points and sends them from one thread; subclasses say how."""

    name = "sink"

    def __init__(self, job_dir: Path) -> None:
        self.job_dir = Path(job_dir)
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name=f"tunedeck-{self.name}", daemon=True)
        self._thread.start()
        self._finished = False

    def log(self, step: int, values: dict[str, float], time: float) -> None:
        self._queue.put(("log", (step, values, time)))

    def finish(self, final_type: str | None) -> None:
        """Ends the run as completed, failed or cancelled, and waits (bounded) for the thread."""
        if self._finished:
            return
        self._finished = True
        self._queue.put(("finish", final_type))
        self._thread.join(CLOSE_WAIT_SECONDS)
        if self._thread.is_alive():
            note(f"{self.name}: gave up waiting after {CLOSE_WAIT_SECONDS:.0f} s; the last points may be missing there")

    def _work(self) -> None:
        started = False
        while True:
            kind, payload = self._queue.get()
            try:
                if kind == "finish":
                    if started:
                        self.end(payload)
                    return
                if not started:
                    self.start()
                    started = True
                self.send(*payload)
            except Exception as error:  # noqa: BLE001 - any failure of a side log leaves the job alone
                note(f"{self.name} logging stopped for this job ({type(error).__name__}: {error}); training goes on")
                self._drain()
                return

    def _drain(self) -> None:
        # Points queued after a failure are dropped; a finish still lets the job's close return.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def start(self) -> None:
        raise NotImplementedError

    def send(self, step: int, values: dict[str, float], time: float) -> None:
        raise NotImplementedError

    def end(self, final_type: str | None) -> None:
        raise NotImplementedError


class MlflowSink(BackgroundSink):
    """One MLflow run per trainer start, named after the job's folder."""

    name = "MLflow"

    def start(self) -> None:
        from mlflow import MlflowClient  # imported late: mlflow is optional and slow to import

        self._client = MlflowClient(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
        experiment_name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or "tunedeck"
        experiment = self._client.get_experiment_by_name(experiment_name)
        experiment_id = experiment.experiment_id if experiment else self._client.create_experiment(experiment_name)
        self._run_id = self._earlier_run(experiment_id)
        if self._run_id is None:
            run = self._client.create_run(experiment_id, run_name=self.job_dir.name, tags={"tunedeck.job_dir": str(self.job_dir)})
            self._run_id = run.info.run_id
            keep_run(self.job_dir, "mlflow", self._run_id)
        note(f"MLflow: logging to run {self._run_id} in experiment {experiment_name!r} at {os.environ['MLFLOW_TRACKING_URI']}")

    def _earlier_run(self, experiment_id: str) -> str | None:
        """The job's run from an earlier trainer start, reopened, when this server and experiment hold it."""
        run_id = kept_run(self.job_dir, "mlflow")
        if run_id is None:
            return None
        try:
            run = self._client.get_run(run_id)
        except Exception:  # noqa: BLE001 - another server, or the run was deleted: a new one
            return None
        if run.info.experiment_id != experiment_id or run.info.lifecycle_stage != "active":
            return None
        self._client.update_run(run_id, status="RUNNING")
        return run_id

    def send(self, step: int, values: dict[str, float], time: float) -> None:
        from mlflow.entities import Metric

        timestamp = int(time * 1000)
        self._client.log_batch(self._run_id, metrics=[Metric(tag, value, timestamp, step) for tag, value in values.items()])

    def end(self, final_type: str | None) -> None:
        self._client.set_terminated(self._run_id, status=MLFLOW_STATUS.get(final_type or "", "KILLED"))


class WandbSink(BackgroundSink):
    """One W&B run per trainer start, named after the job's folder."""

    name = "Weights & Biases"

    def start(self) -> None:
        import wandb  # imported late: wandb is optional and slow to import

        # The job's config.json is the run's config: what was trained, as the app shows it.
        config_file = self.job_dir / "config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        self._run = wandb.init(
            project=os.environ.get("WANDB_PROJECT") or "tunedeck",
            name=self.job_dir.name,
            id=kept_run(self.job_dir, "wandb"),  # None at the first start: wandb makes one
            resume="allow",  # the job's run from an earlier start, or a new one
            allow_val_change=True,  # a resume adds resumeFrom to the config
            config=config,
            reinit="create_new",
        )
        keep_run(self.job_dir, "wandb", self._run.id)
        # The job's step is a metric, the charts' step axis: W&B's own step only goes forward.
        self._run.define_metric("train/step")
        self._run.define_metric("*", step_metric="train/step")
        note(f"Weights & Biases: logging to run {self._run.id} in project {self._run.project!r}")

    def send(self, step: int, values: dict[str, float], time: float) -> None:
        # No step= here: W&B drops a step below its last, and a resume trains some steps again.
        self._run.log({"train/step": step, **values})

    def end(self, final_type: str | None) -> None:
        self._run.finish(exit_code=0 if final_type == "completed" else 1)


def mlflow_wanted(environment: Mapping[str, str] = os.environ) -> bool:
    return bool(environment.get("MLFLOW_TRACKING_URI"))


def wandb_wanted(environment: Mapping[str, str] = os.environ) -> bool:
    mode = environment.get("WANDB_MODE", "")
    if mode == "disabled":
        return False
    return bool(environment.get("WANDB_PROJECT") or mode)


def installed(module: str, sink: str, package: str) -> bool:
    import importlib.util

    if importlib.util.find_spec(module) is not None:
        return True
    note(f"{sink} logging is off for this job: the {package} package is not installed in the trainer's Python (pip install {package})")
    return False


def wanted_sinks(job_dir: Path) -> list[BackgroundSink]:
    """The sinks the environment turns on (and whose package is installed), started."""
    sinks: list[BackgroundSink] = []
    if mlflow_wanted() and installed("mlflow", "MLflow", "mlflow-skinny"):
        sinks.append(MlflowSink(job_dir))
    if wandb_wanted() and installed("wandb", "Weights & Biases", "wandb"):
        sinks.append(WandbSink(job_dir))
    return sinks
