"""What the preference methods (DPO, KTO, ORPO) share: prompts rendered with the chat template, answers tokenised and cut to
training.maxSeqLength, and rows of prompt + answer padded into one micro-batch.

Truncation: a prompt keeps its end, within half of maxSeqLength (``prompt_budget``), so an answer
always has room; prompt + answer + eos beyond maxSeqLength loses the answer's end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..batches import IGNORE_INDEX, MicroBatch
from ..config import JobConfig
from ..data.job_data import JobData, job_records, split_validation
from ..data.job_encoded import encoded_rows
from ..data.judged_tokens import answer_ids, prompt_budget, prompt_ids
from ..errors import TrainerError

Tokens = Sequence[int] | torch.Tensor


class Tokenizing:
    """Tokenises prompts and answers of one job (the tokenizer's chat template, else the default one)."""

    def __init__(self, tokenizer: Any, max_seq_length: int, path: Path) -> None:
        from ..data import DEFAULT_CHAT_TEMPLATE

        self.tokenizer = tokenizer
        self.template = None if getattr(tokenizer, "chat_template", None) else DEFAULT_CHAT_TEMPLATE
        self.max_seq_length = max_seq_length
        self.path = path
        self.eos = tokenizer.eos_token_id

    def prompt(self, record: dict[str, Any], index: int) -> tuple[list[int], bool]:
        """The record's prompt tokens (with its tools), rendered for a reply to follow, cut to its budget; and
        whether it was cut."""
        try:
            ids = prompt_ids(self.tokenizer, record, self.template)
        except Exception as error:  # jinja raises its own errors for a template that rejects the roles
            raise TrainerError(
                f"dataset.path: {self.path} record {index + 1}: the model's chat template cannot render the prompt "
                f"({error}); check the roles of its messages",
                "dataset.path",
            ) from error
        budget = prompt_budget(self.max_seq_length)
        return ids[-budget:], len(ids) > budget

    def answer(self, text: str) -> list[int]:
        """An answer's tokens with eos, uncut (the cut depends on the prompt it follows)."""
        return answer_ids(self.tokenizer, text)

    def fits(self, prompt: list[int], answer: list[int]) -> bool:
        """Whether prompt + answer (+ eos) fit in maxSeqLength uncut."""
        return len(prompt) + len(answer) <= self.max_seq_length


def ignored_settings(name: str, config: JobConfig) -> list[tuple[str, str]]:
    """(level, message) about the settings DPO and KTO ignore."""
    found = []
    if config.training.train_on_inputs:
        found.append(("warning", f"training.trainOnInputs does not apply to {name} (it learns from the answers only); ignored"))
    if config.lora.dropout:
        # Not a warning: TRL does the same, and lora.dropout's default is not 0.
        found.append(
            (
                "info",
                f"lora.dropout: {name} trains without dropout (as TRL does), so the policy and the reference agree where their weights do",
            )
        )
    return found


def answer_rows(pairs: Sequence[tuple[Tokens, Tokens]], pad_id: int, max_seq_length: int, **fields: Any) -> MicroBatch:
    """One right-padded micro-batch of prompt + answer rows, cut to ``max_seq_length``; the labels
    are the answer's tokens (the prompt and the padding are masked out). ``fields`` go to MicroBatch."""
    rows = [
        torch.cat([torch.as_tensor(prompt, dtype=torch.long), torch.as_tensor(answer, dtype=torch.long)])[:max_seq_length]
        for prompt, answer in pairs
    ]
    width = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    for index, (row, (prompt, _)) in enumerate(zip(rows, pairs, strict=True)):
        input_ids[index, : len(row)] = row
        attention[index, : len(row)] = 1
        labels[index, len(prompt) : len(row)] = row[len(prompt) :]
    label_tokens = int((labels[:, 1:] != IGNORE_INDEX).sum())
    return MicroBatch(input_ids, attention, labels, int(attention.sum()), label_tokens, **fields)


Encoded = tuple[dict[str, list[int]], bool, int]


def encode_pair(tokens: Tokenizing, record: dict[str, Any], index: int) -> Encoded:
    """A preference record as prompt, chosen and rejected tokens (DPO, ORPO), with whether either was cut."""
    prompt, cut = tokens.prompt(record, index)
    chosen, rejected = tokens.answer(record["chosen"]), tokens.answer(record["rejected"])
    cut = cut or not (tokens.fits(prompt, chosen) and tokens.fits(prompt, rejected))
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}, cut, len(prompt) + max(len(chosen), len(rejected))


def pair_rows(examples: Sequence[Any], pad_id: int, max_seq_length: int) -> MicroBatch:
    """Preference pairs as one micro-batch: every chosen row, then every rejected row; it weighs its pairs."""
    rows = [(example["prompt"], example[side]) for side in ("chosen", "rejected") for example in examples]
    return answer_rows(rows, pad_id, max_seq_length, examples=len(examples), weight=len(examples))


def encode_job_data(
    config: JobConfig, job_dir: Path, tokenizer: Any, max_seq_length: int, encode: Callable[[Tokenizing, dict[str, Any], int], Encoded]
) -> JobData:
    """The job's records (train and held out), each made by ``encode(tokens, record, index)`` into
    its tokens, whether it was cut to fit, and its length; the counts the report shows come along.
    Every record of the file is encoded once, or read from the encoded cache (data/job_encoded.py),
    then split; a mix of datasets is read and encoded whole each time (data/job_data.job_records)."""
    if config.dataset.mix:
        path, loaded, train, held = job_records(config, job_dir)
        tokens = Tokenizing(tokenizer, max_seq_length, path)
        truncated, longest = 0, 0
        encoded: list[list[dict[str, list[int]]]] = [[], []]
        for part, records in enumerate((train, held)):
            for index, record in enumerate(records):
                example, cut, length = encode(tokens, record, index)
                truncated += cut
                longest = max(longest, min(max_seq_length, length))
                encoded[part].append(example)
        return JobData(encoded[0], encoded[1], loaded.format, int(loaded.skipped), truncated, longest=longest, mix=loaded.mix)

    def encode_all(path: Path, records: list[Any]) -> list[Encoded]:
        tokens = Tokenizing(tokenizer, max_seq_length, path)
        return [encode(tokens, record, index) for index, record in enumerate(records)]

    # What else the encoding depends on: the method's encoder (pairs or feedback) and the cut.
    settings = {"encode": f"{encode.__module__}.{encode.__qualname__}", "maxSeqLength": max_seq_length}
    _, data = encoded_rows(config, job_dir, tokenizer, settings, encode_all)
    train, held = split_validation(data.rows, config.dataset.validation_split, config.training.seed)
    truncated = sum(cut for _, cut, _ in data.rows)
    longest = max((min(max_seq_length, length) for _, _, length in data.rows), default=0)
    return JobData(
        [example for example, _, _ in train], [example for example, _, _ in held], data.format, data.skipped, truncated, longest=longest
    )
