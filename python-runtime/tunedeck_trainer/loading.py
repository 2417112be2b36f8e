"""Loading for every method: device and precision, tokenizer, base model (optionally 4-bit) and
LoRA adapter weights. Datasets are read by the data package (data/job_data.py) and the methods.

Every failure a user can cause raises TrainerError naming the config field it is about.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import LoraSettings
from .errors import TrainerError


@dataclass(frozen=True)
class Precision:
    """Where and how to compute: ``dtype`` of the base weights, autocast and loss scaling."""

    device: torch.device
    dtype: torch.dtype
    autocast: bool
    scaler: bool

    @property
    def name(self) -> str:
        """float32, bfloat16 or float16."""
        return str(self.dtype).removeprefix("torch.")


def resolve_precision(requested: str) -> Precision:
    """CPU trains in fp32; CUDA in bf16 where supported, else fp16 with a GradScaler ("auto")."""
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if requested == "auto":
        requested = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    if requested == "fp32":
        return Precision(device, torch.float32, autocast=False, scaler=False)
    if requested == "bf16":
        if cuda and not torch.cuda.is_bf16_supported():
            raise TrainerError("training.precision: this GPU cannot compute in bf16; use fp16 or auto", "training.precision")
        return Precision(device, torch.bfloat16, autocast=True, scaler=False)
    if not cuda:
        raise TrainerError("training.precision: fp16 needs a CUDA GPU; use auto or fp32 on this machine", "training.precision")
    return Precision(device, torch.float16, autocast=True, scaler=True)


def seed_everything(seed: int) -> None:
    """Seeds Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_tokenizer(path: Path) -> Any:
    """The model's tokenizer, with a pad token (the eos token when the model has none)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
    except Exception as error:  # transformers raises many kinds here
        raise TrainerError(f"model.path: cannot load a tokenizer from {path}: {error}", "model.path") from error
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def packing_obstacle(path: Path) -> str | None:
    """Why the model at ``path`` cannot train on packed rows; None when it can, or is unknown.

    Decided from config.json alone (AutoConfig and the causal-LM class mapping), so before any
    weights load and before the data is packed.
    """
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    from .data.packing import detects_packed_rows

    try:
        model_class = MODEL_FOR_CAUSAL_LM_MAPPING[type(AutoConfig.from_pretrained(str(path)))]
    except Exception:  # not a model transformers knows: load_model reports it naming model.path
        return None
    if detects_packed_rows(model_class):
        return None
    return (
        f"{model_class.__name__} builds its attention mask without transformers' packed-sequence "
        "detection, so examples packed into one row would attend to each other"
    )


def load_model(path: Path, precision: Precision, *, quantization: str = "none", gradient_checkpointing: bool = False) -> Any:
    """The base causal LM on the training device, with SDPA attention.

    ``quantization="4bit"`` loads it as NF4 through bitsandbytes and prepares it for k-bit
    training (gradient checkpointing always on); call ``quantization.check_available`` first.
    ``gradient_checkpointing`` recomputes each decoder layer in backward instead of keeping
    its activations (non-reentrant, so no input has to require grad and dropout replays).
    """
    from transformers import AutoModelForCausalLM

    quantized = quantization == "4bit"
    options: dict[str, Any] = {"dtype": precision.dtype, "attn_implementation": "sdpa"}
    if quantized:
        from . import quantization as qlora

        dtype = qlora.compute_dtype(precision.dtype)
        index = precision.device.index if precision.device.index is not None else torch.cuda.current_device()
        options.update(dtype=dtype, quantization_config=qlora.bnb_config(dtype), device_map={"": index})
    try:
        model = AutoModelForCausalLM.from_pretrained(str(path), **options)
    except Exception as error:
        raise TrainerError(f"model.path: cannot load a causal language model from {path}: {error}", "model.path") from error
    if quantized:
        from . import quantization as qlora

        model = qlora.prepare(model)
    else:
        model = model.to(precision.device)
        if gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if quantized or gradient_checkpointing:
        model.config.use_cache = False  # a KV cache is useless in training and conflicts with recomputation
    return model


def apply_lora(model: Any, lora: LoraSettings) -> Any:
    """Wraps the model in a fresh LoRA adapter shaped by ``lora``."""
    from peft import LoraConfig, get_peft_model

    targets = lora.target_modules if lora.target_modules == "all-linear" else list(lora.target_modules)
    peft_config = LoraConfig(
        r=lora.rank,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=targets,
        use_rslora=lora.rslora,
        use_dora=lora.dora,
        bias="none",
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(model, peft_config)
    except ValueError as error:
        raise TrainerError(f"lora.targetModules: {error}", "lora.targetModules") from error


def load_adapter_weights(model: Any, folder: Path, field: str) -> None:
    """Copies saved adapter weights into the trained adapter's LoRA layers ("default"; never into a
    frozen reference adapter beside it); every one of its LoRA tensors must be present."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    weights = folder / "adapter_model.safetensors"
    if not weights.is_file():
        raise TrainerError(f"{field}: {folder} has no adapter_model.safetensors", field)
    result = set_peft_model_state_dict(model, load_file(str(weights)))
    missing = [key for key in result.missing_keys if "lora_" in key and ".default." in key]
    if missing:
        raise TrainerError(f"{field}: {folder} does not fit this adapter (missing {missing[0]})", field)
