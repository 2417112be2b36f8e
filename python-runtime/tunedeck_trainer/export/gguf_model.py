"""Writes a merged model (base plus adapter) as one GGUF that llama.cpp, Ollama and LM Studio run alone.

Written with the `gguf` package's own writer and quantizers, following llama.cpp's
convert_hf_to_gguf.py: tensor names from gguf.TensorNameMap, the Llama family's query and key rows
permuted into llama.cpp's rotary layout, 1-D tensors (norms, biases) kept in f32, every matrix in
the chosen type (a matrix whose rows do not split into 32-value blocks stays f16), the byte-level
BPE vocabulary with its merges, special tokens and chat template. Llama 3's rope scaling is written
as llama.cpp's rope_freqs tensor.

Types: f16, q8_0 and q4_0 here; q4_K_M needs llama.cpp's own quantizer (quantizer.py).
Architectures: SUPPORTED below; any other is refused naming it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import TrainerError
from .architectures import permute_rows

# Hugging Face model_type -> (GGUF architecture, q/k rows permuted as llama.cpp's converter does).
SUPPORTED: dict[str, tuple[str, bool]] = {"llama": ("llama", True), "qwen2": ("qwen2", False)}
TYPES = ("f16", "q8_0", "q4_0")
# The split regex of a byte-level BPE pre-tokenizer -> llama.cpp's name for it (tokenizer.ggml.pre).
# Each regex stays on one line, over the line length, to be compared whole with the tokenizer's.
PRE_TOKENIZERS = {
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": "llama-bpe",  # noqa: E501
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": "qwen2",  # noqa: E501
}


def check_supported(base: dict[str, Any]) -> tuple[str, bool]:
    """The GGUF architecture of a base config, or a TrainerError naming the one that is not supported."""
    model_type = base.get("model_type")
    if model_type not in SUPPORTED:
        names = ", ".join(sorted(SUPPORTED))
        raise TrainerError(
            f"model.gguf: the merged GGUF writer supports {names}; this base is '{model_type}' "
            "(export the merged model folder and convert it with llama.cpp's convert_hf_to_gguf.py)",
            "ggufType",
        )
    return SUPPORTED[model_type]


def pre_tokenizer(tokenizer_json: dict[str, Any]) -> str:
    """llama.cpp's pre-tokenizer name for a byte-level BPE tokenizer.json; refuses any other."""
    if (tokenizer_json.get("model") or {}).get("type") != "BPE":
        raise TrainerError(
            "model.gguf: the merged GGUF writer handles byte-level BPE tokenizers only; this one is "
            f"{(tokenizer_json.get('model') or {}).get('type')}",
            "ggufType",
        )
    pre = tokenizer_json.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    if len(steps) == 1 and steps[0].get("type") == "ByteLevel" and steps[0].get("use_regex", True):
        return "gpt-2"  # tokenizers' ByteLevel alone splits with GPT-2's regex
    for step in steps:
        if step.get("type") == "Split" and (step.get("pattern") or {}).get("Regex") in PRE_TOKENIZERS:
            return PRE_TOKENIZERS[step["pattern"]["Regex"]]
    raise TrainerError(
        "model.gguf: the tokenizer splits text in a way the merged GGUF writer does not know; "
        "convert the merged model folder with llama.cpp's convert_hf_to_gguf.py",
        "ggufType",
    )


def rope_factors(config: dict[str, Any]) -> Any:
    """llama.cpp's rope_freqs for Llama 3's rope scaling (as convert_hf_to_gguf computes it), else None."""
    import numpy

    scaling = config.get("rope_scaling") or {}
    kind = (scaling.get("rope_type") or scaling.get("type") or "").lower()
    if not scaling or kind == "default":
        return None
    if kind != "llama3":
        raise TrainerError(f"model.gguf: rope scaling of type '{kind}' is not written by the merged GGUF writer", "ggufType")
    base = config.get("rope_theta", 10000.0)
    dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    factor = scaling.get("factor", 8.0)
    low, high = scaling.get("low_freq_factor", 1.0), scaling.get("high_freq_factor", 4.0)
    old_context = scaling.get("original_max_position_embeddings", 8192)
    low_wavelength, high_wavelength = old_context / low, old_context / high
    factors = []
    for frequency in 1.0 / (base ** (numpy.arange(0, dim, 2, dtype=numpy.float32) / dim)):
        wavelength = 2 * math.pi / frequency
        if wavelength < high_wavelength:
            factors.append(1.0)
        elif wavelength > low_wavelength:
            factors.append(factor)
        else:
            smooth = (old_context / wavelength - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return numpy.array(factors, dtype=numpy.float32)


def add_vocabulary(writer: Any, tokenizer_dir: Path, vocab_size: int) -> None:
    """Tokens, their types, merges, special tokens and the chat template, as convert_hf_to_gguf writes a BPE vocabulary."""
    import gguf
    from transformers import AutoTokenizer

    tokenizer_json = json.loads((tokenizer_dir / "tokenizer.json").read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    by_id = {index: text for text, index in tokenizer.get_vocab().items()}
    added = tokenizer.added_tokens_decoder
    tokens, types = [], []
    for index in range(vocab_size):
        if index not in by_id:
            tokens.append(f"[PAD{index}]")
            types.append(gguf.TokenType.UNUSED)
        elif index in added:
            tokens.append(added[index].content)
            types.append(gguf.TokenType.CONTROL if added[index].special else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(by_id[index])
            types.append(gguf.TokenType.NORMAL)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre_tokenizer(tokenizer_json))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    gguf.SpecialVocab(tokenizer_dir, load_merges=True, n_vocab=vocab_size).add_to_gguf(writer, quiet=True)


def _matrix(name: str, data: Any, kind: str) -> tuple[Any, Any]:
    """The tensor in the file's type: 1-D stays f32; a matrix is quantized when its rows split into blocks."""
    import gguf
    import numpy

    if data.ndim == 1:
        return data.astype(numpy.float32), None
    if kind != "f16":
        qtype = gguf.GGMLQuantizationType.Q8_0 if kind == "q8_0" else gguf.GGMLQuantizationType.Q4_0
        if data.shape[-1] % gguf.GGML_QUANT_SIZES[qtype][0] == 0:
            return gguf.quants.quantize(data.astype(numpy.float32), qtype), qtype
    return data.astype(numpy.float16), None


def write(
    state: dict[str, Any],
    config: dict[str, Any],
    tokenizer_dir: Path,
    out: Path,
    kind: str,
    *,
    name: str,
    progress: Callable[[str], None] = lambda phase: None,
) -> dict[str, Any]:
    """Writes ``out`` from a merged float32 state dict (numpy arrays by Hugging Face name) and the base's config."""
    import gguf
    import numpy

    if kind not in TYPES:
        raise TrainerError(f"model.gguf: type {kind} is not one of {', '.join(TYPES)}", "ggufType")
    architecture, permute = check_supported(config)
    heads = int(config["num_attention_heads"])
    kv_heads = int(config.get("num_key_value_heads") or heads)
    layers = int(config["num_hidden_layers"])
    vocab_size = int(config["vocab_size"])
    file_types = {"f16": gguf.LlamaFileType.MOSTLY_F16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "q4_0": gguf.LlamaFileType.MOSTLY_Q4_0}

    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out), architecture)
    writer.add_name(name)
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_block_count(layers)
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_layer_norm_rms_eps(float(config["rms_norm_eps"]))
    writer.add_rope_freq_base(float(config.get("rope_theta", 10000.0)))
    writer.add_rope_dimension_count(int(config.get("head_dim") or config["hidden_size"] // heads))
    writer.add_vocab_size(vocab_size)
    writer.add_file_type(file_types[kind])
    add_vocabulary(writer, tokenizer_dir, vocab_size)

    arch_enum = next(key for key, value in gguf.MODEL_ARCH_NAMES.items() if value == architecture)
    names = gguf.get_tensor_name_map(arch_enum, layers)
    factors = rope_factors(config)
    if factors is not None:
        writer.add_tensor(gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight", factors)
    for key, value in state.items():
        if key == "lm_head.weight" and config.get("tie_word_embeddings"):
            continue  # llama.cpp reuses token_embd when output.weight is absent
        if key.endswith("rotary_emb.inv_freq"):
            continue
        target = names.get_name(key, try_suffixes=(".weight", ".bias"))
        if target is None:
            raise TrainerError(f"model.gguf: llama.cpp has no tensor for {key} of a {architecture} model", "ggufType")
        data = numpy.asarray(value, dtype=numpy.float32)
        if permute and key.endswith("self_attn.q_proj.weight"):
            data = permute_rows(data, heads)
        elif permute and key.endswith("self_attn.k_proj.weight"):
            data = permute_rows(data, kv_heads)
        tensor, qtype = _matrix(target, numpy.ascontiguousarray(data), kind)
        writer.add_tensor(target, tensor, raw_dtype=qtype)
    progress("gguf-write")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"architecture": architecture, "type": kind, "bytes": out.stat().st_size}


def merged_state(adapter_dir: Path, base_dir: Path) -> dict[str, Any]:
    """Base plus adapter, merged in float32, as numpy arrays by Hugging Face name."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    return {key: value.detach().numpy() for key, value in model.state_dict().items()}
