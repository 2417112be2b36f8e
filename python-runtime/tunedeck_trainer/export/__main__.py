"""Command line of the export, run by the host with the trainer's interpreter.

    python -m tunedeck_trainer.export inspect --adapter DIR --base DIR [--job-dir DIR]
        prints the compatibility report as one JSON line
    python -m tunedeck_trainer.export prepare --adapter DIR --base DIR [--job-dir DIR] --out STAGING
            --base-name NAME [--merged] [--dtype bfloat16|float16|float32] [--gguf-type f16|q8_0|q4_0|q4_K_M]
        fills STAGING (see prepare.py); prints "TUNEDECK_EXPORT {json}" progress lines and a
        last line "TUNEDECK_EXPORT_RESULT {json}"

    python -m tunedeck_trainer.export push --folder DIR --repo owner/name [--public] [--message TEXT]
        uploads DIR to the Hub (see hub_push.py); progress lines name each file sent

A problem the user can fix prints "TUNEDECK_EXPORT_ERROR {json}" and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import TrainerError


def _print(tag: str, payload: object) -> None:
    print(f"{tag} {json.dumps(payload)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Runs one export command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tunedeck_trainer.export")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("inspect", "prepare"):
        command = commands.add_parser(name)
        command.add_argument("--adapter", required=True, type=Path)
        command.add_argument("--base", required=True, help="the job's model.path: a folder, or a hub id in the local cache")
        command.add_argument("--job-dir", type=Path, default=Path.cwd(), help="what a relative --base is relative to")
    prepare_command = commands.choices["prepare"]
    prepare_command.add_argument("--out", required=True, type=Path)
    prepare_command.add_argument("--base-name", required=True)
    prepare_command.add_argument("--merged", action="store_true")
    prepare_command.add_argument("--dtype", choices=("bfloat16", "float16", "float32"))
    prepare_command.add_argument(
        "--gguf-type", choices=("f16", "q8_0", "q4_0", "q4_K_M"), help="also write the merged model as one GGUF (model.gguf) of this type"
    )
    push_command = commands.add_parser("push")
    push_command.add_argument("--folder", required=True, type=Path)
    push_command.add_argument("--repo", required=True)
    push_command.add_argument("--public", action="store_true")
    push_command.add_argument("--message", default="Upload from Tunedeck")
    args = parser.parse_args(argv)
    try:
        if args.command == "push":
            from .hub_push import push

            result = push(
                args.folder, args.repo, private=not args.public, message=args.message, report=lambda event: _print("TUNEDECK_EXPORT", event)
            )
            _print("TUNEDECK_EXPORT_RESULT", result)
            return 0
        from ..config import resolve_model_path

        args.base = resolve_model_path(args.job_dir, args.base)
        if args.command == "inspect":
            from .compatibility import report
            from .gguf_offer import offers, tokenizer_folder
            from .prepare import check_sources

            adapter, base = check_sources(args.adapter, args.base)
            result = {**report(adapter, base), "mergedGguf": offers(base, tokenizer_folder(args.adapter, args.base))}
            _print("TUNEDECK_EXPORT_RESULT", result)
            return 0
        from .prepare import prepare

        result = prepare(
            args.adapter,
            args.base,
            args.out,
            base_name=args.base_name,
            merged=args.merged,
            dtype=args.dtype,
            gguf_type=args.gguf_type,
            progress=lambda phase: _print("TUNEDECK_EXPORT", {"phase": phase}),
        )
        _print("TUNEDECK_EXPORT_RESULT", result)
        return 0
    except TrainerError as error:
        _print("TUNEDECK_EXPORT_ERROR", {"message": str(error), "field": error.field})
        return 2


if __name__ == "__main__":
    sys.exit(main())
