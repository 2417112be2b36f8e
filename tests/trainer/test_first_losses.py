"""The first five losses of each method on the tiny model, on CPU in fp32 with a fixed seed, pinned.

Any change to what a method computes (data order, tokenisation, collation, the loss, the
optimizer) moves these numbers; a change that is meant to must update them, and say why.
The numbers were measured once with this file's jobs (torch 2.9, transformers 4.57, peft 0.17).
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_first_losses.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_job, step_losses, train_in_process
from test_dpo import dpo_job, write_preferences
from test_kto import kto_job, write_feedback

TRAINING = {
    "maxSteps": 5,
    "seed": 7,
    "batchSize": 4,
    "gradientAccumulation": 2,
    "learningRate": 0.005,
    "warmupRatio": 0.0,
    "precision": "fp32",
}
PINNED = {
    "sft": [7.866939544677734, 7.178605794906616, 6.982863903045654, 6.471155643463135, 6.045619249343872],
    # The untrained policy equals the reference: ln 2 for DPO, 1 - sigmoid(0) for KTO.
    "dpo": [0.6931471824645996, 0.33050069212913513, 0.18053389340639114, 0.06868631765246391, 0.05535688251256943],
    "kto": [0.5, 0.4320564419031143, 0.3553977459669113, 0.36543089151382446, 0.23734797537326813],
}


def job(method: str, root: Path, model: Path) -> Path:
    if method == "sft":
        return make_job(root / method, model, lora={"dropout": 0.1}, training=TRAINING)
    if method == "dpo":
        return dpo_job(root / method, model, write_preferences(root / "pairs.jsonl", rows=40), training=TRAINING)
    return kto_job(root / method, model, write_feedback(root / "feedback.jsonl", rows=40), training=TRAINING)


@pytest.mark.parametrize("method", sorted(PINNED))
def test_the_first_five_losses_are_the_pinned_ones(method: str, tmp_path: Path, tiny_model: Path) -> None:
    losses = step_losses(train_in_process(job(method, tmp_path, tiny_model)))
    measured = [losses[step] for step in range(1, 6)]
    print(f"{method}: {measured}")
    assert measured == pytest.approx(PINNED[method], rel=1e-5)
