"""Suggest a format and a column mapping for a file whose columns have their own names (or none:
a header-less CSV's column_1..n), from the column names and the values in its first rows.

What the Datasets page's "Read as…" editor offers first; the user checks and changes it. Names
are matched to our fields by common synonyms (question -> instruction, response -> output,
kto_tag -> label); columns whose names say nothing are judged by their values: true/false
values are a feedback label, a list of turns is a conversation, and plain text columns in file
order become the prompt and the answer(s).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Our field <- names people give that column (lower case, spaces and dashes as underscores).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "instruction": ("instruction", "question", "query", "ask", "request", "task", "problem", "user", "human"),
    "input": ("input", "context", "input_text", "passage"),
    "output": ("output", "answer", "response", "reply", "target", "solution", "assistant", "gpt", "bot"),
    "system": ("system", "system_prompt", "sys"),
    "prompt": ("prompt", "prompts"),
    "completion": ("completion", "completions", "generation"),
    "chosen": ("chosen", "preferred", "accepted", "better", "good", "winner", "positive"),
    "rejected": ("rejected", "dispreferred", "worse", "bad", "loser", "negative"),
    "label": ("label", "kto_tag", "desirable", "thumbs_up", "is_good", "good_answer", "feedback"),
    "conversations": ("conversations", "conversation", "dialog", "dialogue", "turns", "chat"),
    "text": ("text", "content", "document", "body", "passage_text"),
}


def _key(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _is_flag(values: Sequence[Any]) -> bool:
    """True/false in every sampled value: a feedback label."""

    def flag(value: Any) -> bool:
        return isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in ("true", "false"))

    return bool(values) and all(flag(value) for value in values)


def _is_turns(values: Sequence[Any]) -> bool:
    """A list of {from, value} or {role, content} objects in every sampled value: a conversation."""
    return bool(values) and all(
        isinstance(value, list) and value and all(isinstance(turn, dict) and ({"from", "role"} & set(turn)) for turn in value)
        for value in values
    )


def suggest_reading(columns: Sequence[str], sample: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """{"format": a format or "auto", "columns": {our field: the file's column}} for these columns.

    Only columns whose name is not already our field are mapped; nothing is suggested for a
    column that fits nothing (an id, a score).
    """
    values = {column: [row[column] for row in sample if row.get(column) is not None] for column in columns}
    mapping: dict[str, str] = {}
    unnamed: list[str] = []
    for column in columns:
        key = _key(column)
        field = next((ours for ours, names in SYNONYMS.items() if key in names), None)
        if field == "label" and values[column] and not _is_flag(values[column]):
            field = None  # a "feedback" column of words is no true/false label
        if field is None and _is_flag(values[column]):
            field = "label"
        if field is None and _is_turns(values[column]):
            field = "conversations"
        if field is not None and field not in mapping:
            mapping[field] = column
        elif field is None and values[column] and all(isinstance(value, str) for value in values[column]):
            unnamed.append(column)
    _place_text_columns(mapping, unnamed)
    format = _format_of(mapping)
    if format == "feedback":
        # A feedback row's question and answer are its prompt and completion.
        for ours, theirs in (("instruction", "prompt"), ("output", "completion")):
            if ours in mapping and theirs not in mapping:
                mapping[theirs] = mapping.pop(ours)
    if format == "preference" and "instruction" in mapping and "prompt" not in mapping:
        mapping["prompt"] = mapping.pop("instruction")
    # A column already named as our field needs no mapping entry.
    return {"format": format, "columns": {ours: theirs for ours, theirs in mapping.items() if ours != theirs}}


def _place_text_columns(mapping: dict[str, str], unnamed: list[str]) -> None:
    """Text columns no name explains, in file order: the prompt first, then the answer(s)."""
    if "conversations" in mapping or not unnamed:
        return
    if "label" in mapping:
        order = ("prompt", "completion")
    elif "chosen" in mapping or "rejected" in mapping:
        order = ("prompt", "chosen", "rejected")
    elif len(unnamed) == 1 and not any(field in mapping for field in ("instruction", "output", "prompt")):
        order = ("text",)
    else:
        order = ("instruction", "output") if len(unnamed) <= 2 else ("instruction", "input", "output")
    free = [field for field in order if field not in mapping and not (field == "instruction" and "prompt" in mapping)]
    for field, column in zip(free, unnamed, strict=False):  # the shorter decides
        mapping[field] = column


def _format_of(mapping: dict[str, str]) -> str:
    if "label" in mapping:
        return "feedback"
    if "chosen" in mapping and "rejected" in mapping:
        return "preference"
    if "conversations" in mapping:
        return "sharegpt"
    if "instruction" in mapping and "output" in mapping:
        return "alpaca"
    if "prompt" in mapping and "completion" in mapping:
        return "prompt_completion"
    if "text" in mapping:
        return "text"
    return "auto"
