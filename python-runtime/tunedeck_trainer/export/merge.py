"""The adapter merged into the base weights: a plain transformers model folder, no peft needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DTYPES = ("bfloat16", "float16", "float32")


def default_dtype(base: dict[str, Any]) -> str:
    """The base's own 16-bit type when it has one, else bfloat16 (the merged model is 16-bit)."""
    declared = base.get("torch_dtype") or base.get("dtype")
    return declared if declared in ("bfloat16", "float16") else "bfloat16"


def merge(adapter_dir: Path, base_dir: Path, out: Path, dtype: str, tokenizer: Any, generation: Any) -> None:
    """Loads the base in fp32, merges the adapter exactly, casts to ``dtype`` and saves shards to ``out``."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    # Merging in fp32 keeps W + scale * B @ A exact before the one rounding to 16 bits.
    base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    model = model.to(getattr(torch, dtype))
    model.save_pretrained(str(out), safe_serialization=True, max_shard_size="2GB")
    tokenizer.save_pretrained(str(out))
    generation.save_pretrained(str(out))
