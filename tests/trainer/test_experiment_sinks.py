"""MLflow and Weights & Biases: a job trained by the real CLI with the user's usual settings sends the
step and eval events' numbers, read back with MLflow's own client (local file store) and from W&B's
offline run file (protobuf records, wandb's own schema); a job resumed from an earlier checkpoint
goes on in the same run of each, with the steps it trains again logged again; a sink that cannot
start never fails the job."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from conftest import make_job, merge, read_config, read_events, run_cli, write_config

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
        _crc, length, kind = struct.unpack("<IHB", data[position : position + 7])
        if kind == 0 and length == 0:
            position += left
            continue
        pending += data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # FULL or LAST: a whole record
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def wandb_run(run_file: Path) -> tuple[str, dict[str, dict[int, float]]]:
    """The run id a .wandb file logs to, and tag -> train/step -> value of its history."""
    run_id, logged = "", {}
    for record in wandb_records(run_file):
        if record.WhichOneof("record_type") == "run":
            run_id = record.run.run_id
        if record.WhichOneof("record_type") != "history":
            continue
        items = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
        for tag, value in items.items():
            if "/" in tag and tag != "train/step" and isinstance(value, (int, float)):
                logged.setdefault(tag, {})[items["train/step"]] = value
    return run_id, logged


def test_wandb_offline_run_holds_the_step_and_eval_events(tiny_model: Path, tmp_path: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, **JOB)
    wandb_dir = tmp_path / "wandb-dir"
    wandb_dir.mkdir()
    result = run_cli(job_dir, WANDB_DIR=str(wandb_dir), WANDB_PROJECT="tiny", **WANDB_OFFLINE)
    assert result.returncode == 0, result.stderr[-3000:]
    run_files = list(wandb_dir.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(run_files) == 1, list(wandb_dir.rglob("*"))
    _run_id, logged = wandb_run(run_files[0])
    for tag, values in expected_points(job_dir).items():
        assert logged[tag] == pytest.approx(values, rel=1e-12), tag


def test_a_resumed_job_goes_on_in_its_runs_and_logs_the_steps_trained_again(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = (tmp_path / "mlruns").as_uri()
    wandb_dir = tmp_path / "wandb-dir"
    wandb_dir.mkdir()
    sinks = {"MLFLOW_TRACKING_URI": store, "WANDB_DIR": str(wandb_dir), "WANDB_PROJECT": "tiny", **WANDB_OFFLINE}
    # As after a crash: the steps after the last checkpoint (step 4) are trained again.
    job_dir = make_job(tmp_path / "job", tiny_model, **merge(JOB, {"training": {"checkpointEvery": 2, "keepCheckpoints": 5}}))
    first = run_cli(job_dir, **sinks)
    assert first.returncode == 0, first.stderr[-3000:]
    first_steps = [event for event in read_events(job_dir) if event["type"] == "step"]
    write_config(job_dir, {**read_config(job_dir), "resumeFrom": "step-4"})
    second = run_cli(job_dir, **sinks)
    assert second.returncode == 0, second.stderr[-3000:]
    again = [event for event in read_events(job_dir) if event["type"] == "step"][len(first_steps) :]
    assert [event["step"] for event in again][:1] == [5] and len(first_steps) > 5

    runs = MlflowClient(tracking_uri=store).search_runs([MlflowClient(tracking_uri=store).get_experiment_by_name("tunedeck").experiment_id])
    assert [(run.info.run_name, run.info.status) for run in runs] == [("job", "FINISHED")]
    history = MlflowClient(tracking_uri=store).get_metric_history(runs[0].info.run_id, "train/loss")
    assert sorted((point.step, point.value) for point in history) == pytest.approx(
        sorted((event["step"], event["loss"]) for event in first_steps + again), rel=1e-12
    )

    # Offline, each start writes its own file; both name the same run, which the sync joins.
    started = sorted(wandb_dir.glob("wandb/offline-run-*/run-*.wandb"), key=lambda path: path.stat().st_mtime)
    assert len(started) == 2, list(wandb_dir.rglob("*"))
    (first_id, first_logged), (second_id, second_logged) = wandb_run(started[0]), wandb_run(started[1])
    assert first_id == second_id != ""
    assert first_logged["train/loss"] == pytest.approx({event["step"]: event["loss"] for event in first_steps}, rel=1e-12)
    assert second_logged["train/loss"] == pytest.approx({event["step"]: event["loss"] for event in again}, rel=1e-12)


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
