"""The encoded-data cache for preference (DPO, ORPO) and feedback (KTO) data: a second job on the
same file reads the first one's entry, trains the same, and the rows it reads are those a fresh
encode makes; a damaged entry is rebuilt.

Run: node scripts/python.mjs -m pytest -q tests/trainer/test_preference_cache.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_job, merge, read_events, run_cli, step_losses
from test_dpo import write_preferences
from test_kto import write_feedback
from tunedeck_trainer.config import load_config
from tunedeck_trainer.data.encoded_cache import META
from tunedeck_trainer.methods import method_for

HIT = "encoded records read from the cache"
ENCODED = "records encoded in"


def dataset_event(job_dir: Path) -> dict:
    event = next(event for event in read_events(job_dir) if event["type"] == "dataset")
    return {key: value for key, value in event.items() if key not in ("time", "seq")}


def test_a_second_dpo_job_on_the_same_data_reads_the_cache_and_trains_the_same(tmp_path, tiny_model):
    cache = tmp_path / "cache" / "encoded"
    data = write_preferences(tmp_path / "pairs.jsonl", rows=24)
    settings = {
        "method": "dpo",
        "dataset": {"path": str(data), "format": "auto", "validationSplit": 0.125},
        "training": {"batchSize": 4, "maxSteps": 2, "maxSeqLength": 48, "warmupRatio": 0.0, "seed": 3},
        "dpo": {"beta": 0.1},
    }
    first = run_cli(make_job(tmp_path / "first", tiny_model, **settings), TUNEDECK_ENCODED_CACHE=str(cache))
    second = run_cli(make_job(tmp_path / "second", tiny_model, **settings), TUNEDECK_ENCODED_CACHE=str(cache))
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-3000:]
    assert HIT not in first.stdout and ENCODED in first.stdout and "cached in cache/encoded/" in first.stdout
    assert "24 encoded records read from the cache" in second.stdout and ENCODED not in second.stdout
    (entry,) = cache.iterdir()
    meta = json.loads((entry / META).read_text())
    assert (meta["records"], meta["layout"], meta["columns"]) == (24, "columns", ["prompt", "chosen", "rejected"])
    # The same counts (truncated, held out, longest) and the same losses as the job that encoded.
    assert dataset_event(tmp_path / "second") == dataset_event(tmp_path / "first")
    losses = step_losses(read_events(tmp_path / "first"))
    assert len(losses) == 2 and step_losses(read_events(tmp_path / "second")) == losses


def load(job_dir: Path, tokenizer):
    """The job's data as its method loads it (through the cache when TUNEDECK_ENCODED_CACHE is set)."""
    config = load_config(job_dir / "config.json")
    return method_for(config).load_data(config, job_dir, tokenizer, packing=False)


@pytest.mark.parametrize("method", ["dpo", "orpo", "kto"])
def test_the_rows_read_from_the_cache_equal_a_fresh_encode(tmp_path, tiny_model, monkeypatch, capsys, method):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    data = write_feedback(tmp_path / "data.jsonl") if method == "kto" else write_preferences(tmp_path / "data.jsonl")
    # maxSeqLength 16 cuts prompts and answers, so the cut records and their count come from the cache too.
    settings = merge(
        {
            "method": method,
            "dataset": {"path": str(data), "format": "auto", "validationSplit": 0.25},
            "training": {"batchSize": 4, "maxSeqLength": 16, "seed": 5},
        },
        {},
    )
    job_dir = make_job(tmp_path / "job", tiny_model, **settings)
    monkeypatch.delenv("TUNEDECK_ENCODED_CACHE", raising=False)
    fresh = load(job_dir, tokenizer)
    monkeypatch.setenv("TUNEDECK_ENCODED_CACHE", str(tmp_path / "cache"))
    first = load(job_dir, tokenizer)
    assert HIT not in capsys.readouterr().out
    cached = load(job_dir, tokenizer)
    assert HIT in capsys.readouterr().out
    assert fresh.truncated > 0 and len(fresh.validation) == 8
    for data_ in (first, cached):
        assert (data_.train, data_.validation) == (fresh.train, fresh.validation)
        assert (data_.format, data_.skipped, data_.truncated, data_.longest) == (
            fresh.format,
            fresh.skipped,
            fresh.truncated,
            fresh.longest,
        )


def test_another_cut_is_another_entry_and_a_damaged_entry_is_rebuilt(tmp_path, tiny_model, monkeypatch, capsys):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    cache = tmp_path / "cache"
    monkeypatch.setenv("TUNEDECK_ENCODED_CACHE", str(cache))
    base = {
        "method": "dpo",
        "dataset": {"path": str(write_preferences(tmp_path / "pairs.jsonl")), "format": "auto"},
        "training": {"batchSize": 4, "maxSeqLength": 32},
    }
    fresh = load(make_job(tmp_path / "a", tiny_model, **base), tokenizer)
    (entry,) = cache.iterdir()
    prompt = entry / "prompt.npy"
    damaged = bytearray(prompt.read_bytes())
    damaged[-1] ^= 0x01
    prompt.write_bytes(bytes(damaged))
    capsys.readouterr()
    rebuilt = load(tmp_path / "a", tokenizer)
    said = capsys.readouterr().out
    assert "is damaged" in said and ENCODED in said and HIT not in said
    assert (rebuilt.train, rebuilt.truncated) == (fresh.train, fresh.truncated)
    # Another maxSeqLength cuts the prompts otherwise: another entry, not a hit.
    load(make_job(tmp_path / "b", tiny_model, **merge(base, {"training": {"maxSeqLength": 24}})), tokenizer)
    assert HIT not in capsys.readouterr().out
    assert len(list(cache.iterdir())) == 2
