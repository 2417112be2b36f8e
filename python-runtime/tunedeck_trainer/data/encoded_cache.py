"""The encoded-data cache: a dataset encoded once, read back by every later job on the same data.

<data>/cache/encoded/<key>/ holds one dataset's records encoded (token ids and labels, uncut) as
memory-mapped numpy arrays: ids.npy and labels.npy (int32, every record's tokens end to end),
lengths.npy (int64, tokens per record) and meta.json, written last, with what the entry is
(its dataset's SHA-256, format, skipped rows, size, each array's CRC-32). The key hashes all
that changes the encoding: the dataset's bytes, the tokenizer, the chat template, the format,
column mapping and bad-row setting, trainOnInputs and the encoder's version; so a second job,
a resume or "Run again" on the same data with the same model reads it instead of encoding.

An entry is written to a staging folder and renamed into place; one whose meta.json is missing,
unreadable or of another version, or whose arrays do not match their sizes and checksums, is
removed and rebuilt. The cache is bounded (TUNEDECK_ENCODED_CACHE_MB, default 10,240 MB):
after a write, the least recently used entries are removed until it fits. The host sets
TUNEDECK_ENCODED_CACHE to the folder; without it nothing is cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = 1  # of the encoder and this layout: a change makes every older entry a miss
DEFAULT_LIMIT_MB = 10_240
ARRAYS = ("ids", "labels", "lengths")
META = "meta.json"
STAGING = ".staging-"


@dataclass
class CachedData:
    """Every record of a dataset encoded (uncut), with the load result's counts."""

    examples: list[dict[str, list[int]]]
    format: str
    skipped: int


def cache_folder() -> Path | None:
    """The cache's folder, from TUNEDECK_ENCODED_CACHE (None: no cache)."""
    folder = os.environ.get("TUNEDECK_ENCODED_CACHE")
    return Path(folder) if folder else None


def limit_bytes() -> int:
    try:
        return int(float(os.environ.get("TUNEDECK_ENCODED_CACHE_MB", DEFAULT_LIMIT_MB)) * 1024 * 1024)
    except ValueError:
        return DEFAULT_LIMIT_MB * 1024 * 1024


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tokenizer_fingerprint(tokenizer: Any) -> str | None:
    """A hash of the fast tokenizer's whole definition and special tokens (None for a slow one)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    digest = hashlib.sha256(backend.to_str().encode())
    digest.update(json.dumps([str(tokenizer.special_tokens_map), tokenizer.eos_token_id, tokenizer.bos_token_id]).encode())
    return digest.hexdigest()


def cache_key(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps({**parts, "version": VERSION}, sort_keys=True).encode()).hexdigest()[:32]


def read_entry(root: Path, key: str) -> CachedData | None:
    """The entry's data, or None when it is absent; a damaged entry is removed (and so rebuilt)."""
    folder = root / key
    if not folder.is_dir():
        return None
    import numpy as np

    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        if meta.get("version") != VERSION:
            raise ValueError(f"version {meta.get('version')}")
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in ARRAYS}
        for name in ARRAYS:
            if zlib.crc32(memoryview(np.ascontiguousarray(arrays[name])).cast("B")) != meta["crc32"][name]:
                raise ValueError(f"{name}.npy does not match its checksum")
        lengths = arrays["lengths"]
        total = int(lengths.sum())
        if total != arrays["ids"].shape[0] or total != arrays["labels"].shape[0] or len(lengths) != meta["records"]:
            raise ValueError("the arrays' sizes do not agree")
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        print(f"[tunedeck] encoded cache entry {key} is damaged ({error}); encoding the dataset again", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    ids, labels = arrays["ids"], arrays["labels"]
    examples, start = [], 0
    for length in lengths.tolist():
        end = start + length
        examples.append({"input_ids": ids[start:end].tolist(), "labels": labels[start:end].tolist()})
        start = end
    os.utime(folder)  # recently used: evicted last
    return CachedData(examples, meta["format"], int(meta["skipped"]))


def write_entry(root: Path, key: str, data: CachedData, about: dict[str, Any]) -> Path | None:
    """Stores ``data`` under ``key`` (whole or not at all) and evicts old entries past the limit.

    ``about`` goes into meta.json (the dataset's SHA-256 and id, the tokenizer's source). Returns
    the entry's folder, or None when it could not be written (a full disk: the job goes on).
    """
    import numpy as np

    lengths = np.array([len(example["input_ids"]) for example in data.examples], dtype=np.int64)
    arrays = {
        "ids": np.fromiter((t for e in data.examples for t in e["input_ids"]), dtype=np.int32, count=int(lengths.sum())),
        "labels": np.fromiter((t for e in data.examples for t in e["labels"]), dtype=np.int32, count=int(lengths.sum())),
        "lengths": lengths,
    }
    staging = root / f"{STAGING}{key}-{os.getpid()}"
    folder = root / key
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name, array in arrays.items():
            np.save(staging / f"{name}.npy", array, allow_pickle=False)
        size = sum((staging / f"{name}.npy").stat().st_size for name in ARRAYS)
        meta = {
            **about,
            "version": VERSION,
            "key": key,
            "format": data.format,
            "skipped": data.skipped,
            "records": len(data.examples),
            "bytes": size,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "crc32": {name: zlib.crc32(memoryview(array).cast("B")) for name, array in arrays.items()},
        }
        (staging / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")  # last: marks it whole
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    except OSError as error:
        print(f"[tunedeck] could not cache the encoded dataset ({error}); the job goes on", flush=True)
        shutil.rmtree(staging, ignore_errors=True)
        return None
    evict(root, limit_bytes(), keep=key)
    return folder


def evict(root: Path, limit: int, keep: str) -> list[str]:
    """Removes the least recently used entries until the
    cache holds at most ``limit`` bytes; ``keep`` (the entry just written) stays. Returns the keys removed."""
    entries = []
    for folder in root.iterdir():
        if folder.name.startswith(STAGING):
            continue
        size = sum(item.stat().st_size for item in folder.iterdir() if item.is_file()) if folder.is_dir() else 0
        entries.append((folder.stat().st_mtime, folder.name, size))
    total = sum(size for _, _, size in entries)
    removed = []
    for _, name, size in sorted(entries):
        if total <= limit:
            break
        if name == keep:
            continue
        shutil.rmtree(root / name, ignore_errors=True)
        total -= size
        removed.append(name)
    return removed
