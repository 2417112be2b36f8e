"""Writes a PEFT LoRA adapter as a GGUF LoRA that llama.cpp (`--lora`) and Ollama (`ADAPTER`) apply.

The format follows llama.cpp's convert_lora_to_gguf.py: general.type "adapter", adapter.type
"lora", adapter.lora.alpha, and for each adapted module the tensors
"<gguf name>.weight.lora_a" (rank x in) and ".lora_b" (out x rank), where the GGUF name is the
base tensor's name in llama.cpp (gguf.TensorNameMap). llama.cpp scales by alpha / rank, read
from each tensor's shape, so rsLoRA's alpha / sqrt(rank) is written as alpha * sqrt(rank).
Weights are stored as f16.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import TrainerError
from .architectures import gguf_architecture, permute_rows

PEFT_PREFIX = "base_model.model."


def _module_and_part(key: str) -> tuple[str, str] | None:
    """("model.layers.0.self_attn.q_proj", "a") for a PEFT LoRA key, None for anything else."""
    for part in ("a", "b"):
        for marker in (f".lora_{part.upper()}.weight", f".lora_{part.upper()}.default.weight"):
            if key.endswith(marker):
                module = key[: -len(marker)]
                return (module[len(PEFT_PREFIX) :] if module.startswith(PEFT_PREFIX) else module), part
    return None


def convert(adapter_dir: Path, base_dir: Path, out: Path) -> dict[str, Any]:
    """Writes ``out`` (a .gguf file) from the adapter in ``adapter_dir`` for the base in ``base_dir``.

    Raises TrainerError naming what llama.cpp cannot apply (DoRA, modules_to_save, bias, an
    unknown architecture). Returns the architecture, alpha and number of adapted modules.
    """
    import gguf
    import numpy
    from safetensors.numpy import load_file

    adapter = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    base = json.loads((base_dir / "config.json").read_text(encoding="utf-8"))
    architecture = gguf_architecture(base.get("model_type"))
    if architecture is None:
        raise TrainerError(f"adapter.gguf: llama.cpp layout of a '{base.get('model_type')}' model is not known to the export")
    if adapter.get("use_dora") or adapter.get("modules_to_save") or (adapter.get("bias") or "none") != "none":
        raise TrainerError("adapter.gguf: llama.cpp applies plain LoRA only (no DoRA, modules_to_save or bias)")
    rank = int(adapter["r"])
    alpha = float(adapter["lora_alpha"])
    if adapter.get("use_rslora"):
        alpha *= math.sqrt(rank)  # llama.cpp scales by alpha / rank; rsLoRA means alpha / sqrt(rank)

    arch_enum = next(key for key, value in gguf.MODEL_ARCH_NAMES.items() if value == architecture.name)
    names = gguf.get_tensor_name_map(arch_enum, int(base["num_hidden_layers"]))
    heads = int(base["num_attention_heads"])
    kv_heads = int(base.get("num_key_value_heads") or heads)

    weights = load_file(str(adapter_dir / "adapter_model.safetensors"))
    tensors: dict[str, Any] = {}
    for key, value in sorted(weights.items()):
        parsed = _module_and_part(key)
        if parsed is None:
            raise TrainerError(f"adapter.gguf: tensor {key} is not a LoRA A or B matrix; llama.cpp cannot apply it")
        module, part = parsed
        target = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if target is None:
            raise TrainerError(f"adapter.gguf: llama.cpp has no tensor for module {module} of a {architecture.name} model")
        matrix = value.astype(numpy.float32)
        if part == "b" and architecture.permute_query_key:
            if module.endswith("self_attn.q_proj"):
                matrix = permute_rows(matrix, heads)
            elif module.endswith("self_attn.k_proj"):
                matrix = permute_rows(matrix, kv_heads)
        tensors[f"{target}.lora_{part}"] = numpy.ascontiguousarray(matrix.astype(numpy.float16))

    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out), architecture.name)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    writer.add_name(adapter_dir.parent.name)
    for name, matrix in tensors.items():
        writer.add_tensor(name, matrix)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"architecture": architecture.name, "alpha": alpha, "modules": len(tensors) // 2}
