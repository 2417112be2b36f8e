"""Tunedeck's trainer against a plain transformers Trainer + peft run, side by side.

    python bench/trainer_throughput.py                # CUDA: Qwen2.5-0.5B and -1.5B shapes
    python bench/trainer_throughput.py --cpu          # CPU: a small Qwen2 shape, 512-token rows, 160 rows
    python bench/trainer_throughput.py --smoke        # CPU or GPU: a tiny model, a few steps, no claims
    python bench/trainer_throughput.py --models qwen2.5-0.5b --out result.json

For each model it builds the architecture from the published config (bench_setup.py; random
weights, nothing downloaded), trains a byte-level BPE tokenizer with `tokenizers` on the Alpaca
demo set (../shared/datasets/alpaca_en_demo.json, or --dataset), splits the file into training
rows and --held-out rows, then trains one epoch over the same training rows twice, each in its
own process: (a) the Tunedeck trainer through its real CLI with its defaults (padding-free
packing, fused AdamW, dataloader workers), (b) bench/plain_trainer.py (padded batches, SDPA).

Same effective batch: the plain run takes --batch-size x --grad-accum examples a step. Packing
puts several examples in one row, so Tunedeck takes rows of --seq-len tokens, and its
accumulation is chosen so that both runs make about the same number of optimizer steps over the
same examples (the same tokens a step, on average). Both use the same LoRA settings, learning
rate and schedule.

It prints and writes (JSON) per model: the ratio of non-padding tokens per second (Tunedeck /
plain; the first --warmup-steps steps are left out of the timing), the ratio of peak GPU memory,
each run's MFU (4N FLOPs per token, tunedeck_trainer/throughput.py), and each run's loss on the
held-out rows (bench_setup.held_out_loss, the same code for both adapters), with their ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_setup import ROOT, build_model, build_tokenizer, held_out_loss, packed_rows, run_job, split_dataset  # noqa: E402

DATASET = ROOT.parent / "shared" / "datasets" / "alpaca_en_demo.json"


def run_tunedeck(model: Path, dataset: Path, job_dir: Path, settings: dict[str, int], warmup: int) -> dict[str, Any]:
    """Runs the Tunedeck CLI on a fresh job folder; tokens/s and peak memory from its events."""
    config = {
        "model": {"path": str(model)},
        "dataset": {"path": str(dataset), "format": "alpaca"},
        "lora": {"rank": settings["rank"], "alpha": 2 * settings["rank"], "dropout": 0.05, "targetModules": "all-linear"},
        "training": {
            "learningRate": 2e-4,
            "epochs": 1,
            "batchSize": settings["packedBatch"],
            "gradientAccumulation": settings["packedAccum"],
            "maxSeqLength": settings["seq"],
            "warmupRatio": 0.03,
            "seed": 0,
            "packing": True,
        },
    }
    code, events = run_job(job_dir, config)
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
        "lastStepLoss": steps[-1]["loss"],
        "steps": len(steps),
        "adapter": str(job_dir / "adapter"),
    }


def run_plain(model: Path, dataset: Path, out: Path, settings: dict[str, int], warmup: int) -> dict[str, Any]:
    """Runs bench/plain_trainer.py in its own process and reads its JSON."""
    adapter = out.parent / "plain-adapter"
    command = [
        sys.executable,
        str(ROOT / "bench" / "plain_trainer.py"),
        "--model",
        str(model),
        "--dataset",
        str(dataset),
        "--out",
        str(out),
        "--adapter-out",
        str(adapter),
        "--batch-size",
        str(settings["batch"]),
        "--grad-accum",
        str(settings["accum"]),
        "--seq-len",
        str(settings["seq"]),
        "--warmup-steps",
        str(warmup),
        "--rank",
        str(settings["rank"]),
    ]
    with open(out.with_suffix(".log"), "w", encoding="utf-8") as log:
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
    if code != 0:
        raise SystemExit(f"the plain Trainer run failed ({code}); see {out.with_suffix('.log')}")
    result = json.loads(out.read_text(encoding="utf-8"))
    result["lastStepLoss"] = result.pop("finalLoss")
    return {**result, "adapter": str(adapter)}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing."""
    return numerator / denominator if numerator and denominator else None


def packed_settings(settings: dict[str, int], examples: int, rows: int) -> dict[str, int]:
    """Tunedeck's rows a micro-batch and accumulation: about the plain run's step count over the same data."""
    plain_steps = math.ceil(math.ceil(examples / settings["batch"]) / settings["accum"])
    batch = settings["packedBatch"]
    accum = max(1, round(math.ceil(rows / batch) / plain_steps))
    return {**settings, "packedAccum": accum, "plainSteps": plain_steps, "packedRows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny model, a few steps, runs on CPU; no ratio claims")
    parser.add_argument(
        "--cpu", action="store_true", help="the CPU size: a small Qwen2-shaped model (qwen2-cpu), 512-token rows, 160 Alpaca rows"
    )
    parser.add_argument("--models", default="qwen2.5-0.5b,qwen2.5-1.5b")
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--work-dir", type=Path, default=None, help="default: a new folder under /tmp")
    parser.add_argument("--out", type=Path, default=None, help="result JSON (default: WORK_DIR/result.json)")
    parser.add_argument("--held-out", type=int, default=64, help="rows at the end of the file kept for the held-out loss")
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=4, help="examples a micro-batch of the plain run")
    parser.add_argument("--grad-accum", type=int, default=4, help="micro-batches a step of the plain run")
    parser.add_argument("--packed-batch-size", type=int, default=2, help="packed rows a micro-batch of Tunedeck")
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--rank", type=int, default=16)
    args = parser.parse_args(argv)

    import torch

    from tunedeck_trainer import throughput
    from tunedeck_trainer.memory_estimate import meta_model

    cuda = torch.cuda.is_available()
    if not cuda and not (args.smoke or args.cpu):
        parser.error("no CUDA GPU here: the comparison needs one (--cpu for the CPU size, --smoke to check the script)")
    names = ["smoke"] if args.smoke else ["qwen2-cpu"] if args.cpu else [name.strip() for name in args.models.split(",") if name.strip()]
    settings = {
        "batch": args.batch_size,
        "accum": args.grad_accum,
        "packedBatch": args.packed_batch_size,
        "seq": args.seq_len,
        "rank": args.rank,
    }
    warmup, held_out, limit = args.warmup_steps, args.held_out, None
    if args.smoke:
        settings = {"batch": 2, "accum": 2, "packedBatch": 1, "seq": 128, "rank": 8}
        warmup, held_out, limit = 1, 8, 24
    elif args.cpu:
        # Same examples a step both ways (4 x 2 plain); the first steps are the warm-up. One thread
        # a run: on two shared cores, two spinning OpenMP threads made a step 2-3x slower.
        settings = {"batch": 4, "accum": 2, "packedBatch": 1, "seq": 512, "rank": 8}
        warmup, held_out, limit = 3, 32, 160
        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)
    work = args.work_dir or Path(f"/tmp/tunedeck-bench-{time.strftime('%Y%m%d-%H%M%S')}")
    work.mkdir(parents=True, exist_ok=True)
    device = torch.cuda.get_device_name() if cuda else "cpu"
    peak = throughput.peak_flops(device) if cuda else None
    tokenizer = build_tokenizer(args.dataset, 512 if args.smoke else 8000 if args.cpu else 32000)
    train_file, held_file = split_dataset(args.dataset, work / "data", held_out, limit)
    examples = len(json.loads(train_file.read_text(encoding="utf-8")))
    settings = packed_settings(settings, examples, packed_rows(tokenizer, train_file, settings["seq"]))
    dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else (torch.float16 if cuda else torch.float32)
    results: dict[str, Any] = {
        "device": device,
        "peakFlops": peak,
        "smoke": args.smoke,
        "settings": settings,
        "trainExamples": examples,
        "heldOutExamples": held_out,
        "warmupSteps": warmup,
        "date": time.strftime("%Y-%m-%d"),
        "versions": versions(),
        "models": {},
    }
    for name in names:
        print(
            f"== {name} on {device}: one epoch of {examples} examples, {settings['seq']} tokens at most; plain "
            f"{settings['batch']} examples x {settings['accum']} ({settings['plainSteps']} steps), Tunedeck "
            f"{settings['packedRows']} packed rows as {settings['packedBatch']} x {settings['packedAccum']}",
            flush=True,
        )
        model = build_model(name, tokenizer, work / name / "model", dtype)
        parameters = throughput.matmul_parameters(meta_model(model))
        tunedeck = run_tunedeck(model, train_file, work / name / "tunedeck-job", settings, warmup)
        plain = run_plain(model, train_file, work / name / "plain.json", settings, warmup)
        for run in (tunedeck, plain):
            run["mfu"] = throughput.mfu(run["tokensPerSecond"], parameters, peak)
            run["heldOutLoss"] = held_out_loss(model, Path(run["adapter"]), held_file, settings["seq"])
        entry = {
            "parameters": parameters,
            "tunedeck": tunedeck,
            "plain": plain,
            "tokensPerSecondRatio": ratio(tunedeck["tokensPerSecond"], plain["tokensPerSecond"]),
            "peakMemoryRatio": ratio(tunedeck["peakMemoryMb"], plain["peakMemoryMb"]),
            "heldOutLossRatio": ratio(tunedeck["heldOutLoss"], plain["heldOutLoss"]),
        }
        results["models"][name] = entry
        print_entry(name, entry, args.smoke)
        if not args.smoke:
            shutil.rmtree(work / name / "model", ignore_errors=True)  # gigabytes of random weights
    out = args.out or work / "result.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"result written to {out}", flush=True)
    return 0


def versions() -> dict[str, str]:
    """The library versions the numbers were measured with."""
    import peft
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__, "cuda": str(torch.version.cuda)}


def print_entry(name: str, entry: dict[str, Any], smoke: bool) -> None:
    """The human summary of one model."""

    def show(value: float | None, form: str) -> str:
        return "n/a" if value is None else format(value, form)

    for label in ("tunedeck", "plain"):
        run = entry[label]
        print(
            f"  {label:9} {run['tokensPerSecond']:>12,.0f} tok/s | peak {show(run['peakMemoryMb'], ',.0f')} MB | "
            f"MFU {show(run['mfu'], '.1%')} | {run['steps']} steps | held-out loss {run['heldOutLoss']:.4f} | "
            f"last step loss {run['lastStepLoss']:.4f}",
            flush=True,
        )
    if smoke:
        print("  (smoke run: too small and too short for the ratios to mean anything)", flush=True)
    print(
        f"  {name}: tokens/s ratio (Tunedeck / plain) {show(entry['tokensPerSecondRatio'], '.2f')}, "
        f"peak memory ratio {show(entry['peakMemoryRatio'], '.2f')}, "
        f"held-out loss ratio {show(entry['heldOutLossRatio'], '.3f')}",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
