"""Combines LoRA adapters of one base model and one LoRA shape into a new adapter.

Two modes, both weighted by each adapter's number of training examples (normalised to sum 1):

- ``average``: every tensor (lora_A, lora_B, DoRA magnitudes) is the weighted mean of the
  sources' (FedAvg as federated LoRA systems do it). The rank stays; the result is only an
  approximation, since the mean of products B·A is not the product of the means.
- ``exact``: the sources are stacked along the rank dimension, A's rows one after another and
  B's columns scaled by each weight, so the result's B·A is exactly the weighted mean of theirs.
  Its rank is the sum of theirs; alpha is rescaled so PEFT's scaling (alpha/r, or alpha/sqrt(r)
  with rsLoRA) stays the sources'.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TrainerError

WEIGHTS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"
# Files of an adapter folder that are not the tokenizer: they are not copied into the result.
_NOT_TOKENIZER = {WEIGHTS, CONFIG, "state.json", "adapter.json", "README.md", "adapter_model.bin"}


@dataclass
class Adapter:
    """One source: its folder, its adapter_config.json and its tensors."""

    folder: Path
    config: dict[str, Any]
    tensors: dict[str, Any]


def read_adapter(folder: Path) -> Adapter:
    """Reads a PEFT adapter folder; refuses one without safetensors weights (a pickle is never loaded)."""
    from safetensors.torch import load_file

    weights = folder / WEIGHTS
    if not weights.is_file():
        raise TrainerError(f"{folder} has no {WEIGHTS}: only safetensors adapters can be combined", "sources")
    try:
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TrainerError(f"{folder / CONFIG} cannot be read ({error}): the adapter folder is incomplete", "sources") from error
    return Adapter(folder, config, load_file(str(weights)))


def _targets(config: dict[str, Any]) -> Any:
    targets = config.get("target_modules")
    return sorted(targets) if isinstance(targets, list) else targets


def _shape_of(config: dict[str, Any]) -> dict[str, Any]:
    """What must match between sources, by the name a person sees."""
    return {
        "base model": config.get("base_model_name_or_path"),
        "rank": config.get("r"),
        "alpha": config.get("lora_alpha"),
        "target modules": _targets(config),
        "DoRA": bool(config.get("use_dora")),
        "rsLoRA": bool(config.get("use_rslora")),
    }


def check_same_shape(adapters: list[Adapter]) -> None:
    """Refuses sources that differ in base, rank, alpha, target modules, DoRA, rsLoRA or tensors, naming what differs."""
    if len(adapters) < 2:
        raise TrainerError("combine needs at least two adapters", "sources")
    first = adapters[0]
    wanted = _shape_of(first.config)
    for other in adapters[1:]:
        shape = _shape_of(other.config)
        for what, value in wanted.items():
            if shape[what] != value:
                raise TrainerError(
                    f"{other.folder} differs from {first.folder} in its {what}: {shape[what]!r} against {value!r}; "
                    "only adapters of the same base model and LoRA shape can be combined",
                    "sources",
                )
        if set(other.tensors) != set(first.tensors):
            missing = sorted(set(first.tensors) ^ set(other.tensors))[0]
            raise TrainerError(
                f"{other.folder} and {first.folder} differ in their tensors ({missing}): they adapt different modules", "sources"
            )
        for name, tensor in first.tensors.items():
            if tuple(other.tensors[name].shape) != tuple(tensor.shape):
                raise TrainerError(
                    f"{other.folder} has {name} of shape {tuple(other.tensors[name].shape)}, {first.folder} {tuple(tensor.shape)}: "
                    "the LoRA shapes differ",
                    "sources",
                )


def normalised(weights: list[float]) -> list[float]:
    """The weights divided by their sum; refuses negative ones or a zero sum."""
    if any(weight < 0 or not math.isfinite(weight) for weight in weights) or sum(weights) <= 0:
        raise TrainerError(f"weights: {weights} must be positive numbers (training examples of each adapter)", "weights")
    total = sum(weights)
    return [weight / total for weight in weights]


def average(adapters: list[Adapter], weights: list[float]) -> dict[str, Any]:
    """Every tensor the weighted mean of the sources', computed in float32 and stored in the sources' dtype."""
    result = {}
    for name, tensor in adapters[0].tensors.items():
        total = sum(weight * adapter.tensors[name].float() for adapter, weight in zip(adapters, weights, strict=True))
        result[name] = total.to(tensor.dtype).contiguous()
    return result


def stack(adapters: list[Adapter], weights: list[float]) -> dict[str, Any]:
    """lora_A stacked by rows and lora_B by columns with the weights folded into B, so that B·A is the weighted mean."""
    import torch

    result = {}
    for name, tensor in adapters[0].tensors.items():
        if ".lora_A." in name:
            result[name] = torch.cat([adapter.tensors[name] for adapter in adapters], dim=0).contiguous()
        elif ".lora_B." in name:
            parts = [(weight * adapter.tensors[name].float()).to(tensor.dtype) for adapter, weight in zip(adapters, weights, strict=True)]
            result[name] = torch.cat(parts, dim=1).contiguous()
        else:
            raise TrainerError(f"{adapters[0].folder} has {name}, which exact mode cannot stack: use average mode", "mode")
    return result


def combined_alpha(config: dict[str, Any], rank: int) -> float:
    """The alpha that keeps the sources' scaling at ``rank``: alpha/r (or alpha/sqrt(r) with rsLoRA) unchanged."""
    alpha, old = float(config["lora_alpha"]), int(config["r"])
    return alpha * (math.sqrt(rank / old) if config.get("use_rslora") else rank / old)


def combine(sources: list[Path], weights: list[float], mode: str, out: Path) -> dict[str, Any]:
    """Writes the combined adapter into ``out`` (created; must not exist) and returns its shape."""
    from safetensors.torch import save_file

    if len(weights) != len(sources):
        raise TrainerError(f"weights: {len(weights)} given for {len(sources)} adapters", "weights")
    adapters = [read_adapter(folder) for folder in sources]
    check_same_shape(adapters)
    share = normalised(weights)
    config = dict(adapters[0].config)
    if mode == "average":
        tensors = average(adapters, share)
    elif mode == "exact":
        if config.get("use_dora"):
            raise TrainerError("mode: DoRA adapters cannot be combined exactly (their magnitudes normalise B·A): use average mode", "mode")
        if config.get("rank_pattern") or config.get("alpha_pattern"):
            raise TrainerError("mode: adapters with per-module ranks cannot be stacked exactly: use average mode", "mode")
        tensors = stack(adapters, share)
        rank = sum(int(adapter.config["r"]) for adapter in adapters)
        config.update(r=rank, lora_alpha=combined_alpha(config, rank))
    else:
        raise TrainerError(f"mode: {mode!r} is not average or exact", "mode")
    out.mkdir(parents=True)
    save_file(tensors, str(out / WEIGHTS), metadata={"format": "pt"})
    (out / CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")
    # The tokenizer of the first source: the sources share a base model, so their tokenizers are its.
    for item in adapters[0].folder.iterdir():
        if item.is_file() and item.name not in _NOT_TOKENIZER and item.suffix not in (".pt", ".bin", ".pth", ".pkl"):
            shutil.copyfile(item, out / item.name)
    return {"rank": int(config["r"]), "alpha": float(config["lora_alpha"]), "tensors": len(tensors), "weights": share}
