"""Model FLOPs utilisation (MFU) for the step events.

    mfu = tokensPerSecond * 4 * N / peak

N is the base model's parameter count that takes part in matrix multiplies (every base
parameter except the input embedding table; with tied embeddings the table is the output
projection and counts once). 4N FLOPs per token is the LoRA cost: the forward pass is 2N
(one multiply-add per weight), the backward pass computes gradients with respect to the
activations (another 2N) but no weight gradients for the frozen base (full fine-tuning adds
2N more for those, hence its usual 6N). Adapter FLOPs (rank << hidden) and attention-score
FLOPs are left out, and recomputation under gradient checkpointing is not counted: MFU
counts the model's FLOPs, not the hardware's. DPO counts 6N per token: the policy's 4N plus the
reference model's forward pass (2N) over the same tokens.

Peaks are dense (no 2:4 sparsity) bf16/fp16 tensor-core FLOPs with fp32 accumulation, the
mode PyTorch's autocast uses. GeForce cards run fp32 accumulation at half their fp16-
accumulate rate, so their figures are half the headline "FP16 tensor" number in NVIDIA's
whitepapers. Laptop parts are left out (their clocks vary too much to name one peak).
"""

from __future__ import annotations

# (name fragment, peak TFLOPS). Matched in order on the lower-cased device name, so the more
# specific names (Ti, Super, PCIe, NVL) come before the plain ones.
PEAK_TFLOPS: list[tuple[str, float]] = [
    ("rtx 5090", 209.5),
    ("rtx 4090", 165.2),
    ("rtx 4080 super", 104.4),
    ("rtx 4080", 97.5),
    ("rtx 4070 ti super", 88.2),
    ("rtx 4070 ti", 80.2),
    ("rtx 4070 super", 70.9),
    ("rtx 4070", 58.3),
    ("rtx 3090 ti", 80.0),
    ("rtx 3090", 71.0),
    ("rtx 3080 ti", 68.2),
    ("rtx 3080", 59.5),
    ("rtx 3070 ti", 43.5),
    ("rtx 3070", 40.6),
    ("rtx 3060 ti", 32.4),
    ("rtx 3060", 25.5),
    ("rtx a4000", 76.7),
    ("rtx a5000", 111.1),
    ("rtx a6000", 154.8),
    ("l40s", 362.1),
    ("l4", 121.0),
    ("a100", 312.0),
    ("h100 pcie", 756.0),
    ("h100 nvl", 835.0),
    ("h100", 989.4),  # SXM (reported as "NVIDIA H100 80GB HBM3")
    ("h200 nvl", 835.0),
    ("h200", 989.4),
]


def peak_flops(device_name: str | None) -> float | None:
    """Dense bf16/fp16 tensor FLOPs per second of the named GPU, or None when unknown."""
    if not device_name:
        return None
    name = device_name.lower()
    if "laptop" in name or "mobile" in name:
        return None
    for fragment, tflops in PEAK_TFLOPS:
        # "l4" must not match "l40s": require the fragment to end at a word boundary.
        at = name.find(fragment)
        while at >= 0:
            end = at + len(fragment)
            if end == len(name) or not name[end].isalnum():
                return tflops * 1e12
            at = name.find(fragment, at + 1)
    return None


def matmul_parameters(model: object) -> int:
    """N for the MFU formula: base parameters except an untied input embedding table.

    Counts ``numel`` of the modules' logical shapes, so call it on an unquantised model (or a
    meta-device copy: 4-bit weights are packed two to a byte).
    """
    import torch

    get_input = getattr(model, "get_input_embeddings", None)
    get_output = getattr(model, "get_output_embeddings", None)
    embedding = get_input() if callable(get_input) else None
    output = get_output() if callable(get_output) else None
    skip: set[int] = set()
    if isinstance(embedding, torch.nn.Module):
        tied = output is not None and getattr(output, "weight", None) is getattr(embedding, "weight", None)
        if not tied:
            skip = {id(parameter) for parameter in embedding.parameters()}
    seen: set[int] = set()
    total = 0
    for parameter in model.parameters():  # type: ignore[attr-defined]
        if id(parameter) in seen or id(parameter) in skip:
            continue
        seen.add(id(parameter))
        total += parameter.numel()
    return total


LORA_FLOPS_PER_PARAMETER = 4
DPO_FLOPS_PER_PARAMETER = 6  # the policy's 4N and the reference's forward 2N


def mfu(tokens_per_second: float, parameters: int, peak: float | None, flops_per_parameter: int = LORA_FLOPS_PER_PARAMETER) -> float | None:
    """Model FLOPs utilisation in [0, 1] (4N FLOPs per token, 6N for DPO), or None without a known peak."""
    if peak is None or peak <= 0 or parameters <= 0:
        return None
    return tokens_per_second * flops_per_parameter * parameters / peak
