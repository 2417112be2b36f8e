"""MLflow and Weights & Biases: a job trained by the real CLI with the user's usual settings sends the
step and eval events' numbers, read back with MLflow's own client (local file store) and from W&B's
offline run file (protobuf records, wandb's own schema); a sink that cannot start never fails the job."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from conftest import make_job, read_events, run_cli

JOB = {
    "dataset": {"validationSplit": 0.1},
    "training": {"epochs": 1, "batchSize": 16, "learningRate": 0.01, "seed": 5, "packing": False},
}
# W&B never reaches the network: offline, silent, no login, and its files in the test's folder.
WANDB_OFFLINE = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true", "WANDB_API_KEY": ""}


def expected_points(job_dir: Path) -> dict[str, dict[int, float]]:
    events = read_events(job_dir)
    steps = [event for event in events if event["type"] == "step"]
    evals = [event for event in events if event["type"] == "eval"]
    assert len(steps) >= 3 and len(evals) == 1
    return {
        "train/loss": {event["step"]: event["loss"] for event in steps},
        "train/learning_rate": {event["step"]: event["lr"] for event in steps},
        "train/grad_norm": {event["step"]: event["gradNorm"] for event in steps},
        "train/tokens_per_second": {event["step"]: event["tokensPerSecond"] for event in steps},
        "eval/loss": {event["step"]: event["loss"] for event in evals},
    }


def test_mlflow_file_store_holds_the_step_and_eval_events(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow import MlflowClient

    # MLflow 3 keeps its file store behind this switch (a user's own setting, passed on as it is).
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = (tmp_path / "mlruns").as_uri()
    job_dir = make_job(tmp_path / "job", tiny_model, **JOB)
    result = run_cli(job_dir, MLFLOW_TRACKING_URI=store, MLFLOW_EXPERIMENT_NAME="tiny")
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("tiny")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    run = runs[0]
    assert run.info.run_name == "job" and run.info.status == "FINISHED"
    for tag, values in expected_points(job_dir).items():
        history = client.get_metric_history(run.info.run_id, tag)
        assert {point.step: point.value for point in history} == pytest.approx(values, rel=1e-12), tag


def wandb_records(run_file: Path) -> list[object]:
    """The protobuf records of a .wandb file: LevelDB's log format (32 KiB blocks, 7-byte chunk
    headers: CRC, length, type) after W&B's 7-byte file header, each record a wandb Record."""
    from wandb.proto import wandb_internal_pb2

    data = run_file.read_bytes()
    assert data[:4] == b":W&B"
    block = 32 * 1024
    position, pending, records = 7, b"", []
    while position + 7 <= len(data):
        left = block - position % block
        if left < 7:  # a block's tail too short for a header is padding
            position += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[position:position + 7])
        if kind == 0 and length == 0:
            position += left
            continue
        pending += data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # FULL or LAST: a whole record
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def test_wandb_offline_run_holds_the_step_and_eval_events(tiny_model: Path, tmp_path: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, **JOB)
    wandb_dir = tmp_path / "wandb-dir"
    wandb_dir.mkdir()
    result = run_cli(job_dir, WANDB_DIR=str(wandb_dir), WANDB_PROJECT="tiny", **WANDB_OFFLINE)
    assert result.returncode == 0, result.stderr[-3000:]
    run_files = list(wandb_dir.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(run_files) == 1, list(wandb_dir.rglob("*"))
    logged: dict[str, dict[int, float]] = {}
    for record in wandb_records(run_files[0]):
        if record.WhichOneof("record_type") != "history":
            continue
        items = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
        for tag, value in items.items():
            if "/" in tag and isinstance(value, (int, float)):
                logged.setdefault(tag, {})[items["_step"]] = value
    for tag, values in expected_points(job_dir).items():
        assert logged[tag] == pytest.approx(values, rel=1e-12), tag


def test_an_mlflow_server_that_is_down_leaves_the_job_alone(tiny_model: Path, tmp_path: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, **JOB)
    # Nothing listens on port 9; one try, so the test does not wait out MLflow's retries.
    result = run_cli(
        job_dir, MLFLOW_TRACKING_URI="http://127.0.0.1:9", MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="5"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_events(job_dir)[-1]["type"] == "completed"
    stopped = [line for line in result.stderr.splitlines() if "MLflow logging stopped for this job" in line]
    assert len(stopped) == 1, result.stderr[-3000:]
    assert (job_dir / "tensorboard").is_dir()
