"""The SFT loss, computing the output head only where a token is learned.

The output head is the widest matrix of a modern LLM (hidden x vocabulary: 896 x 151,936 for
Qwen2.5-0.5B, about a quarter of its FLOPs), and its fp32 logits and log-softmax over every
position of a batch are often the largest tensors of a LoRA step. With the prompt masked, most
positions of a chat example are never learned from. ``LabelOnlyLoss`` runs the decoder, keeps
the hidden states of the positions whose next token is a label, and applies the head and cross
entropy to those alone: the same loss (and gradients) as the whole-sequence computation, with
fewer FLOPs and far less memory.

Only for architectures whose causal-LM forward is exactly ``lm_head(decoder(...))`` (listed in
``HEAD_ONLY_TYPES``: no logit soft-capping or scaling after the head); any other model keeps the
model's own forward. Tests: tests/trainer/test_loss.py.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .batches import IGNORE_INDEX, MicroBatch

# Model types whose CausalLM.forward computes logits = lm_head(last hidden state) and nothing more
# (checked against transformers 4.57's modeling code). Gemma 2/3 soft-cap, Cohere and Granite scale.
HEAD_ONLY_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3", "phi3"})


def _causal_lm(model: Any) -> Any:
    """The transformers CausalLM inside a peft model (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def supports_label_only(model: Any) -> bool:
    """Whether the model's logits are its head applied to the decoder's last hidden states."""
    causal = _causal_lm(model)
    config = getattr(causal, "config", None)
    return (
        getattr(config, "model_type", None) in HEAD_ONLY_TYPES
        and hasattr(causal, "model")
        and hasattr(causal, "lm_head")
        and getattr(config, "final_logit_softcapping", None) is None
    )


def full_loss_sum(model: Any, batch: MicroBatch) -> torch.Tensor:
    """Summed next-token cross entropy over the label tokens, from the model's own logits."""
    if batch.position_ids is not None:
        logits = model(input_ids=batch.input_ids, position_ids=batch.position_ids, use_cache=False).logits
    else:
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    shifted = logits[:, :-1, :].float()
    targets = batch.labels[:, 1:]
    return F.cross_entropy(shifted.reshape(-1, shifted.size(-1)), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum")


def label_only_loss_sum(model: Any, batch: MicroBatch) -> torch.Tensor:
    """The same sum as ``full_loss_sum``, with the head computed only at the learned positions."""
    causal = _causal_lm(model)
    if batch.position_ids is not None:
        # Packed rows: no attention mask, so transformers builds the block-diagonal one from the positions.
        hidden = causal.model(input_ids=batch.input_ids, position_ids=batch.position_ids, use_cache=False).last_hidden_state
    else:
        hidden = causal.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
    targets = batch.labels[:, 1:]
    learned = targets != IGNORE_INDEX
    logits = causal.lm_head(hidden[:, :-1, :][learned]).float()
    return F.cross_entropy(logits, targets[learned], reduction="sum")


def loss_function(model: Any) -> Any:
    """``label_only_loss_sum`` where the model allows it, else ``full_loss_sum``."""
    return label_only_loss_sum if supports_label_only(model) else full_loss_sum


def sequence_logps(model: Any, batch: MicroBatch) -> torch.Tensor:
    """Each row's log-probability of its label tokens, summed (fp32, one value per row).

    DPO and KTO compare these sums between the policy and the reference. Where the architecture
    allows it the head runs only at the label positions, as in ``label_only_loss_sum``.
    """
    targets = batch.labels[:, 1:]
    learned = targets != IGNORE_INDEX
    rows = learned.nonzero()[:, 0]
    if supports_label_only(model):
        causal = _causal_lm(model)
        hidden = causal.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        logits = causal.lm_head(hidden[:, :-1, :][learned]).float()
    else:
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[:, :-1, :][learned].float()
    token_logps = -F.cross_entropy(logits, targets[learned], reduction="none")
    return torch.zeros(batch.rows, dtype=token_logps.dtype, device=token_logps.device).index_add(0, rows, token_logps)
