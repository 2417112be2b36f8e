"""config.json validation: the shared vectors, and the failures a user sees through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, make_job, read_events, run_cli, write_config
from tunedeck_trainer.config import ConfigError, load_config, parse_config
from tunedeck_trainer.protocol import event_errors

VALID = sorted((FIXTURES / "config" / "valid").glob("*.json"))
CASES = json.loads((FIXTURES / "config" / "invalid" / "cases.json").read_text())["cases"]


@pytest.mark.parametrize("path", VALID, ids=lambda path: path.name)
def test_valid_vectors_parse_with_defaults(path: Path) -> None:
    config = parse_config(json.loads(path.read_text()))
    assert config.version == 1
    assert config.training.batch_size >= 1
    assert config.lora.rank >= 1


def test_dataloader_workers_do_not_change_the_config_hash() -> None:
    """Workers only move collation to other processes: a resume with another count is the same run."""
    data = json.loads((FIXTURES / "config" / "valid" / "full.json").read_text())
    other = {**data, "training": {**data["training"], "dataloaderWorkers": 0}}
    assert parse_config(data).hash() == parse_config(other).hash()
    changed = {**data, "training": {**data["training"], "seed": 8}}
    assert parse_config(data).hash() != parse_config(changed).hash()


def test_gpus_default_to_all_and_do_not_change_the_config_hash() -> None:
    """The rank count is recorded in checkpoints; resuming on another count is the same job's settings."""
    data = json.loads((FIXTURES / "config" / "valid" / "full.json").read_text())
    assert parse_config(data).training.gpus == (0, 1)
    minimal = json.loads((FIXTURES / "config" / "valid" / "minimal.json").read_text())
    assert parse_config(minimal).training.gpus == "all"
    other = {**data, "training": {**data["training"], "gpus": 1}}
    assert parse_config(data).hash() == parse_config(other).hash()


def test_a_bad_gpus_value_says_what_is_expected() -> None:
    data = json.loads((FIXTURES / "config" / "invalid" / "gpus-word.json").read_text())
    with pytest.raises(ConfigError, match=r'^config\.json: training\.gpus: expected "all", got "every"$'):
        parse_config(data)


@pytest.mark.parametrize("name", sorted(CASES))
def test_invalid_vectors_name_their_field(name: str) -> None:
    data = json.loads((FIXTURES / "config" / "invalid" / name).read_text())
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.field == CASES[name]["field"]
    assert str(caught.value).startswith(f"config.json: {CASES[name]['field']}: ")


def test_message_reads_like_the_example() -> None:
    data = json.loads((FIXTURES / "config" / "invalid" / "batch-size-string.json").read_text())
    with pytest.raises(ConfigError, match=r'^config\.json: training\.batchSize: expected a whole number from 1 to 1024, got "four"$'):
        parse_config(data)


def test_unknown_key_names_itself_and_what_is_allowed() -> None:
    data = json.loads((FIXTURES / "config" / "invalid" / "unknown-lora-key.json").read_text())
    with pytest.raises(ConfigError, match=r"^config\.json: lora\.r: unknown key; remove it \(allowed: rank, alpha, dropout, "):
        parse_config(data)


def test_not_a_json_number_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        '{"version": 1, "jobId": "j", "model": {"path": "m"}, "dataset": {"path": "d"}, "lora": {"alpha": NaN}}'
    )
    with pytest.raises(ConfigError, match="NaN is not a JSON number"):
        load_config(tmp_path / "config.json")


def _assert_failed(job_dir: Path, result, field: str) -> dict:
    events = read_events(job_dir)
    assert result.returncode == 1, result.stdout + result.stderr
    assert events, "no events written"
    assert events[-1]["type"] == "failed"
    assert not any(event["type"] == "completed" for event in events)
    assert all(event_errors(event) == [] for event in events)
    assert events[-1]["field"] == field
    assert field in events[-1]["error"]
    assert field in result.stderr  # the human sees it in the terminal too
    return events[-1]


def test_every_invalid_vector_fails_through_the_cli(tmp_path: Path) -> None:
    for name, expected in sorted(CASES.items()):
        job_dir = tmp_path / name.removesuffix(".json")
        job_dir.mkdir()
        (job_dir / "config.json").write_text((FIXTURES / "config" / "invalid" / name).read_text())
        result = run_cli(job_dir, timeout=30)
        _assert_failed(job_dir, result, expected["field"])


def test_not_json_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{\n  "version": 1,\n  oops\n}')
    result = run_cli(tmp_path, timeout=30)
    event = read_events(tmp_path)[-1]
    assert result.returncode == 1 and event["type"] == "failed"
    assert "line 3" in event["error"]


def test_missing_model_folder_names_model_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    job_dir = make_job(tmp_path / "job", missing)
    event = _assert_failed(job_dir, run_cli(job_dir, timeout=30), "model.path")
    assert str(missing) in event["error"]


def test_missing_dataset_names_dataset_path(tmp_path: Path, tiny_model: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, dataset={"path": str(tmp_path / "gone.jsonl")})
    event = _assert_failed(job_dir, run_cli(job_dir, timeout=30), "dataset.path")
    assert "gone.jsonl" in event["error"]


def test_unreadable_dataset_names_dataset_path(tmp_path: Path, tiny_model: Path) -> None:
    folder = tmp_path / "a-folder.jsonl"
    folder.mkdir()
    job_dir = make_job(tmp_path / "job", tiny_model, dataset={"path": str(folder)})
    event = _assert_failed(job_dir, run_cli(job_dir, timeout=30), "dataset.path")
    assert "a-folder.jsonl" in event["error"]


def test_relative_paths_are_relative_to_the_job_folder(tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    # "./" makes it a folder: "models/missing" alone reads as a hub id (owner/name), named as such.
    write_config(job_dir, {"version": 1, "jobId": "j", "model": {"path": "./models/missing"}, "dataset": {"path": "d.jsonl"}})
    event = _assert_failed(job_dir, run_cli(job_dir, timeout=30), "model.path")
    assert str(job_dir / "models" / "missing") in event["error"]
