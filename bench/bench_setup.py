"""What both runs of bench/trainer_throughput.py share: models, tokenizer, data split, held-out loss.

- ``build_tokenizer`` / ``build_model``: a byte-level BPE trained on the dataset, and a Qwen2
  model of a published shape with random weights (nothing is downloaded).
- ``split_dataset``: the Alpaca file cut into a training file and a held-out file, so that both
  trainers see exactly the same training examples and are scored on the same unseen ones.
- ``held_out_loss``: the mean cross entropy of the response tokens of the held-out examples,
  for a base model plus an adapter folder, computed by the same code for both runs. It is the
  "final loss" the benchmark compares: the last training step's loss depends on which examples
  that step happened to draw, the held-out loss does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "python-runtime"
if str(RUNTIME) not in sys.path:
    sys.path.insert(0, str(RUNTIME))

# From Qwen/Qwen2.5-0.5B and Qwen/Qwen2.5-1.5B config.json (shapes and numerics only).
QWEN_COMMON = dict(
    hidden_act="silu",
    max_position_embeddings=32768,
    rms_norm_eps=1e-6,
    rope_theta=1000000.0,
    vocab_size=151936,
    tie_word_embeddings=True,
    use_sliding_window=False,
    sliding_window=32768,
    attention_dropout=0.0,
    bos_token_id=151643,
    eos_token_id=151643,
    initializer_range=0.02,
)
MODELS: dict[str, dict[str, Any]] = {
    "qwen2.5-0.5b": dict(
        QWEN_COMMON,
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        max_window_layers=24,
    ),
    "qwen2.5-1.5b": dict(
        QWEN_COMMON,
        hidden_size=1536,
        intermediate_size=8960,
        num_hidden_layers=28,
        num_attention_heads=12,
        num_key_value_heads=2,
        max_window_layers=28,
    ),
    # --cpu: Qwen2's shape (GQA, SiLU MLP, tied embeddings, its rope) cut to what two CPU cores
    # train over a few hundred Alpaca rows in minutes.
    "qwen2-cpu": dict(
        {key: value for key, value in QWEN_COMMON.items() if not key.endswith(("vocab_size", "token_id"))},
        hidden_size=256,
        intermediate_size=704,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_window_layers=4,
        max_position_embeddings=4096,
    ),
    # --smoke only: small enough for a CPU in seconds.
    "smoke": dict(
        hidden_act="silu",
        max_position_embeddings=512,
        rms_norm_eps=1e-6,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=True,
    ),
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
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="<|im_end|>",
        pad_token="<pad>",
        additional_special_tokens=["<|im_start|>", "</s>"],
        chat_template=CHAT_TEMPLATE,
        model_max_length=32768,
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


def split_dataset(dataset: Path, out: Path, held_out: int, limit: int | None = None) -> tuple[Path, Path]:
    """Writes ``train.json`` (the first rows, at most ``limit``) and ``held_out.json`` (the last ``held_out``)."""
    rows = json.loads(dataset.read_text(encoding="utf-8"))
    if held_out >= len(rows):
        raise SystemExit(f"--held-out {held_out} leaves no training rows in {dataset} ({len(rows)} rows)")
    train_rows = rows[: len(rows) - held_out]
    if limit is not None:
        train_rows = train_rows[:limit]
    out.mkdir(parents=True, exist_ok=True)
    train, held = out / "train.json", out / "held_out.json"
    train.write_text(json.dumps(train_rows, ensure_ascii=False), encoding="utf-8")
    held.write_text(json.dumps(rows[len(rows) - held_out :], ensure_ascii=False), encoding="utf-8")
    return train, held


def encode(tokenizer: Any, dataset: Path, seq_len: int) -> list[dict[str, list[int]]]:
    """The Alpaca rows of ``dataset`` as Tunedeck's data layer encodes them (labels on the responses)."""
    from tunedeck_trainer.data import encode_records, load_records

    records = list(load_records(str(dataset), format="alpaca").records)
    return encode_records(tokenizer, records, seq_len, train_on_inputs=False).examples


def held_out_loss(model_dir: Path, adapter_dir: Path, dataset: Path, seq_len: int, batch_size: int = 8) -> float:
    """Mean response-token cross entropy of ``dataset`` under the base model plus the adapter."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tunedeck_trainer.batches import IGNORE_INDEX, collate

    cuda = torch.cuda.is_available()
    dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda else torch.float32
    device = torch.device("cuda" if cuda else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    base = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype, attn_implementation="sdpa").to(device)
    model = PeftModel.from_pretrained(base, str(adapter_dir)).eval()
    examples = encode(tokenizer, dataset, seq_len)
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = collate(examples[start : start + batch_size], tokenizer.pad_token_id).to(device)
            logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[:, :-1].float()
            targets = batch.labels[:, 1:]
            total += float(
                torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
                )
            )
            count += int((targets != IGNORE_INDEX).sum())
    del model, base
    if cuda:
        torch.cuda.empty_cache()
    return total / max(1, count)


def packed_rows(tokenizer: Any, dataset: Path, seq_len: int) -> int:
    """How many rows Tunedeck's packing makes of ``dataset`` at ``seq_len`` tokens a row."""
    from tunedeck_trainer.batches import label_token_count
    from tunedeck_trainer.data import pack_examples

    usable = [example for example in encode(tokenizer, dataset, seq_len) if label_token_count(example["labels"]) > 0]
    return len(pack_examples(usable, seq_len))


def run_job(job_dir: Path, config: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """Writes ``config`` into a fresh job folder, runs the trainer CLI on it; exit code and events."""
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "config.json").write_text(json.dumps({"version": 1, "jobId": job_dir.name, **config}, indent=2), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(RUNTIME), "PYTHONUNBUFFERED": "1"}
    with open(job_dir / "terminal.log", "w", encoding="utf-8") as log:
        code = subprocess.run(
            [sys.executable, "-m", "tunedeck_trainer", "train", "--job-dir", str(job_dir)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        ).returncode
    lines = (job_dir / "events.jsonl").read_text(encoding="utf-8").splitlines() if (job_dir / "events.jsonl").exists() else []
    return code, [json.loads(line) for line in lines if line.strip()]
