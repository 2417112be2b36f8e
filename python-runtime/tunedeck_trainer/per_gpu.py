"""Memory per GPU when a job runs on several ranks, and the layout it needs (DDP or FSDP).

memory_estimate.py estimates one process holding the whole model. Across N ranks:

- DDP: every GPU holds the whole model, so each needs that whole estimate.
- FSDP (sharding.py): each GPU keeps 1/N of the base weights. A decoder layer's full weights are
  gathered while it runs and FSDP2 prefetches the next one, so two layers are whole at once; the
  root group (embeddings, final norm, output head) is gathered from the forward pass to the end
  of the backward pass. Those gathered parts cost (N - 1)/N of their size on top of the shard.
  The LoRA adapter, its gradients and AdamW's moments stay whole on every rank (a few MB; kept
  replicated so checkpoints and exact resume work as with DDP), and so do the activations of
  each rank's micro-batch.

The fit check then says which is needed: "fits one GPU: DDP", "needs FSDP across N GPUs" or
"does not fit even sharded". Tests: tests/trainer/test_per_gpu.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

MAX_RANKS = 64  # training.gpus's largest count
GATHERED_LAYERS = 2  # the running layer and the one FSDP2 prefetches


@dataclass(frozen=True)
class WeightSplit:
    """Bytes of the base weights: all of them, the largest decoder layer, and the root group."""

    total: float
    layer: float
    root: float


def decoder_layers(model: Any) -> Any:
    """The model's repeated decoder blocks: its largest ``nn.ModuleList`` (``model.layers`` for
    Llama, Qwen, Mistral, Phi-3), or None for a model without one."""
    import torch

    best, most = None, 0
    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module):
            count = sum(parameter.numel() for parameter in module.parameters())
            if count > most:
                best, most = module, count
    return best


def weight_split(model: Any, *, compute_bytes: int, quantized: bool) -> WeightSplit:
    """The base weights' bytes as memory_estimate counts them (NF4 linear layers with 4-bit loading)."""
    import torch

    from .memory_estimate import NF4_BYTES

    output = model.get_output_embeddings()
    quantized_ids = set()
    if quantized:
        for module in model.modules():
            if isinstance(module, torch.nn.Linear) and module is not output:
                quantized_ids.add(id(module.weight))

    def size(parameters: Any) -> float:
        unique = {id(parameter): parameter for parameter in parameters}
        if not quantized:
            return sum(parameter.numel() for parameter in unique.values()) * compute_bytes
        return sum(parameter.numel() * (NF4_BYTES if key in quantized_ids else 4) for key, parameter in unique.items())

    total = size(model.parameters())
    layers = decoder_layers(model)
    if layers is None:  # nothing to split by: FSDP would be one group, the whole model gathered
        return WeightSplit(total, 0.0, total)
    inside = size(layers.parameters())
    return WeightSplit(total, max(size(layer.parameters()) for layer in layers), total - inside)


def sharded(estimate: Any, split: WeightSplit, ranks: int) -> Any:
    """The per-GPU estimate (memory_estimate.MemoryEstimate, MB) under FSDP across ``ranks``."""
    from .memory_estimate import CUDA_CONTEXT_MB, FRAGMENTATION, MB

    if ranks <= 1:
        return estimate
    gathered = min(split.total, split.root + GATHERED_LAYERS * split.layer) * (ranks - 1) / ranks
    weights = (split.total / ranks + gathered) / MB
    overhead = 0.0
    if estimate.overhead:  # CUDA: the context, plus the allocator's share of the rest
        overhead = CUDA_CONTEXT_MB + FRAGMENTATION * (weights + estimate.adapter + estimate.optimizer + estimate.activations)
    return replace(estimate, weights=weights, overhead=overhead)


def fewest_ranks(estimate: Any, split: WeightSplit, free_mb: float) -> int | None:
    """The fewest ranks over which FSDP fits ``free_mb`` per GPU; None when no count up to 64 does."""
    for ranks in range(1, MAX_RANKS + 1):
        if sharded(estimate, split, ranks).total <= free_mb:
            return ranks
    return None


def fit_check(estimate: Any, split: WeightSplit, free_mb: float | None, ranks: int) -> str | None:
    """What the job needs on GPUs of ``free_mb`` each, in words; None without a GPU to compare with."""
    if free_mb is None:
        return None
    if estimate.total <= free_mb:
        return "fits one GPU: DDP" if ranks > 1 else "fits one GPU"
    needed = fewest_ranks(estimate, split, free_mb)
    if needed is None:
        return f"does not fit even sharded (FSDP across {MAX_RANKS} GPUs)"
    if needed <= ranks:
        return f"needs FSDP across {ranks} GPUs"
    return f"needs FSDP across {needed} GPUs; this job has {ranks}"


def choose(requested: str, ranks: int, estimate: Any, free_mb: float | None) -> str:
    """The layout a job runs: "single" (one rank), "ddp" or "fsdp". "auto" takes FSDP only when
    the whole model does not fit one GPU's free memory (on CPU there is none to compare: DDP)."""
    if ranks <= 1:
        return "single"
    if requested != "auto":
        return requested
    return "fsdp" if free_mb is not None and estimate.total > free_mb else "ddp"
