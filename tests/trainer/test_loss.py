"""The label-only loss (loss.py) on the tiny Llama with a LoRA adapter: the same summed loss and the
same adapter gradients as the model's own whole-sequence logits, padded and packed; models whose
head is followed by anything else keep their own forward."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tunedeck_trainer import loss
from tunedeck_trainer.batches import IGNORE_INDEX, collate
from tunedeck_trainer.config import LoraSettings
from tunedeck_trainer.data import pack_examples
from tunedeck_trainer.loading import apply_lora


def adapted_model(path: Path) -> torch.nn.Module:
    """The tiny model with a LoRA adapter whose B matrices are not zero, so the adapter matters."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = apply_lora(AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32), LoraSettings(rank=4, alpha=8, dropout=0.0))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.05)
    return model.train()


def examples() -> list[dict[str, list[int]]]:
    """Three examples of different lengths whose prompts (the first half) are not learned."""
    generator = torch.Generator().manual_seed(1)
    found = []
    for length in (9, 17, 12):
        ids = torch.randint(5, 500, (length,), generator=generator).tolist()
        labels = [IGNORE_INDEX] * (length // 2) + ids[length // 2 :]
        found.append({"input_ids": ids, "labels": labels})
    return found


def loss_and_gradients(model: torch.nn.Module, function, batch) -> tuple[float, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    value = function(model, batch)
    value.backward()
    return float(value.detach()), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("packed", [False, True])
def test_label_only_loss_equals_the_whole_sequence_loss(tiny_model: Path, packed: bool) -> None:
    model = adapted_model(tiny_model)
    assert loss.supports_label_only(model) and loss.loss_function(model) is loss.label_only_loss_sum
    rows = pack_examples(examples(), 64) if packed else examples()
    batch = collate(rows, pad_id=0)
    assert (batch.position_ids is not None) == packed
    full, full_grads = loss_and_gradients(model, loss.full_loss_sum, batch)
    only, only_grads = loss_and_gradients(model, loss.label_only_loss_sum, batch)
    assert only == pytest.approx(full, rel=1e-6)
    assert full_grads.keys() == only_grads.keys() and len(full_grads) > 0
    worst = max(
        float(((only_grads[name] - gradient).abs() / gradient.abs().clamp(min=1e-7)).max()) for name, gradient in full_grads.items()
    )
    print(f"label-only vs whole-sequence gradients: largest relative difference {worst:.2g}")
    assert worst <= 1e-6  # docs/benchmarks.md's claim, for the gradients too (measured on CPU: 0)


def test_models_with_more_after_the_head_keep_their_own_forward() -> None:
    from transformers import Gemma2Config, Gemma2ForCausalLM, OPTConfig, OPTForCausalLM

    opt = OPTForCausalLM(
        OPTConfig(
            vocab_size=64,
            hidden_size=16,
            word_embed_proj_dim=16,
            ffn_dim=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=32,
        )
    )
    gemma2 = Gemma2ForCausalLM(
        Gemma2Config(
            vocab_size=64,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=8,
        )
    )
    for model in (opt, gemma2):
        assert not loss.supports_label_only(model), type(model).__name__
        assert loss.loss_function(model) is loss.full_loss_sum
