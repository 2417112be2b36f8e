"""Memory per GPU across ranks (per_gpu.py): DDP holds the whole model on each GPU, FSDP splits the
base weights by N and gathers two layers and the root; the fit check says which a job needs.
Arithmetic on a Qwen2.5-0.5B-shaped config on the meta device (no weights)."""

from __future__ import annotations

import pytest
import torch

from test_memory import QWEN_05B
from tunedeck_trainer import memory_estimate as memory
from tunedeck_trainer import per_gpu

# Qwen2.5-0.5B's parameters: 24 layers of q (896 x 896 + bias), k and v (896 x 128 + bias each),
# o (896 x 896), the SwiGLU MLP (3 x 896 x 4864) and two norms; the root is the tied
# embedding/head (151,936 x 896) and the final norm.
LAYER = (896 * 896 + 896) + 2 * (896 * 128 + 128) + 896 * 896 + 3 * 896 * 4864 + 2 * 896
ROOT = 151_936 * 896 + 896
TOTAL = 494_032_768


@pytest.fixture(scope="module")
def qwen_meta():
    from transformers import AutoModelForCausalLM, Qwen2Config

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(Qwen2Config(**QWEN_05B))


@pytest.fixture(scope="module")
def whole(qwen_meta) -> memory.MemoryEstimate:
    return memory.estimate_memory(
        qwen_meta,
        rank=16,
        targets="all-linear",
        batch_size=1,
        seq_length=512,
        compute_bytes=2,
        quantized=False,
        gradient_checkpointing=True,
        cuda=True,
    )


def test_the_weights_split_into_layers_and_the_root(qwen_meta) -> None:
    split = per_gpu.weight_split(qwen_meta, compute_bytes=2, quantized=False)
    assert LAYER * 24 + ROOT == TOTAL
    assert (split.total, split.layer, split.root) == (TOTAL * 2, LAYER * 2, ROOT * 2)
    assert len(per_gpu.decoder_layers(qwen_meta)) == 24


def test_fsdp_divides_the_base_weights_by_n_and_adds_the_gathered_layers(qwen_meta, whole) -> None:
    split = per_gpu.weight_split(qwen_meta, compute_bytes=2, quantized=False)
    assert per_gpu.sharded(whole, split, 1) == whole  # one rank: nothing to split
    for ranks in (2, 4, 8):
        sharded = per_gpu.sharded(whole, split, ranks)
        expected = (TOTAL * 2 / ranks + (ROOT + 2 * LAYER) * 2 * (ranks - 1) / ranks) / memory.MB
        assert sharded.weights == pytest.approx(expected, rel=1e-12)
        # The adapter, its optimizer state and the activations stay whole on every GPU.
        assert (sharded.adapter, sharded.optimizer, sharded.activations) == (whole.adapter, whole.optimizer, whole.activations)
        rest = sharded.weights + sharded.adapter + sharded.optimizer + sharded.activations
        assert sharded.overhead == pytest.approx(memory.CUDA_CONTEXT_MB + memory.FRAGMENTATION * rest)
    # 942.3 MB of bf16 weights: 4 ranks keep 235.6 MB each, plus 3/4 of the 316.5 MB gathered while
    # they run (the 259.7 MB root and two 28.4 MB layers): 473.0 MB, against 942.3 with DDP.
    assert per_gpu.sharded(whole, split, 4).weights == pytest.approx(473.0, abs=0.05)


def test_the_fit_check_says_which_layout_is_needed(qwen_meta, whole) -> None:
    split = per_gpu.weight_split(qwen_meta, compute_bytes=2, quantized=False)
    two, four = per_gpu.sharded(whole, split, 2).total, per_gpu.sharded(whole, split, 4).total
    assert per_gpu.fit_check(whole, split, whole.total + 1, 2) == "fits one GPU: DDP"
    assert per_gpu.fit_check(whole, split, whole.total + 1, 1) == "fits one GPU"
    assert per_gpu.fit_check(whole, split, two + 1, 2) == "needs FSDP across 2 GPUs"
    assert per_gpu.fit_check(whole, split, four + 1, 2) == "needs FSDP across 4 GPUs; this job has 2"
    assert per_gpu.fit_check(whole, split, 600, 8) == "does not fit even sharded (FSDP across 64 GPUs)"
    assert per_gpu.fit_check(whole, split, None, 2) is None  # no GPU to compare with
    assert per_gpu.fewest_ranks(whole, split, four + 1) == 4


def test_auto_takes_fsdp_only_when_the_whole_model_does_not_fit(whole) -> None:
    assert per_gpu.choose("auto", 2, whole, whole.total + 1) == "ddp"
    assert per_gpu.choose("auto", 2, whole, whole.total - 1) == "fsdp"
    assert per_gpu.choose("auto", 2, whole, None) == "ddp"  # CPU ranks: nothing to compare with
    assert per_gpu.choose("fsdp", 1, whole, None) == "single"
    assert per_gpu.choose("fsdp", 2, whole, None) == "fsdp" and per_gpu.choose("ddp", 2, whole, 1.0) == "ddp"
