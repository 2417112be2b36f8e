"""The held-out evaluation of the training loop (loop.py), after each epoch and at the end.

The validation examples are one batch, weighted as an optimizer step is. With several ranks each
rank evaluates all of them (the same numbers everywhere, and KTO's KL estimate, summed over the
ranks, is the same mean); rank 0 alone writes the event.
"""

from __future__ import annotations

from typing import Any

import torch


@torch.no_grad()
def evaluate(training: Any) -> None:
    """Emits the eval event of ``training`` (a loop.Training) at its current step, dropout off."""
    method, forward = training.method, training.forward
    training.control.phase = "evaluating"
    training.model.eval()
    validation = training.data.validation
    step = method.collate_step(validation, [list(range(len(validation)))], training.micro_batch_size)
    step = [[batch.to(training.precision.device) for batch in pieces] for pieces in step]
    prepared = method.prepare(forward, step)
    total, weight, sums = 0.0, 0, {}
    for batch in step[0]:
        summed, metrics = method.loss(forward, batch, prepared)
        total += float(summed)
        weight += batch.weight
        for key, value in metrics.items():
            sums[key] = sums.get(key, 0.0) + value
    training.model.train()
    training.control.phase = "training"
    loss = total / max(1, weight)
    summary = method.summary(sums, max(1, weight), prepared)
    training.events.emit("eval", step=training.step, loss=loss, **summary)
    print(f"eval at step {training.step} | loss {loss:.4f}{method.describe(summary)}", flush=True)
