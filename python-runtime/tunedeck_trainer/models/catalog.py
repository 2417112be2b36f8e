"""What a model folder is, read from its files: architecture, parameters, dtype, size, chat template.

Parameter counts come from the safetensors headers (a JSON block at the start of each file), so
listing a cache of many gigabytes reads a few kilobytes per model and imports no torch.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

# Model types whose logits are the head applied to the last hidden state: the label-only loss
# applies (kept equal to loss.HEAD_ONLY_TYPES by tests/trainer/test_models_catalog.py).
HEAD_ONLY_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3", "phi3"})
DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "BF16": 2,
    "F16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
}


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def safetensors_parameters(path: Path) -> tuple[int, dict[str, int]]:
    """Parameter count of one safetensors file and its element count by dtype, from the header alone."""
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    total = 0
    by_dtype: dict[str, int] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        count = 1
        for size in entry["shape"]:
            count *= int(size)
        total += count
        by_dtype[entry["dtype"]] = by_dtype.get(entry["dtype"], 0) + count
    return total, by_dtype


def folder_bytes(folder: Path) -> int:
    """Bytes the folder's files take, each blob once (the hub cache links snapshots to blobs)."""
    seen: set[Path] = set()
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            target = Path(root, name).resolve()
            if target in seen or not target.is_file():
                continue
            seen.add(target)
            total += target.stat().st_size
    return total


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def has_chat_template(folder: Path) -> bool:
    """Whether the tokenizer carries a chat template (tokenizer_config.json or chat_template.jinja)."""
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    return bool(_read_json(folder / "tokenizer_config.json").get("chat_template"))


def describe(folder: Path, *, source: str, hub_id: str | None = None) -> dict[str, Any]:
    """One model for the list: what config.json and the weights' headers say, and the fast paths."""
    config = _read_json(folder / "config.json")
    parameters = 0
    by_dtype: dict[str, int] = {}
    weights = sorted(folder.glob("*.safetensors"))
    for file in weights:
        try:
            count, dtypes = safetensors_parameters(file)
        except (OSError, ValueError, struct.error, KeyError):
            continue
        parameters += count
        for key, value in dtypes.items():
            by_dtype[key] = by_dtype.get(key, 0) + value
    dtype = max(by_dtype, key=by_dtype.get).lower() if by_dtype else (config.get("torch_dtype") or config.get("dtype"))
    architectures = config.get("architectures") or []
    model_type = config.get("model_type")
    label_only = model_type in HEAD_ONLY_TYPES and config.get("final_logit_softcapping") is None
    problems = []
    if not config:
        problems.append("no config.json")
    if not weights:
        problems.append("no .safetensors weights")
    return {
        "path": str(folder),
        "hubId": hub_id,
        "source": source,
        "name": hub_id or folder.name,
        "architecture": architectures[0] if architectures else None,
        "modelType": model_type,
        "parameters": parameters or None,
        "dtype": dtype,
        "bytes": folder_bytes(folder),
        "chatTemplate": has_chat_template(folder),
        "labelOnlyLoss": bool(label_only),
        "problems": problems,
    }


def packing_supported(folder: Path) -> bool | None:
    """Whether packed rows keep examples apart for this architecture (None: transformers does not know it)."""
    from ..loading import packing_obstacle

    try:
        from transformers import AutoConfig

        AutoConfig.from_pretrained(str(folder))
    except Exception:  # noqa: BLE001 - an architecture transformers cannot read
        return None
    return packing_obstacle(folder) is None


def cached_models(cache: Path | None = None) -> list[dict[str, Any]]:
    """Every model in the hub cache with a complete snapshot (config.json present), newest revision of main."""
    cache = cache or hub_cache_dir()
    found = []
    if not cache.is_dir():
        return found
    for repo in sorted(cache.glob("models--*")):
        hub_id = repo.name[len("models--") :].replace("--", "/")
        snapshot = cached_snapshot(repo)
        if snapshot is not None and (snapshot / "config.json").is_file():
            found.append(describe(snapshot, source="hub-cache", hub_id=hub_id))
    return found


def cached_snapshot(repo_folder: Path, revision: str = "main") -> Path | None:
    """The snapshot folder the ref points at (or the only/latest snapshot when there is no ref)."""
    ref = repo_folder / "refs" / revision
    if ref.is_file():
        snapshot = repo_folder / "snapshots" / ref.read_text().strip()
        return snapshot if snapshot.is_dir() else None
    snapshots = sorted((repo_folder / "snapshots").glob("*"), key=lambda path: path.stat().st_mtime)
    return snapshots[-1] if snapshots else None


def folder_models(folder: Path) -> list[dict[str, Any]]:
    """The model in ``folder`` itself, or the models one level below it (a folder of models)."""
    if (folder / "config.json").is_file():
        return [describe(folder, source="folder")]
    if not folder.is_dir():
        return []
    return [describe(child, source="folder") for child in sorted(folder.iterdir()) if child.is_dir() and (child / "config.json").is_file()]
