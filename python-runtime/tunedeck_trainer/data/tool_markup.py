"""Whether a model's chat template shows a row's tools and tool calls at all.

Templates that know tools (Qwen2.5, Llama 3.1+, Mistral) write the ``tools`` definitions and each
structured call in their own markup. Others (the self-test's ChatML) render a row the same with
and without them: the definitions are then lost, and the calls reach the model only as the
JSON text encode.for_template writes. The preview counts such rows so the form can warn.
"""

from __future__ import annotations

from typing import Any


def loses_tool_markup(tokenizer: Any, record: dict[str, Any], template: str | None) -> bool:
    """True when the record has tools or tool calls and the template renders it the same without them."""
    messages = record.get("messages")
    if not messages:
        return False
    tools = record.get("tools") or None
    has_calls = any(message.get("tool_calls") for message in messages)
    if not tools and not has_calls:
        return False
    given = [{key: value for key, value in message.items() if key != "weight"} for message in messages]

    def render(rows: list[dict[str, Any]], with_tools: list[Any] | None) -> str:
        return tokenizer.apply_chat_template(rows, chat_template=template, tokenize=False, tools=with_tools)

    try:
        whole = render(given, tools)
        if tools and whole == render(given, None):
            return True
        if has_calls:
            without_calls = [{key: value for key, value in message.items() if key != "tool_calls"} for message in given]
            return whole == render(without_calls, tools)
    except Exception:  # a template that refuses the row: encoding reports it with the row's number
        return False
    return False
