"""Command line for the dataset layer; the host runs it for the UI's dataset preview.

    python -m tunedeck_trainer.data preview --path P [--format F] [--columns JSON] [--limit N] [--text-split S] [--csv-header H]
        [--tokens N [--model DIR] [--max-seq-length N] [--train-on-inputs]] [--progress]
        [--mix JSON [--weight W] [--seed N]]

With --mix (a list of {"path", "format", "columns", "textSplit", "weight"}), the records and tokens are
those of the mix of the file and those datasets, drawn with --seed as a job draws them (mix_preview.py).

Prints the preview as one JSON object on stdout. Exit code 0 when the file was read (bad rows
are listed in "errors"), 1 when it could not be ("ok": false), 2 for wrong arguments.
"""

from __future__ import annotations

import argparse
import json
import sys

from .csv_header import CSV_HEADERS
from .formats import FORMATS
from .preview import preview
from .readers import TEXT_SPLITS


def main(argv: list[str] | None = None) -> int:
    """Parses arguments, prints the preview JSON, returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tunedeck_trainer.data")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("preview", help="print the detected format, counts, first records and errors")
    show.add_argument("--path", required=True)
    show.add_argument("--format", default="auto", choices=("auto", *FORMATS))
    show.add_argument("--columns", default="{}", help='JSON object, e.g. {"instruction": "question"}')
    show.add_argument("--limit", type=int, default=20)
    show.add_argument(
        "--text-split",
        default="auto",
        choices=TEXT_SPLITS,
        help="where a .txt file's documents end: auto (paragraphs if it has blank lines, else lines)",
    )
    show.add_argument(
        "--csv-header",
        default="auto",
        choices=CSV_HEADERS,
        help="whether a CSV file's first row names its columns: auto (guessed), yes or no (it is data)",
    )
    show.add_argument("--tokens", type=int, default=0, help="examples to show tokenised with their masks (0: none)")
    show.add_argument("--model", default=None, help="the base model folder whose tokenizer and chat template to use")
    show.add_argument("--max-seq-length", type=int, default=2048)
    show.add_argument("--train-on-inputs", action="store_true")
    show.add_argument(
        "--detect", action="store_true", help="only the format and columns, from a JSON Lines file's first rows (no counts or records)"
    )
    show.add_argument(
        "--progress", action="store_true", help='print {"done": bytes read, "total": bytes} lines on stderr while a JSON Lines file is read'
    )
    show.add_argument("--mix", default=None, help="JSON list of more datasets mixed with this one")
    show.add_argument("--weight", type=float, default=1.0, help="with --mix: this file's weight")
    show.add_argument("--seed", type=int, default=42, help="with --mix: the seed that draws the mix (training.seed)")
    arguments = parser.parse_args(argv)
    try:
        columns = json.loads(arguments.columns)
    except json.JSONDecodeError as error:
        parser.error(f"--columns is not valid JSON ({error})")
    if not isinstance(columns, dict):
        parser.error("--columns must be a JSON object")
    tokens = None
    if arguments.tokens > 0:
        tokens = {
            "model": arguments.model,
            "maxLength": arguments.max_seq_length,
            "trainOnInputs": arguments.train_on_inputs,
            "shown": arguments.tokens,
        }
    report = None
    if arguments.progress:

        def report(done: int, total: int) -> None:
            sys.stderr.write(json.dumps({"done": done, "total": total}) + "\n")
            sys.stderr.flush()

    if arguments.mix is not None:
        from .mix_preview import mix_preview

        try:
            mix = json.loads(arguments.mix)
        except json.JSONDecodeError as error:
            parser.error(f"--mix is not valid JSON ({error})")
        if not isinstance(mix, list) or not all(isinstance(part, dict) and "path" in part for part in mix):
            parser.error('--mix must be a JSON list of objects with a "path"')
        result = mix_preview(
            arguments.path,
            arguments.format,
            columns,
            arguments.text_split,
            arguments.weight,
            mix,
            arguments.seed,
            arguments.limit,
            tokens,
            arguments.csv_header,
        )
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return 0 if result["ok"] else 1
    result = preview(
        arguments.path,
        arguments.format,
        columns,
        arguments.limit,
        tokens,
        report,
        arguments.text_split,
        arguments.detect,
        arguments.csv_header,
    )
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
