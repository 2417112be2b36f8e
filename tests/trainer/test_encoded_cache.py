"""The encoded-data cache: a second job on the same data reads it, trains the same, and a damaged
or partial entry is ignored and rebuilt.

Run: node scripts/python.mjs -m pytest -q tests/trainer/test_encoded_cache.py
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import make_job, read_events, run_cli, step_losses
from tunedeck_trainer.config import load_config
from tunedeck_trainer.data.encoded_cache import META, evict
from tunedeck_trainer.data.job_encoded import encoded_records

HIT = "encoded records read from the cache"


def dataset_event(job_dir: Path) -> dict:
    event = next(event for event in read_events(job_dir) if event["type"] == "dataset")
    return {key: value for key, value in event.items() if key not in ("time", "seq")}


def test_a_second_job_on_the_same_data_reads_the_cache_and_trains_the_same(tmp_path, tiny_model):
    cache = tmp_path / "cache" / "encoded"
    settings = {"dataset": {"validationSplit": 0.1}, "training": {"maxSteps": 3, "packing": True}}
    first = run_cli(make_job(tmp_path / "first", tiny_model, **settings), TUNEDECK_ENCODED_CACHE=str(cache))
    second = run_cli(make_job(tmp_path / "second", tiny_model, **settings), TUNEDECK_ENCODED_CACHE=str(cache))
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert HIT not in first.stdout and "records encoded in" in first.stdout and "cached in cache/encoded/" in first.stdout
    assert HIT in second.stdout and "records encoded in" not in second.stdout
    entries = [entry for entry in cache.iterdir()]
    assert len(entries) == 1 and json.loads((entries[0] / META).read_text())["records"] == 96
    assert dataset_event(tmp_path / "second") == dataset_event(tmp_path / "first")
    losses = step_losses(read_events(tmp_path / "first"))
    assert len(losses) == 3 and step_losses(read_events(tmp_path / "second")) == losses


@pytest.fixture()
def job(tmp_path, tiny_model, monkeypatch):
    """A job folder with TUNEDECK_ENCODED_CACHE set, its config and the model's tokenizer."""
    from transformers import AutoTokenizer

    monkeypatch.setenv("TUNEDECK_ENCODED_CACHE", str(tmp_path / "cache"))
    job_dir = make_job(tmp_path / "job", tiny_model)
    return job_dir, load_config(job_dir / "config.json"), AutoTokenizer.from_pretrained(tiny_model)


def encode(job, capsys) -> tuple[list, str]:
    job_dir, config, tokenizer = job
    _, data = encoded_records(config, job_dir, tokenizer)
    return data.examples, capsys.readouterr().out


@pytest.mark.parametrize("damage", ["flipped token", "cut array", "no meta.json", "other version"])
def test_a_damaged_or_partial_entry_is_ignored_and_rebuilt(job, capsys, damage):
    fresh, said = encode(job, capsys)
    (entry,) = (Path(os.environ["TUNEDECK_ENCODED_CACHE"])).iterdir()
    ids = entry / "ids.npy"
    if damage == "flipped token":
        data = bytearray(ids.read_bytes())
        data[-1] ^= 0x01
        ids.write_bytes(bytes(data))
    elif damage == "cut array":
        ids.write_bytes(ids.read_bytes()[:-8])
    elif damage == "no meta.json":
        (entry / META).unlink()  # a writer that died before its last file
    else:
        meta = json.loads((entry / META).read_text())
        (entry / META).write_text(json.dumps({**meta, "version": 0}))
    rebuilt, said = encode(job, capsys)
    assert "is damaged" in said and "records encoded in" in said and HIT not in said
    assert rebuilt == fresh
    again, said = encode(job, capsys)
    assert HIT in said and again == fresh


def test_another_setting_that_changes_the_encoding_is_another_entry(job, capsys):
    job_dir, config, tokenizer = job
    masked, _ = encode(job, capsys)
    raw = json.loads((job_dir / "config.json").read_text())
    raw["training"]["trainOnInputs"] = True
    (job_dir / "config.json").write_text(json.dumps(raw))
    _, data = encoded_records(load_config(job_dir / "config.json"), job_dir, tokenizer)
    assert HIT not in capsys.readouterr().out
    assert [example["labels"] for example in data.examples] == [example["input_ids"] for example in masked]
    assert len(list(Path(os.environ["TUNEDECK_ENCODED_CACHE"]).iterdir())) == 2


def test_the_least_recently_used_entries_go_past_the_limit(tmp_path):
    for age, name in enumerate(["old", "used", "new"]):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "ids.npy").write_bytes(b"x" * 1000)
        os.utime(folder, (1000 + age, 1000 + age))
    os.utime(tmp_path / "used", (5000, 5000))  # read by a later job: kept before "new"
    assert evict(tmp_path, 2000, keep="new") == ["old"]
    assert evict(tmp_path, 1000, keep="new") == ["used"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["new"]
    shutil.rmtree(tmp_path / "new")
