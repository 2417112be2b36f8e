"""FSDP2 for a model that does not fit one GPU: the base weights split across the ranks.

    training.sharding "fsdp", or "auto" when the per-GPU estimate says so (per_gpu.py)
      -> Training.setup -> shard(training): fully_shard on each decoder layer, then on the root

Everything else stays as with DDP (distributed.py), on purpose:
- Only the frozen base weights are sharded. The LoRA parameters are fully_shard's
  ``ignored_params``: every rank keeps the whole adapter (a few MB next to gigabytes of base
  weights), its gradients are summed by Ranks.reduce_gradients as with DDP, and rank 0 holds
  the whole adapter and optimizer state. So checkpoints, the adapter it publishes and exact
  pause/resume are DDP's code, with no state dict to gather.
- FSDP gathers each layer's weights (an all-gather: a collective) in every forward pass, and
  again in the backward pass, so every rank must run as many passes per step. A rank whose
  share of a step is shorter (an epoch's short last micro-batch leaves a rank fewer examples
  or none) runs zero-loss passes on one token (``fill``): they add nothing to the gradients
  and draw no random numbers, so the steps are one process's with the global batch.
- The label-only head (loss.py) calls the decoder and the head directly, past the root's hooks
  that gather the embeddings and the head; under FSDP the loss runs the model's own forward
  (the same loss, with the logits of every position).

An out-of-memory error under FSDP fails the job naming training.batchSize (``no_retry``): the
rank that ran out has left the passes the others are still in, so DDP's agreed retry cannot meet.
SFT only for now: DPO, KTO and ORPO run reference passes and per-pair batches whose pass counts
differ between ranks in ways ``fill`` does not mirror. QLoRA + FSDP needs CUDA (bitsandbytes):
refused on CPU before the ranks start (``check``); scripts/gpu-checks.sh fsdp tries it on a GPU.
Tests: tests/trainer/test_sharding.py.
"""

from __future__ import annotations

from typing import Any

import torch

from . import loss
from .errors import TrainerError
from .per_gpu import decoder_layers

FIELD = "training.sharding"


def check(config: Any, cuda: bool) -> None:
    """Refuses, naming training.sharding, an FSDP job this trainer cannot run (before ranks start)."""
    if config.training.sharding != "fsdp":
        return
    if config.method != "sft":
        raise TrainerError(
            'training.sharding: FSDP ("fsdp", or "auto" for a model that does not fit one GPU) '
            f"trains SFT only so far, and this job's method is {config.method}; set "
            'training.sharding to "ddp" (each GPU holds the whole model) or lower the memory it needs',
            FIELD,
        )
    if config.model.quantization == "4bit" and not cuda:
        raise TrainerError(
            'training.sharding: "fsdp" with model.quantization "4bit" (QLoRA) needs NVIDIA GPUs: '
            "bitsandbytes' 4-bit weights live on CUDA only, and this machine has none. Set "
            'model.quantization to "none" to shard the full-precision model across CPU ranks',
            FIELD,
        )


def shard(training: Any) -> None:
    """Applies FSDP2 to ``training.model`` when its layout is "fsdp" (after the adapter is set up)."""
    if not _sharded(training):
        return
    # "auto" may have chosen FSDP: the same refusals as for an explicit "fsdp".
    check(_as_fsdp(training.config), training.precision.device.type == "cuda")
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    model, ranks = training.model, training.ranks
    mesh = init_device_mesh("cuda" if ranks.backend == "nccl" else "cpu", (ranks.world,))
    adapter = {parameter for name, parameter in model.named_parameters() if parameter.requires_grad or "lora_" in name}
    layers = decoder_layers(model)
    for layer in layers if layers is not None else []:
        fully_shard(layer, mesh=mesh, ignored_params=adapter)
    fully_shard(model, mesh=mesh, ignored_params=adapter)
    training.forward._loss_sum = loss.full_loss_sum
    training._log(
        "info",
        f"FSDP: the base weights are split across {ranks.world} ranks "
        f"({len(layers) if layers is not None else 0} decoder layers and the root gathered as they run); "
        "the adapter stays whole on every rank, and the loss runs the model's own forward (the head on "
        "every position)",
    )


def no_retry(training: Any) -> None:
    """Fails the job when CUDA ran out of memory under FSDP: this rank left its passes while the
    others wait inside a layer's all-gather, so the ranks cannot agree on a retry as with DDP."""
    if not _sharded(training):
        return
    settings = training.config.training
    raise TrainerError(
        f"training.batchSize: CUDA ran out of memory in step {training.step + 1} on rank "
        f"{training.ranks.rank} with FSDP, which cannot retry a step with smaller micro-batches; "
        f"lower training.batchSize (now {settings.batch_size}; raise training.gradientAccumulation "
        f"to keep the global batch) or training.maxSeqLength (now {settings.max_seq_length})",
        "training.batchSize",
    )


def _sharded(training: Any) -> bool:
    # training_setup sets the layout from the memory estimate; a Training not yet set up has none.
    return getattr(training, "layout", "single") == "fsdp"


def _as_fsdp(config: Any) -> Any:
    from dataclasses import replace

    return replace(config, training=replace(config.training, sharding="fsdp"))


def passes_short(training: Any, passes: int) -> int:
    """How many passes this rank runs fewer than the rank with most in this step (FSDP only).

    Agreed before any pass: the count is itself a collective, and must not meet a layer's
    all-gather of another rank that is still in its passes.
    """
    if not _sharded(training):
        return 0
    return max(training.ranks.gather(passes)) - passes


def fill(training: Any, missing: int) -> None:
    """Runs ``missing`` forward and backward passes that change nothing, so every rank's FSDP
    collectives meet: a one-token input, the loss times zero, this rank's random streams kept."""
    if not missing:
        return
    device = training.precision.device
    tokens = torch.zeros((1, 1), dtype=torch.long, device=device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        for _ in range(missing):
            with training.forward.autocast():
                logits = training.model(input_ids=tokens, attention_mask=torch.ones_like(tokens)).logits
            (logits.float().sum() * 0.0).backward()
