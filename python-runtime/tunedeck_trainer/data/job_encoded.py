"""A job's records encoded, read from the encoded cache when an earlier job on the same data,
tokenizer and settings stored them, else encoded and stored: SFT records whole and uncut
(encoded_records, encoded_cache), preference and feedback records as their method encodes them
(encoded_rows, encoded_columns)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import JobConfig, resolve_path
from ..errors import TrainerError
from .encode import encode_records, template_for, template_source
from .encoded_cache import CachedData, cache_folder, cache_key, file_sha256, read_entry, tokenizer_fingerprint, write_entry
from .encoded_columns import EncodedRows, read_rows, write_rows
from .errors import DatasetError
from .job_data import read_job_records, require_format

UNCUT = 1 << 62  # encode_records' max_length when the cut is the job's, after the cache


def encoded_records(config: JobConfig, job_dir: Path, tokenizer: Any) -> tuple[Path, CachedData]:
    """The dataset file and every record of it encoded, in file order, uncut."""
    path = resolve_path(job_dir, config.dataset.path)
    root, key, about = cache_folder(), None, {}
    if root is not None:
        key, about = _key(config, path, tokenizer, {"trainOnInputs": config.training.train_on_inputs})
    if key is not None:
        started = time.perf_counter()
        cached = read_entry(root, key)
        if cached is not None:
            require_format(config.method, cached.format, path)
            print(
                f"[tunedeck] dataset: {len(cached.examples):,} encoded records read from the cache "
                f"(cache/encoded/{key}) in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            return path, cached
    path, loaded = read_job_records(config, job_dir)
    started = time.perf_counter()
    try:
        encoded = encode_records(tokenizer, loaded.records, UNCUT, train_on_inputs=config.training.train_on_inputs)
    except DatasetError as error:
        raise TrainerError(f"dataset.path: {error}", "dataset.path") from error
    data = CachedData(encoded.examples, loaded.format, int(loaded.skipped))
    stored = write_entry(root, key, data, about) if key is not None else None
    where = f"; cached in cache/encoded/{key}" if stored else ""
    print(f"[tunedeck] dataset: {len(data.examples):,} records encoded in {time.perf_counter() - started:.1f} s{where}", flush=True)
    return path, data


def encoded_rows(
    config: JobConfig,
    job_dir: Path,
    tokenizer: Any,
    settings: dict[str, Any],
    encode: Callable[[Path, list[Any]], list[tuple[dict[str, list[int]], bool, int]]],
) -> tuple[Path, EncodedRows]:
    """The dataset file and every record of it as ``encode(path, records)`` makes them (in file order),
    read from the cache when an entry for the same data, tokenizer and ``settings`` (what else the
    encoding depends on: the method's encoder, the cut) is there."""
    path = resolve_path(job_dir, config.dataset.path)
    root, key, about = cache_folder(), None, {}
    if root is not None:
        key, about = _key(config, path, tokenizer, {"layout": "columns", **settings})
    if key is not None:
        started = time.perf_counter()
        cached = read_rows(root, key)
        if cached is not None:
            require_format(config.method, cached.format, path)
            print(
                f"[tunedeck] dataset: {len(cached.rows):,} encoded records read from the cache "
                f"(cache/encoded/{key}) in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            return path, cached
    path, loaded = read_job_records(config, job_dir)
    started = time.perf_counter()
    data = EncodedRows(encode(path, list(loaded.records)), loaded.format, int(loaded.skipped))
    stored = write_rows(root, key, data, about) if key is not None and root is not None else None
    where = f"; cached in cache/encoded/{key}" if stored else ""
    print(f"[tunedeck] dataset: {len(data.rows):,} records encoded in {time.perf_counter() - started:.1f} s{where}", flush=True)
    return path, data


def _key(config: JobConfig, path: Path, tokenizer: Any, settings: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The cache key of this job's encoding and what its entry's meta.json says (None: not cacheable).
    ``settings``: what else the encoding depends on (SFT: trainOnInputs)."""
    fingerprint = tokenizer_fingerprint(tokenizer)
    dataset = config.dataset
    # A file is hashed here (the host's hash might be of another copy); a folder keeps the library's.
    digest = file_sha256(path) if path.is_file() else dataset.sha256
    if fingerprint is None or digest is None or not path.exists():
        return None, {}
    parts = {
        "dataset": digest,
        "tokenizer": fingerprint,
        "template": template_source(tokenizer, template_for(tokenizer)),
        "format": dataset.format,
        "columns": dict(dataset.columns),
        "badRows": dataset.bad_rows,
        **settings,
    }
    # Where documents end and whether a CSV's first row is data change the records too; left out at
    # "auto" so that the entries written before these settings existed are still found.
    if dataset.text_split != "auto":
        parts["textSplit"] = dataset.text_split
    if dataset.csv_header != "auto":
        parts["csvHeader"] = dataset.csv_header
    about = {
        "datasetSha256": dataset.sha256 or digest,
        "datasetId": dataset.dataset_id,
        "datasetPath": str(path),
        "model": config.model.path,
    }
    return cache_key(parts), about
