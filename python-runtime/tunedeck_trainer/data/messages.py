"""Chat messages as the files give them, normalised: roles, content (a string or typed parts,
with reasoning), tool calls, tool results and per-message loss weights. Used by formats.py."""

from __future__ import annotations

import json
from typing import Any

from .errors import RowProblem, describe
from .tool_calls import text_of, tool_call, tool_calls

OPENAI_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
}

Message = dict[str, Any]


REASONING_PARTS = ("reasoning", "thinking")


def _part_text(part: Any, where: str) -> str:
    """A content part's text: {"type": "text", "text": ...} or {"type": "text", "value": ...}."""
    if isinstance(part, dict):
        for key in ("text", "value", "reasoning", "thinking"):
            if isinstance(part.get(key), str):
                return part[key]
    raise RowProblem(f'expected {{"type": "text", "text": ...}}, got {describe(part)}', where)


def _content(content: Any, where: str) -> tuple[str, str, list[dict[str, Any]]]:
    """(text, reasoning, tool calls) of a message's content: a string, or a list of typed parts.

    Text parts join into the text; reasoning parts ("reasoning" or "thinking") into the
    reasoning, which reaches the chat template as ``reasoning_content``; LLaMA-Factory's
    ``tool_call`` parts (``value``: {"name", "arguments"} JSON) become structured calls and
    its ``tool_response`` parts the text of a tool result.
    """
    if isinstance(content, str):
        return content, "", []
    if isinstance(content, list):
        texts, thoughts, calls = [], [], []
        for index, part in enumerate(content):
            kind = part.get("type", "text") if isinstance(part, dict) else None
            at = f"{where}[{index}]"
            if kind in REASONING_PARTS:
                thoughts.append(_part_text(part, at))
            elif kind in ("text", "tool_response"):
                value = part.get("text", part.get("value")) if isinstance(part, dict) else None
                texts.append(text_of(value) if kind == "tool_response" and value is not None else _part_text(part, at))
            elif kind == "tool_call":
                value = part.get("value", part.get("tool_call", part.get("function")))
                calls += tool_calls(value, f"{at}.value")
            else:
                raise RowProblem(
                    f"only text, reasoning, tool_call and tool_response content parts are supported, got type {json.dumps(kind)}",
                    f"{at}.type",
                )
        return "".join(texts), "".join(thoughts), calls
    raise RowProblem(f"expected a string, got {describe(content)}", where)


def _only_tool_responses(content: Any) -> bool:
    return (
        isinstance(content, list)
        and bool(content)
        and all(isinstance(part, dict) and part.get("type") == "tool_response" for part in content)
    )


def _weight(item: dict[str, Any], where: str) -> int | None:
    """A message's loss weight: 1 learns from the turn, 0 shows it without training on it."""
    key = "weight" if item.get("weight") is not None else "loss_weight"  # loss_weight: LLaMA-Factory's name
    weight = item.get(key)
    if weight is None:
        return None
    if isinstance(weight, bool) or weight not in (0, 1):
        raise RowProblem(f"expected 0 (do not learn this turn) or 1 (learn it), got {describe(weight)}", f"{where}.{key}")
    return int(weight)


def openai_messages(
    items: list[Any], field: str, role_key: str = "role", content_key: str = "content", roles: dict[str, str] | None = None
) -> list[Message]:
    """Chat messages ({role, content}, or other keys and role tags given by a column mapping).

    Kept structured: an assistant's ``tool_calls``, a tool message's ``tool_call_id`` and
    ``name``, reasoning parts as ``reasoning_content``, and a loss ``weight`` (0 or 1).
    """
    known_roles = roles or OPENAI_ROLES
    messages: list[Message] = []
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise RowProblem(f"expected an object with {role_key} and {content_key}, got {describe(item)}", where)
        if role_key not in item:
            raise RowProblem("missing", f"{where}.{role_key}")
        tag = item[role_key]
        role = known_roles.get(tag.strip().lower() if roles else tag) if isinstance(tag, str) else None
        if role is None:
            known = ", ".join(known_roles)
            raise RowProblem(f"unknown role {json.dumps(tag)}; expected one of {known}", f"{where}.{role_key}")
        content_where = f"{where}.{content_key}"
        if isinstance(tag, str) and tag.strip().lower() == "function_call":
            # A ShareGPT-style call turn under other keys: its content is the call's JSON.
            if content_key not in item:
                raise RowProblem("missing", content_where)
            message: Message = {"role": "assistant", "content": "", "tool_calls": tool_calls(item[content_key], content_where)}
        else:
            given = item.get("tool_calls") if role == "assistant" else None
            if role == "assistant" and not given and isinstance(item.get("function_call"), dict):
                given = [item["function_call"]]  # OpenAI's older single-call field
            if not given and content_key not in item:
                raise RowProblem("missing", content_where)
            if role == "user" and _only_tool_responses(item.get(content_key)):
                role = "tool"
            text, reasoning, calls = _content(item.get(content_key) or "", content_where)
            if given:
                calls = (
                    [tool_call(call, f"{where}.tool_calls[{at}]") for at, call in enumerate(given)] + calls
                    if isinstance(given, list)
                    else tool_calls(given, f"{where}.tool_calls")
                )
            message = {"role": role, "content": text}
            if calls and role == "assistant":
                message["tool_calls"] = calls
            elif calls:
                raise RowProblem(f"a {role} message cannot hold tool calls; only the assistant calls tools", content_where)
            reasoning = reasoning or (item.get("reasoning_content") if isinstance(item.get("reasoning_content"), str) else "")
            if reasoning and role == "assistant":
                message["reasoning_content"] = reasoning
            if role == "tool":
                for key in ("tool_call_id", "name"):
                    if isinstance(item.get(key), str):
                        message[key] = item[key]
        weight = _weight(item, where)
        if weight is not None and role == "assistant":
            message["weight"] = weight
        messages.append(message)
    return join_tool_turns(messages)


def join_tool_turns(messages: list[Message]) -> list[Message]:
    """Calls written as their own turn right after the assistant's words join that turn (one
    assistant message with content and tool_calls, as templates expect); a tool result takes
    the function's name when one call preceded it."""
    joined: list[Message] = []
    for message in messages:
        previous = joined[-1] if joined else None
        if (
            previous is not None
            and message.get("tool_calls")
            and not message.get("content")
            and previous["role"] == "assistant"
            and not previous.get("tool_calls")
            and previous.get("content")
            and previous.get("weight") == message.get("weight")
        ):
            previous["tool_calls"] = message["tool_calls"]
            continue
        if message["role"] == "tool" and "name" not in message and previous is not None:
            calls = previous.get("tool_calls") or []
            if previous["role"] == "assistant" and len(calls) == 1:
                message["name"] = calls[0]["function"]["name"]
        joined.append(message)
    return joined
