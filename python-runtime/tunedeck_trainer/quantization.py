"""QLoRA: loading the base model as 4-bit NF4 through bitsandbytes (model.quantization "4bit").

The recipe of Dettmers et al. 2023: NF4 weights with double quantisation (the block scales are
quantised too), matmuls computed in bf16 where the GPU supports it, else fp16; then peft's
prepare_model_for_kbit_training (norms and embeddings to fp32, input gradients on) and
gradient checkpointing without the reentrant variant.

``check_available`` runs before anything heavy is loaded, so a job that cannot work fails at once.
"""

from __future__ import annotations

from typing import Any

from .errors import TrainerError

FIELD = "model.quantization"


def check_available() -> None:
    """Fails naming model.quantization when there is no CUDA GPU or no bitsandbytes."""
    import torch

    if not torch.cuda.is_available():
        raise TrainerError(
            "model.quantization: 4-bit loading needs an NVIDIA GPU with CUDA; this machine has none. "
            'Set model.quantization to "none" to train the full-precision model',
            FIELD,
        )
    try:
        import bitsandbytes  # noqa: F401
    except Exception as error:  # ImportError, or a broken native library (OSError, RuntimeError)
        raise TrainerError(
            f"model.quantization: bitsandbytes is not installed or cannot load ({error}); reinstall the "
            'trainer environment (python-runtime/requirements.txt) or set model.quantization to "none"',
            FIELD,
        ) from error


def compute_dtype(requested: Any) -> Any:
    """The matmul dtype for 4-bit layers: the training dtype when 16-bit, else bf16 or fp16."""
    import torch

    if requested in (torch.bfloat16, torch.float16):
        return requested
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def bnb_config(dtype: Any) -> Any:
    """transformers' BitsAndBytesConfig for NF4 with double quantisation."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=dtype,
    )


def prepare(model: Any) -> Any:
    """peft's k-bit preparation with non-reentrant gradient checkpointing."""
    from peft import prepare_model_for_kbit_training

    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=True, gradient_checkpointing_kwargs={"use_reentrant": False})
