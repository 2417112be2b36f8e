"""The pre-flight memory estimate: its arithmetic on the tiny model and on a Qwen2.5-0.5B-shaped
config (meta device, no weights), and the memory event a CPU job sends before training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import make_job, read_events, run_cli
from tunedeck_trainer import memory_estimate as memory
from tunedeck_trainer.protocol import event_errors

# Qwen2.5-0.5B's published config.json (the shape only).
QWEN_05B = dict(
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    vocab_size=151936,
    max_position_embeddings=32768,
    tie_word_embeddings=True,
)


@pytest.fixture(scope="module")
def qwen_meta():
    from transformers import AutoModelForCausalLM, Qwen2Config

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(Qwen2Config(**QWEN_05B))


def estimate(model, **overrides) -> memory.MemoryEstimate:
    settings = dict(
        rank=16,
        targets="all-linear",
        batch_size=4,
        seq_length=1024,
        compute_bytes=2,
        quantized=False,
        gradient_checkpointing=False,
        cuda=True,
    )
    return memory.estimate_memory(model, **{**settings, **overrides})


def test_qwen_05b_parts_are_in_a_sane_range(qwen_meta) -> None:
    # 494M parameters (the published count) in bf16 are 942 MB.
    assert estimate(qwen_meta).weights == pytest.approx(494_032_768 * 2 / memory.MB, rel=1e-9)
    # LoRA r=16 on q,k,v,o,gate,up,down: 16 x (in + out) per layer = 366,592 x 24 layers = 8.8M
    # parameters; fp32 weights + grads = 8 bytes each (67 MB), AdamW's two moments the same.
    assert memory.lora_parameters(qwen_meta, 16, "all-linear") == 366_592 * 24
    plain = estimate(qwen_meta)
    assert plain.adapter == pytest.approx(8_798_208 * 8 / memory.MB) and plain.optimizer == plain.adapter
    # 4 x 1024 tokens: (10 x 896 + 4 x 4864) values x 2 bytes x 24 layers = 5.2 GB, plus the
    # 151,936-wide logits at 10 bytes a value = 5.9 GB. Community reports of LoRA on this model at
    # batch 4 x 1024 without checkpointing sit at 10-16 GB, so the total must land there.
    assert 10_000 < plain.total < 16_000
    assert 10_000 < plain.activations < 12_000
    checkpointed = estimate(qwen_meta, gradient_checkpointing=True)
    assert checkpointed.activations < 0.6 * plain.activations  # only the logits and one layer stay large
    quantized = estimate(qwen_meta, quantized=True, gradient_checkpointing=True)
    # NF4 decoder linears (358M x 0.516 bytes) + fp32 embeddings and norms (136M x 4) = ~700 MB.
    assert 650 < quantized.weights < 750
    assert quantized.total < checkpointed.total
    # Half the rows: the activations halve, the weights do not move.
    half = estimate(qwen_meta, batch_size=2)
    assert half.activations == pytest.approx(plain.activations / 2) and half.weights == plain.weights


def test_explicit_target_modules_count_only_those(qwen_meta) -> None:
    # q_proj 896 -> 896 and v_proj 896 -> 128 per layer.
    assert memory.lora_parameters(qwen_meta, 8, ["q_proj", "v_proj"]) == 8 * (1792 + 1024) * 24


def test_tiny_model_estimate(tiny_model: Path) -> None:
    meta = memory.meta_model(tiny_model)
    real = sum(parameter.numel() for parameter in {id(p): p for p in meta.parameters()}.values())
    cpu = estimate(meta, compute_bytes=4, batch_size=8, seq_length=128, cuda=False, rank=8)
    assert cpu.overhead == 0 and cpu.weights == pytest.approx(real * 4 / memory.MB)
    config = meta.config
    per_token = (10 * config.hidden_size + 4 * config.intermediate_size) * config.num_hidden_layers * 4
    per_token += config.vocab_size * 12
    assert cpu.activations == pytest.approx(8 * 128 * per_token / memory.MB)
    gpu = estimate(meta, compute_bytes=2, batch_size=8, seq_length=128, cuda=True, rank=8)
    assert gpu.overhead >= memory.CUDA_CONTEXT_MB


def test_advice_says_by_how_much_and_what_to_lower() -> None:
    text = memory.advice(14_000, 10_000, batch_size=4, seq_length=1024, gradient_checkpointing=False, quantized=False)
    assert "short by 4,000 MB" in text
    for field in ("training.batchSize", "training.maxSeqLength", "training.gradientCheckpointing", "model.quantization"):
        assert field in text


def test_a_cpu_job_sends_the_memory_event_before_training(tiny_model: Path, tmp_path: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, training={"maxSteps": 1})
    result = run_cli(job_dir)
    assert result.returncode == 0, result.stderr
    events = read_events(job_dir)
    types = [event["type"] for event in events]
    assert types.index("memory") < types.index("started")
    event = events[types.index("memory")]
    assert event_errors(event) == []
    assert event["freeMb"] is None and event["fits"] is None
    assert set(event["detail"]) == {"weights", "adapter", "optimizer", "activations", "overhead"}
    assert event["estimatedMb"] == pytest.approx(sum(event["detail"].values()), abs=0.5)
    assert "memory estimate" in result.stdout
    step = next(event for event in events if event["type"] == "step")
    assert step["mfu"] is None  # no GPU peak on CPU
