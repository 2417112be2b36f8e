"""Tokens of the rows that judge answers (preference pairs, feedback), as DPO, KTO and ORPO train
on them and as the preview shows them: the prompt rendered by the chat template for a reply to
follow, with the row's tools and tool calls as an SFT row's are rendered (encode.for_template),
then the answer's own tokens and eos, which are the learned ones.
"""

from __future__ import annotations

from typing import Any

from .encode import IGNORE_INDEX, for_template, template_source

# How the preview names each side: a preference row's two answers, a feedback row's one.
SIDES = {True: "desirable", False: "undesirable"}


def prompt_budget(max_seq_length: int) -> int:
    """Tokens the prompt may keep (its end): half the sequence, so the answers always have room."""
    return max(1, max_seq_length // 2)


def prompt_ids(tokenizer: Any, record: dict[str, Any], template: str | None) -> list[int]:
    """The prompt's tokens, uncut; raises what the chat template raises for turns it refuses."""
    messages = for_template(record["prompt"], template_source(tokenizer, template))
    text = tokenizer.apply_chat_template(
        messages, chat_template=template, tokenize=False, add_generation_prompt=True, tools=record.get("tools") or None
    )
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def answer_ids(tokenizer: Any, text: str) -> list[int]:
    """An answer's tokens and eos, uncut."""
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    return ids + ([tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else [])


def judged_examples(
    tokenizer: Any, record: dict[str, Any], template: str | None, max_length: int
) -> list[tuple[str, int, dict[str, list[int]]]]:
    """(side, uncut length, {input_ids, labels}) for each answer of a preference ("chosen", "rejected") or
    feedback ("desirable" or "undesirable") record, cut as training cuts it (the prompt's end within
    prompt_budget, then the whole to ``max_length``): the prompt masked, the answer and eos labelled."""
    whole = prompt_ids(tokenizer, record, template)
    prompt = whole[-prompt_budget(max_length) :]
    if "chosen" in record:
        answers = [("chosen", record["chosen"]), ("rejected", record["rejected"])]
    else:
        answers = [(SIDES[bool(record["label"])], record["completion"])]
    examples = []
    for side, text in answers:
        answer = answer_ids(tokenizer, text)
        ids, labels = prompt + answer, [IGNORE_INDEX] * len(prompt) + answer
        examples.append((side, len(whole) + len(answer), {"input_ids": ids[:max_length], "labels": labels[:max_length]}))
    return examples
