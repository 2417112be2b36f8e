"""Hypothesis strategies for the data-layer fuzz tests: dataset rows, as garbage and as every known
format's shape with one field mutated, and the settings the fuzz tests share.

The example count is FUZZ_EXAMPLES (default 60 per test, a few seconds of CPU each);
``TUNEDECK_FUZZ_EXAMPLES=2000`` runs more, ``TUNEDECK_FUZZ_DEADLINE_MS`` fails any slower example.
``derandomize=True`` makes every run try the same examples, so a CI failure reproduces locally;
``TUNEDECK_FUZZ_SEED`` (any text) picks another fixed set of examples when hunting.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ_EXAMPLES = int(os.environ.get("TUNEDECK_FUZZ_EXAMPLES", "") or 60)
# A per-example time limit when hunting for slow rows (TUNEDECK_FUZZ_DEADLINE_MS=20000); off by default,
# since a shared CI's timing says nothing.
DEADLINE_MS = int(os.environ.get("TUNEDECK_FUZZ_DEADLINE_MS", "") or 0) or None

settings.register_profile(
    "tunedeck-fuzz",
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=DEADLINE_MS,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
fuzz = settings.get_profile("tunedeck-fuzz")

# Keys the readers and normalisers look for, at the top and inside turns, and keys that break naive lookups.
KNOWN_KEYS = [
    "instruction",
    "input",
    "output",
    "system",
    "history",
    "conversations",
    "messages",
    "prompt",
    "completion",
    "text",
    "chosen",
    "rejected",
    "label",
    "tools",
    "from",
    "value",
    "role",
    "content",
    "tool_calls",
    "function",
    "name",
    "arguments",
    "id",
    "tool_call_id",
    "weight",
    "type",
    "reasoning",
    "thinking",
    "reasoning_content",
]
HOSTILE_KEYS = ["__proto__", "constructor", "__class__", "__dict__", "", " ", "\x00", "ﬁ", "İ", "role\u200b"]
ROLES = [
    "user",
    "assistant",
    "system",
    "tool",
    "developer",
    "function",
    "human",
    "gpt",
    "observation",
    "function_call",
    "USER",
    " Assistant ",
    "bot",
    "",
    "ユーザー",
]

# Any Unicode, lone surrogates included (JSON's "\ud800" escape gives one), control characters and
# characters that change length when case-folded or normalised.
odd_text = st.text(st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr)), max_size=40)
plain_text = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=("Cs",)), max_size=30)
huge_text = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["a", "é ", "\n\n", "### User:\n", "<|im_end|>", "🙂", " "]),
    st.integers(1_000, 200_000),
)
texts = st.one_of(plain_text, odd_text, st.sampled_from(ROLES), huge_text)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 0.0, 1.0, 2, -1]),
    texts,
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.sampled_from(HOSTILE_KEYS), plain_text, odd_text)
garbage = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)

# -- every known format's shape ---------------------------------------------------------------

openai_turns = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(ROLES), "content": plain_text},
        optional={
            "weight": st.sampled_from([0, 1]),
            "reasoning_content": plain_text,
            "tool_calls": st.lists(
                st.fixed_dictionaries(
                    {
                        "function": st.fixed_dictionaries(
                            {"name": plain_text, "arguments": st.one_of(plain_text, st.dictionaries(plain_text, plain_text))}
                        )
                    }
                ),
                max_size=2,
            ),
            "tool_call_id": plain_text,
            "name": plain_text,
        },
    ),
    min_size=1,
    max_size=5,
)
parts = st.lists(
    st.fixed_dictionaries({"type": st.sampled_from(["text", "reasoning", "thinking", "image"]), "text": plain_text}), max_size=3
)
sharegpt_turns = st.lists(st.fixed_dictionaries({"from": st.sampled_from(ROLES), "value": plain_text}), min_size=1, max_size=5)
answer = st.one_of(plain_text, st.fixed_dictionaries({"from": st.just("gpt"), "value": plain_text}), openai_turns)

SHAPES = {
    "alpaca": st.fixed_dictionaries(
        {"instruction": plain_text, "output": plain_text},
        optional={"input": plain_text, "system": plain_text, "history": st.lists(st.lists(plain_text, min_size=2, max_size=2), max_size=3)},
    ),
    "sharegpt": st.fixed_dictionaries(
        {"conversations": sharegpt_turns}, optional={"system": plain_text, "tools": st.sampled_from(["[]", "[{}]", "{"])}
    ),
    "openai": st.fixed_dictionaries(
        {
            "messages": st.one_of(
                openai_turns, st.lists(st.fixed_dictionaries({"role": st.sampled_from(ROLES), "content": parts}), min_size=1)
            )
        },
        optional={"tools": st.lists(st.dictionaries(plain_text, plain_text), max_size=2)},
    ),
    "prompt_completion": st.fixed_dictionaries(
        {"prompt": st.one_of(plain_text, openai_turns), "completion": st.one_of(plain_text, openai_turns)}
    ),
    "text": st.fixed_dictionaries({"text": texts}),
    "preference": st.fixed_dictionaries(
        {"prompt": st.one_of(plain_text, openai_turns), "chosen": answer, "rejected": answer},
        optional={"system": plain_text, "conversations": sharegpt_turns},
    ),
    "feedback": st.fixed_dictionaries(
        {"prompt": st.one_of(plain_text, openai_turns), "completion": answer, "label": st.one_of(st.booleans(), scalars)}
    ),
}
well_formed = st.one_of(*SHAPES.values())


@st.composite
def mutated(draw: st.DrawFn, shape: st.SearchStrategy[Any] = well_formed) -> Any:
    """A well-formed row with one value somewhere inside replaced by garbage, or one key dropped or added."""
    row = draw(shape)
    node: Any = row
    while True:
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node, key=repr)))
            if isinstance(node[key], (dict, list)) and node[key] and draw(st.booleans()):
                node = node[key]
                continue
            action = draw(st.sampled_from(["replace", "drop", "add"]))
            if action == "replace":
                node[key] = draw(garbage)
            elif action == "drop":
                del node[key]
            else:
                node[draw(keys)] = draw(garbage)
        elif isinstance(node, list) and node:
            index = draw(st.integers(0, len(node) - 1))
            if isinstance(node[index], (dict, list)) and node[index] and draw(st.booleans()):
                node = node[index]
                continue
            node[index] = draw(garbage)
        return row


rows = st.one_of(garbage, st.dictionaries(keys, garbage, max_size=6), well_formed, mutated())

# -- rows the normalisers accept, with any text in them (for the encoders) ---------------------

any_text = st.one_of(
    plain_text,
    odd_text,
    huge_text,
    st.sampled_from(["<|im_end|>", "<|im_start|>assistant\n", "### Assistant:\n", "{{ messages }}", "{% raw %}", "</s>", "\r\n", ""]),
)
chat_roles = st.sampled_from(["user", "system", "tool", "developer"])
conversation = st.builds(
    lambda before, reply, after: [*before, {"role": "assistant", "content": reply}, *after],
    st.lists(st.fixed_dictionaries({"role": chat_roles, "content": any_text}), max_size=3),
    any_text,
    st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "assistant"]), "content": any_text}, optional={"weight": st.sampled_from([0, 1])}
        ),
        max_size=2,
    ),
)
accepted_rows = st.one_of(
    st.fixed_dictionaries({"instruction": any_text, "output": any_text}, optional={"input": any_text, "system": any_text}),
    st.fixed_dictionaries({"messages": conversation}),
    st.fixed_dictionaries(
        {
            "conversations": conversation.map(
                lambda turns: [
                    {"from": {"developer": "system", "tool": "observation"}.get(turn["role"], turn["role"]), "value": turn["content"]}
                    for turn in turns
                ]
            )
        }
    ),
    st.fixed_dictionaries({"prompt": any_text, "completion": any_text}),
    st.fixed_dictionaries({"text": any_text}),
    st.fixed_dictionaries({"prompt": st.one_of(any_text, conversation), "chosen": any_text, "rejected": any_text}),
    st.fixed_dictionaries({"prompt": st.one_of(any_text, conversation), "completion": any_text, "label": st.booleans()}),
)
