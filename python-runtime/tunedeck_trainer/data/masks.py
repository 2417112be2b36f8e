"""What the preview shows of tokenisation: each example's tokens marked learned or masked, and
the token counts of the whole file, computed with the same encoder training uses.

The tokenizer is the base model's (``model_path``), else the documented default: the tiny
self-test model's byte-level BPE tokenizer with its ChatML template (tiny_model.CHAT_TEMPLATE),
so a preview without a model still shows what a chat template does to the rows.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from typing import Any

from .encode import IGNORE_INDEX, template_for, text_blocks_of
from .encoder import BATCH, Encoder
from .errors import DatasetError
from .judged_tokens import judged_examples
from .pieces import token_pieces
from .tool_markup import loses_tool_markup

HISTOGRAM_BINS = 12


def load_preview_tokenizer(model_path: str | None) -> tuple[Any, str]:
    """(tokenizer, where it came from): the model's, or the self-test default."""
    if model_path:
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(model_path), model_path
        except Exception as error:  # transformers raises many kinds here
            raise DatasetError(
                f"cannot load a tokenizer from {model_path} ({error})",
                model_path,
                hint="Choose a model folder with tokenizer files, or preview without a model.",
            ) from error
    from ..tiny_model import build_tokenizer

    return build_tokenizer(), "default (self-test tokenizer, ChatML template)"


def token_view(tokenizer: Any, example: dict[str, list[int]]) -> list[dict[str, Any]]:
    """The example's tokens as the UI draws them, grouped into whole characters (pieces.py): text,
    learned (a training target), special, and how many tokens each piece holds."""
    return token_pieces(tokenizer, example["input_ids"], [label != IGNORE_INDEX for label in example["labels"]])


def histogram(lengths: Sequence[int], max_length: int) -> list[dict[str, int]]:
    """Tokens per example in equal bins from 0 to the longest (or max_length); each bin is [start, end)."""
    if not lengths:
        return []
    top = max(max(lengths), max_length) + 1
    width = max(1, -(-top // HISTOGRAM_BINS))
    counts = [0] * (-(-top // width))
    for length in lengths:
        counts[length // width] += 1
    return [{"start": index * width, "end": (index + 1) * width, "count": count} for index, count in enumerate(counts)]


def packed_rows(lengths: Iterable[int], max_length: int) -> int:
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


class TokenStats:
    """The token counts of a dataset, gathered one record at a time so that a file of any size is
    counted with bounded memory (one length per row, 4 bytes, and the first examples shown).

    Gives what token_preview returns. Plain text (every SFT record a text record) is counted as
    text_blocks cuts it: ``total`` tokens of the concatenated corpus make ceil((total - 1) /
    (max_length - 1)) blocks, in which every token after the first is learned exactly once.
    Preference and feedback records show each answer after its prompt (``sides`` names it: chosen,
    rejected, desirable or undesirable), cut and masked as DPO, KTO and ORPO train on them.
    """

    def __init__(self, tokenizer: Any, source: str, max_length: int, train_on_inputs: bool, shown: int) -> None:
        self.tokenizer, self.source = tokenizer, source
        self.max_length, self.train_on_inputs, self.shown = max_length, train_on_inputs, shown
        self.encoder = Encoder(tokenizer, train_on_inputs)
        self.pending: list[dict[str, Any]] = []  # records waiting for the next batch encode
        self.lengths = array("I")  # untruncated tokens per example, in order
        self.kept = array("I")  # lengths of the examples SFT keeps (a learned token after the cut)
        self.learned = 0
        self.all_text = True
        self.total = 0  # tokens of the concatenated text corpus
        self.prefix: list[int] = []  # its start, enough for the first ``shown`` blocks
        self.first: list[dict[str, list[int]]] = []  # the first ``shown`` examples, cut to max_length
        self.sides: list[str | None] = []  # each shown example's side of a judged record; None for SFT
        self.judged = 0  # preference and feedback records with a learned token
        self.index = 0
        self.tools_lost = 0  # rows whose tools or tool calls the chat template does not render
        self.template = template_for(tokenizer)

    def add(self, record: dict[str, Any]) -> None:
        """Counts one normalised record, encoded with the next BATCH of them (raises DatasetError, for
        this record or an earlier one of its batch, when the chat template refuses it)."""
        if "prompt" in record:
            self._add_judged(record)
            return
        if "messages" not in record and "text" not in record:
            return
        self.pending.append(record)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Encodes and counts the records waiting for a batch."""
        pending, self.pending = self.pending, []
        for record, (ids, labels) in zip(pending, self.encoder.encode(pending, self.index + 1), strict=True):
            self._count(record, ids, labels)

    def _add_judged(self, record: dict[str, Any]) -> None:
        """A preference or feedback record: each answer after the prompt, as the preference methods train on it."""
        self.flush()  # keeps the shown examples in file order
        self.index += 1
        self.all_text = False
        try:
            examples = judged_examples(self.tokenizer, record, self.template, self.max_length)
        except Exception as error:  # jinja raises its own errors for turns the template refuses
            raise DatasetError(
                f"the model's chat template cannot render the prompt ({error})",
                row=self.index,
                unit="record",
                hint="Check the roles of the row's prompt messages, or remove it.",
            ) from error
        self.tools_lost += loses_tool_markup(self.tokenizer, {"messages": record["prompt"], "tools": record.get("tools")}, self.template)
        self.lengths.append(max(length for _, length, _ in examples))
        learned = [sum(1 for label in example["labels"] if label != IGNORE_INDEX) for _, _, example in examples]
        self.learned += sum(learned)
        self.judged += all(count > 0 for count in learned)
        for side, _, example in examples:
            if len(self.first) < self.shown:
                self.first.append(example)
                self.sides.append(side)

    def _count(self, record: dict[str, Any], ids: list[int], labels: list[int]) -> None:
        self.index += 1
        self.lengths.append(len(ids))
        self.tools_lost += loses_tool_markup(self.tokenizer, record, self.template)
        if "text" in record:
            self.total += len(ids)
            room = (self.shown - 1) * (self.max_length - 1) + self.max_length - len(self.prefix)
            if self.shown > 0 and room > 0:
                self.prefix += ids[:room]
        else:
            self.all_text = False
        cut = labels[: self.max_length]
        self.learned += sum(1 for label in cut if label != IGNORE_INDEX)
        if any(label != IGNORE_INDEX for label in cut[1:]):
            self.kept.append(len(ids))
        if len(self.first) < self.shown:
            self.first.append({"input_ids": ids[: self.max_length], "labels": cut})
            self.sides.append(None)

    def result(self) -> dict[str, Any]:
        """The preview's ``tokens`` part (raises DatasetError as add does, for the last batch)."""
        self.flush()
        if self.index == 0:
            return {
                "tokenizer": self.source,
                "examples": [],
                "histogram": [],
                "overLength": 0,
                "blocks": None,
                "learnedTokens": 0,
                "trainable": 0,
                "packedRows": 0,
                "toolsLost": 0,
                "sides": [],
            }
        if self.all_text:
            if self.max_length < 2:
                raise ValueError(f"max_length must be at least 2 for text blocks, got {self.max_length}")
            blocks = -(-(self.total - 1) // (self.max_length - 1)) if self.total >= 2 else 0
            shown_examples = text_blocks_of(self.prefix, self.max_length)[: self.shown]
            learned, block_count, trainable, packed = max(0, self.total - 1), blocks, blocks, blocks
        else:
            shown_examples = self.first
            learned, block_count = self.learned, None
            trainable, packed = len(self.kept) + self.judged, packed_rows(self.kept, self.max_length)
        return {
            "tokenizer": self.source,
            "examples": [token_view(self.tokenizer, example) for example in shown_examples],
            "histogram": histogram(self.lengths, self.max_length),
            "overLength": sum(1 for length in self.lengths if length > self.max_length),
            "blocks": block_count,
            "learnedTokens": learned,
            "trainable": trainable,
            "packedRows": packed,
            "toolsLost": self.tools_lost,
            "sides": self.sides[: len(shown_examples)] if not self.all_text else [],
        }


def token_preview(
    records: Iterable[dict[str, Any]], model_path: str | None, max_length: int, train_on_inputs: bool, shown: int
) -> dict[str, Any]:
    """Masks of the first ``shown`` examples and the stats of all ``records`` (SFT records or text)."""
    tokenizer, source = load_preview_tokenizer(model_path)
    stats = TokenStats(tokenizer, source, max_length, train_on_inputs, shown)
    for record in records:
        stats.add(record)
    return stats.result()
