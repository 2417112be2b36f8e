"""Writes everything of an export that needs Python into one staging folder.

    STAGING/adapter/        adapter_model.safetensors, adapter_config.json (base_model_name_or_path
                            set), tokenizer files with the chat template, generation_config.json
    STAGING/adapter.gguf    the same adapter as a GGUF LoRA, where llama.cpp can apply it
    STAGING/merged/         with --merged: the merged model, 16-bit safetensors shards
    STAGING/model.gguf      with --gguf-type: the merged model as one GGUF (gguf_model.py)

The host adds the job's files, the Modelfile and the card, and zips the lot.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from ..config import HUB_ID
from ..errors import TrainerError
from . import compatibility, gguf_adapter, gguf_model, gguf_offer, merge, templates

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON file, or a TrainerError naming it and saying what to do."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise TrainerError(f"{path}: not found; {what}") from error
    except json.JSONDecodeError as error:
        raise TrainerError(f"{path}: line {error.lineno}: not valid JSON ({error.msg})") from error


def check_sources(adapter_dir: Path, base_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The adapter's and the base's configs, once both folders are whole."""
    for name in ADAPTER_FILES:
        if not (adapter_dir / name).is_file():
            raise TrainerError(f"{adapter_dir / name}: not found; the job has no adapter to export yet", "adapter")
    base = read_json(
        base_dir / "config.json",
        "the base model folder has moved or was deleted; put it back or point the job's model.path at its new place",
    )
    return read_json(adapter_dir / "adapter_config.json", "the adapter is incomplete"), base


def portable_base_name(base_name: str) -> str:
    """The base model as another machine can name it: a hub id as is, a folder in a hub cache
    (models--owner--name/snapshots/<revision>) by its repo id, any other folder by its name only,
    so PEFT elsewhere finds the base on the Hub or beside the adapter, never at this machine's path."""
    if not Path(base_name).is_absolute() and HUB_ID.match(base_name):
        return base_name
    parts = PurePosixPath(base_name.replace("\\", "/").rstrip("/")).parts  # a Windows path too
    for index, part in enumerate(parts[:-2]):
        if part.startswith("models--") and parts[index + 1] == "snapshots":
            return part[len("models--") :].replace("--", "/")
    return parts[-1] if parts else base_name


def load_tokenizer(adapter_dir: Path, base_dir: Path) -> Any:
    """The tokenizer the job trained with: saved beside the adapter, else the base's."""
    from transformers import AutoTokenizer

    source = adapter_dir if (adapter_dir / "tokenizer_config.json").is_file() else base_dir
    return AutoTokenizer.from_pretrained(str(source))


def generation_config(base_dir: Path, tokenizer: Any, stop_ids: list[int]) -> Any:
    """The base's generation config with eos set to every stop token of the trained template."""
    from transformers import GenerationConfig

    try:
        config = GenerationConfig.from_pretrained(str(base_dir))
    except OSError:
        config = GenerationConfig()
    config.eos_token_id = stop_ids[0] if len(stop_ids) == 1 else stop_ids
    config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else config.pad_token_id
    if tokenizer.bos_token_id is not None:
        config.bos_token_id = tokenizer.bos_token_id
    return config


def prepare(
    adapter_dir: Path,
    base_dir: Path,
    out: Path,
    *,
    base_name: str,
    merged: bool = False,
    dtype: str | None = None,
    gguf_type: str | None = None,
    progress: Callable[[str], None] = lambda phase: None,
) -> dict[str, Any]:
    """Fills ``out`` (created) and returns what the host needs for the Modelfile and the card."""
    adapter, base = check_sources(adapter_dir, base_dir)
    report = compatibility.report(adapter, base)
    report["mergedGguf"] = gguf_offer.offers(base, gguf_offer.tokenizer_folder(adapter_dir, base_dir))
    if gguf_type is not None:
        offer = next((entry for entry in report["mergedGguf"] if entry["type"] == gguf_type), None)
        if offer is None or not offer["offered"]:
            raise TrainerError(
                f"ggufType: {gguf_type} is not offered for this model: {offer['reason'] if offer else 'unknown type'}", "ggufType"
            )
    out.mkdir(parents=True, exist_ok=True)
    staged = out / "adapter"
    staged.mkdir(exist_ok=True)

    progress("adapter")
    shutil.copyfile(adapter_dir / "adapter_model.safetensors", staged / "adapter_model.safetensors")
    # The trainer's own value is this machine's folder (or its cache folder for a hub id).
    adapter["base_model_name_or_path"] = portable_base_name(base_name)
    (staged / "adapter_config.json").write_text(json.dumps(adapter, indent=2) + "\n", encoding="utf-8")
    tokenizer = load_tokenizer(adapter_dir, base_dir)
    tokenizer.save_pretrained(str(staged))
    template = templates.describe(tokenizer)
    stop_ids = templates.stop_token_ids(tokenizer, template["stops"])
    generation = generation_config(base_dir, tokenizer, stop_ids)
    generation.save_pretrained(str(staged))

    gguf_info = None
    if report["ggufArchitecture"] and next(t for t in report["targets"] if t["target"] == "llamacpp")["loads"]:
        progress("gguf")
        gguf_info = gguf_adapter.convert(adapter_dir, base_dir, out / "adapter.gguf")

    if merged:
        progress("merge")
        merge.merge(adapter_dir, base_dir, out / "merged", dtype or merge.default_dtype(base), tokenizer, generation)
    model_gguf = None
    if gguf_type is not None:
        progress("merge-gguf")
        state = gguf_model.merged_state(adapter_dir, base_dir)
        written = gguf_type if gguf_type in gguf_model.TYPES else "f16"
        target = out / ("model.gguf" if written == gguf_type else "model-f16.gguf")
        model_gguf = gguf_model.write(state, base, staged, target, written, name=base_name.rsplit("/", 1)[-1])
        del state
        if written != gguf_type:
            progress("quantize")
            gguf_offer.quantize_with_llama_cpp(target, out / "model.gguf", gguf_type)
            target.unlink()
            model_gguf = {**model_gguf, "type": gguf_type, "bytes": (out / "model.gguf").stat().st_size}
    return {
        "compatibility": report,
        "modelGguf": model_gguf,
        "template": {key: template[key] for key in ("family", "ollamaTemplate", "stops", "system")},
        "stopTokenIds": stop_ids,
        "gguf": gguf_info,
        "rank": int(adapter.get("r") or 0),
        "alpha": float(adapter.get("lora_alpha") or 0),
        "baseModel": adapter["base_model_name_or_path"],
    }
