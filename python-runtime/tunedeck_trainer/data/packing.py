"""pack_examples: several examples per row with no padding, for batch size 1 training.

Each example keeps its own position ids (restarting at 0). transformers 4.57 reads positions
that restart as sequence boundaries and builds a block-diagonal causal mask for sdpa and eager
attention, provided the model is called with ``position_ids``, without ``attention_mask`` and
with ``use_cache=False`` (a cache disables the detection). The first label of every example is
-100 so that no token is trained to predict the next example's first token.
"""

from __future__ import annotations

from .encode import IGNORE_INDEX


def pack_examples(examples: list[dict[str, list[int]]], max_length: int) -> list[dict[str, list[int]]]:
    """Packs examples in order into rows of at most ``max_length`` tokens.

    An example never spans two rows; one longer than ``max_length`` is cut to it.
    Returns rows of ``input_ids``, ``labels`` and ``position_ids``.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")
    rows: list[dict[str, list[int]]] = []
    current: dict[str, list[int]] = {"input_ids": [], "labels": [], "position_ids": []}
    for example in examples:
        ids = list(example["input_ids"][:max_length])
        if not ids:
            continue
        labels = [IGNORE_INDEX] + list(example["labels"][1:max_length])
        if current["input_ids"] and len(current["input_ids"]) + len(ids) > max_length:
            rows.append(current)
            current = {"input_ids": [], "labels": [], "position_ids": []}
        current["input_ids"] += ids
        current["labels"] += labels
        current["position_ids"] += list(range(len(ids)))
    if current["input_ids"]:
        rows.append(current)
    return rows
