"""Which base architectures the GGUF adapter supports, and how their weights are laid out.

llama.cpp's own converter (convert_hf_to_gguf.py) rewrites some tensors while converting a base
model; a LoRA for that base must be rewritten the same way or it no longer matches. For the
Llama family the query and key projections are permuted into llama.cpp's rotary layout; the
other architectures listed here keep the Hugging Face layout, so the adapter tensors only need
their GGUF names. An architecture missing from this table is reported as unsupported, never
converted on a guess.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GgufArchitecture:
    """How one Hugging Face ``model_type`` maps onto llama.cpp."""

    name: str
    """The GGUF ``general.architecture`` (a key of gguf.MODEL_ARCH_NAMES' values)."""
    permute_query_key: bool = False
    """True where llama.cpp's converter permutes q_proj and k_proj rows (Llama family)."""


ARCHITECTURES: dict[str, GgufArchitecture] = {
    "llama": GgufArchitecture("llama", permute_query_key=True),
    "mistral": GgufArchitecture("llama", permute_query_key=True),
    "qwen2": GgufArchitecture("qwen2"),
    "qwen3": GgufArchitecture("qwen3"),
    "gemma": GgufArchitecture("gemma"),
    "gemma2": GgufArchitecture("gemma2"),
    "gemma3_text": GgufArchitecture("gemma3"),
    "phi3": GgufArchitecture("phi3"),
    "olmo2": GgufArchitecture("olmo2"),
    "starcoder2": GgufArchitecture("starcoder2"),
}

# Ollama's ADAPTER line converts a safetensors adapter itself only for these base types.
OLLAMA_SAFETENSORS_TYPES = ("llama", "mistral", "gemma2")

# vLLM's LoRA loader accepts only these ranks (vllm/config/lora.py).
VLLM_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def gguf_architecture(model_type: str | None) -> GgufArchitecture | None:
    """The GGUF layout of a base ``model_type``, or None when the export does not know it."""
    return ARCHITECTURES.get(model_type or "")


def permute_rows(weights, heads: int):
    """llama.cpp's rotary permutation of a projection's output rows (numpy array, rows first).

    Each head's rows go from [first half interleaved pairs] to llama.cpp's order; the same
    permutation applied to W's rows applies to a LoRA's B matrix, since W + B @ A keeps it.
    """
    rows = weights.shape[0]
    return weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)
