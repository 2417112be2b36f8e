"""Tool calls and tool definitions as the files give them, made into what chat templates take.

A call is ``{"type": "function", "function": {"name": str, "arguments": object or text}}``
(transformers' chat-template convention, which Qwen2.5, Llama 3.1+ and Mistral templates read).
Files give them as OpenAI ``tool_calls``, as a legacy OpenAI ``function_call`` object, as a
ShareGPT ``function_call`` turn whose value is ``{"name", "arguments"}`` JSON (or a list of
them), or as LLaMA-Factory's typed content part ``{"type": "tool_call", "value": JSON}``.
Tool definitions (the ``tools`` column) may be JSON text, wrapped ``{"type": "function",
"function": {...}}`` or bare ``{"name", "description", "parameters"}``; they become wrapped.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import RowProblem, describe

ToolCall = dict[str, Any]


def _json(value: Any, where: str) -> Any:
    """``value`` parsed when it is JSON text, else as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise RowProblem(
            f'is not valid JSON ({error.msg} at column {error.colno}); expected a tool call {{"name": ..., "arguments": {{...}}}}', where
        ) from None


def tool_call(call: Any, where: str) -> ToolCall:
    """One call: {"function": {name, arguments}} (OpenAI, with id and type) or {name, arguments}."""
    function = call.get("function", call) if isinstance(call, dict) else None
    if not (isinstance(function, dict) and isinstance(function.get("name"), str) and function["name"].strip()):
        raise RowProblem(f"expected a function call with a name, got {describe(call)}", where)
    arguments = function.get("arguments", function.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            pass  # kept as the text it is
    entry: ToolCall = {"type": "function", "function": {"name": function["name"], "arguments": arguments}}
    if isinstance(call, dict) and isinstance(call.get("id"), str):
        entry["id"] = call["id"]
    return entry


def tool_calls(value: Any, where: str) -> list[ToolCall]:
    """Calls from a list, one call, or JSON text holding either."""
    value = _json(value, where)
    calls = value if isinstance(value, list) else [value]
    if not calls:
        raise RowProblem("is an empty list; expected at least one tool call", where)
    return [tool_call(call, f"{where}[{index}]" if isinstance(value, list) else where) for index, call in enumerate(calls)]


def tools_column(row: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The row's tool definitions, wrapped as {"type": "function", "function": {...}}; None when absent."""
    value = row.get("tools")
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise RowProblem(f"is not valid JSON ({error.msg})", "tools") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(tool, dict) for tool in value):
        raise RowProblem(f"expected a list of tool definitions, got {describe(value)}", "tools")
    wrapped = []
    for index, tool in enumerate(value):
        if "function" in tool and isinstance(tool["function"], dict):
            wrapped.append({"type": tool.get("type", "function"), **tool})
        elif isinstance(tool.get("name"), str):
            wrapped.append({"type": "function", "function": tool})
        else:
            raise RowProblem("expected a tool definition with a name (or a function with one)", f"tools[{index}]")
    return wrapped or None


def text_of(value: Any) -> str:
    """A tool result as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
