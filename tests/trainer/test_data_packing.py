"""pack_examples: a packed row trains exactly like its examples unpacked.

transformers 4.57 turns position ids that restart at 0 into a block-diagonal causal mask
(sdpa and eager, batch size 1, no attention_mask, no cache), so the loss of a packed row
must equal the token-weighted mean loss of the same examples run one by one.
Run: PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_data_packing.py
"""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from tunedeck_trainer.data import pack_examples

IGNORE = -100
VOCAB = 96


def examples(lengths: list[int], seed: int = 0) -> list[dict[str, list[int]]]:
    """Random examples whose first third is a masked prompt."""
    generator = torch.Generator().manual_seed(seed)
    made = []
    for length in lengths:
        ids = torch.randint(3, VOCAB, (length,), generator=generator).tolist()
        prompt = length // 3
        made.append({"input_ids": ids, "labels": [IGNORE] * prompt + ids[prompt:]})
    return made


def test_rows_hold_whole_examples_with_restarting_positions():
    made = examples([5, 4, 3, 8])
    rows = pack_examples(made, max_length=10)
    assert [row["position_ids"] for row in rows] == [
        [0, 1, 2, 3, 4, 0, 1, 2, 3],
        [0, 1, 2],
        [0, 1, 2, 3, 4, 5, 6, 7],
    ]
    assert rows[0]["input_ids"] == made[0]["input_ids"] + made[1]["input_ids"]
    # The first token of each example is never a target, so nothing learns across a boundary.
    assert rows[0]["labels"][5] == IGNORE
    assert rows[0]["labels"][6:] == made[1]["labels"][1:]
    assert all(len(row["input_ids"]) <= 10 for row in rows)


def packed_and_separate_losses(model, made, row_lists) -> tuple[float, float]:
    """The model's loss on one packed row, and the token-weighted mean of its examples' losses run apart."""
    row = {key: torch.tensor([value]) for key, value in row_lists.items()}
    with torch.no_grad():
        packed = model(input_ids=row["input_ids"], position_ids=row["position_ids"], labels=row["labels"], use_cache=False).loss
        total, count = 0.0, 0
        for example in made:
            labels = torch.tensor([example["labels"]])
            tokens = int((labels[:, 1:] != IGNORE).sum())
            loss = model(input_ids=torch.tensor([example["input_ids"]]), labels=labels, use_cache=False).loss
            total, count = total + float(loss) * tokens, count + tokens
    return float(packed), total / count


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_packed_loss_equals_unpacked_loss(attention):
    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        vocab_size=VOCAB,
        max_position_embeddings=128,
        attn_implementation=attention,
    )
    model = LlamaForCausalLM(config).eval()
    made = examples([9, 14, 6, 11])
    rows = pack_examples(made, max_length=64)
    assert len(rows) == 1
    packed, separate = packed_and_separate_losses(model, made, rows[0])
    row = {key: torch.tensor([value]) for key, value in rows[0].items()}
    with torch.no_grad():
        # Without restarting positions (one long sequence) the loss must differ: the test can fail.
        crossed = model(input_ids=row["input_ids"], labels=row["labels"], use_cache=False).loss
    assert abs(packed - separate) < 1e-5
    assert abs(float(crossed) - separate) > 1e-3


@pytest.mark.parametrize(
    ("model_class", "detects"),
    [
        ("LlamaForCausalLM", True),
        ("Qwen2ForCausalLM", True),
        ("MistralForCausalLM", True),
        ("Gemma3ForCausalLM", True),
        ("GPT2LMHeadModel", True),
        ("OPTForCausalLM", False),
        ("BloomForCausalLM", False),
        ("FalconForCausalLM", False),
    ],
)
def test_which_models_keep_packed_examples_apart(model_class: str, detects: bool):
    import transformers

    from tunedeck_trainer.data.packing import detects_packed_rows

    assert detects_packed_rows(getattr(transformers, model_class)) is detects


def _tiny(kind: str):
    from transformers import GPT2Config, GPT2LMHeadModel, OPTConfig, OPTForCausalLM

    torch.manual_seed(0)
    if kind == "gpt2":
        return GPT2LMHeadModel(
            GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=2, n_positions=128, attn_implementation="sdpa")
        ).eval()
    return OPTForCausalLM(
        OPTConfig(
            vocab_size=VOCAB,
            hidden_size=32,
            word_embed_proj_dim=32,
            ffn_dim=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=128,
            attn_implementation="sdpa",
        )
    ).eval()


@pytest.mark.parametrize("kind", ["gpt2", "opt"])
def test_the_check_matches_what_the_model_does_with_a_packed_row(kind: str):
    """Where the check says no, a packed row's loss really differs from its examples' losses."""
    from tunedeck_trainer.data.packing import detects_packed_rows

    model = _tiny(kind)
    made = examples([9, 14, 6, 11], seed=1)
    packed, separate = packed_and_separate_losses(model, made, pack_examples(made, max_length=64)[0])
    apart = abs(packed - separate) < 1e-5
    assert apart is (kind == "gpt2")
    assert detects_packed_rows(type(model)) is apart
