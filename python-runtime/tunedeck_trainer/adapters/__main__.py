"""Command line of the adapter library, run by the host with the trainer's interpreter.

    python -m tunedeck_trainer.adapters combine --mode average|exact --out DIR \
        --source DIR --weight N [--source DIR --weight N ...]
        writes the combined adapter into DIR; prints "TUNEDECK_EXPORT_RESULT {json}"

A problem the user can fix prints "TUNEDECK_EXPORT_ERROR {json}" and exits 2 (the export's protocol,
so the host reads both with one runner).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import TrainerError


def main(argv: list[str] | None = None) -> int:
    """Runs one command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tunedeck_trainer.adapters")
    commands = parser.add_subparsers(dest="command", required=True)
    combine_command = commands.add_parser("combine")
    combine_command.add_argument("--mode", required=True, choices=("average", "exact"))
    combine_command.add_argument("--out", required=True, type=Path)
    combine_command.add_argument("--source", action="append", required=True, type=Path)
    combine_command.add_argument("--weight", action="append", required=True, type=float)
    args = parser.parse_args(argv)
    from .combine import combine

    try:
        result = combine(args.source, args.weight, args.mode, args.out)
    except TrainerError as error:
        print(f"TUNEDECK_EXPORT_ERROR {json.dumps({'message': str(error), 'field': error.field})}", flush=True)
        return 2
    print(f"TUNEDECK_EXPORT_RESULT {json.dumps(result)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
