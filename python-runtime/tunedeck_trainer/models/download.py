"""Downloads the files a fine-tune needs from the Hugging Face Hub into the hub cache, with progress.

Runs in its own process (``python -m tunedeck_trainer.models download``): the host stops it with
SIGTERM to cancel, and the half-written ``.incomplete`` blob stays in the cache, so the next
download of the same model continues where it stopped (huggingface_hub sends a Range request).

Only the weights in safetensors (or, for a model without any, the PyTorch .bin), config,
tokenizer and generation config at the top of the repository are fetched: no duplicate .bin
weights, no GGUF files, nothing under original/ or other folders.

The token comes from HF_TOKEN in the environment (the host sets it from its encrypted store).
``TUNEDECK_DISK_FREE_BYTES`` (tests only) replaces the free space the disk check measures.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalog import cached_snapshot, hub_cache_dir

# Files at the top of the repository that a fine-tune reads besides the weights.
SUPPORT_PATTERNS = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "chat_template.jinja",
    "chat_template.json",
    "*.tiktoken",
    "preprocessor_config.json",
    "LICENSE*",
    "README.md",
)
SAFETENSORS_PATTERNS = ("*.safetensors", "model.safetensors.index.json")
BIN_PATTERNS = ("pytorch_model*.bin", "pytorch_model.bin.index.json")
# Room left on the disk after the download, for the job's checkpoints and the cache's own files.
DISK_MARGIN_BYTES = 256 * 1024 * 1024
PROGRESS_SECONDS = 0.25
# huggingface_hub writes a response in pieces of this size (10 MB by default): smaller pieces make
# the bar move smoothly and mean a cut-off download loses at most this much when it resumes.
WRITE_CHUNK_BYTES = 64 * 1024


class DownloadError(Exception):
    """A download failure the user can act on: ``code`` for the host, ``url`` a page to open."""

    def __init__(self, code: str, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.url = url


@dataclass(frozen=True)
class RepoFile:
    """One file of the repository at the resolved commit."""

    name: str
    size: int


def select_files(files: list[RepoFile]) -> list[RepoFile]:
    """The files a fine-tune needs: safetensors weights (else .bin), config and tokenizer, top level only."""
    top = [file for file in files if "/" not in file.name]

    def matching(patterns: tuple[str, ...]) -> list[RepoFile]:
        return [file for file in top if any(fnmatch.fnmatch(file.name, pattern) for pattern in patterns)]

    weights = matching(SAFETENSORS_PATTERNS) or matching(BIN_PATTERNS)
    return sorted(matching(SUPPORT_PATTERNS) + weights, key=lambda file: file.name)


def hub_page(hub_id: str) -> str:
    """The model's page on the Hub the client talks to (HF_ENDPOINT, else huggingface.co)."""
    from huggingface_hub import constants

    return f"{constants.ENDPOINT.rstrip('/')}/{hub_id}"


def explain(error: BaseException, hub_id: str, token: str | None) -> DownloadError:
    """The huggingface_hub or OS error as a message naming the hub id and what to do."""
    from huggingface_hub import errors

    page = hub_page(hub_id)
    if isinstance(error, DownloadError):
        return error
    if isinstance(error, errors.GatedRepoError):
        if token:
            return DownloadError(
                "gated",
                f"{hub_id} is gated and your Hugging Face token has no access yet: open {page}, "
                "accept the licence with the account the token belongs to, then download again",
                page,
            )
        return DownloadError(
            "gated",
            f"{hub_id} is gated: open {page}, sign in and accept its licence, then add your "
            "Hugging Face token (Models page, Hugging Face token) and download again",
            page,
        )
    if isinstance(error, errors.RevisionNotFoundError):
        return DownloadError("revision", f"{hub_id} has no revision by that name; leave the revision empty for main")
    if isinstance(error, errors.RepositoryNotFoundError):
        hint = "check the token's access" if token else "if it is private, add your Hugging Face token"
        return DownloadError(
            "not_found",
            f"hub id {hub_id}: no such model on {hub_page('').rstrip('/')}; check the "
            f"spelling (owner/name, as in the address of its page); {hint}",
        )
    if isinstance(error, errors.HfHubHTTPError) and error.response is not None and error.response.status_code in (401, 403):
        return DownloadError(
            "unauthorized",
            f"the Hub refused the Hugging Face token for {hub_id} "
            f"(HTTP {error.response.status_code}); replace the token, or open {page} to request access",
            page,
        )
    if isinstance(error, OSError) and error.errno == 28:
        return DownloadError(
            "disk_full", f"the disk holding {hub_cache_dir()} is full; free space and download again (what was fetched is kept)"
        )
    if type(error).__name__ in ("ChunkedEncodingError", "ProtocolError", "IncompleteRead"):
        return DownloadError(
            "interrupted",
            f"the connection to {hub_page('').rstrip('/')} broke while downloading "
            f"{hub_id}; download again to continue from where it stopped",
        )
    if isinstance(error, (errors.OfflineModeIsEnabled, errors.LocalEntryNotFoundError)) or type(error).__name__ in (
        "ConnectionError",
        "Timeout",
        "ReadTimeout",
    ):
        return DownloadError(
            "offline", f"cannot reach {hub_page('').rstrip('/')} to download {hub_id}: check the network connection ({error})"
        )
    return DownloadError("failed", f"downloading {hub_id} failed: {error}")


def free_bytes(folder: Path) -> int:
    """Free bytes on the disk holding ``folder`` (created), or TUNEDECK_DISK_FREE_BYTES in tests."""
    override = os.environ.get("TUNEDECK_DISK_FREE_BYTES", "").strip()
    if override.isdigit():
        return int(override)
    folder.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(folder).free


def blob_bytes(repo_folder: Path) -> tuple[int, int]:
    """Bytes of the repository's blobs in the cache: (complete and partial, partial only)."""
    total = partial = 0
    for blob in (repo_folder / "blobs").glob("*"):
        try:
            size = blob.stat().st_size
        except OSError:
            continue
        total += size
        if blob.name.endswith(".incomplete"):
            partial += size
    return total, partial


def download(hub_id: str, *, revision: str = "main", emit: Callable[[dict[str, Any]], None], stop: threading.Event | None = None) -> Path:
    """Downloads ``hub_id`` into the hub cache, emitting progress events; returns the snapshot folder."""
    from huggingface_hub import HfApi, constants, hf_hub_download, try_to_load_from_cache

    constants.DOWNLOAD_CHUNK_SIZE = WRITE_CHUNK_BYTES
    token = os.environ.get("HF_TOKEN") or None
    cache = hub_cache_dir()
    try:
        info = HfApi(token=token).model_info(hub_id, revision=revision, files_metadata=True)
    except Exception as error:  # noqa: BLE001 - explain() sorts them out
        raise explain(error, hub_id, token) from error
    files = select_files([RepoFile(sibling.rfilename, int(sibling.size or 0)) for sibling in info.siblings or []])
    if not any(file.name == "config.json" for file in files):
        raise DownloadError(
            "not_a_model", f"hub id {hub_id} has no config.json at its top level: it is not a transformers model Tunedeck can fine-tune"
        )
    total = sum(file.size for file in files)
    repo_folder = cache / f"models--{hub_id.replace('/', '--')}"
    complete = sum(
        file.size for file in files if isinstance(try_to_load_from_cache(hub_id, file.name, cache_dir=cache, revision=info.sha), str)
    )
    start_blobs, partial = blob_bytes(repo_folder)
    done_before = complete + partial
    needed = max(total - done_before, 0)
    free = free_bytes(cache)
    if needed + DISK_MARGIN_BYTES > free:
        raise DownloadError(
            "disk_full",
            f"{hub_id} needs {needed / 1e9:.2f} GB more on the disk holding {cache}, "
            f"and {free / 1e9:.2f} GB is free (Tunedeck keeps {DISK_MARGIN_BYTES // 2**20} MB spare); "
            "free space or set HF_HUB_CACHE to a larger disk",
        )
    emit(
        {
            "type": "start",
            "hubId": hub_id,
            "revision": info.sha,
            "files": [file.name for file in files],
            "totalBytes": total,
            "doneBytes": done_before,
        }
    )

    def fetch() -> None:
        for file in files:
            if stop is not None and stop.is_set():
                return
            hf_hub_download(hub_id, file.name, revision=revision, cache_dir=cache, token=token)

    failure = fetch_with_progress(fetch, repo_folder, start_blobs, done_before, total, emit)
    if failure:
        raise explain(failure[0], hub_id, token) from failure[0]
    snapshot = cached_snapshot(repo_folder, revision) if not _is_commit(revision) else repo_folder / "snapshots" / revision
    if snapshot is None or not (snapshot / "config.json").is_file():
        raise DownloadError("failed", f"downloading {hub_id} finished but {repo_folder} has no snapshot with config.json")
    emit(
        {
            "type": "done",
            "hubId": hub_id,
            "revision": info.sha,
            "path": str(snapshot),
            "totalBytes": total,
            "fetchedBytes": blob_bytes(repo_folder)[0] - start_blobs,
        }
    )
    return snapshot


def fetch_with_progress(
    fetch: Callable[[], None], repo_folder: Path, start_blobs: int, done_before: int, total: int, emit: Callable[[dict[str, Any]], None]
) -> list[BaseException]:
    """Runs ``fetch`` in a thread and emits progress from the growth of the repository's blobs.

    Returns the error ``fetch`` raised, if any, in a list (empty when it finished).
    """
    failure: list[BaseException] = []

    def run() -> None:
        try:
            fetch()
        except BaseException as error:  # noqa: BLE001 - reported by the caller
            failure.append(error)

    worker = threading.Thread(target=run, name="hub-download", daemon=True)
    started = time.monotonic()
    worker.start()
    while worker.is_alive():
        worker.join(PROGRESS_SECONDS)
        fetched = blob_bytes(repo_folder)[0] - start_blobs
        emit(progress_event(min(done_before + fetched, total), total, fetched, time.monotonic() - started))
    return failure


def progress_event(done: int, total: int, fetched: int, elapsed: float) -> dict[str, Any]:
    """A progress line: bytes done of total, the speed of this run, the time left at that speed."""
    speed = fetched / max(elapsed, 1e-6)
    return {
        "type": "progress",
        "doneBytes": done,
        "totalBytes": total,
        "bytesPerSecond": round(speed),
        "secondsLeft": round((total - done) / speed, 1) if speed > 0 else None,
    }


def _is_commit(revision: str) -> bool:
    return len(revision) == 40 and all(char in "0123456789abcdef" for char in revision)
