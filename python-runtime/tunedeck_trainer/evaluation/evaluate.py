"""The base model against the tuned one on a job's held-out rows: loss and perplexity of each on the
reference answers, and, on greedy answers, exact match, ROUGE-L (rouge-score) and BLEU (sacrebleu).

    python -m tunedeck_trainer.evaluation --job-dir DIR [--adapter DIR] [--limit N] [--max-new-tokens N]
        [--dataset FILE]

Rows: the job's held-out rows (dataset.validationSplit, the same rows the loop evaluated on), else
the last rows of its dataset, or with --dataset the first rows of that file (read with the job's
dataset settings), said so in ``source``. Each row is encoded as training encodes it; the
prompt is everything before the first answer token, the reference is that answer. Prints
{"type":"progress","done","total"} lines and a last {"type":"done",...}; writes DIR/evaluation.json
(temporary file renamed). A problem the user can fix prints {"type":"error","message","field"}, exit 2.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import TrainerError

EXAMPLES_KEPT = 20


def _first_answer(example: dict[str, list[int]]) -> tuple[list[int], list[int]]:
    """(prompt ids, reference ids): before the first learned token, and the run of learned tokens from it."""
    labels = example["labels"]
    start = next(index for index, label in enumerate(labels) if label != -100)
    end = next((index for index in range(start, len(labels)) if labels[index] == -100), len(labels))
    return example["input_ids"][:start], example["input_ids"][start:end]


def scores(answers: list[str], references: list[str]) -> dict[str, float]:
    """Exact match (after trimming), mean ROUGE-L F1 and corpus BLEU, each 0..1 (BLEU too)."""
    import sacrebleu
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    rouge = [scorer.score(reference, answer)["rougeL"].fmeasure for answer, reference in zip(answers, references, strict=True)]
    bleu = sacrebleu.corpus_bleu(answers, [references]).score / 100
    exact = [answer.strip() == reference.strip() for answer, reference in zip(answers, references, strict=True)]
    return {"exactMatch": sum(exact) / len(exact), "rougeL": sum(rouge) / len(rouge), "bleu": bleu}


def evaluate(
    job_dir: Path,
    *,
    adapter_dir: Path | None = None,
    limit: int = 50,
    max_new_tokens: int = 128,
    dataset: Path | None = None,
    report: Callable[[dict[str, Any]], None] = lambda event: None,
) -> dict[str, Any]:
    """Runs both models on the rows and returns (and saves) the evaluation."""
    import torch
    from peft import PeftModel

    from .. import loading
    from ..config import load_config, resolve_model_path
    from ..data.encode import encode_records
    from ..data.errors import DatasetError
    from ..data.job_data import job_records

    config = load_config(job_dir / "config.json")
    if config.method != "sft":
        raise TrainerError(
            f"method: evaluation compares answers to references, which {config.method} rows do not have; "
            "evaluate a supervised fine-tuning (sft) job",
            "method",
        )
    adapter_dir = adapter_dir or job_dir / "adapter"
    if not (adapter_dir / "adapter_model.safetensors").is_file():
        raise TrainerError(f"adapter: no adapter in {adapter_dir}; evaluate the job once it has completed", "adapter")
    model_path = resolve_model_path(job_dir, config.model.path)
    tokenizer = loading.load_tokenizer(adapter_dir if (adapter_dir / "tokenizer_config.json").is_file() else model_path)
    if dataset is not None:
        # A chosen file, read with the job's own dataset settings (format, columns); all its rows count.
        config = replace(config, dataset=replace(config.dataset, path=str(dataset), validation_split=0.0))
    _path, _loaded, records, held = job_records(config, job_dir)
    source = "dataset" if dataset is not None else "held-out" if held else "training"
    rows = (records[:limit] if dataset is not None else held or records[-limit:])[:limit]
    try:
        encoded = encode_records(tokenizer, rows, config.training.max_seq_length).examples
    except DatasetError as error:
        raise TrainerError(f"dataset.path: {error}", "dataset.path") from error
    pairs = [_first_answer(example) for example in encoded if any(label != -100 for label in example["labels"])]
    if not pairs:
        raise TrainerError("dataset.path: no row has an answer left to compare after encoding", "dataset.path")

    precision = loading.resolve_precision(config.training.precision)
    model = PeftModel.from_pretrained(loading.load_model(model_path, precision), str(adapter_dir)).eval()
    device = precision.device
    sides: dict[str, dict[str, Any]] = {side: {"nll": 0.0, "tokens": 0, "answers": []} for side in ("base", "tuned")}
    for index, (prompt, reference) in enumerate(pairs):
        ids = torch.tensor([prompt + reference], device=device)
        for side in ("base", "tuned"):
            with torch.no_grad(), model.disable_adapter() if side == "base" else nullcontext():
                logits = model(ids).logits[0, len(prompt) - 1 : -1].float()
                sides[side]["nll"] += float(torch.nn.functional.cross_entropy(logits, ids[0, len(prompt) :], reduction="sum"))
                sides[side]["tokens"] += len(reference)
                output = model.generate(
                    torch.tensor([prompt], device=device),
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
                )
            sides[side]["answers"].append(tokenizer.decode(output[0, len(prompt) :], skip_special_tokens=True))
        report({"type": "progress", "done": index + 1, "total": len(pairs)})
    references = [tokenizer.decode(reference, skip_special_tokens=True) for _prompt, reference in pairs]
    result: dict[str, Any] = {
        "version": 1,
        "source": source,
        "rows": len(pairs),
        "adapter": str(adapter_dir),
        **({"datasetPath": str(_path)} if dataset is not None else {}),
        "maxNewTokens": max_new_tokens,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    for side, values in sides.items():
        loss = values["nll"] / max(1, values["tokens"])
        result[side] = {"loss": loss, "perplexity": math.exp(min(loss, 700)), **scores(values["answers"], references)}
    result["examples"] = [
        {"prompt": tokenizer.decode(prompt, skip_special_tokens=True), "reference": reference, "base": base, "tuned": tuned}
        for (prompt, _), reference, base, tuned in zip(pairs, references, sides["base"]["answers"], sides["tuned"]["answers"], strict=True)
    ][:EXAMPLES_KEPT]
    temporary = job_dir / "evaluation.json.tmp"
    temporary.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, job_dir / "evaluation.json")
    return result


def main(argv: list[str] | None = None) -> int:
    """Parses the command line, evaluates, prints JSON lines; returns the exit code."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tunedeck_trainer.evaluation")
    parser.add_argument("--job-dir", required=True, type=Path)
    parser.add_argument("--adapter", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--dataset", type=Path, default=None, help="a dataset file to evaluate on instead of the held-out rows")
    args = parser.parse_args(argv)

    def emit(event: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    try:
        result = evaluate(
            args.job_dir.resolve(),
            adapter_dir=args.adapter,
            limit=args.limit,
            max_new_tokens=args.max_new_tokens,
            dataset=args.dataset,
            report=emit,
        )
    except TrainerError as error:
        emit({"type": "error", "message": str(error), "field": error.field})
        return 2
    emit({"type": "done", **result})
    return 0
