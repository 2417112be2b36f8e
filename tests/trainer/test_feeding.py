"""Dataloader workers (training.dataloaderWorkers): the same losses as collating in the training
process, across an epoch boundary, a pause and resume, and an out-of-memory retry.

The job: 86 training examples (validationSplit 0.1) in micro-batches of 8 (11 per epoch),
gradientAccumulation 2 (6 steps per epoch), 1.5 epochs = 9 steps, LoRA dropout 0.1 (so the global
RNG must advance exactly as without workers), evals at the end of epoch 1 and of the run.
Run: PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_feeding.py
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import make_job, read_config, run_cli, step_losses, train_in_process, write_config
from tunedeck_trainer.batches import epoch_micro_batches
from tunedeck_trainer.config import parse_config
from tunedeck_trainer.feeding import Feeder, resolve_workers
from tunedeck_trainer.methods.sft import Sft
from tunedeck_trainer.protocol import event_errors

STEPS = 9
# Unpacked so the counts above hold; packed rows through workers: the Feeder test at the end.
TRAINING = {
    "epochs": 1.5,
    "batchSize": 8,
    "gradientAccumulation": 2,
    "learningRate": 0.005,
    "seed": 11,
    "packing": False,
}


def job(root: Path, name: str, model: Path, **training) -> Path:
    return make_job(
        root / name,
        model,
        dataset={"validationSplit": 0.1},
        lora={"rank": 4, "alpha": 8, "dropout": 0.1},
        training={**TRAINING, **training},
    )


def evals(events: list[dict]) -> dict[int, float]:
    return {event["step"]: event["loss"] for event in events if event["type"] == "eval"}


def assert_same_losses(actual: dict[int, float], expected: dict[int, float]) -> None:
    assert sorted(actual) == sorted(expected)
    for step, loss in expected.items():
        assert abs(actual[step] - loss) <= 1e-6, f"step {step}: {actual[step]} != {loss}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, list[dict]]:
    root = tmp_path_factory.mktemp("feeding")
    threads = torch.get_num_threads()
    # One compute thread, as the CLI runs get (conftest.cli_env): the same float reduction order
    # in every run, and no spinning threads fighting over shared CI cores.
    torch.set_num_threads(1)
    try:
        return _train_all(root, tiny_model)
    finally:
        torch.set_num_threads(threads)


def _train_all(root: Path, tiny_model: Path) -> dict[str, list[dict]]:
    found = {"inline": train_in_process(job(root, "inline", tiny_model, dataloaderWorkers=0))}
    found["workers"] = train_in_process(job(root, "workers", tiny_model, dataloaderWorkers=2))

    # Pause mid epoch 1 through the CLI (workers forked from a process with its signal handling),
    # then resume with workers from the pause checkpoint's position.
    chained = job(root, "chained", tiny_model, dataloaderWorkers=2)
    first = run_cli(chained, TUNEDECK_PAUSE_AT_STEP="4")
    assert first.returncode == 3, first.stderr[-3000:]
    assert "data feeding: 2 worker processes collate the next steps" in first.stdout
    write_config(chained, {**read_config(chained), "resumeFrom": "pause-4"})
    found["chained"] = train_in_process(chained)

    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "4")
        found["oom-inline"] = train_in_process(job(root, "oom-inline", tiny_model, dataloaderWorkers=0))
        found["oom-workers"] = train_in_process(job(root, "oom-workers", tiny_model, dataloaderWorkers=2))
    finally:
        mp.undo()
    return found


def test_workers_give_the_losses_of_inline_collation(runs) -> None:
    inline, workers = runs["inline"], runs["workers"]
    assert sorted(step_losses(inline)) == list(range(1, STEPS + 1))
    assert_same_losses(step_losses(workers), step_losses(inline))
    assert evals(inline).keys() == {6, 9}
    assert_same_losses(evals(workers), evals(inline))
    tokens = {e["step"]: e["tokens"] for e in workers if e["type"] == "step"}
    assert tokens == {e["step"]: e["tokens"] for e in inline if e["type"] == "step"}


def test_pause_and_resume_with_workers_equal_the_uninterrupted_run(runs) -> None:
    chained = runs["chained"]
    assert all(event_errors(event) == [] for event in chained)
    assert [event["step"] for event in chained if event["type"] == "started"] == [0, 4]
    assert [event["step"] for event in chained if event["type"] == "paused"] == [4]
    assert_same_losses(step_losses(chained), step_losses(runs["inline"]))
    assert_same_losses(evals(chained), evals(runs["inline"]))


def test_an_out_of_memory_retry_with_workers_gives_the_same_losses(runs) -> None:
    ooms = [event for event in runs["oom-workers"] if event["type"] == "oom"]
    assert [(e["step"], e["batchSize"], e["newBatchSize"]) for e in ooms] == [(1, 8, 4)]
    assert_same_losses(step_losses(runs["oom-workers"]), step_losses(runs["oom-inline"]))


def _examples(count: int, packed: bool) -> list[dict[str, list[int]]]:
    generator = torch.Generator().manual_seed(3)
    made = []
    for index in range(count):
        length = 3 + index % 7
        ids = torch.randint(3, 90, (length,), generator=generator).tolist()
        example = {"input_ids": ids, "labels": [-100] + ids[1:]}
        if packed:
            example["position_ids"] = list(range(length // 2)) + list(range(length - length // 2))
        made.append(example)
    return made


def _tensors(steps: list) -> list[torch.Tensor]:
    found = []
    for step in steps:
        for pieces in step:
            for batch in pieces:
                found += [batch.input_ids, batch.attention_mask, batch.labels]
                found += [batch.position_ids] if batch.position_ids is not None else []
    return found


@pytest.mark.parametrize("packed", [False, True])
def test_a_feeder_with_workers_hands_out_the_same_tensors(packed: bool) -> None:
    examples, cpu = _examples(23, packed), torch.device("cpu")
    micro = epoch_micro_batches(len(examples), 4, seed=0, epoch=0)  # 6 micro-batches, the last of 3 rows
    sft = Sft(parse_config({"version": 1, "jobId": "feeding", "model": {"path": "m"}, "dataset": {"path": "d"}}))

    def collect(workers: int, position: int, size: int) -> list:
        with Feeder(examples, sft.collate_step, 2, workers, cpu) as feeder:
            feeder.start(micro, position, size)
            return [feeder.next() for _ in range((len(micro) - position + 1) // 2)]

    before = torch.get_rng_state()
    for position, size in ((0, 4), (2, 2)):  # a fresh epoch; a restart mid epoch after an OOM halving
        inline, workers = collect(0, position, size), collect(2, position, size)
        assert [len(pieces) for step in workers for pieces in step] == [len(p) for s in inline for p in s]
        for mine, theirs in zip(_tensors(workers), _tensors(inline), strict=True):
            assert torch.equal(mine, theirs)
    # Starting workers draws their seed from a private generator: LoRA dropout's stream is untouched.
    assert torch.equal(torch.get_rng_state(), before)


def _preference_examples(count: int) -> list[dict[str, list[int]]]:
    generator = torch.Generator().manual_seed(5)

    def tokens(length: int) -> list[int]:
        return torch.randint(3, 90, (length,), generator=generator).tolist()

    return [
        {
            "prompt": tokens(2 + index % 7),
            "chosen": tokens(1 + index % 11),
            "rejected": tokens(2 + index % 13),
            "completion": tokens(1 + index % 12),
            "label": [index % 2],
        }
        for index in range(count)
    ]


@pytest.mark.parametrize("method", ["dpo", "kto"])
def test_a_feeder_with_workers_hands_out_the_same_preference_tensors(method: str) -> None:
    from tunedeck_trainer.methods import method_for

    config = parse_config(
        {
            "version": 1,
            "jobId": "feeding",
            "model": {"path": "m"},
            "dataset": {"path": "d"},
            "method": method,
            "training": {"maxSeqLength": 16},
        }
    )
    chosen = method_for(config)
    examples, cpu = _preference_examples(23), torch.device("cpu")
    micro = epoch_micro_batches(len(examples), 4, seed=0, epoch=0)

    def collect(workers: int) -> list:
        with Feeder(examples, chosen.collate_step, 2, workers, cpu) as feeder:
            feeder.start(micro, 0, 2)  # pieces of 2, as after an out-of-memory retry
            return [feeder.next() for _ in range(3)]

    inline, workers = collect(0), collect(2)
    for mine, theirs in zip(_tensors(workers), _tensors(inline), strict=True):
        assert torch.equal(mine, theirs)
    batches = [batch for step in workers for pieces in step for batch in pieces]
    assert max(batch.input_ids.shape[1] for batch in batches) == 16  # some rows were cut to maxSeqLength
    if method == "kto":
        for inline_batch, worker_batch in zip([b for s in inline for p in s for b in p], batches, strict=True):
            assert torch.equal(inline_batch.desirable, worker_batch.desirable)
            assert torch.equal(inline_batch.kl.input_ids, worker_batch.kl.input_ids)


def test_auto_workers_depend_on_the_device() -> None:
    assert resolve_workers(None, torch.device("cpu")) == 0  # the cores compute the model
    assert 1 <= resolve_workers(None, torch.device("cuda")) <= 2
    assert resolve_workers(3, torch.device("cpu")) == 3
    assert resolve_workers(0, torch.device("cuda")) == 0
