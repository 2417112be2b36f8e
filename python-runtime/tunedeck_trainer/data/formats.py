"""Row formats: detect which one a file uses and normalise each row to a training record.

Records are ``{"messages": [{"role", "content"}, ...]}`` (SFT), ``{"text": str}``,
``{"prompt": [messages], "chosen": str, "rejected": str}`` (preference, for DPO) or
``{"prompt": [messages], "completion": str, "label": bool}`` (feedback, for KTO: TRL's unpaired
preference shape, one completion marked desirable or not). A row that does not
fit raises RowProblem naming the field; the loader adds the file and row number.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Callable

from ..contract import DATASET_FORMATS, FIELDS, TAGS  # noqa: F401 - FIELDS and TAGS are read through this module
from .errors import RowProblem, describe
from .messages import OPENAI_ROLES, Message, openai_messages

# The formats (contract.py, from electron/shared/methods.ts), "auto" aside; detection breaks ties in this order.
FORMATS = tuple(name for name in DATASET_FORMATS if name != "auto")
SHAREGPT_ROLES = {
    "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
    "system": "system", "function_call": "assistant", "observation": "tool",
}


def row_format(row: dict[str, Any]) -> str | None:
    """The format a single row's keys suggest, or None."""
    if "chosen" in row or "rejected" in row:
        return "preference"
    if "conversations" in row:
        return "sharegpt"
    if "messages" in row:
        first = row["messages"][0] if isinstance(row["messages"], list) and row["messages"] else None
        return "sharegpt" if isinstance(first, dict) and "from" in first else "openai"
    if "instruction" in row:
        return "alpaca"
    if "prompt" in row and "completion" in row:
        # A boolean label marks unpaired feedback: such rows must never train as plain SFT.
        return "feedback" if isinstance(row.get("label"), bool) else "prompt_completion"
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
    """ShareGPT turns ({from, value}) as messages; function_call -> assistant, observation -> tool."""
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
        if speaker == "function_call" and isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        if not isinstance(value, str):
            raise RowProblem(f"expected a string, got {describe(value)}", f"{where}.value")
        messages.append({"role": role, "content": value})
    return messages


# -- one normaliser per format ----------------------------------------------------------------

def alpaca(row: dict[str, Any]) -> dict[str, Any]:
    """instruction, input (optional), output, system (optional), history ([[user, assistant], ...])."""
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


def _tools(row: dict[str, Any]) -> list[Any] | None:
    """The tools column (a list of function definitions, or that list as JSON text), for the chat template."""
    value = row.get("tools")
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise RowProblem(f"is not valid JSON ({error.msg})", "tools") from None
    if not isinstance(value, list) or not all(isinstance(tool, dict) for tool in value):
        raise RowProblem(f"expected a list of tool definitions, got {describe(value)}", "tools")
    return value


def _with_tools(record: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    tools = _tools(row)
    if tools:
        record["tools"] = tools
    return record


def sharegpt(row: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, Any]:
    """conversations: [{from, value}] or [{role, content}], optional top-level system and tools.

    ``tags`` (from the column mapping) name other keys and role tags in the turns:
    role_tag, content_tag, user_tag, assistant_tag, system_tag, tool_tag.
    """
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


def prompt_completion(row: dict[str, Any]) -> dict[str, Any]:
    """prompt -> user, completion -> assistant (either may also be a message list)."""
    if isinstance(row.get("label"), bool):
        # Feedback marked undesirable must never train as something to imitate.
        raise RowProblem('is true or false, which marks a feedback row for method "kto", not an SFT example; '
                         'set dataset.format to "feedback" and method to "kto", or drop the column', "label")
    messages = _turns(row, "prompt") + _turns(row, "completion")
    _check_conversation(messages, "completion")
    return {"messages": messages}


def text(row: dict[str, Any]) -> dict[str, Any]:
    """{text}."""
    return {"text": _string(row, "text")}


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
        messages = openai_messages(value, name)
        if not messages or messages[-1]["role"] != "assistant":
            raise RowProblem("expected the messages to end with an assistant reply", name)
        return messages[-1]["content"]
    return _string(row, name) or ""


def preference(row: dict[str, Any]) -> dict[str, Any]:
    """prompt + chosen + rejected, or ShareGPT conversations + chosen/rejected {from, value}."""
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
    system = _string(row, "system", required=False, empty_ok=True)
    if system and prompt[0]["role"] != "system":
        prompt.insert(0, {"role": "system", "content": system})
    return {"prompt": prompt, "chosen": _answer(row, "chosen"), "rejected": _answer(row, "rejected")}


def feedback(row: dict[str, Any]) -> dict[str, Any]:
    """prompt (a string or messages) + completion (a string or messages ending with the reply) + label (true/false)."""
    if "prompt" not in row:
        raise RowProblem("missing (a feedback row needs prompt, completion and label)", "prompt")
    prompt = _turns(row, "prompt")
    _check_conversation(prompt, "prompt", need_assistant=False)
    system = _string(row, "system", required=False, empty_ok=True)
    if system and prompt[0]["role"] != "system":
        prompt.insert(0, {"role": "system", "content": system})
    if "completion" not in row:
        raise RowProblem("missing (a feedback row needs prompt, completion and label)", "completion")
    label = row.get("label")
    if not isinstance(label, bool):
        raise RowProblem(f"expected true (desirable) or false (undesirable), got {describe(label)}", "label")
    return {"prompt": prompt, "completion": _answer(row, "completion"), "label": label}


NORMALISERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "alpaca": alpaca, "sharegpt": sharegpt, "openai": openai,
    "prompt_completion": prompt_completion, "text": text, "preference": preference, "feedback": feedback,
}
