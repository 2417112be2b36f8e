"""The data preparation's encoder against its floor, side by side in one run.

    python bench/data_encode.py                         # 20,000 two-exchange conversations
    python bench/data_encode.py --rows 500 --baseline-rows 100 --out result.json   # smoke size
    python bench/data_encode.py --model DIR             # that model's tokenizer and chat template

Conversations are two exchanges each, built from the Alpaca demo rows
(../shared/datasets/alpaca_en_demo.json): user, assistant, user, assistant. Measured, each over
the same records in memory, with the same tokenizer (the self-test one by default: the preview's
tokenizer without a model):

- floor: every conversation rendered once by the chat template (apply_chat_template) and the
  renders tokenised by the tokenizer's own batch call, without masks;
- encoder: encode_records, the job's data preparation (ids and masks, batched, one render each);
- preview: the preview's token statistics (masks.TokenStats) over the same records;
- per record: encode_record on each record (the way both worked before the Encoder), on the first
  --baseline-rows records only (it is slow) and scaled to all of them.

It checks that the encoder's masks equal encode_record's on the records both encoded, and prints
(and writes with --out, as JSON) each time, the ratios to the floor, and the load (os.getloadavg).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python-runtime"))
DATASET = ROOT.parent / "shared" / "datasets" / "alpaca_en_demo.json"


def conversations(rows: int, dataset: Path) -> list[dict[str, Any]]:
    """``rows`` two-exchange conversations from the Alpaca rows (cycled, paired differently)."""
    alpaca = json.loads(dataset.read_text(encoding="utf-8"))
    built = []
    for index in range(rows):
        first, second = alpaca[index % len(alpaca)], alpaca[(index * 7 + 3) % len(alpaca)]
        question = first["instruction"] + ("\n" + first["input"] if first.get("input") else "")
        built.append(
            {
                "messages": [
                    {"role": "user", "content": f"{question} ({index})"},
                    {"role": "assistant", "content": first["output"]},
                    {"role": "user", "content": second["instruction"]},
                    {"role": "assistant", "content": second["output"]},
                ]
            }
        )
    return built


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def floor(tokenizer: Any, records: list[dict[str, Any]]) -> int:
    """Render each once, tokenise the renders in one batch call; returns the token count."""
    texts = [tokenizer.apply_chat_template(record["messages"], tokenize=False) for record in records]
    return sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--baseline-rows", type=int, default=1_000)
    parser.add_argument("--max-length", type=int, default=2048)
    parser.add_argument("--model", default=None, help="a model folder whose tokenizer to use (default: self-test)")
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    from tunedeck_trainer.data import encode_records
    from tunedeck_trainer.data.encode import encode_record, template_for
    from tunedeck_trainer.data.masks import TokenStats, load_preview_tokenizer

    tokenizer, source = load_preview_tokenizer(args.model)
    tokenizer.model_max_length = 1 << 30  # no "longer than the model" warning per long render
    records = conversations(args.rows, args.dataset)
    floor_s, tokens = timed(lambda: floor(tokenizer, records))
    encoder_s, encoded = timed(lambda: encode_records(tokenizer, records, args.max_length))

    def preview() -> dict[str, Any]:
        stats = TokenStats(tokenizer, source, args.max_length, False, 3)
        for record in records:
            stats.add(record)
        return stats.result()

    preview_s, _ = timed(preview)
    template = template_for(tokenizer)
    baseline = records[: args.baseline_rows]
    per_record_s, expected = timed(
        lambda: [encode_record(tokenizer, record, template, False, index) for index, record in enumerate(baseline, start=1)]
    )
    for index, (ids, labels) in enumerate(expected):
        got = encoded.examples[index]
        if (got["input_ids"], got["labels"]) != (ids[: args.max_length], labels[: args.max_length]):
            raise SystemExit(f"the encoder's masks differ from encode_record's on conversation {index + 1}")
    per_record_all = per_record_s * len(records) / max(1, len(baseline))
    result = {
        "rows": len(records),
        "tokens": tokens,
        "tokenizer": source,
        "cores": os.cpu_count(),
        "load": os.getloadavg(),
        "floorSeconds": floor_s,
        "encoderSeconds": encoder_s,
        "previewSeconds": preview_s,
        "perRecordSeconds": per_record_all,
        "perRecordMeasuredRows": len(baseline),
        "encoderOverFloor": encoder_s / floor_s,
        "previewOverFloor": preview_s / floor_s,
        "perRecordOverFloor": per_record_all / floor_s,
        "masksChecked": len(baseline),
    }
    print(f"{len(records):,} conversations, {tokens:,} tokens, tokenizer: {source}, load {result['load']}")
    for name, seconds in (
        ("floor (render + batch encode)", floor_s),
        ("encoder (encode_records)", encoder_s),
        ("preview (TokenStats)", preview_s),
        ("per record (encode_record, scaled)", per_record_all),
    ):
        print(f"  {name:38s} {seconds:8.2f} s  {len(records) / seconds:9,.0f} conversations/s  {seconds / floor_s:5.2f}x the floor")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
