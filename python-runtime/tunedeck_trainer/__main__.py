"""Command line of the Tunedeck trainer.

    python -m tunedeck_trainer train --job-dir DIR          train the job in DIR (config.json)
    python -m tunedeck_trainer make-tiny-model --out DIR    build the tiny self-test model

With PYTHONPATH=python-runtime (or an editable install of python-runtime/).
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and runs the chosen command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tunedeck_trainer", description="The Tunedeck trainer.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train the job in a job folder")
    train.add_argument("--job-dir", required=True, help="folder with config.json; events.jsonl is written there")
    tiny = commands.add_parser("make-tiny-model", help="build the tiny random Llama model used by the self-test")
    tiny.add_argument("--out", required=True, help="folder to create")
    tiny.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "train":
        from pathlib import Path

        from .launch import launch_if_needed
        from .runner import run_job

        # training.gpus may ask for several ranks: then this process launches them through torchrun.
        launched = launch_if_needed(Path(args.job_dir).resolve())
        code = launched if launched is not None else run_job(args.job_dir)
        # Everything is on disk (events fsynced, files closed): skip the interpreter's slow
        # teardown of torch so the host sees the exit as soon as the final event.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    from .tiny_model import build_tiny_model

    print(build_tiny_model(args.out, seed=args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
