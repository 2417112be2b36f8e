"""What the preview shows of tokenisation: each example's tokens marked learned or masked, and
the token counts of the whole file, computed with the same encode functions training uses.

The tokenizer is the base model's (``model_path``), else the documented default: the tiny
self-test model's byte-level BPE tokenizer with its ChatML template (tiny_model.CHAT_TEMPLATE),
so a preview without a model still shows what a chat template does to the rows.
"""

from __future__ import annotations

from typing import Any

from .encode import IGNORE_INDEX, encode_records, text_blocks
from .errors import DatasetError

HISTOGRAM_BINS = 12


def load_preview_tokenizer(model_path: str | None) -> tuple[Any, str]:
    """(tokenizer, where it came from): the model's, or the self-test default."""
    if model_path:
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(model_path), model_path
        except Exception as error:  # transformers raises many kinds here
            raise DatasetError(f"cannot load a tokenizer from {model_path} ({error})", model_path,
                               hint="Choose a model folder with tokenizer files, or preview without a model.") from error
    from ..tiny_model import build_tokenizer

    return build_tokenizer(), "default (self-test tokenizer, ChatML template)"


def token_view(tokenizer: Any, example: dict[str, list[int]]) -> list[dict[str, Any]]:
    """The example's tokens as the UI draws them: text, learned (a training target) and special."""
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    return [
        {"text": tokenizer.decode([token]), "learned": label != IGNORE_INDEX, "special": token in special}
        for token, label in zip(example["input_ids"], example["labels"])
    ]


def histogram(lengths: list[int], max_length: int) -> list[dict[str, int]]:
    """Tokens per example in equal bins from 0 to the longest (or max_length); each bin is [start, end)."""
    if not lengths:
        return []
    top = max(max(lengths), max_length) + 1
    width = max(1, -(-top // HISTOGRAM_BINS))
    counts = [0] * (-(-top // width))
    for length in lengths:
        counts[length // width] += 1
    return [{"start": index * width, "end": (index + 1) * width, "count": count} for index, count in enumerate(counts)]


def packed_rows(lengths: list[int], max_length: int) -> int:
    """Rows pack_examples makes of examples of these lengths (each cut to max_length), in order."""
    rows, used = 0, 0
    for length in lengths:
        length = min(length, max_length)
        if length == 0:
            continue
        if used == 0 or used + length > max_length:
            rows, used = rows + 1, 0
        used += length
    return rows


def token_preview(records: list[dict[str, Any]], model_path: str | None, max_length: int, train_on_inputs: bool,
                  shown: int) -> dict[str, Any]:
    """Masks of the first ``shown`` examples and the stats of all ``records`` (SFT records or text).

    Preference and feedback records have no SFT masks; for them only the counts are given.
    """
    tokenizer, source = load_preview_tokenizer(model_path)
    sft = [record for record in records if "messages" in record or "text" in record]
    if not sft:
        return {"tokenizer": source, "examples": [], "histogram": [], "overLength": 0, "blocks": None, "learnedTokens": 0,
                "trainable": 0, "packedRows": 0}
    if all("text" in record for record in sft):
        untruncated = encode_records(tokenizer, sft, max_length=10**9, train_on_inputs=True)
        blocks = text_blocks(tokenizer, sft, max_length)
        shown_examples = blocks[:shown]
        learned = sum(sum(1 for label in block["labels"] if label != IGNORE_INDEX) for block in blocks)
        block_count: int | None = len(blocks)
        trainable = packed = len(blocks)
    else:
        untruncated = encode_records(tokenizer, sft, max_length=10**9, train_on_inputs=train_on_inputs)
        shown_examples = [{key: value[:max_length] for key, value in example.items()}
                          for example in untruncated.examples[:shown]]
        learned = sum(sum(1 for label in example["labels"][:max_length] if label != IGNORE_INDEX)
                      for example in untruncated.examples)
        block_count = None
        # What SFT keeps: examples with a learned token left after the cut to max_length.
        kept = [len(example["input_ids"]) for example in untruncated.examples
                if any(label != IGNORE_INDEX for label in example["labels"][1:max_length])]
        trainable, packed = len(kept), packed_rows(kept, max_length)
    lengths = [len(example["input_ids"]) for example in untruncated.examples]
    return {
        "tokenizer": source,
        "examples": [token_view(tokenizer, example) for example in shown_examples],
        "histogram": histogram(lengths, max_length),
        "overLength": sum(1 for length in lengths if length > max_length),
        "blocks": block_count,
        "learnedTokens": learned,
        "trainable": trainable,
        "packedRows": packed,
    }
