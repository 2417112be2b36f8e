"""pack_examples: several examples per row with no padding (rows of a batch pad only their tails).

Each example keeps its own position ids (restarting at 0). transformers 4.57 reads positions
that restart as sequence boundaries and builds a block-diagonal causal mask for sdpa and eager
attention, provided the model is called with ``position_ids``, without ``attention_mask`` and
with ``use_cache=False`` (a cache disables the detection). The first label of every example is
-100 so that no token is trained to predict the next example's first token.

Only models whose modeling code builds its mask with transformers.masking_utils
(create_causal_mask or create_sliding_window_causal_mask: Llama, Qwen2/3, Mistral, Gemma,
Phi-3, GPT-2, ...) get that detection; ``detects_packed_rows`` tells them apart. Others (OPT,
Bloom, Falcon, ...) would let packed examples attend to each other, so the SFT recipe trains
them unpacked.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from .encode import IGNORE_INDEX


def detects_packed_rows(model_class: type) -> bool:
    """Whether transformers keeps the examples of a packed row apart for ``model_class``.

    True when the class's modeling module uses one of masking_utils' mask builders (which turn
    restarting position ids into a block-diagonal mask) and its forward takes position_ids.
    """
    from transformers import masking_utils

    builders = (masking_utils.create_causal_mask, masking_utils.create_sliding_window_causal_mask)
    module = sys.modules.get(model_class.__module__)
    names: dict[str, Any] = vars(module) if module is not None else {}
    uses_builder = any(value is builder for value in names.values() for builder in builders)
    takes_positions = "position_ids" in inspect.signature(model_class.forward).parameters
    return uses_builder and takes_positions


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
