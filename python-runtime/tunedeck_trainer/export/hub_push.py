"""Uploads a prepared folder to the user's Hugging Face repository with huggingface_hub.

    python -m tunedeck_trainer.export push --folder DIR --repo owner/name [--public] [--message TEXT]

The token comes from HF_TOKEN (the host sets it from the Models page's store); HF_ENDPOINT points
the client at another Hub (the tests' local server). The repository is created private unless
--public. Every file is sent first (LFS files to the Hub's storage, one at a time, each reported as
it lands), then one commit adds them all: a push that stops halfway leaves the repository as it was,
and the host can say which files had been sent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import TrainerError

Report = Callable[[dict[str, Any]], None]


def folder_files(folder: Path) -> list[Path]:
    """The files to upload, small ones first so the card and configs are sent before the weights."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    if not files:
        raise TrainerError(f"{folder}: nothing to upload", "folder")
    return sorted(files, key=lambda path: (path.stat().st_size, path.as_posix()))


def explain(error: BaseException, repo: str) -> TrainerError:
    """huggingface_hub's error as a message naming the repository and what to do."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    if isinstance(error, RepositoryNotFoundError):
        return TrainerError(f"repository {repo}: not found, or the token cannot write to it; check the name (owner/name)", "repo")
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        status = error.response.status_code
        if status == 401:
            return TrainerError("the Hugging Face token was refused; set a token with write access on the Models page", "token")
        if status == 403:
            return TrainerError(
                f"repository {repo}: the token may not write there; use a token with write access, or a repository under your own name",
                "repo",
            )
        detail = error.response.headers.get("X-Error-Message") or str(error).splitlines()[0]
        return TrainerError(f"the Hub refused the upload to {repo} (HTTP {status}: {detail})", "repo")
    if isinstance(error, (ConnectionError, OSError)) or type(error).__name__ in ("ConnectionError", "Timeout"):
        return TrainerError(f"could not reach the Hub to upload to {repo} ({error}); check the connection and try again", "repo")
    return TrainerError(f"the upload to {repo} failed: {type(error).__name__}: {error}", "repo")


def push(
    folder: Path, repo: str, *, private: bool = True, message: str = "Upload from Tunedeck", report: Report = lambda event: None
) -> dict[str, Any]:
    """Creates ``repo`` when missing and commits every file of ``folder`` to it; returns where it went."""
    from huggingface_hub import CommitOperationAdd, HfApi

    token = os.environ.get("HF_TOKEN") or None
    if token is None:
        raise TrainerError("no Hugging Face token: add one with write access on the Models page first", "token")
    files = folder_files(folder)
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo, private=private, exist_ok=True, repo_type="model")
        report({"phase": "repository", "url": str(url)})
        operations = []
        for path in files:
            name = path.relative_to(folder).as_posix()
            operation = CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path))
            # Sends an LFS file's bytes now; a regular file travels inside the commit.
            api.preupload_lfs_files(repo, additions=[operation], repo_type="model")
            operations.append(operation)
            report({"phase": "sent", "file": name, "bytes": path.stat().st_size, "lfs": operation._upload_mode == "lfs"})
        commit = api.create_commit(repo, operations=operations, commit_message=message, repo_type="model")
    except TrainerError:
        raise
    except Exception as error:  # noqa: BLE001 - every client error becomes a message
        raise explain(error, repo) from error
    return {
        "repo": repo,
        "url": str(url),
        "commitUrl": commit.commit_url,
        "private": private,
        "files": [path.relative_to(folder).as_posix() for path in files],
    }
