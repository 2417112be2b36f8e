"""Chat messages as the files give them, normalised: roles, content (a string or typed parts,
with reasoning), tool calls, tool results and per-message loss weights. Used by formats.py."""

from __future__ import annotations

import json
from typing import Any

from .errors import RowProblem, describe

OPENAI_ROLES = {
    "system": "system", "developer": "system", "user": "user", "assistant": "assistant",
    "tool": "tool", "function": "tool",
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


def _content(content: Any, where: str) -> tuple[str, str]:
    """(text, reasoning) of a message's content: a string, or a list of typed parts.

    Text parts join into the text; reasoning parts ("reasoning" or "thinking") into the
    reasoning, which reaches the chat template as ``reasoning_content``.
    """
    if isinstance(content, str):
        return content, ""
    if isinstance(content, list):
        texts, thoughts = [], []
        for index, part in enumerate(content):
            kind = part.get("type", "text") if isinstance(part, dict) else None
            if kind in REASONING_PARTS:
                thoughts.append(_part_text(part, f"{where}[{index}]"))
            elif kind == "text":
                texts.append(_part_text(part, f"{where}[{index}]"))
            else:
                raise RowProblem(f"only text and reasoning content parts are supported, got type {json.dumps(kind)}",
                                 f"{where}[{index}].type")
        return "".join(texts), "".join(thoughts)
    raise RowProblem(f"expected a string, got {describe(content)}", where)


def _weight(item: dict[str, Any], where: str) -> int | None:
    """A message's loss weight: 1 learns from the turn, 0 shows it without training on it."""
    if "weight" not in item or item["weight"] is None:
        return None
    weight = item["weight"]
    if isinstance(weight, bool) or weight not in (0, 1):
        raise RowProblem(f"expected 0 (do not learn this turn) or 1 (learn it), got {describe(weight)}", f"{where}.weight")
    return int(weight)


def _tool_calls(calls: Any, where: str) -> list[dict[str, Any]]:
    """tool_calls as the chat templates take them: [{"type": "function", "function": {name, arguments}}]."""
    if not isinstance(calls, list):
        raise RowProblem(f"expected a list, got {describe(calls)}", f"{where}.tool_calls")
    result = []
    for index, call in enumerate(calls):
        function = call.get("function", call) if isinstance(call, dict) else None
        if not (isinstance(function, dict) and isinstance(function.get("name"), str)):
            raise RowProblem("expected a function call with a name", f"{where}.tool_calls[{index}]")
        arguments = function.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError:
                pass  # kept as the text it is
        entry: dict[str, Any] = {"type": "function", "function": {"name": function["name"], "arguments": arguments}}
        if isinstance(call, dict) and isinstance(call.get("id"), str):
            entry["id"] = call["id"]
        result.append(entry)
    return result


def openai_messages(items: list[Any], field: str, role_key: str = "role", content_key: str = "content",
                    roles: dict[str, str] | None = None) -> list[Message]:
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
        calls = item.get("tool_calls") if role == "assistant" else None
        if not calls and content_key not in item:
            raise RowProblem("missing", f"{where}.{content_key}")
        text, reasoning = _content(item.get(content_key) or "", f"{where}.{content_key}") if calls else \
            _content(item[content_key], f"{where}.{content_key}")
        message: Message = {"role": role, "content": text}
        if calls:
            message["tool_calls"] = _tool_calls(calls, where)
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
    return messages
