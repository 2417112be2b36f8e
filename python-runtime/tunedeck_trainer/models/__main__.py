"""Command line of the model library; every line on stdout is one JSON object.

    list [--folder DIR ...]              {"type":"model", ...} per model, then {"type":"end"}
    fit [--settings JSON] [--folder DIR ...]   {"type":"fit","path","fit","packing"} per listed model
    inspect PATH [--estimate]            {"type":"model", ..., "packing": bool|null, "fit": {...}}
    download HUB_ID [--revision REV]     {"type":"start"|"progress"|"done"} lines, or {"type":"error"}
    download-dataset (--hub ID [--config C] [--split S] | --url URL) --out-dir DIR    the same lines

Exit codes: 0 done, 1 failed (the last line is {"type":"error","code","message","url"}), 4 cancelled
(SIGTERM or SIGINT: what was fetched stays in the cache for the next download).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

EXIT_CANCELLED = 4


def emit(event: dict[str, Any]) -> None:
    """Writes one JSON line and flushes, so the host sees it at once."""
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _cancel(_signal: int, _frame: Any) -> None:
    # The worker thread may be inside a socket read: leave at once; the .incomplete blob is kept.
    emit({"type": "cancelled"})
    os._exit(EXIT_CANCELLED)


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and runs the command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tunedeck_trainer.models")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="models in the Hugging Face cache and in the given folders")
    listing.add_argument("--folder", action="append", default=[], help="a model folder, or a folder of model folders")
    inspect = commands.add_parser("inspect", help="one model folder in detail")
    inspect.add_argument("path")
    inspect.add_argument("--estimate", action="store_true", help="LoRA and QLoRA memory against this GPU")
    inspect.add_argument("--free-mb", type=float, default=None, help="compare with this much free GPU memory instead")
    fitting = commands.add_parser("fit", help="LoRA and QLoRA fit of every listed model at the given settings")
    fitting.add_argument("--settings", default="{}", help="config.json-style training and lora keys (a preset's)")
    fitting.add_argument("--folder", action="append", default=[])
    fitting.add_argument("--free-mb", type=float, default=None)
    fetch = commands.add_parser("download", help="download a model from the Hub into the cache")
    fetch.add_argument("hub_id")
    fetch.add_argument("--revision", default="main")
    data = commands.add_parser("download-dataset", help="download a Hub dataset split or a data file on the web")
    source = data.add_mutually_exclusive_group(required=True)
    source.add_argument("--hub", help="owner/name of a dataset on the Hub")
    source.add_argument("--url", help="https address of a .json, .jsonl, .csv or .parquet file")
    data.add_argument("--config", default="default")
    data.add_argument("--split", default="train")
    data.add_argument("--out-dir", required=True)
    data.add_argument(
        "--public-only", action="store_true", help="refuse to connect to a loopback or private address (the URL's or a redirect's)"
    )
    args = parser.parse_args(argv)

    from .catalog import cached_models, describe, folder_models

    if args.command == "list":
        seen: set[str] = set()
        for model in cached_models() + [model for folder in args.folder for model in folder_models(Path(folder))]:
            if model["path"] not in seen:
                seen.add(model["path"])
                emit({"type": "model", **model})
        emit({"type": "end"})
        return 0
    if args.command == "fit":
        return _fit(
            cached_models() + [model for folder in args.folder for model in folder_models(Path(folder))],
            json.loads(args.settings),
            args.free_mb,
        )
    if args.command == "inspect":
        return _inspect(Path(args.path), args.estimate, args.free_mb, describe)
    signal.signal(signal.SIGTERM, _cancel)
    signal.signal(signal.SIGINT, _cancel)
    from .download import DownloadError, download

    try:
        if args.command == "download":
            download(args.hub_id, revision=args.revision, emit=emit)
        else:
            from .dataset_download import hub_dataset, web_file
            from .public_connections import public_opener

            if args.hub:
                hub_dataset(args.hub, args.config, args.split, Path(args.out_dir), emit)
            else:
                web_file(args.url, Path(args.out_dir), emit, public_opener(args.url) if args.public_only else None)
    except DownloadError as error:
        emit({"type": "error", "code": error.code, "message": str(error), "url": error.url})
        return 1
    return 0


def _fit(models: list[dict[str, Any]], settings: dict[str, Any], free_mb: float | None) -> int:
    from ..memory_estimate import free_cuda_mb
    from .catalog import packing_supported
    from .fit import model_fit

    if free_mb is None:
        free_mb = free_cuda_mb()
    for model in models:
        try:
            fit = model_fit(Path(model["path"]), free_mb, cuda=free_mb is not None, settings=settings)
        except Exception as error:  # noqa: BLE001 - an architecture transformers cannot build
            emit({"type": "fit", "path": model["path"], "fit": None, "packing": None, "problem": str(error)})
            continue
        emit({"type": "fit", "path": model["path"], "fit": fit, "packing": packing_supported(Path(model["path"]))})
    emit({"type": "end"})
    return 0


def _inspect(path: Path, estimate: bool, free_mb: float | None, describe: Any) -> int:
    from ..config import resolve_model_path
    from .catalog import packing_supported

    folder = resolve_model_path(Path.cwd(), str(path))
    if not (folder / "config.json").is_file():
        emit(
            {
                "type": "error",
                "code": "not_a_model",
                "url": None,
                "message": f"{path}: no config.json there; choose a Hugging Face model folder or a downloaded hub id",
            }
        )
        return 1
    model = describe(folder, source="folder")
    model["packing"] = packing_supported(folder)
    if estimate:
        from .fit import model_fit

        try:
            model["fit"] = model_fit(folder, free_mb, cuda=None if free_mb is None else True)
        except Exception as error:  # noqa: BLE001 - an architecture transformers cannot build
            model["fit"] = None
            model["problems"].append(f"no memory estimate: {error}")
    emit({"type": "model", **model})
    return 0


if __name__ == "__main__":
    sys.exit(main())
