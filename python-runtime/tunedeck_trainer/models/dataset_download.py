"""Downloads a dataset for training: a Hub dataset (config and split) or a file on the web.

    download-dataset --hub owner/name [--config default] [--split train] --out-dir DIR
    download-dataset --url https://example.org/data.jsonl --out-dir DIR

A Hub dataset is read from the Parquet conversion the Hub keeps of every public dataset
(revision refs/convert/parquet, files {config}/{split}/NNNN.parquet), fetched through the hub
cache, so it resumes like a model; its shards are joined into one Parquet file in DIR. A URL
must be https (http only to this machine) and end in .json, .jsonl, .csv or .parquet (with
--public-only every connection goes only to an internet address: public_connections.py); it is
written to DIR/<name>.part, continued with a Range request after a cancel, and renamed when whole.
Progress lines are those of a model download.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from .catalog import hub_cache_dir
from .download import (
    DISK_MARGIN_BYTES,
    PROGRESS_SECONDS,
    WRITE_CHUNK_BYTES,
    DownloadError,
    blob_bytes,
    explain,
    fetch_with_progress,
    free_bytes,
    progress_event,
)

PARQUET_REVISION = "refs/convert/parquet"
SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _check_space(needed: int, folder: Path, what: str) -> None:
    free = free_bytes(folder)
    if needed + DISK_MARGIN_BYTES > free:
        raise DownloadError(
            "disk_full",
            f"{what} needs {needed / 1e9:.2f} GB more on the disk holding {folder}, and "
            f"{free / 1e9:.2f} GB is free (Tunedeck keeps {DISK_MARGIN_BYTES // 2**20} MB spare); free space first",
        )


def split_files(names: list[str], config: str, split: str) -> list[str]:
    """The Parquet shards of one config and split, in order (both layouts the Hub has used)."""
    current = sorted(name for name in names if name.startswith(f"{config}/{split}/") and name.endswith(".parquet"))
    if current:
        return current
    older = re.compile(rf"^{re.escape(config)}/[^/]*-{re.escape(split)}(-\d+-of-\d+)?\.parquet$")
    return sorted(name for name in names if older.match(name))


def hub_dataset(hub_id: str, config: str, split: str, out_dir: Path, emit: Callable[[dict[str, Any]], None]) -> Path:
    """Downloads one split of a Hub dataset as a single Parquet file in ``out_dir``."""
    from huggingface_hub import HfApi, constants, errors, hf_hub_download

    constants.DOWNLOAD_CHUNK_SIZE = WRITE_CHUNK_BYTES
    token = os.environ.get("HF_TOKEN") or None
    cache = hub_cache_dir()
    try:
        info = HfApi(token=token).dataset_info(hub_id, revision=PARQUET_REVISION, files_metadata=True)
    except errors.RevisionNotFoundError as error:
        raise DownloadError(
            "no_parquet",
            f"hub dataset {hub_id} has no Parquet conversion on the Hub; download one of "
            "its files by URL instead (its .jsonl, .csv or .parquet link)",
        ) from error
    except Exception as error:  # noqa: BLE001 - explain() sorts them out
        failure = explain(error, hub_id, token)
        raise DownloadError(failure.code, failure.args[0].replace("no such model", "no such dataset"), failure.url) from error
    sizes = {sibling.rfilename: int(sibling.size or 0) for sibling in info.siblings or []}
    names = split_files(list(sizes), config, split)
    if not names:
        available = sorted({"/".join(name.split("/")[:2]) for name in sizes if name.endswith(".parquet") and "/" in name})
        raise DownloadError(
            "no_split",
            f"hub dataset {hub_id} has no split {split!r} in config {config!r}; it has "
            f"{', '.join(available) or 'no Parquet files'} (config/split)",
        )
    total = sum(sizes[name] for name in names)
    repo_folder = cache / f"datasets--{hub_id.replace('/', '--')}"
    start_blobs, partial = blob_bytes(repo_folder)
    _check_space(total * 2 - partial, out_dir, f"{hub_id} {config}/{split}")
    emit({"type": "start", "hubId": hub_id, "files": names, "totalBytes": total, "doneBytes": partial})
    paths: list[str] = []

    def fetch() -> None:
        for name in names:
            paths.append(hf_hub_download(hub_id, name, repo_type="dataset", revision=PARQUET_REVISION, cache_dir=cache, token=token))

    failure = fetch_with_progress(fetch, repo_folder, start_blobs, partial, total, emit)
    if failure:
        raise explain(failure[0], hub_id, token) from failure[0]
    target = out_dir / f"{hub_id.replace('/', '--')}--{config}--{split}.parquet"
    _join_parquet([Path(path) for path in paths], target)
    emit(
        {
            "type": "done",
            "hubId": hub_id,
            "path": str(target),
            "totalBytes": total,
            "fetchedBytes": blob_bytes(repo_folder)[0] - start_blobs,
        }
    )
    return target


def _join_parquet(shards: list[Path], target: Path) -> None:
    """One Parquet file from the shards (copied when there is one), written whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    if len(shards) == 1:
        shutil.copyfile(shards[0], temporary)
    else:
        import pyarrow.parquet as parquet

        writer = None
        for shard in shards:
            table = parquet.read_table(shard)
            writer = writer or parquet.ParquetWriter(temporary, table.schema)
            writer.write_table(table)
        assert writer is not None
        writer.close()
    os.replace(temporary, target)


def url_name(url: str) -> str:
    """The file name a URL is saved under; refuses what Tunedeck cannot read or fetch safely."""
    parsed = urlparse(url)
    if parsed.scheme != "https" and not (parsed.scheme == "http" and parsed.hostname in LOCAL_HOSTS):
        raise DownloadError("bad_url", f"URL {url}: use an https:// address (http is allowed only to this machine)")
    name = unquote(Path(parsed.path).name)
    if not name.lower().endswith(SUFFIXES):
        raise DownloadError(
            "bad_url",
            f"URL {url}: the file name {name or '(none)'} does not end in .json, .jsonl, .csv or .parquet; link the data file itself",
        )
    return name


def web_file(url: str, out_dir: Path, emit: Callable[[dict[str, Any]], None], opener: urllib.request.OpenerDirector | None = None) -> Path:
    """Downloads ``url`` into ``out_dir``, continuing a ``.part`` left by a cancelled download;
    ``opener`` is public_connections.public_opener(url) where only internet addresses may be reached."""
    name = url_name(url)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / name
    part = out_dir / f"{name}.part"
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = (opener or urllib.request.build_opener()).open(request, timeout=30)  # noqa: S310 - the scheme is checked above
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # the .part is already whole
            os.replace(part, target)
            emit({"type": "done", "path": str(target), "totalBytes": have, "fetchedBytes": 0})
            return target
        raise DownloadError("http", f"URL {url}: the server answered HTTP {error.code} {error.reason}; check the address") from error
    except (urllib.error.URLError, OSError) as error:
        raise DownloadError(
            "offline", f"URL {url}: cannot connect ({getattr(error, 'reason', error)}); check the address and the network"
        ) from error
    with response:
        if response.status != 206:
            have = 0  # the server ignored the Range: start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else 0
        _check_space(max(total - have, 0), out_dir, f"URL {url}")
        emit({"type": "start", "url": url, "totalBytes": total, "doneBytes": have})
        started = last = time.monotonic()
        fetched = 0
        with open(part, "ab" if have else "wb", buffering=0) as handle:
            while chunk := response.read(WRITE_CHUNK_BYTES):
                handle.write(chunk)
                fetched += len(chunk)
                if time.monotonic() - last >= PROGRESS_SECONDS:
                    last = time.monotonic()
                    emit(progress_event(have + fetched, max(total, have + fetched), fetched, last - started))
    if total and have + fetched < total:
        raise DownloadError("failed", f"URL {url}: the connection closed at {have + fetched} of {total} bytes; download again to continue")
    os.replace(part, target)
    emit({"type": "done", "path": str(target), "totalBytes": have + fetched, "fetchedBytes": fetched})
    return target
