"""MFU: the peak-FLOPs table matched on device names, N for the 4N formula, and the arithmetic."""

from __future__ import annotations

import pytest
import torch

from tunedeck_trainer import throughput


@pytest.mark.parametrize(
    ("name", "tflops"),
    [
        ("NVIDIA GeForce RTX 4090", 165.2),
        ("NVIDIA GeForce RTX 3060", 25.5),
        ("NVIDIA GeForce RTX 3060 Ti", 32.4),
        ("NVIDIA GeForce RTX 4080 SUPER", 104.4),
        ("NVIDIA GeForce RTX 5090", 209.5),
        ("NVIDIA RTX A6000", 154.8),
        ("NVIDIA L4", 121.0),
        ("NVIDIA L40S", 362.1),
        ("NVIDIA A100-SXM4-80GB", 312.0),
        ("NVIDIA A100 80GB PCIe", 312.0),
        ("NVIDIA H100 80GB HBM3", 989.4),
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA H200", 989.4),
    ],
)
def test_known_gpus_have_their_dense_peak(name: str, tflops: float) -> None:
    assert throughput.peak_flops(name) == pytest.approx(tflops * 1e12)


@pytest.mark.parametrize("name", [None, "", "cpu", "NVIDIA GeForce RTX 4090 Laptop GPU", "Tesla T4", "NVIDIA L40"])
def test_unknown_devices_have_no_peak(name: str | None) -> None:
    assert throughput.peak_flops(name) is None


def test_mfu_is_4n_flops_per_token_over_the_peak() -> None:
    # 0.5B parameters at 100k tokens/s on an H100 SXM: 4 x 0.5e9 x 1e5 / 989.4e12 = 20.2%.
    assert throughput.mfu(100_000, 500_000_000, 989.4e12) == pytest.approx(0.2021, abs=1e-4)
    assert throughput.mfu(100_000, 500_000_000, None) is None


def test_n_leaves_out_an_untied_input_embedding() -> None:
    from transformers import AutoModelForCausalLM, Qwen2Config

    shape = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=1000)
    with torch.device("meta"):
        tied = AutoModelForCausalLM.from_config(Qwen2Config(**shape, tie_word_embeddings=True))
        untied = AutoModelForCausalLM.from_config(Qwen2Config(**shape, tie_word_embeddings=False))
    total_tied = sum(p.numel() for p in tied.parameters())
    assert throughput.matmul_parameters(tied) == total_tied  # the table is the output head: counted once
    assert throughput.matmul_parameters(untied) == total_tied  # head counted, lookup table not


def test_dpo_counts_the_reference_forward_pass_in_its_mfu() -> None:
    lora = throughput.mfu(1000.0, 10**9, 1e15)
    dpo = throughput.mfu(1000.0, 10**9, 1e15, throughput.DPO_FLOPS_PER_PARAMETER)
    assert lora == pytest.approx(0.004) and dpo == pytest.approx(0.006)
