"""The baseline of bench/trainer_throughput.py: a plain transformers Trainer + peft LoRA run.

Padded batches (each micro-batch right-padded to its longest row), SDPA attention, the same
tokenised examples as Tunedeck (its data layer encodes them), the same LoRA settings, one epoch
over the training file. Writes one JSON object (tokens per second: non-padding tokens, after the
warm-up steps; peak GPU memory; per-step losses) and saves the adapter to --adapter-out, which
bench/trainer_throughput.py scores on the held-out examples.

    python bench/plain_trainer.py --model DIR --dataset FILE --out result.json --adapter-out DIR \
        --batch-size 4 --grad-accum 4 --seq-len 1024 --warmup-steps 5

Run by bench/trainer_throughput.py in its own process, so the peak memory is this run's alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_setup (it adds python-runtime)


class Examples:
    """A list of encoded examples as a map-style dataset."""

    def __init__(self, rows: list[dict[str, list[int]]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return self.rows[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--adapter-out", required=True)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--grad-accum", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--rank", type=int, default=16)
    args = parser.parse_args(argv)

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainerCallback, TrainingArguments

    from bench_setup import encode

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    rows = [{"input_ids": e["input_ids"], "labels": e["labels"]} for e in encode(tokenizer, Path(args.dataset), args.seq_len)]
    pad = tokenizer.pad_token_id

    def collate(batch: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(row["input_ids"]) for row in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        for index, row in enumerate(batch):
            length = len(row["input_ids"])
            ids[index, :length] = torch.tensor(row["input_ids"])
            mask[index, :length] = 1
            labels[index, :length] = torch.tensor(row["labels"])
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    dtype = torch.bfloat16 if bf16 else (torch.float16 if cuda else torch.float32)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype, attn_implementation="sdpa")
    model = get_peft_model(
        model,
        LoraConfig(
            r=args.rank,
            lora_alpha=2 * args.rank,
            lora_dropout=0.05,
            target_modules="all-linear",
            bias="none",
            task_type="CAUSAL_LM",
        ),
    )
    timeline: list[tuple[float, int]] = []
    losses: list[float] = []

    class Counting(Trainer):
        tokens = 0

        def training_step(self, model: Any, inputs: dict[str, Any], *rest: Any, **options: Any) -> Any:
            Counting.tokens += int(inputs["attention_mask"].sum())  # still on the host: no sync
            return super().training_step(model, inputs, *rest, **options)

    class Clock(TrainerCallback):
        def on_step_end(self, arguments: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if cuda:
                torch.cuda.synchronize()
            timeline.append((time.perf_counter(), Counting.tokens))

        def on_log(self, arguments: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))

    training = TrainingArguments(
        output_dir=str(Path(args.out).parent / "plain-trainer-output"),
        per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=args.grad_accum,
        num_train_epochs=args.epochs,
        learning_rate=args.lr,
        warmup_ratio=0.03,
        lr_scheduler_type="linear",
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        bf16=bf16,
        fp16=cuda and not bf16,
        use_cpu=not cuda,
        dataloader_num_workers=0,
        seed=0,
        max_grad_norm=1.0,
        optim="adamw_torch_fused" if cuda else "adamw_torch",
        remove_unused_columns=False,
        disable_tqdm=True,
        dataloader_pin_memory=cuda,
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer = Counting(model=model, args=training, train_dataset=Examples(rows), data_collator=collate)
    trainer.add_callback(Clock())
    trainer.train()
    model.save_pretrained(args.adapter_out)
    warm = min(args.warmup_steps, len(timeline) - 1)
    start_time, start_tokens = timeline[warm - 1] if warm > 0 else (timeline[0][0], 0)
    end_time, end_tokens = timeline[-1]
    if warm == 0:  # too few steps to leave any out: time from the first step's end
        start_time, start_tokens = timeline[0]
    seconds = max(end_time - start_time, 1e-9)
    result = {
        "tokensPerSecond": (end_tokens - start_tokens) / seconds,
        "peakMemoryMb": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        "losses": losses,
        "finalLoss": losses[-1] if losses else None,
        "steps": len(timeline),
    }
    Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
