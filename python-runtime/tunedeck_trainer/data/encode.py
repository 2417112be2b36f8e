"""encode_records: tokenise normalised records and mask everything but the assistant's turns.

Conversations are rendered with the tokenizer's own chat template. A tokenizer without one
gets DEFAULT_CHAT_TEMPLATE, a plain layout::

    ### System:
    {content}

    ### User:
    {content}

    ### Assistant:
    {content}<eos>

(the tokenizer's bos token first when it has one distinct from eos; turns end with a blank line;
roles other than assistant are written as "### Role:"). Labels are -100 except on each
assistant turn's content and its end-of-turn token(s) (``<|im_end|>``, eos, ...), unless
``train_on_inputs``. Text records train on every token and end with eos.

How an assistant turn is found, for any template: render the conversation up to the turn with
add_generation_prompt=True, and up to and including the turn; the tokens between the two are
the turn's. When the two renders do not tokenise to a prefix of the whole conversation (a BPE
merge across the boundary), the turn is located by character offsets instead, and as a last
resort by searching for its content. Whitespace-only tokens that close a turn (the newline after
``<|im_end|>``) are not trained.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import DatasetError

IGNORE_INDEX = -100
DEFAULT_CHAT_TEMPLATE = (
    "{%- if bos_token and bos_token != eos_token %}{{ bos_token }}{% endif -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{ '### Assistant:\\n' + message['content'] + (eos_token or '') + '\\n\\n' }}"
    "{%- else -%}"
    "{{ '### ' + (message['role'] | capitalize) + ':\\n' + message['content'] + '\\n\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt %}{{ '### Assistant:\\n' }}{% endif -%}"
)


@dataclass
class EncodeResult:
    """Token ids and labels per record, and how many were cut to max_length."""

    examples: list[dict[str, list[int]]] = field(default_factory=list)
    truncated: int = 0


def encode_records(
    tokenizer: Any,
    records: list[dict[str, Any]],
    max_length: int,
    train_on_inputs: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> EncodeResult:
    """Encodes SFT records (messages or text) in batches (encoder.Encoder: the masks of encode_record,
    each template rendered once); ``progress(done, total)`` is called after each batch.

    Raises DatasetError for preference records (DPO is not an SFT input) and for a conversation
    the chat template refuses to render.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")
    from .encoder import BATCH, Encoder  # encoder builds on this module's encode_record

    encoder = Encoder(tokenizer, train_on_inputs)
    result = EncodeResult()
    for first in range(0, len(records), BATCH):
        for ids, labels in encoder.encode(records[first : first + BATCH], first + 1):
            if len(ids) > max_length:
                ids, labels = ids[:max_length], labels[:max_length]
                result.truncated += 1
            result.examples.append({"input_ids": ids, "labels": labels})
        if progress:
            progress(min(first + BATCH, len(records)), len(records))
    return result


def template_for(tokenizer: Any) -> str | None:
    """The template encode_record is given: None to use the tokenizer's own, else DEFAULT_CHAT_TEMPLATE."""
    return None if getattr(tokenizer, "chat_template", None) else DEFAULT_CHAT_TEMPLATE


def encode_record(
    tokenizer: Any, record: dict[str, Any], template: str | None, train_on_inputs: bool, index: int
) -> tuple[list[int], list[int]]:
    """One record's token ids and labels, uncut; ``index`` is its 1-based row for error messages.

    ``template`` is template_for(tokenizer). Raises DatasetError for a preference or feedback
    record and for a conversation the chat template refuses to render.
    """
    if "messages" in record:
        return _encode_conversation(tokenizer, record, template, train_on_inputs, index)
    if "text" in record:
        ids = _tokenize(tokenizer, record["text"], special=True)
        eos = getattr(tokenizer, "eos_token_id", None)
        if eos is not None and (not ids or ids[-1] != eos):
            ids.append(eos)
        return ids, list(ids)
    if "chosen" in record:
        raise DatasetError(
            "is a preference pair (prompt/chosen/rejected); SFT encodes conversations and text only",
            row=index,
            unit="record",
            hint="Use an SFT dataset, or a preference method (DPO) for this file.",
        )
    if "label" in record:
        raise DatasetError(
            "is a feedback row (prompt/completion/label); SFT encodes conversations and text only",
            row=index,
            unit="record",
            hint='Use an SFT dataset, or method "kto" for this file.',
        )
    raise DatasetError("is not a normalised record (no messages or text)", row=index, unit="record", hint="")


def _tokenize(tokenizer: Any, text: str, special: bool = False) -> list[int]:
    return list(tokenizer(text, add_special_tokens=special)["input_ids"])


def template_source(tokenizer: Any, template: str | None) -> str:
    """The chat template's text (the tokenizer's own, or ``template``); "" when it has several."""
    source = template if template is not None else getattr(tokenizer, "chat_template", None)
    return source if isinstance(source, str) else ""


def for_template(messages: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """Messages as the template takes them.

    ``weight`` is ours and never reaches the template. A template that knows nothing of
    ``tool_calls`` gets them as JSON text after the content (so they still train); one that
    knows nothing of ``reasoning_content`` does not get it (the preview shows it is not there).
    """
    knows_calls, knows_reasoning = "tool_calls" in source, "reasoning_content" in source
    prepared = []
    for message in messages:
        message = {key: value for key, value in message.items() if key != "weight"}
        if "tool_calls" in message and not knows_calls:
            calls = json.dumps([call.get("function", call) for call in message.pop("tool_calls")], ensure_ascii=False)
            message["content"] = calls if not message.get("content") else message["content"] + "\n" + calls
        if "reasoning_content" in message and not knows_reasoning:
            message.pop("reasoning_content")
        prepared.append(message)
    return prepared


def _render(
    tokenizer: Any, messages: list[dict[str, Any]], template: str | None, generation: bool, index: int, tools: list[Any] | None = None
) -> str:
    try:
        return tokenizer.apply_chat_template(
            messages,
            chat_template=template,
            tokenize=False,
            add_generation_prompt=generation,
            tools=tools,
        )
    except Exception as error:  # jinja2 raises TemplateError (and templates raise_exception) on unsupported turns
        raise DatasetError(
            f"the model's chat template cannot render this conversation ({error})",
            row=index,
            unit="record",
            hint="Check the row's roles and their order (some templates refuse system or tool turns) or remove it.",
        ) from error


def _encode_conversation(
    tokenizer: Any, record: dict[str, Any], template: str | None, train_on_inputs: bool, index: int
) -> tuple[list[int], list[int]]:
    """Token ids and labels of one conversation: the learned assistant turns labelled, the rest -100.

    An assistant message with ``weight`` 0 is shown to the model but not learned from.
    """
    tools = record.get("tools")
    weights = [message.get("weight", 1) for message in record["messages"]]
    messages = for_template(record["messages"], template_source(tokenizer, template))
    full_text = _render(tokenizer, messages, template, False, index, tools)
    ids = _tokenize(tokenizer, full_text)
    if train_on_inputs:
        return ids, list(ids)  # every token, weight-0 turns included: the user asked to train on all
    labels = [IGNORE_INDEX] * len(ids)
    offsets: list[tuple[int, int]] | None = None
    cursor = 0  # characters of full_text already assigned to earlier turns
    for turn, message in enumerate(messages):
        if message["role"] != "assistant" or weights[turn] == 0:
            continue
        if turn:
            prompt_text = _render(tokenizer, messages[:turn], template, True, index, tools)
        else:
            prompt_text = _opening(tokenizer, template)
        turn_text = _render(tokenizer, messages[: turn + 1], template, False, index, tools)
        span = _token_span(tokenizer, ids, prompt_text, turn_text)
        if span is None:
            if offsets is None:
                offsets = _offsets(tokenizer, full_text, len(ids))
            chars = _char_span(full_text, prompt_text, turn_text, message["content"], cursor)
            if chars is None:
                raise DatasetError(
                    f"cannot find assistant turn {turn + 1} in the chat template's output",
                    row=index,
                    unit="record",
                    hint="The model's chat template rewrites assistant turns; use another template.",
                )
            cursor = chars[1]
            span = _tokens_in(offsets, chars)
        start, end = _trim_closing_whitespace(tokenizer, ids, *span)
        labels[start:end] = ids[start:end]
    return ids, labels


def _opening(tokenizer: Any, template: str | None) -> str:
    """What a template writes before a conversation that starts with the assistant ("" if it refuses)."""
    try:
        return _render(tokenizer, [], template, True, 0)
    except DatasetError:
        return ""


def _token_span(tokenizer: Any, ids: list[int], prompt_text: str, turn_text: str) -> tuple[int, int] | None:
    """The turn's tokens when both renders tokenise to prefixes of the conversation's tokens."""
    prompt_ids = _tokenize(tokenizer, prompt_text) if prompt_text else []
    turn_ids = _tokenize(tokenizer, turn_text)
    if ids[: len(prompt_ids)] != prompt_ids or ids[: len(turn_ids)] != turn_ids or len(turn_ids) <= len(prompt_ids):
        return None
    return len(prompt_ids), len(turn_ids)


def _char_span(full_text: str, prompt_text: str, turn_text: str, content: str, cursor: int) -> tuple[int, int] | None:
    """The turn's characters in full_text: by prefix renders, else by finding its content."""
    if full_text.startswith(prompt_text) and full_text.startswith(turn_text) and len(turn_text) > len(prompt_text):
        return len(prompt_text), len(turn_text)
    start = full_text.find(content, cursor)
    if start < 0:
        return None
    end = start + len(content)
    at = turn_text.rfind(content)
    closing = turn_text[at + len(content) :] if at >= 0 else ""
    if closing and full_text.startswith(closing, end):
        end += len(closing)
    return start, end


def _offsets(tokenizer: Any, text: str, count: int) -> list[tuple[int, int]]:
    try:
        offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    except (NotImplementedError, ValueError) as error:
        raise DatasetError(
            f"the tokenizer cannot report character offsets ({error})", unit="record", hint="Use a fast (Rust) tokenizer."
        ) from error
    if len(offsets) != count:
        raise DatasetError("the tokenizer's offsets do not match its tokens", unit="record", hint="")
    return [tuple(pair) for pair in offsets]


def _tokens_in(offsets: list[tuple[int, int]], chars: tuple[int, int]) -> tuple[int, int]:
    """Tokens overlapping the character span (a token straddling an edge counts as inside)."""
    inside = [index for index, (start, end) in enumerate(offsets) if end > chars[0] and start < chars[1]]
    return (inside[0], inside[-1] + 1) if inside else (0, 0)


def _trim_closing_whitespace(tokenizer: Any, ids: list[int], start: int, end: int) -> tuple[int, int]:
    while end > start:
        piece = tokenizer.decode([ids[end - 1]])
        if not (piece and piece.isspace()):
            break
        end -= 1
    return start, end


def text_blocks(tokenizer: Any, records: list[dict[str, Any]], max_length: int) -> list[dict[str, list[int]]]:
    """Continued pre-training: every text record tokenised, ended with eos, concatenated and cut
    into blocks of ``max_length`` tokens, so that no token of a long document is dropped.

    Consecutive blocks share one token: a block's first token is the previous block's last
    target (the loss predicts token i from tokens before it, so position 0 is never a target).
    Every token after the corpus's first is thus a target exactly once.
    """
    if max_length < 2:
        raise ValueError(f"max_length must be at least 2 for text blocks, got {max_length}")
    from .encoder import BATCH, Encoder

    for index, record in enumerate(records, start=1):
        if "text" not in record:
            raise DatasetError(
                "is not a text record; continued pre-training reads text only",
                row=index,
                unit="record",
                hint='Set dataset.format to "text", or use a chat dataset with SFT.',
            )
    encoder = Encoder(tokenizer, train_on_inputs=True)  # text is learned whole; no template to probe
    stream: list[int] = []
    for first in range(0, len(records), BATCH):
        for ids, _ in encoder.encode(records[first : first + BATCH], first + 1):
            stream += ids
    return text_blocks_of(stream, max_length)


def text_blocks_of(stream: list[int], max_length: int) -> list[dict[str, list[int]]]:
    """The blocks text_blocks cuts a concatenated token stream into (its first ones, given its start)."""
    blocks = []
    stride = max_length - 1
    for start in range(0, max(1, len(stream) - 1), stride):
        ids = stream[start : start + max_length]
        if len(ids) < 2:
            break
        blocks.append({"input_ids": ids, "labels": [IGNORE_INDEX] + ids[1:]})
    return blocks
