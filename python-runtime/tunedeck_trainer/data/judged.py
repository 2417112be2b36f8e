"""Rows that judge answers: preference pairs (DPO) and unpaired feedback (KTO), normalised to
``{"prompt": [messages], "chosen": str, "rejected": str}`` and ``{"prompt": [messages],
"completion": str, "label": bool}``; and NORMALISERS, every format's normaliser by name.

Preference pairs come as prompt + chosen + rejected (strings, ShareGPT turns or message lists),
ShareGPT conversations + chosen/rejected turns, chosen/rejected as two whole conversations, or
``chosen_messages`` / ``rejected_messages`` (LLaMA-Factory's pair layout), with or without a
shared prompt. Feedback comes as prompt + completion + label, or as any conversation (messages,
conversations, Alpaca columns) + a true/false ``label`` or ``kto_tag`` (LLaMA-Factory's KTO
layout): the last assistant turn is the completion the label judges, the turns before it the prompt.
Either kind keeps the row's ``tools`` column and the tool calls in its prompt, for the template.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import RowProblem, describe
from .formats import (
    FEEDBACK_LABELS,
    Message,
    _check_conversation,
    _list,
    _string,
    _turns,
    alpaca,
    feedback_label,
    openai,
    prompt_completion,
    sharegpt,
    sharegpt_messages,
    text,
)
from .messages import openai_messages
from .tool_calls import tools_column


def _answer(row: dict[str, Any], name: str) -> str:
    """chosen / rejected: a string, a ShareGPT turn {from, value}, or messages ending with the reply."""
    if name not in row:
        raise RowProblem("missing (a preference row needs prompt, chosen and rejected)", name)
    value = row[name]
    if isinstance(value, dict):
        if not isinstance(value.get("value"), str):
            raise RowProblem(f"expected a string, got {describe(value.get('value'))}", f"{name}.value")
        return value["value"]
    if isinstance(value, list):
        return _reply(openai_messages(value, name), name)
    return _string(row, name) or ""


def _with_tools(record: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """The record with the row's tool definitions (a tools column), which the template renders with the prompt as
    it does for an SFT row."""
    tools = tools_column(row)
    return {**record, "tools": tools} if tools else record


def _reply(messages: list[Message], field: str) -> str:
    """The text of the conversation's last turn, which must be the assistant's words."""
    if not messages or messages[-1]["role"] != "assistant":
        raise RowProblem("expected the messages to end with an assistant reply", field)
    if messages[-1].get("tool_calls") and not messages[-1]["content"].strip():
        raise RowProblem("ends with a tool call, not words; the judged reply must be the assistant's text", field)
    return messages[-1]["content"]


def _with_system(row: dict[str, Any], prompt: list[Message]) -> list[Message]:
    system = _string(row, "system", required=False, empty_ok=True)
    if system and prompt[0]["role"] != "system":
        prompt.insert(0, {"role": "system", "content": system})
    return prompt


def _pair_of_conversations(row: dict[str, Any]) -> dict[str, Any]:
    """chosen_messages + rejected_messages, each a whole conversation (or only the replies when a
    prompt column gives the shared prompt)."""
    chosen = openai_messages(_list(row, "chosen_messages") or [], "chosen_messages")
    rejected = openai_messages(_list(row, "rejected_messages") or [], "rejected_messages")
    answers = _reply(chosen, "chosen_messages"), _reply(rejected, "rejected_messages")

    def plain(messages: list[Message]) -> list[dict[str, Any]]:
        return [{key: message[key] for key in ("role", "content")} for message in messages]

    if plain(chosen[:-1]) != plain(rejected[:-1]):
        raise RowProblem(
            "differs from chosen_messages before the last reply; a pair must share its prompt and differ only in the final assistant reply",
            "rejected_messages",
        )
    shared = _turns(row, "prompt") if "prompt" in row else []
    # The shared prompt may also be written again at the start of each conversation: not twice.
    prompt = chosen[:-1] if plain(chosen[: len(shared)]) == plain(shared) else shared + chosen[:-1]
    _check_conversation(prompt, "prompt" if "prompt" in row else "chosen_messages", need_assistant=False)
    return _with_tools({"prompt": _with_system(row, prompt), "chosen": answers[0], "rejected": answers[1]}, row)


def preference(row: dict[str, Any]) -> dict[str, Any]:
    """A preference pair in any of the layouts in this module's docstring."""
    if "chosen_messages" in row or "rejected_messages" in row:
        return _pair_of_conversations(row)
    if "conversations" in row:
        prompt = sharegpt_messages(_list(row, "conversations") or [], "conversations")
        field = "conversations"
    elif "prompt" in row:
        prompt, field = _turns(row, "prompt"), "prompt"
    elif isinstance(row.get("chosen"), list):  # implicit prompt: chosen holds the whole conversation
        prompt, field = openai_messages(row["chosen"], "chosen")[:-1], "chosen"
    else:
        raise RowProblem("missing (a preference row needs prompt, chosen and rejected)", "prompt")
    _check_conversation(prompt, field, need_assistant=False)
    return _with_tools({"prompt": _with_system(row, prompt), "chosen": _answer(row, "chosen"), "rejected": _answer(row, "rejected")}, row)


def _judged_conversation(row: dict[str, Any]) -> tuple[list[Message], str, str]:
    """(prompt, completion, field) of a conversation row whose last assistant turn the label judges."""
    plain = {key: value for key, value in row.items() if key not in FEEDBACK_LABELS}
    if "messages" in plain and "conversations" not in plain:
        first = plain["messages"][0] if isinstance(plain["messages"], list) and plain["messages"] else None
        record, field = (sharegpt(plain) if isinstance(first, dict) and "from" in first else openai(plain)), "messages"
    elif "conversations" in plain:
        record, field = sharegpt(plain), "conversations"
    elif "instruction" in plain:
        record, field = alpaca(plain), "output"
    else:
        raise RowProblem("missing (a feedback row needs prompt, completion and label, or messages and label)", "prompt")
    messages = record["messages"]
    completion = _reply(messages, field)
    prompt = messages[:-1]
    if not any(message["role"] != "system" for message in prompt):
        raise RowProblem("has only the judged reply; a feedback conversation needs the turns it answers", field)
    return prompt, completion, field


def feedback(row: dict[str, Any]) -> dict[str, Any]:
    """prompt + completion + label, or a conversation + label (see the module's docstring)."""
    label = feedback_label(row)
    if label is None:
        name = next((name for name in FEEDBACK_LABELS if name in row), "label")
        raise RowProblem(f"expected true (desirable) or false (undesirable), got {describe(row.get(name))}", name)
    if "prompt" not in row:
        prompt, completion, _ = _judged_conversation(row)
        return _with_tools({"prompt": prompt, "completion": completion, "label": label}, row)
    prompt = _turns(row, "prompt")
    _check_conversation(prompt, "prompt", need_assistant=False)
    if "completion" not in row:
        raise RowProblem("missing (a feedback row needs prompt, completion and label)", "completion")
    return _with_tools({"prompt": _with_system(row, prompt), "completion": _answer(row, "completion"), "label": label}, row)


NORMALISERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "alpaca": alpaca,
    "sharegpt": sharegpt,
    "openai": openai,
    "prompt_completion": prompt_completion,
    "text": text,
    "preference": preference,
    "feedback": feedback,
}
