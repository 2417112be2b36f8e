"""The model and data bench/app_overhead.ts trains, written into --out; prints them as JSON.

    python bench/app_overhead_setup.py --out DIR [--quick]

Full: the qwen2-cpu shape of bench_setup (Qwen2 cut to 4 layers 256 wide, random weights, an
8,000-id BPE trained on the Alpaca demo set) and the first --rows Alpaca rows (600): one epoch of
512-token packed rows takes about two minutes of one core of the 2-core CI machine (160 rows: 22 s).
--quick: the smoke shape over 16 rows, a few seconds a run (npm test's bench smoke).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_setup import ROOT, build_model, build_tokenizer, split_dataset  # noqa: E402

DATASET = ROOT.parent / "shared" / "datasets" / "alpaca_en_demo.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--dataset", type=Path, default=DATASET)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    rows = 16 if args.quick else args.rows
    tokenizer = build_tokenizer(args.dataset, 512 if args.quick else 8000)
    train, _ = split_dataset(args.dataset, args.out / "data", held_out=1, limit=rows)
    model = build_model("smoke" if args.quick else "qwen2-cpu", tokenizer, args.out / "model", torch.float32)
    print(json.dumps({"model": str(model), "dataset": str(train), "rows": rows, "maxSeqLength": 128 if args.quick else 512}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
