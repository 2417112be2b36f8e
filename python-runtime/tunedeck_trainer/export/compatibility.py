"""Which loaders take this adapter as it is, and what to change where one does not.

The rules are those the loaders themselves enforce: vLLM's LoRA loader rejects DoRA,
modules_to_save, a trained bias and ranks outside its fixed list; llama.cpp (and so Ollama,
which runs it) applies plain LoRA only, on architectures whose tensor layout the export knows.
"""

from __future__ import annotations

from typing import Any

from .architectures import OLLAMA_SAFETENSORS_TYPES, VLLM_RANKS, gguf_architecture


def _ranks(adapter: dict[str, Any]) -> list[int]:
    """Every rank the adapter uses: r and any per-module override."""
    ranks = {int(adapter.get("r") or 0)}
    ranks.update(int(value) for value in (adapter.get("rank_pattern") or {}).values())
    return sorted(ranks)


def _vllm_rank(rank: int) -> int:
    """The smallest rank vLLM accepts that holds ``rank`` (its --max-lora-rank)."""
    return next((allowed for allowed in VLLM_RANKS if allowed >= rank), VLLM_RANKS[-1])


def _common_problems(adapter: dict[str, Any]) -> list[tuple[str, str]]:
    """(why, what to change) for what neither vLLM nor llama.cpp loads."""
    problems = []
    if adapter.get("use_dora"):
        problems.append(("it is a DoRA adapter (lora.dora on)", "train with lora.dora off, or export the merged model"))
    if adapter.get("modules_to_save"):
        modules = ", ".join(adapter["modules_to_save"])
        problems.append((f"it saves whole modules ({modules})", "train without modules_to_save, or export the merged model"))
    if (adapter.get("bias") or "none") != "none":
        problems.append((f"it trains biases (bias={adapter['bias']})", "train with bias none, or export the merged model"))
    return problems


def report(adapter: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The compatibility report: one entry per target with ``loads``, ``reason`` and ``fix``.

    ``adapter`` is adapter_config.json, ``base`` the base model's config.json. Also returns the
    rank vLLM needs (``vllmMaxLoraRank``) and the GGUF architecture (``ggufArchitecture``).
    """
    model_type = base.get("model_type")
    common = _common_problems(adapter)
    targets = [{"target": "peft", "loads": True, "reason": None, "fix": None}]

    vllm = list(common)
    bad_ranks = [rank for rank in _ranks(adapter) if rank not in VLLM_RANKS]
    if bad_ranks:
        allowed = ", ".join(str(rank) for rank in VLLM_RANKS)
        vllm.append((f"rank {bad_ranks[0]} is not one vLLM accepts ({allowed})", f"train with lora.rank {_vllm_rank(bad_ranks[0])}"))
    targets.append(_entry("vllm", vllm))

    architecture = gguf_architecture(model_type)
    llama = list(common)
    if adapter.get("alpha_pattern"):
        llama.append(("its modules use different alphas (alpha_pattern)", "train with one lora.alpha, or export the merged model"))
    if architecture is None:
        llama.append(
            (f"the export does not know how llama.cpp lays out a '{model_type}' model", "use the PEFT adapter or the merged model")
        )
    targets.append(_entry("llamacpp", llama))

    ollama = [(why, fix) for why, fix in llama]
    entry = _entry("ollama", ollama)
    if entry["loads"] and model_type not in OLLAMA_SAFETENSORS_TYPES:
        entry["reason"] = (
            f"Ollama converts safetensors adapters only for Llama, Mistral and Gemma 2 bases, not '{model_type}': "
            "the Modelfile uses adapter.gguf"
        )
    targets.append(entry)
    return {
        "targets": targets,
        "modelType": model_type,
        "ggufArchitecture": architecture.name if architecture else None,
        "vllmMaxLoraRank": _vllm_rank(max(_ranks(adapter))),
    }


def _entry(target: str, problems: list[tuple[str, str]]) -> dict[str, Any]:
    """One target's line: loads unless there is a problem; the first problem explains why."""
    if not problems:
        return {"target": target, "loads": True, "reason": None, "fix": None}
    return {
        "target": target,
        "loads": False,
        "reason": "; ".join(why for why, _ in problems),
        "fix": "; ".join(fix for _, fix in problems),
    }
