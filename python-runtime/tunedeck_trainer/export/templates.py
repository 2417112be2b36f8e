"""The chat template the job trained with, restated for Ollama and as stop tokens.

Ollama's TEMPLATE is a Go template, not Jinja, so it cannot be copied: the trained template is
recognised by its markers (ChatML, Llama 3, Gemma) and written in Go form. The rendered prompt
of one user message tells whether the template adds a default system prompt (Ollama's SYSTEM).
"""

from __future__ import annotations

import re
from typing import Any

CHATML = "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n"
LLAMA3 = (
    "<|begin_of_text|>{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
    "{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n"
)
GEMMA = (
    '{{- range .Messages }}<start_of_turn>{{ if eq .Role "assistant" }}model{{ else }}{{ .Role }}{{ end }}\n'
    "{{ .Content }}<end_of_turn>\n{{ end }}<start_of_turn>model\n"
)

# (family, marker in the Jinja template, Ollama template, stop strings, default-system pattern)
FAMILIES = [
    ("chatml", "<|im_start|>", CHATML, ["<|im_end|>", "<|im_start|>"], r"<\|im_start\|>system\n(.*?)<\|im_end\|>"),
    (
        "llama3",
        "<|start_header_id|>",
        LLAMA3,
        ["<|eot_id|>", "<|start_header_id|>"],
        r"<\|start_header_id\|>system<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>",
    ),
    ("gemma", "<start_of_turn>", GEMMA, ["<end_of_turn>"], None),
]


def describe(tokenizer: Any) -> dict[str, Any]:
    """Family, Ollama template, stop strings and default system prompt of the tokenizer's template.

    ``ollamaTemplate`` is None when the template is none of the known families; the caller says
    so in the Modelfile instead of guessing.
    """
    template = getattr(tokenizer, "chat_template", None)
    stops = [tokenizer.eos_token] if tokenizer.eos_token else []
    result: dict[str, Any] = {"family": None, "chatTemplate": template, "ollamaTemplate": None, "stops": stops, "system": None}
    if not isinstance(template, str):
        return result
    for family, marker, ollama, family_stops, system_pattern in FAMILIES:
        if marker not in template:
            continue
        result.update(family=family, ollamaTemplate=ollama)
        result["stops"] = list(dict.fromkeys(family_stops + stops))
        if system_pattern:
            result["system"] = _default_system(tokenizer, system_pattern)
        break
    return result


def _default_system(tokenizer: Any, pattern: str) -> str | None:
    """The system prompt the template adds to a conversation that has none, if any."""
    try:
        rendered = tokenizer.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False)
    except Exception:  # a template that cannot render one user turn has no default to offer
        return None
    match = re.search(pattern, rendered, flags=re.DOTALL)
    return match.group(1) if match else None


def stop_token_ids(tokenizer: Any, stops: list[str]) -> list[int]:
    """Ids of the stop strings that are single tokens of this vocabulary, eos first."""
    ids = []
    for text in stops:
        token = tokenizer.convert_tokens_to_ids(text)
        if isinstance(token, int) and token != tokenizer.unk_token_id and token not in ids:
            ids.append(token)
    return ids
