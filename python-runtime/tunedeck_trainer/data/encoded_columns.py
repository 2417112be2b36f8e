"""Encoded-cache entries of named token columns: the preference (DPO, ORPO) and feedback (KTO) records.

An SFT entry (encoded_cache) holds one ids and one labels array. A preference record is several
token lists (prompt, chosen, rejected; or prompt, completion, label), already cut to the job's
maxSeqLength, with whether it was cut and its length. Such an entry, in the same cache folder
and under the same rules (staging folder renamed into place, meta.json written last, CRC-32s
checked on read, least recently used evicted past the limit), holds for each column ``<name>.npy``
(int32, every record's tokens end to end) and ``<name>.lengths.npy`` (int64), plus ``cut.npy``
(int8) and ``length.npy`` (int64), one a record.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .encoded_cache import META, STAGING, VERSION, evict, limit_bytes

LAYOUT = "columns"  # meta.json's "layout": tells these entries from the SFT ones


@dataclass
class EncodedRows:
    """Every record of a dataset encoded, in file order: its columns, whether it was cut, its length."""

    rows: list[tuple[dict[str, list[int]], bool, int]]
    format: str
    skipped: int


def _crc(array: Any) -> int:
    import numpy as np

    return zlib.crc32(memoryview(np.ascontiguousarray(array)).cast("B"))


def _arrays(data: EncodedRows) -> dict[str, Any]:
    import numpy as np

    columns = list(data.rows[0][0]) if data.rows else []
    arrays: dict[str, Any] = {}
    for column in columns:
        values = [example[column] for example, _, _ in data.rows]
        lengths = np.array([len(value) for value in values], dtype=np.int64)
        arrays[column] = np.fromiter((token for value in values for token in value), dtype=np.int32, count=int(lengths.sum()))
        arrays[f"{column}.lengths"] = lengths
    arrays["cut"] = np.array([cut for _, cut, _ in data.rows], dtype=np.int8)
    arrays["length"] = np.array([length for _, _, length in data.rows], dtype=np.int64)
    return arrays


def write_rows(root: Path, key: str, data: EncodedRows, about: dict[str, Any]) -> Path | None:
    """Stores ``data`` under ``key`` (whole or not at all); None when it could not be written (the job goes on)."""
    import numpy as np

    arrays = _arrays(data)
    staging, folder = root / f"{STAGING}{key}-{os.getpid()}", root / key
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name, array in arrays.items():
            np.save(staging / f"{name}.npy", array, allow_pickle=False)
        meta = {
            **about,
            "version": VERSION,
            "layout": LAYOUT,
            "key": key,
            "format": data.format,
            "skipped": data.skipped,
            "records": len(data.rows),
            "columns": [name for name in arrays if name not in ("cut", "length") and not name.endswith(".lengths")],
            "bytes": sum((staging / f"{name}.npy").stat().st_size for name in arrays),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "crc32": {name: _crc(array) for name, array in arrays.items()},
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


def read_rows(root: Path, key: str) -> EncodedRows | None:
    """The entry's rows, or None when it is absent; a damaged entry is removed (and so rebuilt)."""
    import numpy as np

    folder = root / key
    if not folder.is_dir():
        return None
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        if meta.get("version") != VERSION or meta.get("layout") != LAYOUT:
            raise ValueError(f"version {meta.get('version')}, layout {meta.get('layout')}")
        names = [*meta["columns"], *(f"{column}.lengths" for column in meta["columns"]), "cut", "length"]
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in names}
        for name in names:
            if _crc(arrays[name]) != meta["crc32"][name]:
                raise ValueError(f"{name}.npy does not match its checksum")
        records = int(meta["records"])
        for name in names:
            if name.endswith(".lengths") and (
                len(arrays[name]) != records or int(arrays[name].sum()) != len(arrays[name.removesuffix(".lengths")])
            ):
                raise ValueError("the arrays' sizes do not agree")
        if len(arrays["cut"]) != records or len(arrays["length"]) != records:
            raise ValueError("the arrays' sizes do not agree")
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        print(f"[tunedeck] encoded cache entry {key} is damaged ({error}); encoding the dataset again", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    columns: dict[str, list[list[int]]] = {}
    for column in meta["columns"]:
        tokens, values, start = arrays[column].tolist(), [], 0
        for length in arrays[f"{column}.lengths"].tolist():
            values.append(tokens[start : start + length])
            start += length
        columns[column] = values
    cuts, lengths = arrays["cut"].tolist(), arrays["length"].tolist()
    rows = [({column: columns[column][index] for column in columns}, bool(cuts[index]), int(lengths[index])) for index in range(records)]
    os.utime(folder)  # recently used: evicted last
    return EncodedRows(rows, meta["format"], int(meta["skipped"]))
