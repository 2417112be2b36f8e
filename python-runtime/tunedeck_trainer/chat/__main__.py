"""Command line of the chat process (started by the host, or by `tunedeck chat` through the host).

python -m tunedeck_trainer.chat serve [--heartbeat-seconds 5]
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and serves until stdin closes; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tunedeck_trainer.chat")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="answer JSON-lines requests on stdin with JSON lines on stdout")
    serve.add_argument("--heartbeat-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    from .serve import serve as run

    code = run(sys.stdin, sys.stdout, heartbeat_seconds=args.heartbeat_seconds)
    sys.stdout.flush()
    # Skip torch's slow interpreter teardown: the host waits for the exit to free the GPU.
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
