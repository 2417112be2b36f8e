"""Tunedeck's trainer against a plain transformers Trainer + peft run, side by side.

    python bench/trainer_throughput.py                # CUDA: Qwen2.5-0.5B and -1.5B shapes
    python bench/trainer_throughput.py --smoke        # CPU or GPU: a tiny model, 3 steps, no claims
    python bench/trainer_throughput.py --models qwen2.5-0.5b --steps 40 --out result.json

For each model it builds the architecture from the published config (values below; random
weights, nothing downloaded), trains a byte-level BPE tokenizer with `tokenizers` on the
Alpaca demo set (/work/shared/datasets/alpaca_en_demo.json, or --dataset), then runs
(a) the Tunedeck trainer through its real CLI on a job folder and (b) bench/plain_trainer.py
(padded batches, SDPA), each in its own process, with the same LoRA settings, effective
batch and steps. It prints and writes (JSON) per model: the ratio of non-padding tokens per
second (Tunedeck / plain), the ratio of peak GPU memory, each run's MFU (4N FLOPs per token,
tunedeck_trainer/throughput.py) and final loss. The first --warmup-steps steps are left out
of the timing. The model's vocabulary keeps the published 151,936 rows (so the output head
costs what it costs in the real model) while the tokenizer uses only the first 32,000 ids.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "python-runtime"
sys.path.insert(0, str(RUNTIME))
DATASET = ROOT.parent / "shared" / "datasets" / "alpaca_en_demo.json"

# From Qwen/Qwen2.5-0.5B and Qwen/Qwen2.5-1.5B config.json (shapes and numerics only).
QWEN_COMMON = dict(
    hidden_act="silu", max_position_embeddings=32768, rms_norm_eps=1e-6, rope_theta=1000000.0,
    vocab_size=151936, tie_word_embeddings=True, use_sliding_window=False, sliding_window=32768,
    attention_dropout=0.0, bos_token_id=151643, eos_token_id=151643, initializer_range=0.02,
)
MODELS: dict[str, dict[str, Any]] = {
    "qwen2.5-0.5b": dict(QWEN_COMMON, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, max_window_layers=24),
    "qwen2.5-1.5b": dict(QWEN_COMMON, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, max_window_layers=28),
    # --smoke only: small enough for a CPU in seconds.
    "smoke": dict(hidden_act="silu", max_position_embeddings=512, rms_norm_eps=1e-6, hidden_size=64,
                  intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  tie_word_embeddings=True),
}


def build_tokenizer(dataset: Path, vocab_size: int) -> Any:
    """A byte-level BPE tokenizer trained on the dataset's text, with the ChatML-like template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from tunedeck_trainer.tiny_model import CHAT_TEMPLATE, SPECIAL_TOKENS

    rows = json.loads(dataset.read_text(encoding="utf-8"))
    texts = [" ".join(str(row.get(key, "")) for key in ("instruction", "input", "output")) for row in rows]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="<|im_end|>", pad_token="<pad>",
        additional_special_tokens=["<|im_start|>", "</s>"], chat_template=CHAT_TEMPLATE, model_max_length=32768,
    )


def build_model(name: str, tokenizer: Any, out: Path, dtype: Any) -> Path:
    """Saves a randomly initialised Qwen2 model of the named shape, and the tokenizer, into ``out``."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    values = dict(MODELS[name])
    values.setdefault("vocab_size", len(tokenizer))
    values.update(pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(**values)).to(dtype)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def run_tunedeck(model: Path, dataset: Path, job_dir: Path, settings: dict[str, int], warmup: int) -> dict[str, Any]:
    """Runs the Tunedeck CLI on a fresh job folder; tokens/s and peak memory from its events."""
    job_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "version": 1, "jobId": job_dir.name, "model": {"path": str(model)},
        "dataset": {"path": str(dataset), "format": "alpaca"},
        "lora": {"rank": settings["rank"], "alpha": 2 * settings["rank"], "dropout": 0.05, "targetModules": "all-linear"},
        "training": {"learningRate": 2e-4, "batchSize": settings["batch"], "gradientAccumulation": settings["accum"],
                     "maxSeqLength": settings["seq"], "maxSteps": settings["steps"], "warmupRatio": 0.03, "seed": 0},
    }
    (job_dir / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(RUNTIME), "PYTHONUNBUFFERED": "1"}
    with open(job_dir / "terminal.log", "w", encoding="utf-8") as log:
        code = subprocess.run([sys.executable, "-m", "tunedeck_trainer", "train", "--job-dir", str(job_dir)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
    events = [json.loads(line) for line in (job_dir / "events.jsonl").read_text().splitlines() if line.strip()]
    if code != 0:
        raise SystemExit(f"the Tunedeck trainer failed ({code}); see {job_dir / 'terminal.log'}")
    steps = [event for event in events if event["type"] == "step"]
    warm = min(warmup, len(steps) - 1)
    first = steps[warm - 1] if warm > 0 else steps[0]
    counted = steps[warm:] if warm > 0 else steps[1:]
    seconds = max(steps[-1]["time"] - first["time"], 1e-9)
    return {
        "tokensPerSecond": sum(step["tokens"] for step in counted) / seconds,
        "peakMemoryMb": steps[-1].get("peakMemoryMb"),
        "losses": [step["loss"] for step in steps],
        "finalLoss": steps[-1]["loss"],
        "steps": len(steps),
    }


def run_plain(model: Path, dataset: Path, out: Path, settings: dict[str, int], warmup: int) -> dict[str, Any]:
    """Runs bench/plain_trainer.py in its own process and reads its JSON."""
    command = [sys.executable, str(ROOT / "bench" / "plain_trainer.py"), "--model", str(model), "--dataset", str(dataset),
               "--out", str(out), "--batch-size", str(settings["batch"]), "--grad-accum", str(settings["accum"]),
               "--seq-len", str(settings["seq"]), "--steps", str(settings["steps"]), "--warmup-steps", str(warmup),
               "--rank", str(settings["rank"])]
    with open(out.with_suffix(".log"), "w", encoding="utf-8") as log:
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
    if code != 0:
        raise SystemExit(f"the plain Trainer run failed ({code}); see {out.with_suffix('.log')}")
    return json.loads(out.read_text(encoding="utf-8"))


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing."""
    return numerator / denominator if numerator and denominator else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny model, 3 steps, runs on CPU; no ratio claims")
    parser.add_argument("--models", default="qwen2.5-0.5b,qwen2.5-1.5b")
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--work-dir", type=Path, default=None, help="default: a new folder under /tmp")
    parser.add_argument("--out", type=Path, default=None, help="result JSON (default: WORK_DIR/result.json)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--grad-accum", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--rank", type=int, default=16)
    args = parser.parse_args(argv)

    import torch

    from tunedeck_trainer import throughput

    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke:
        parser.error("no CUDA GPU here: the comparison needs one (use --smoke to check that the script runs)")
    names = ["smoke"] if args.smoke else [name.strip() for name in args.models.split(",") if name.strip()]
    settings = {"batch": args.batch_size, "accum": args.grad_accum, "seq": args.seq_len, "steps": args.steps,
                "rank": args.rank}
    warmup = args.warmup_steps
    if args.smoke:
        settings = {"batch": 2, "accum": 2, "seq": 128, "steps": 3, "rank": 8}
        warmup = 1
    work = args.work_dir or Path(f"/tmp/tunedeck-bench-{time.strftime('%Y%m%d-%H%M%S')}")
    work.mkdir(parents=True, exist_ok=True)
    device = torch.cuda.get_device_name() if cuda else "cpu"
    peak = throughput.peak_flops(device) if cuda else None
    tokenizer = build_tokenizer(args.dataset, 512 if args.smoke else 32000)
    dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else (torch.float16 if cuda else torch.float32)
    results: dict[str, Any] = {"device": device, "peakFlops": peak, "smoke": args.smoke, "settings": settings,
                               "warmupSteps": warmup, "date": time.strftime("%Y-%m-%d"), "models": {}}
    for name in names:
        print(f"== {name} on {device}: batch {settings['batch']} x accumulation {settings['accum']}, "
              f"{settings['seq']} tokens, {settings['steps']} steps", flush=True)
        model = build_model(name, tokenizer, work / name / "model", dtype)
        from tunedeck_trainer.memory import meta_model

        parameters = throughput.matmul_parameters(meta_model(model))
        tunedeck = run_tunedeck(model, args.dataset, work / name / "tunedeck-job", settings, warmup)
        plain = run_plain(model, args.dataset, work / name / "plain.json", settings, warmup)
        for run in (tunedeck, plain):
            run["mfu"] = throughput.mfu(run["tokensPerSecond"], parameters, peak)
        entry = {
            "parameters": parameters, "tunedeck": tunedeck, "plain": plain,
            "tokensPerSecondRatio": ratio(tunedeck["tokensPerSecond"], plain["tokensPerSecond"]),
            "peakMemoryRatio": ratio(tunedeck["peakMemoryMb"], plain["peakMemoryMb"]),
        }
        results["models"][name] = entry
        print_entry(name, entry, args.smoke)
        if not args.smoke:
            import shutil

            shutil.rmtree(work / name / "model", ignore_errors=True)  # gigabytes of random weights
    out = args.out or work / "result.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"result written to {out}", flush=True)
    return 0


def print_entry(name: str, entry: dict[str, Any], smoke: bool) -> None:
    """The human summary of one model."""

    def show(value: float | None, form: str) -> str:
        return "n/a" if value is None else format(value, form)

    for label in ("tunedeck", "plain"):
        run = entry[label]
        print(f"  {label:9} {run['tokensPerSecond']:>12,.0f} tok/s | peak {show(run['peakMemoryMb'], ',.0f')} MB | "
              f"MFU {show(run['mfu'], '.1%')} | final loss {run['finalLoss']:.4f}", flush=True)
    if smoke:
        print("  (smoke run: too small and too short for the ratios to mean anything)", flush=True)
    print(f"  {name}: tokens/s ratio (Tunedeck / plain) {show(entry['tokensPerSecondRatio'], '.2f')}, "
          f"peak memory ratio {show(entry['peakMemoryRatio'], '.2f')}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
