"""The trainer's pre-flight memory estimate (the `memory` event) against the GPU memory it used.

    python bench/memory_estimate.py [--model qwen2.5-0.5b] [--dataset FILE] [--out memory.json]

Builds the named Qwen2.5 shape with random weights (bench_setup.py), then runs the real trainer
CLI for a few steps in several set-ups (bf16, gradient checkpointing, 4-bit, bigger batches), each
in its own process, and prints per set-up: the estimate without its fixed overhead (CUDA context
and allocator slack, which torch's allocator statistics do not see), the measured peak of
torch.cuda.max_memory_allocated (the step events' peakMemoryMb), and their ratio. A ratio near 1
means the parts the estimate models (weights, adapter, optimizer, activations, logits) are right.
Needs a CUDA GPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_setup import ROOT, build_model, build_tokenizer, run_job  # noqa: E402

CASES: dict[str, dict[str, Any]] = {
    "bf16 4x1024": {"training": {"batchSize": 4}},
    "bf16 8x1024 checkpointed": {"training": {"batchSize": 8, "gradientCheckpointing": True}},
    "bf16 16x1024 checkpointed": {"training": {"batchSize": 16, "gradientCheckpointing": True}},
    "4-bit 4x1024": {"training": {"batchSize": 4}, "model": {"quantization": "4bit"}},
    "bf16 2x2048": {"training": {"batchSize": 2, "maxSeqLength": 2048}},
}


def run_case(model: Path, dataset: Path, job_dir: Path, case: dict[str, Any]) -> dict[str, Any]:
    """Three optimizer steps of one set-up; the memory event and the last step's peak."""
    training = {"learningRate": 2e-4, "maxSteps": 3, "maxSeqLength": 1024, "packing": True, "seed": 0, **case.get("training", {})}
    code, events = run_job(
        job_dir,
        {
            "model": {"path": str(model), **case.get("model", {})},
            "dataset": {"path": str(dataset), "format": "alpaca"},
            "training": training,
        },
    )
    memory = next((event for event in events if event["type"] == "memory"), None)
    steps = [event for event in events if event["type"] == "step"]
    if code != 0 or memory is None or not steps:
        return {"failed": f"exit {code}; see {job_dir / 'terminal.log'}"}
    modelled = memory["estimatedMb"] - memory["detail"]["overhead"]
    peak = steps[-1]["peakMemoryMb"]
    return {
        "estimatedMb": memory["estimatedMb"],
        "modelledMb": round(modelled, 1),
        "peakAllocatedMb": peak,
        "ratio": modelled / peak if peak else None,
        "detail": memory["detail"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-0.5b")
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "datasets" / "alpaca_en_demo.json")
    parser.add_argument("--work-dir", type=Path, default=Path(f"/tmp/tunedeck-memory-{time.strftime('%Y%m%d-%H%M%S')}"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        parser.error("no CUDA GPU here: the estimate is checked against a GPU's allocator")
    tokenizer = build_tokenizer(args.dataset, 32000)
    model = build_model(args.model, tokenizer, args.work_dir / "model", torch.bfloat16)
    results: dict[str, Any] = {"device": torch.cuda.get_device_name(), "model": args.model, "date": time.strftime("%Y-%m-%d"), "cases": {}}
    print(f"== {args.model} on {results['device']}: estimate (without overhead) vs peak allocated", flush=True)
    for index, (name, case) in enumerate(CASES.items()):
        result = run_case(model, args.dataset, args.work_dir / f"case-{index}", case)
        results["cases"][name] = result
        if "failed" in result:
            print(f"  {name:28} failed: {result['failed']}", flush=True)
            continue
        print(
            f"  {name:28} estimate {result['modelledMb']:>9,.0f} MB (+{result['detail']['overhead']:,.0f} overhead) | "
            f"peak {result['peakAllocatedMb']:>9,.0f} MB | ratio {result['ratio']:.2f}",
            flush=True,
        )
    out = args.out or args.work_dir / "memory.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"result written to {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
