"""Mixing datasets (dataset.mix, data/mixing.py): row counts by weight, a seeded order, each dataset in its own format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunedeck_trainer.batches import IGNORE_INDEX
from tunedeck_trainer.config import parse_config
from tunedeck_trainer.data.job_data import job_records
from tunedeck_trainer.data.job_mix import mixed_encoded
from tunedeck_trainer.data.mix_preview import mix_preview
from tunedeck_trainer.data.mixing import mix_order, taken
from tunedeck_trainer.errors import TrainerError

ALPACA_ROWS, SHAREGPT_ROWS = 40, 30


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """An Alpaca file of 40 rows and a ShareGPT file of 30, each reply saying which file and row it is."""
    alpaca = tmp_path / "alpaca.jsonl"
    alpaca.write_text(
        "".join(
            json.dumps({"instruction": f"Question a{index}", "input": "", "output": f"answer a{index}"}) + "\n"
            for index in range(ALPACA_ROWS)
        ),
        encoding="utf-8",
    )
    sharegpt = tmp_path / "chats.jsonl"
    sharegpt.write_text(
        "".join(
            json.dumps({"conversations": [{"from": "human", "value": f"Question b{index}"}, {"from": "gpt", "value": f"reply b{index}"}]})
            + "\n"
            for index in range(SHAREGPT_ROWS)
        ),
        encoding="utf-8",
    )
    preference = tmp_path / "pairs.jsonl"
    preference.write_text(json.dumps({"prompt": "Hi", "chosen": "Hello", "rejected": "Go away"}) + "\n", encoding="utf-8")
    return {"alpaca": alpaca, "sharegpt": sharegpt, "preference": preference}


def mixed_config(files: dict[str, Path], seed: int = 42, method: str = "sft", second: str = "sharegpt"):
    """A job on the Alpaca file at weight 0.25 mixed with ``second`` at weight 1.5, read as detected."""
    return parse_config(
        {
            "version": 1,
            "jobId": "mix",
            "method": method,
            "model": {"path": "unused"},
            "dataset": {
                "path": str(files["alpaca"]),
                "format": "alpaca",
                "weight": 0.25,
                "mix": [{"path": str(files[second]), "weight": 1.5}],
            },
            "training": {"seed": seed, "maxSeqLength": 128},
        }
    )


def learned_text(tokenizer, example) -> str:
    """The decoded tokens a training example learns (its labels that are not masked)."""
    return tokenizer.decode([token for token, label in zip(example["input_ids"], example["labels"], strict=True) if label != IGNORE_INDEX])


def test_weights_give_exact_counts_and_the_seed_fixes_the_order():
    # 40 rows at 0.25 is 10; 30 rows at 1.5 is every row once and 15 of them twice.
    assert (taken(40, 0.25), taken(30, 1.5), taken(3, 0.01), taken(0, 1)) == (10, 45, 1, 0)
    order = mix_order([40, 30], [0.25, 1.5], seed=42)
    assert [sum(1 for part, _ in order if part == index) for index in (0, 1)] == [10, 45]
    second = [row for part, row in order if part == 1]
    assert sorted(set(second)) == list(range(30)) and len(second) == 45
    assert mix_order([40, 30], [0.25, 1.5], seed=42) == order
    assert mix_order([40, 30], [0.25, 1.5], seed=7) != order
    # The datasets are interleaved, not one after the other.
    assert {part for part, _ in order[:20]} == {0, 1}


def test_an_sft_mix_encodes_each_dataset_in_its_own_format(files, tmp_path, chatml):
    path, data, mix = mixed_encoded(mixed_config(files), tmp_path, chatml)
    assert path == files["alpaca"]
    assert [(part["format"], part["rows"], part["taken"]) for part in mix] == [("alpaca", 40, 10), ("sharegpt", 30, 45)]
    assert data.format == "alpaca+sharegpt" and len(data.examples) == 55
    texts = [chatml.decode(example["input_ids"]) for example in data.examples]
    from_alpaca = [index for index, text in enumerate(texts) if "Question a" in text]
    from_sharegpt = [index for index, text in enumerate(texts) if "Question b" in text]
    assert (len(from_alpaca), len(from_sharegpt)) == (10, 45)
    # The masks: each example learns only its own reply and the end-of-turn token, the prompt is masked.
    first_a, first_b = data.examples[from_alpaca[0]], data.examples[from_sharegpt[0]]
    row_a = texts[from_alpaca[0]].split("Question a")[1].split("<")[0]
    row_b = texts[from_sharegpt[0]].split("Question b")[1].split("<")[0]
    assert learned_text(chatml, first_a) == f"answer a{row_a}<|im_end|>"
    assert learned_text(chatml, first_b) == f"reply b{row_b}<|im_end|>"
    assert first_a["labels"][0] == IGNORE_INDEX and first_b["labels"][0] == IGNORE_INDEX

    again = mixed_encoded(mixed_config(files), tmp_path, chatml)[1]
    assert again.examples == data.examples
    other = mixed_encoded(mixed_config(files, seed=7), tmp_path, chatml)[1]
    assert other.examples != data.examples and len(other.examples) == 55


def test_the_preview_counts_the_mix_the_job_trains_on(files, tmp_path, chatml):
    config = mixed_config(files)
    _, _, mix = mixed_encoded(config, tmp_path, chatml)
    shown = mix_preview(
        str(files["alpaca"]),
        "alpaca",
        None,
        "auto",
        0.25,
        [{"path": str(files["sharegpt"]), "weight": 1.5}],
        42,
        5,
        {"model": None, "maxLength": 128, "shown": 1},
    )
    assert [(part["format"], part["rows"], part["taken"], part["error"]) for part in shown["mix"]] == [
        (part["format"], part["rows"], part["taken"], None) for part in mix
    ]
    assert shown["tokens"]["trainable"] == 55 and len(shown["records"]) == 5
    # The records and the job's records come from the same draw: the same rows in the same order.
    _, loaded, _, _ = job_records(config, tmp_path)
    assert shown["records"] == loaded.records[:5]


def test_a_dataset_that_does_not_fit_the_method_is_refused_by_name(files, tmp_path, chatml):
    with pytest.raises(TrainerError) as refused:
        mixed_encoded(mixed_config(files, second="preference"), tmp_path, chatml)
    assert refused.value.field == "dataset.mix.0.format"
    assert str(refused.value).startswith(f'dataset.mix.0.format: {files["preference"]} was read as "preference"')
    missing = parse_config(
        {
            "version": 1,
            "jobId": "mix",
            "model": {"path": "unused"},
            "dataset": {"path": str(files["alpaca"]), "mix": [{"path": str(tmp_path / "gone.jsonl")}]},
        }
    )
    with pytest.raises(TrainerError) as gone:
        job_records(missing, tmp_path)
    assert gone.value.field == "dataset.mix.0.path" and "gone.jsonl" in str(gone.value)


def test_a_config_without_a_mix_keeps_its_hash():
    plain = {"version": 1, "jobId": "a", "model": {"path": "m"}, "dataset": {"path": "d.jsonl"}}
    explicit = {**plain, "dataset": {"path": "d.jsonl", "weight": 1, "mix": []}}
    assert parse_config(plain).hash() == parse_config(explicit).hash()
    mixed = {**plain, "dataset": {"path": "d.jsonl", "mix": [{"path": "e.jsonl"}]}}
    assert parse_config(mixed).hash() != parse_config(plain).hash()
    assert parse_config(mixed).dataset.mix[0] == {
        "path": "e.jsonl",
        "format": "auto",
        "columns": {},
        "textSplit": "auto",
        "csvHeader": "auto",
        "weight": 1,
    }
