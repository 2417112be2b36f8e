"""A job's data preparation on one big JSONL file, phase by phase, as a job runs it.

    python bench/encode_file.py --megabytes 1024          # the 1 GB goal of issue 23 (item 1)
    python bench/encode_file.py --megabytes 100 --profile  # a slice, with cProfile's top functions

Writes --megabytes of two-turn conversations (the rows of tests/trainer/test_data_stream.py) to a
file under /tmp (deleted after), then times what data/job_encoded.encoded_records does for an SFT
job with the encoded cache on: reading the file (load_records: JSON parse, normalising), encoding
(encode_records: template render, the tokenizer's batch call, the mask search), writing the cache
entry; and the second job's read of that entry. The tokenizer is the self-test one (1,024 ids,
ChatML), the preview's without a model; --model DIR for another. Prints seconds per phase, rows a
second, and with --profile the functions with the most time of their own.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# --runtime DIR measures another copy of python-runtime (an older commit's) side by side.
RUNTIME = Path(sys.argv[sys.argv.index("--runtime") + 1]) if "--runtime" in sys.argv else ROOT / "python-runtime"
sys.path.insert(0, str(RUNTIME))


def row(index: int) -> str:
    return json.dumps(
        {"messages": [{"role": "user", "content": f"Question {index}?"}, {"role": "assistant", "content": f"Answer {index}. " * 8}]}
    )


def write_file(path: Path, megabytes: float) -> int:
    """Rows until the file holds ``megabytes``; returns how many."""
    target, written, index = int(megabytes * 1024 * 1024), 0, 0
    with open(path, "w", encoding="utf-8") as handle:
        while written < target:
            block = "".join(row(index + offset) + "\n" for offset in range(10_000))
            handle.write(block)
            written += len(block.encode())
            index += 10_000
    return index


def parts(data: Path, tokenizer: object, count: int) -> None:
    """CPU seconds of each part of the preparation on the first ``count`` rows, one after the other in
    this process (a profiler's own cost per call would distort the small Python calls)."""
    from tunedeck_trainer.data.encode import (
        _render,
        for_template,
        template_for,
        template_source,
    )
    from tunedeck_trainer.data.loader import _lone_surrogate
    from tunedeck_trainer.data.messages import openai_messages  # noqa: F401 - the normaliser of these rows

    lines = data.read_text(encoding="utf-8").splitlines()[:count]
    template = template_for(tokenizer)
    source = template_source(tokenizer, template)

    def cpu(work) -> tuple[float, object]:
        used = time.process_time()
        result = work()
        return time.process_time() - used, result

    seconds, rows = cpu(lambda: [json.loads(line) for line in lines])
    print(f"  parts, CPU seconds per 1,000 rows (first {count:,} rows):")
    print(f"    JSON parse                         {1000 * seconds / count:8.3f}")
    seconds, _ = cpu(lambda: [_lone_surrogate(row) for row in rows])
    print(f"    lone-surrogate check               {1000 * seconds / count:8.3f}")
    messages = [for_template(row["messages"], source) for row in rows]
    seconds, texts = cpu(lambda: [_render(tokenizer, chat, template, False, 0) for chat in messages])
    print(f"    template render, one call a row    {1000 * seconds / count:8.3f}")
    seconds, batched = cpu(lambda: tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False))
    assert batched == texts
    print(f"    template render, one call a batch  {1000 * seconds / count:8.3f}")
    seconds, _ = cpu(lambda: tokenizer(texts, add_special_tokens=False))
    print(f"    tokenizer batch call (all threads) {1000 * seconds / count:8.3f}")
    seconds, _ = cpu(lambda: tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False))
    print(f"      of which the Rust tokenizer      {1000 * seconds / count:8.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=100)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="result JSON")
    parser.add_argument("--runtime", type=Path, default=RUNTIME, help="the python-runtime folder to measure")
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from tunedeck_trainer.config import parse_config
    from tunedeck_trainer.data import job_encoded
    from tunedeck_trainer.data.encode import encode_records
    from tunedeck_trainer.data.encoded_cache import read_entry, write_entry
    from tunedeck_trainer.data.job_data import read_job_records
    from tunedeck_trainer.tiny_model import build_tokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(args.model)) if args.model else build_tokenizer()
    work = Path(tempfile.mkdtemp(prefix="tunedeck-encode-file-"))
    try:
        data = work / "rows.jsonl"
        rows = write_file(data, args.megabytes)
        size = data.stat().st_size
        config = parse_config(
            {
                "version": 1,
                "jobId": "bench",
                "model": {"path": str(args.model or "selftest")},
                "dataset": {"path": str(data), "format": "auto"},
            }
        )
        cache = work / "cache"
        os.environ["TUNEDECK_ENCODED_CACHE"] = str(cache)
        profile = cProfile.Profile() if args.profile else None
        phases: dict[str, float] = {}

        cpu: dict[str, float] = {}

        def phase(name, work_):
            started, used = time.perf_counter(), time.process_time()
            if profile:
                profile.enable()
            result = work_()
            if profile:
                profile.disable()
            phases[name], cpu[name] = time.perf_counter() - started, time.process_time() - used
            return result

        key, about = phase("key (hash the file)", lambda: job_encoded._key(config, data, tokenizer, {"trainOnInputs": False}))
        _, loaded = phase("read (JSON parse, normalise)", lambda: read_job_records(config, work))
        encoded = phase(
            "encode (render, tokenize, masks)", lambda: encode_records(tokenizer, loaded.records, job_encoded.UNCUT, train_on_inputs=False)
        )
        tokens = sum(len(example["input_ids"]) for example in encoded.examples)
        stored = job_encoded.CachedData(encoded.examples, loaded.format, int(loaded.skipped))
        phase("write the cache entry", lambda: write_entry(cache, key, stored, about))
        loaded = encoded = stored = None  # the records go before the read-back
        back = phase("second job: read the entry", lambda: read_entry(cache, key))
        assert back is not None and len(back.examples) == rows
        total = sum(seconds for name, seconds in phases.items() if not name.startswith("second"))
        load = os.getloadavg()
        print(f"{size / 2**20:.0f} MiB, {rows:,} rows, {tokens:,} tokens; load {load[0]:.1f}; cores {os.cpu_count()}")
        for name, seconds in phases.items():
            print(f"  {name:36} {seconds:8.1f} s wall {cpu[name]:8.1f} s CPU (all threads)")
        parts(data, tokenizer, min(rows, 5_000))
        print(
            f"  first job's preparation {total:.1f} s ({rows / total:,.0f} rows/s); scaled to 1 GiB: {total * 1024 / (size / 2**20):.0f} s"
        )
        if profile:
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(18)
            print(text.getvalue())
        if args.out:
            args.out.write_text(
                json.dumps({"megabytes": size / 2**20, "rows": rows, "tokens": tokens, "phases": phases, "load": load[0]}, indent=1)
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
