"""The pre-flight estimate of training memory, sent as the ``memory`` event before the weights load.

The model is built on the meta device from its config.json (no weights read, no memory used),
so the estimate is exact about parameter counts and shapes for any architecture transformers
knows. The rest is arithmetic, in bytes:

- weights: every base parameter at the compute dtype; with 4-bit loading the linear layers of
  the decoder take NF4_BYTES per parameter (4 bits, plus 8-bit block scales per 64 weights
  and their fp32 second-level scales: double quantisation) and everything else (embeddings,
  norms, the output head) is fp32, because peft's prepare_model_for_kbit_training upcasts it.
- adapter: LoRA A and B of every targeted linear layer, fp32 weights plus fp32 gradients.
- optimizer: AdamW's two fp32 moments per adapter parameter.
- activations: per token and decoder layer, ACTIVATION_HIDDEN x hidden + ACTIVATION_INTERMEDIATE
  x intermediate values at the compute dtype. That factor counts what a Llama/Qwen2 block
  keeps for backward with SDPA attention (no seq x seq score matrix): the two RMSNorm inputs
  and outputs, q/k/v and the rotated q/k, the attention output, the o_proj input and the
  residual (about 10 x hidden), and the MLP's gate, up, SiLU(gate) and product (4 x
  intermediate); it is the SwiGLU form of Korthikanti et al. 2022's 34 x hidden bytes per
  token and layer. With gradient checkpointing only each layer's input (1 x hidden) is kept,
  plus one layer's full set while it is recomputed. The logits come on top: batch x seq x
  vocab values at the compute dtype, their fp32 copy for the loss and the fp32 log-softmax
  that cross_entropy keeps (LOGIT_EXTRA_BYTES); with a 150k vocabulary they often dominate.
- overhead: on CUDA, CUDA_CONTEXT_MB for the context and kernels plus FRAGMENTATION of the
  rest for the caching allocator's slack and cuBLAS workspaces; nothing on CPU.

``report_estimate`` turns it into the memory event (and a warning naming the fields to change)
for every method, before the weights load.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MB = 1024 * 1024
NF4_BYTES = (4 + 8 / 64 + 32 / (64 * 256)) / 8
ACTIVATION_HIDDEN = 10
ACTIVATION_INTERMEDIATE = 4
LOGIT_EXTRA_BYTES = 8
CUDA_CONTEXT_MB = 500
FRAGMENTATION = 0.10


@dataclass(frozen=True)
class MemoryEstimate:
    """The estimate in MB, split as the memory event's ``detail``."""

    weights: float
    adapter: float
    optimizer: float
    activations: float
    overhead: float

    @property
    def total(self) -> float:
        """The whole estimate in MB."""
        return self.weights + self.adapter + self.optimizer + self.activations + self.overhead

    def detail(self) -> dict[str, float]:
        """The parts, rounded to 0.1 MB, for the memory event."""
        return {key: round(value, 1) for key, value in vars(self).items()}


def meta_model(model_path: Path) -> Any:
    """The model's architecture on the meta device: shapes and counts, no weights, no memory."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(str(model_path))
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


def _is_target(name: str, targets: str | tuple[str, ...] | list[str]) -> bool:
    if isinstance(targets, str):
        return True  # "all-linear": the caller has already left out the output head
    return any(name == key or name.endswith("." + key) for key in targets)


def lora_parameters(model: Any, rank: int, targets: str | tuple[str, ...] | list[str]) -> int:
    """Parameters of the LoRA adapter peft would add: rank x (in + out) per targeted linear."""
    import torch

    output = model.get_output_embeddings()
    count = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and module is not output and _is_target(name, targets):
            count += rank * (module.in_features + module.out_features)
    return count


def estimate_memory(
    model: Any,
    *,
    rank: int,
    targets: str | tuple[str, ...] | list[str],
    batch_size: int,
    seq_length: int,
    compute_bytes: int,
    quantized: bool,
    gradient_checkpointing: bool,
    cuda: bool,
) -> MemoryEstimate:
    """Estimated peak memory of one training step of ``model`` (a meta-device model is enough)."""
    import torch

    output = model.get_output_embeddings()
    quantizable = 0
    if quantized:
        for module in model.modules():
            if isinstance(module, torch.nn.Linear) and module is not output:
                quantizable += module.weight.numel()
    unique = {id(parameter): parameter.numel() for parameter in model.parameters()}
    total = sum(unique.values())
    weights = quantizable * NF4_BYTES + (total - quantizable) * 4 if quantized else total * compute_bytes

    adapter_count = lora_parameters(model, rank, targets)
    adapter = adapter_count * 4 * 2
    optimizer = adapter_count * 4 * 2

    config = model.config
    hidden = int(config.hidden_size)
    layers = int(config.num_hidden_layers)
    intermediate = int(getattr(config, "intermediate_size", None) or 4 * hidden)
    vocab = int(config.vocab_size)
    tokens = batch_size * seq_length
    per_layer = ACTIVATION_HIDDEN * hidden + ACTIVATION_INTERMEDIATE * intermediate
    kept = hidden * layers + per_layer if gradient_checkpointing else per_layer * layers
    activations = tokens * kept * compute_bytes + tokens * vocab * (compute_bytes + LOGIT_EXTRA_BYTES)

    subtotal = weights + adapter + optimizer + activations
    overhead = CUDA_CONTEXT_MB * MB + FRAGMENTATION * subtotal if cuda else 0.0
    return MemoryEstimate(weights / MB, adapter / MB, optimizer / MB, activations / MB, overhead / MB)


def advice(estimated_mb: float, free_mb: float, *, batch_size: int, seq_length: int, gradient_checkpointing: bool, quantized: bool) -> str:
    """The warning when the estimate does not fit: by how much, and what to lower."""
    short = estimated_mb - free_mb
    options = []
    if batch_size > 1:
        options.append(f"training.batchSize (now {batch_size}; raise training.gradientAccumulation to keep the effective batch)")
    options.append(f"training.maxSeqLength (now {seq_length})")
    if not gradient_checkpointing:
        options.append("turn on training.gradientCheckpointing")
    if not quantized:
        options.append('set model.quantization to "4bit"')
    return (
        f"estimated GPU memory {estimated_mb:,.0f} MB is more than the {free_mb:,.0f} MB free "
        f"(short by {short:,.0f} MB, {short / max(estimated_mb, 1):.0%}); lower " + ", or ".join(options)
    )


def free_cuda_mb() -> float | None:
    """Free memory of the current CUDA device in MB, or None without CUDA."""
    import torch

    if not torch.cuda.is_available():
        return None
    free, _ = torch.cuda.mem_get_info()
    return free / MB


def ceil_mb(value: float) -> float:
    """Rounds up to 0.1 MB, so that a tiny estimate is never shown as 0."""
    return math.ceil(value * 10) / 10


def report_estimate(
    config: Any,
    model_path: Path,
    longest: int,
    *,
    cuda: bool,
    compute_bytes: int,
    quantized: bool,
    micro_batch_size: int,
    events: Any,
    log: Callable[[str, str], None],
    ranks: int = 1,
) -> tuple[int, str]:
    """Emits the memory event (and a warning when it will not fit), before the weights load.

    ``longest`` is the longest sequence (tokens) a forward pass sees, ``micro_batch_size`` the
    sequences of one forward pass (DPO: two a pair, chosen and rejected). With several ranks the
    event is per GPU, for the layout training.sharding asks for or "auto" picks (per_gpu.py).
    Returns the matmul parameter count of the model (N of the MFU formula; 0 when transformers
    cannot build the architecture on the meta device) and the layout: "single", "ddp" or "fsdp".
    """
    from . import per_gpu, throughput

    training = config.training
    free = free_cuda_mb()
    try:
        meta = meta_model(model_path)
    except Exception as error:  # an architecture transformers cannot build: no estimate
        log("debug", f"no memory estimate: cannot build {model_path} on the meta device ({error})")
        return 0, per_gpu.choose(training.sharding, ranks, None, None)
    flop_parameters = throughput.matmul_parameters(meta)
    checkpointing = training.gradient_checkpointing or quantized
    estimate = estimate_memory(
        meta,
        rank=config.lora.rank,
        targets=config.lora.target_modules,
        batch_size=micro_batch_size,
        seq_length=min(longest, training.max_seq_length),
        compute_bytes=compute_bytes,
        quantized=quantized,
        gradient_checkpointing=checkpointing,
        cuda=cuda,
    )
    split = per_gpu.weight_split(meta, compute_bytes=compute_bytes, quantized=quantized)
    del meta
    layout = per_gpu.choose(training.sharding, ranks, estimate, free)
    whole = estimate
    if layout == "fsdp":
        estimate = per_gpu.sharded(estimate, split, ranks)
    total = ceil_mb(estimate.total)
    fits = None if free is None else total <= free
    placement = per_gpu.fit_check(whole, split, free, ranks)
    events.emit(
        "memory",
        estimatedMb=total,
        freeMb=None if free is None else round(free, 1),
        fits=fits,
        detail=estimate.detail(),
        ranks=ranks,
        sharding=layout,
        wholeModelMb=ceil_mb(whole.total),
        shardedMb=ceil_mb(per_gpu.sharded(whole, split, ranks).total),
        placement=placement,
    )
    where = f"of {free:,.0f} MB free" if free is not None else "(no GPU to compare with)"
    per = f" per GPU ({layout.upper()} across {ranks} ranks)" if ranks > 1 else ""
    verdict = f": {placement}" if placement else ""
    print(f"[tunedeck] memory estimate: {total:,.0f} MB{per} {where}{verdict}", flush=True)
    if fits is False:
        log(
            "warning",
            advice(
                total,
                free,
                batch_size=micro_batch_size,
                seq_length=training.max_seq_length,
                gradient_checkpointing=checkpointing,
                quantized=quantized,
            )
            + (
                f'; or set training.sharding to "fsdp" (it {placement})'
                if layout == "ddp" and placement == f"needs FSDP across {ranks} GPUs"
                else ""
            ),
        )
    return flop_parameters, layout
