"""Encoder: records to token ids and labels in batches, each conversation's template rendered once.

The masks are encode_record's, found faster. encode_record renders a conversation 1 + 2 x (its
assistant turns) times and tokenises each render; the Encoder renders it once, tokenises all of
a batch's renders in one call of the fast tokenizer (in parallel on every core) and finds each
learned turn in that one render by its characters:

- The template's shape is probed once: ``generation``, what it writes before an assistant's
  content (its generation prompt's tail, e.g. ``<|im_start|>assistant\\n``), and ``closing``,
  what it writes after the content of a last turn (``<|im_end|>\\n``).
- In the render, each assistant turn is ``generation + content + closing``, found in order. Its
  learned characters are ``content + closing`` (exactly what encode_record learns from the
  renders with and without the turn) and its learned tokens are those overlapping them.

A record the shape does not describe (a template that writes tool calls or reasoning itself,
treats some turn differently, or a turn not found as above) is encoded by encode_record, so the
masks are the same either way; so is every record of a slow (Python) tokenizer.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .encode import IGNORE_INDEX, _render, encode_record, for_template, template_for, template_source
from .errors import DatasetError

BATCH = 1024  # records tokenised per call: large enough for the tokenizer's threads, small in memory
# Probe texts no real conversation contains (private-use characters).
PROBE_USER, PROBE_REPLY = "\ue000probe question\ue001", "\ue002probe reply\ue003"

Encoded = tuple[list[int], list[int]]


@dataclass(frozen=True)
class TemplateShape:
    """What a chat template writes around an assistant turn's content (see the module docstring)."""

    generation: str
    closing: str


def probe_shape(tokenizer: Any, template: str | None) -> TemplateShape | None:
    """The template's shape, or None when it has no usable one (then every record takes encode_record)."""
    user = {"role": "user", "content": PROBE_USER}
    reply = {"role": "assistant", "content": PROBE_REPLY}
    try:
        asked = _render(tokenizer, [user], template, False, 0)
        prompt = _render(tokenizer, [user], template, True, 0)
        answered = _render(tokenizer, [user, reply], template, False, 0)
    except DatasetError:
        return None
    if not prompt.startswith(asked) or not answered.startswith(prompt + PROBE_REPLY):
        return None
    generation = prompt[len(asked) :]
    # Without a generation prompt, encode_record learns the turn's header too: not this shape.
    return TemplateShape(generation, answered[len(prompt) + len(PROBE_REPLY) :]) if generation else None


@contextlib.contextmanager
def parallel_tokenizer() -> Iterator[None]:
    """Lets the fast tokenizer use every core for one batch call.

    The trainer sets TOKENIZERS_PARALLELISM=false before its data loader forks workers (a fork
    after parallel use prints a warning in each); it is set back when the call is done.
    """
    before = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TOKENIZERS_PARALLELISM", None)
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = before


class Encoder:
    """encode_record for many records at once; ``encode`` gives the same ids and labels."""

    def __init__(self, tokenizer: Any, train_on_inputs: bool = False) -> None:
        self.tokenizer, self.train_on_inputs = tokenizer, train_on_inputs
        self.template = template_for(tokenizer)
        self.source = template_source(tokenizer, self.template)
        self.fast = bool(getattr(tokenizer, "is_fast", False))
        self.shape = probe_shape(tokenizer, self.template) if self.fast and not train_on_inputs else None
        self.eos = getattr(tokenizer, "eos_token_id", None)
        self._blank: dict[int, bool] = {}  # token id -> decodes to whitespace only
        self.fast_records = 0  # records encoded from the one render
        self.fallbacks = 0  # records encode_record encoded (the shape did not describe them)

    def encode(self, records: Sequence[dict[str, Any]], first_index: int = 1) -> list[Encoded]:
        """(ids, labels) of each record, uncut; ``first_index`` is the first record's 1-based row.

        Raises encode_record's DatasetError for the first record it refuses.
        """
        if not self.fast:
            self.fallbacks += len(records)
            return [self._one(record, first_index + at) for at, record in enumerate(records)]
        plans: list[tuple[str, Any] | None] = []  # per record: its text and what to label, or None for encode_record
        renders = self._renders(records)
        for at, record in enumerate(records):
            try:
                plans.append(self._plan(record, first_index + at, renders[at]))
            except DatasetError:
                # encode_record's order: an earlier record it refuses is named first.
                self.encode(records[:at], first_index)
                raise
        texts = [plan[0] for plan in plans if plan is not None]
        tokenised = iter(self._tokenize(texts, [plan[1] == "text" for plan in plans if plan is not None]))
        results: list[Encoded] = []
        for at, (record, plan) in enumerate(zip(records, plans, strict=True)):
            encoded = self._finish(*next(tokenised), plan[1]) if plan is not None else None
            if encoded is None:
                self.fallbacks += 1
                encoded = self._one(record, first_index + at)
            else:
                self.fast_records += 1
            results.append(encoded)
        return results

    def _one(self, record: dict[str, Any], index: int) -> Encoded:
        return encode_record(self.tokenizer, record, self.template, self.train_on_inputs, index)

    def _tokenize(self, texts: list[str], special: list[bool]) -> list[tuple[list[int], Any]]:
        """Each text's ids and encoding (for char_to_token), as tokenizer(text) would give them:
        special tokens added to plain text only, as encode_record does."""
        found: list[Any] = [None] * len(texts)
        for add in (False, True):
            indices = [index for index, wanted in enumerate(special) if wanted == add]
            if not indices:
                continue
            with parallel_tokenizer():
                batch = self.tokenizer([texts[index] for index in indices], add_special_tokens=add)
            for position, index in enumerate(indices):
                found[index] = (batch["input_ids"][position], batch.encodings[position])
        return found

    def _renders(self, records: Sequence[dict[str, Any]]) -> list[tuple[list[dict[str, Any]], str] | None]:
        """Each conversation's messages as the template takes them and its render, all of the batch in
        one call of the template: called once a record, the tokenizer's set-up of the call (its
        special tokens, the template's lookup) took as long as the render. None for a record with
        tools or without messages, and for every record when one fails to render: then each is
        rendered alone by _plan, which names the record the template refuses."""
        chosen = [
            at
            for at, record in enumerate(records)
            if isinstance(record.get("messages"), list) and record["messages"] and record.get("tools") is None
        ]
        found: list[tuple[list[dict[str, Any]], str] | None] = [None] * len(records)
        if not chosen or (self.shape is None and not self.train_on_inputs):
            return found  # without the shape every conversation takes encode_record
        messages = [for_template(records[at]["messages"], self.source) for at in chosen]
        try:
            texts = self.tokenizer.apply_chat_template(messages, chat_template=self.template, tokenize=False, add_generation_prompt=False)
        except Exception:  # noqa: BLE001 - one record the template refuses: _plan renders each alone
            return found
        for at, prepared, text in zip(chosen, messages, texts, strict=True):
            found[at] = (prepared, text)
        return found

    def _plan(self, record: dict[str, Any], index: int, rendered: tuple[list[dict[str, Any]], str] | None = None) -> tuple[str, Any] | None:
        """(the text to tokenise, what to label): "text", "all", or the learned character spans.
        ``rendered``: the record's messages and render from _renders, when it made them."""
        if "text" in record and "messages" not in record:
            text = record["text"]
            return (text, "text") if isinstance(text, str) else None
        if "messages" not in record:
            return None
        messages = rendered[0] if rendered else for_template(record["messages"], self.source)
        if self.train_on_inputs:
            text = rendered[1] if rendered else _render(self.tokenizer, messages, self.template, False, index, record.get("tools"))
            return text, "all"
        if self.shape is None or any(not self._plain(message) for message in messages):
            return None
        if messages and messages[0]["role"] == "assistant":
            return None  # encode_record learns an opening turn's header (no empty render to start from)
        text = rendered[1] if rendered else _render(self.tokenizer, messages, self.template, False, index, record.get("tools"))
        spans, cursor = [], 0
        for message, original in zip(messages, record["messages"], strict=True):
            if message["role"] != "assistant":
                continue
            turn = self.shape.generation + message["content"] + self.shape.closing
            start = text.find(turn, cursor)
            if start < 0:
                return None
            cursor = start + len(turn)
            if original.get("weight", 1) != 0:
                spans.append((start + len(self.shape.generation), cursor))
        return text, spans

    @staticmethod
    def _plain(message: dict[str, Any]) -> bool:
        """A message the probed shape describes: string content, no tool calls or reasoning rendered."""
        return isinstance(message.get("content"), str) and "tool_calls" not in message and "reasoning_content" not in message

    def _finish(self, ids: list[int], encoding: Any, kind: Any) -> Encoded | None:
        ids = list(ids)
        if kind == "text":
            if self.eos is not None and (not ids or ids[-1] != self.eos):
                ids.append(self.eos)
            return ids, list(ids)
        if kind == "all":
            return ids, list(ids)
        labels = [IGNORE_INDEX] * len(ids)
        for start_char, end_char in kind:
            start, last = encoding.char_to_token(start_char), encoding.char_to_token(end_char - 1)
            if start is None or last is None:
                return None  # a character no token covers: encode_record's offsets decide
            start, end = self._trim(ids, start, last + 1)
            labels[start:end] = ids[start:end]
        return ids, labels

    def _trim(self, ids: list[int], start: int, end: int) -> tuple[int, int]:
        """encode_record's trim: whitespace-only tokens closing a turn are not learned."""
        while end > start:
            token = ids[end - 1]
            blank = self._blank.get(token)
            if blank is None:
                piece = self.tokenizer.decode([token])
                blank = self._blank[token] = bool(piece and piece.isspace())
            if not blank:
                break
            end -= 1
        return start, end
