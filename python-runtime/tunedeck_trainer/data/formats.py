"""Row formats: detect which one a file uses and normalise each row to a training record.

Records are ``{"messages": [{"role", "content"}, ...]}`` (SFT), ``{"text": str}``,
``{"prompt": [messages], "chosen": str, "rejected": str}`` (preference, for DPO) or
``{"prompt": [messages], "completion": str, "label": bool}`` (feedback, for KTO: TRL's unpaired
preference shape, one completion marked desirable or not). A row that does not
fit raises RowProblem naming the field; the loader adds the file and row number.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..contract import DATASET_FORMATS, FIELDS, TAGS  # noqa: F401 - FIELDS and TAGS are read through this module
from .errors import RowProblem, describe
from .messages import OPENAI_ROLES, Message, join_tool_turns, openai_messages
from .tool_calls import text_of, tool_calls, tools_column

# The formats (contract.py, from electron/shared/methods.ts), "auto" aside; detection breaks ties in this order.
FORMATS = tuple(name for name in DATASET_FORMATS if name != "auto")
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
    "function_call": "assistant",
    "observation": "tool",
}
FEEDBACK_LABELS = ("label", "kto_tag")  # kto_tag: LLaMA-Factory's name for the KTO label column
CONVERSATION_KEYS = ("messages", "conversations", "prompt", "instruction")


def feedback_label(row: dict[str, Any]) -> bool | None:
    """The row's desirable (True) / undesirable (False) mark: a boolean label or kto_tag, or the text
    true / false (CSV cells); None when it has none."""
    for name in FEEDBACK_LABELS:
        value = row.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    return None


def row_format(row: dict[str, Any]) -> str | None:
    """The format a single row's keys suggest, or None."""
    if feedback_label(row) is not None and any(key in row for key in CONVERSATION_KEYS):
        # A boolean label marks unpaired feedback: such rows must never train as plain SFT.
        return "feedback"
    if any(key in row for key in ("chosen", "rejected", "chosen_messages", "rejected_messages")):
        return "preference"
    if "conversations" in row:
        return "sharegpt"
    if "messages" in row:
        first = row["messages"][0] if isinstance(row["messages"], list) and row["messages"] else None
        return "sharegpt" if isinstance(first, dict) and "from" in first else "openai"
    if "instruction" in row:
        return "alpaca"
    if "prompt" in row and "completion" in row:
        return "prompt_completion"
    if "text" in row:
        return "text"
    return None


def detect_format(rows: list[dict[str, Any]]) -> str | None:
    """The format most of ``rows`` (the file's first object rows) suggest; ties go to FORMATS order."""
    votes = Counter(found for found in map(row_format, rows) if found)
    if not votes:
        return None
    return max(votes, key=lambda name: (votes[name], -FORMATS.index(name)))


# -- field helpers ----------------------------------------------------------------------------


def _string(row: dict[str, Any], name: str, required: bool = True, empty_ok: bool = False) -> str | None:
    """A string field; a missing or null optional field gives None."""
    if name not in row or (row[name] is None and not required):
        if required:
            raise RowProblem("missing", name)
        return None
    value = row[name]
    if not isinstance(value, str):
        raise RowProblem(f"expected a string, got {describe(value)}", name)
    if not empty_ok and not value.strip():
        raise RowProblem("is empty; expected text", name)
    return value


def _list(row: dict[str, Any], name: str, required: bool = True) -> list[Any] | None:
    if name not in row or (row[name] is None and not required):
        if required:
            raise RowProblem("missing", name)
        return None
    value = row[name]
    if not isinstance(value, list):
        raise RowProblem(f"expected a list, got {describe(value)}", name)
    return value


def _check_conversation(messages: list[Message], field: str, need_assistant: bool = True) -> None:
    if not messages:
        raise RowProblem("the conversation is empty", field)
    for index, message in enumerate(messages):
        if message["role"] == "system" and index > 0:
            raise RowProblem("a system message is only allowed first", f"{field}[{index}]")
    if need_assistant and not any(message["role"] == "assistant" for message in messages):
        raise RowProblem("the conversation has no assistant turn, so there is nothing to learn from", field)


# -- conversations ----------------------------------------------------------------------------


def sharegpt_messages(turns: list[Any], field: str) -> list[Message]:
    """ShareGPT turns ({from, value}) as messages; a function_call turn -> the assistant's structured
    tool_calls, observation -> a tool message."""
    messages: list[Message] = []
    for index, turn in enumerate(turns):
        where = f"{field}[{index}]"
        if not isinstance(turn, dict):
            raise RowProblem(f"expected an object with from and value, got {describe(turn)}", where)
        if "from" not in turn:
            raise RowProblem("missing", f"{where}.from")
        speaker = turn["from"]
        if not isinstance(speaker, str):
            raise RowProblem(f"expected a string, got {describe(speaker)}", f"{where}.from")
        role = SHAREGPT_ROLES.get(speaker.strip().lower())
        if role is None:
            known = ", ".join(SHAREGPT_ROLES)
            raise RowProblem(f'unknown role "{speaker}"; expected one of {known}', f"{where}.from")
        if "value" not in turn:
            raise RowProblem("missing", f"{where}.value")
        value = turn["value"]
        if speaker.strip().lower() == "function_call":
            messages.append({"role": "assistant", "content": "", "tool_calls": tool_calls(value, f"{where}.value")})
            continue
        if role == "tool" and isinstance(value, (dict, list)):
            value = text_of(value)
        if not isinstance(value, str):
            raise RowProblem(f"expected a string, got {describe(value)}", f"{where}.value")
        messages.append({"role": role, "content": value})
    return join_tool_turns(messages)


# -- one normaliser per format ----------------------------------------------------------------


def alpaca(row: dict[str, Any]) -> dict[str, Any]:
    """instruction, input (optional), output, system (optional), history ([[user, assistant], ...])."""
    not_feedback(row)
    instruction = _string(row, "instruction", empty_ok=True) or ""
    extra = _string(row, "input", required=False, empty_ok=True) or ""
    output = _string(row, "output")
    prompt = "\n".join(part for part in (instruction, extra) if part)
    if not prompt.strip():
        raise RowProblem("is empty (and so is input); expected the instruction text", "instruction")
    messages: list[Message] = []
    system = _string(row, "system", required=False, empty_ok=True)
    if system:
        messages.append({"role": "system", "content": system})
    for index, pair in enumerate(_list(row, "history", required=False) or []):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(text, str) for text in pair)):
            raise RowProblem(f"expected a [user, assistant] pair of strings, got {describe(pair)}", f"history[{index}]")
        messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": output or ""}]
    return {"messages": messages}


def _with_tools(record: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    tools = tools_column(row)
    if tools:
        record["tools"] = tools
    return record


def sharegpt(row: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, Any]:
    """conversations: [{from, value}] or [{role, content}], optional top-level system and tools.

    ``tags`` (from the column mapping) name other keys and role tags in the turns:
    role_tag, content_tag, user_tag, assistant_tag, system_tag, tool_tag.
    """
    not_feedback(row)
    tags = tags or {}
    field = "conversations" if "conversations" in row or "messages" not in row else "messages"
    turns = _list(row, field) or []
    first = turns[0] if turns and isinstance(turns[0], dict) else {}
    role_key = tags.get("role_tag") or ("role" if "role" in first and "from" not in first else "from")
    content_key = tags.get("content_tag") or ("content" if role_key == "role" else "value")
    roles = {**{name.lower(): role for name, role in SHAREGPT_ROLES.items()}, **OPENAI_ROLES}
    for tag, role in (("user_tag", "user"), ("assistant_tag", "assistant"), ("system_tag", "system"), ("tool_tag", "tool")):
        if tags.get(tag):
            roles[tags[tag].strip().lower()] = role
    if role_key == "from" and content_key == "value" and not any(tags.get(tag) for tag in TAGS):
        messages = sharegpt_messages(turns, field)
    else:
        messages = openai_messages(turns, field, role_key, content_key, roles)
    system = _string(row, "system", required=False, empty_ok=True)
    if system and not (messages and messages[0]["role"] == "system"):
        messages.insert(0, {"role": "system", "content": system})
    _check_conversation(messages, field)
    return _with_tools({"messages": messages}, row)


def openai(row: dict[str, Any]) -> dict[str, Any]:
    """messages: [{role, content}], with tool_calls, role tool, and an optional tools column."""
    not_feedback(row)
    messages = openai_messages(_list(row, "messages") or [], "messages")
    _check_conversation(messages, "messages")
    return _with_tools({"messages": messages}, row)


def _turns(row: dict[str, Any], name: str) -> list[Message]:
    """A prompt or completion given as a string (one message) or as a message list."""
    value = row.get(name)
    if isinstance(value, list):
        return openai_messages(value, name)
    role = "assistant" if name in ("completion", "chosen", "rejected") else "user"
    return [{"role": role, "content": _string(row, name) or ""}]


def not_feedback(row: dict[str, Any]) -> None:
    """Refuses a row with a true/false label: feedback marked undesirable must never train as
    something to imitate."""
    if feedback_label(row) is not None:
        name = next(name for name in FEEDBACK_LABELS if name in row and feedback_label({name: row[name]}) is not None)
        raise RowProblem(
            'is true or false, which marks a feedback row for method "kto", not an SFT example; '
            'set dataset.format to "feedback" (or auto) and method to "kto", or drop the column',
            name,
        )


def prompt_completion(row: dict[str, Any]) -> dict[str, Any]:
    """prompt -> user, completion -> assistant (either may also be a message list)."""
    not_feedback(row)
    messages = _turns(row, "prompt") + _turns(row, "completion")
    _check_conversation(messages, "completion")
    return {"messages": messages}


def text(row: dict[str, Any]) -> dict[str, Any]:
    """{text}."""
    return {"text": _string(row, "text")}
