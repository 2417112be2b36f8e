"""The label-only loss (tunedeck_trainer/loss.py) against the model's whole-sequence logits, side by side.

    python bench/label_only_loss.py [--rows 2] [--seq-len 1024] [--learned 0.5] [--repeats 5]

Builds a Qwen2.5-0.5B-shaped model with 2 decoder layers (random weights; the published hidden
size and 151,936-row vocabulary, so the output head weighs what it weighs in the real model),
wraps it in LoRA on all linear layers, and times forward + backward of one micro-batch with each
loss, alternating, on CUDA when present (also peak memory) or the CPU. A fraction --learned of
each row's tokens are labels (the response); the rest is a masked prompt. Prints each time, the
time ratio and, on CUDA, the peak-memory ratio, and checks that both give the same loss.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python-runtime"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--learned", type=float, default=0.5, help="share of each row's tokens that are labels")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from tunedeck_trainer import loss
    from tunedeck_trainer.batches import IGNORE_INDEX, MicroBatch
    from tunedeck_trainer.config import LoraSettings
    from tunedeck_trainer.loading import apply_lora

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.bfloat16 if cuda else torch.float32
    torch.manual_seed(0)
    config = Qwen2Config(
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=2,
        num_attention_heads=14,
        num_key_value_heads=2,
        vocab_size=151936,
        tie_word_embeddings=True,
        max_position_embeddings=4096,
    )
    model = apply_lora(Qwen2ForCausalLM(config).to(dtype).to(device), LoraSettings(rank=16, alpha=32, dropout=0.0)).train()
    ids = torch.randint(0, config.vocab_size, (args.rows, args.seq_len), device=device)
    labels = ids.clone()
    labels[:, : int(args.seq_len * (1 - args.learned))] = IGNORE_INDEX
    mask = torch.ones_like(ids)
    batch = MicroBatch(ids, mask, labels, int(mask.sum()), int((labels[:, 1:] != IGNORE_INDEX).sum()))

    def run(function) -> tuple[float, float, float | None]:
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=cuda):
            value = function(model, batch)
        value.backward()
        model.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
        return time.perf_counter() - started, float(value.detach()), peak

    functions = {"whole sequence": loss.full_loss_sum, "label only": loss.label_only_loss_sum}
    for function in functions.values():
        run(function)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in functions}
    results: dict[str, tuple[float, float | None]] = {}
    for _ in range(args.repeats):
        for name, function in functions.items():
            seconds, value, peak = run(function)
            times[name].append(seconds)
            results[name] = (value, peak)
    where = torch.cuda.get_device_name() if cuda else "cpu"
    print(f"== {args.rows} rows x {args.seq_len} tokens, {args.learned:.0%} learned, vocabulary {config.vocab_size:,}, on {where}")
    for name in functions:
        value, peak = results[name]
        memory = f" | peak {peak:,.0f} MB" if peak is not None else ""
        print(f"  {name:15} median {statistics.median(times[name]) * 1000:8.1f} ms{memory} | loss sum {value:,.2f}")
    whole, only = (statistics.median(times[name]) for name in functions)
    print(f"  time ratio (label only / whole sequence): {only / whole:.2f}")
    if cuda:
        print(f"  peak memory ratio (label only / whole sequence): {results['label only'][1] / results['whole sequence'][1]:.2f}")
    same = abs(results["label only"][0] - results["whole sequence"][0]) <= 1e-3 * abs(results["whole sequence"][0])
    print(f"  same loss: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
