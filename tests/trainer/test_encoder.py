"""Encoder (one render per conversation, batched) gives encode_record's ids and masks token by token.

Run: node scripts/python.mjs -m pytest -q tests/trainer/test_encoder.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_data_encode import CHATML, CONVERSATION, SHARED, build_tokenizer
from tunedeck_trainer.data import DatasetError, encode_records, load_records
from tunedeck_trainer.data.encode import encode_record, template_for, text_blocks
from tunedeck_trainer.data.encoder import Encoder, probe_shape
from tunedeck_trainer.data.loader import read_dataset
from tunedeck_trainer.tiny_model import build_tokenizer as tiny_tokenizer

PER_FILE = 150  # rows of each shared file: every layout they have, at a test's cost
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "datasets"
SPLITTING = (  # the generation prompt's space merges into the reply's first word
    "{% for m in messages %}{{ ('User: ' if m['role'] == 'user' else 'Assistant: ') + m['content'] }}"
    "{{ '<|im_end|>' if m['role'] == 'assistant' else '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}"
)
COUNTED = "{{ messages | length }} messages\n" + CHATML  # shorter renders are not prefixes
LAST_ONLY_EOS = (  # a turn closes differently when it is the last: the probed shape does not fit all
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] }}"
    "{{ '<|im_end|>' if loop.last else '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
TRIMMED = (  # Llama 3 style: content trimmed, so a reply with outer spaces is not found verbatim
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + (m['content'] | trim) + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
TEMPLATES = {
    "chatml": CHATML,
    "default": None,
    "splitting": SPLITTING,
    "counted": COUNTED,
    "last-only-eos": LAST_ONLY_EOS,
    "trimmed": TRIMMED,
}
EDGE_RECORDS = [
    {"messages": CONVERSATION},
    {
        "messages": [
            {"role": "assistant", "content": "I start."},
            {"role": "user", "content": "Go on."},
            {"role": "assistant", "content": "  spaced  "},
        ]
    },
    # The user quotes the reply: the turn is found after the user's message, not inside it.
    {"messages": [{"role": "user", "content": "Say 1, 2, 3."}, {"role": "assistant", "content": "1, 2, 3."}]},
    {
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello", "weight": 0},
            {"role": "user", "content": "Again"},
            {"role": "assistant", "content": "Hello"},
        ]
    },
    {"messages": [{"role": "user", "content": "Empty?"}, {"role": "assistant", "content": ""}]},
    {"messages": [{"role": "user", "content": "Trailing"}, {"role": "assistant", "content": "ends with a line\n"}]},
    {"text": "the quick brown fox"},
]


def corpus() -> list[tuple[str, dict]]:
    """(name, record) of every SFT record of the fixtures and the shared datasets, and the edge records."""
    found = []
    files = sorted(FIXTURES.iterdir()) + (sorted(SHARED.glob("*.json")) if SHARED.exists() else [])
    mapped = {"questions.csv": {"instruction": "question", "input": "context", "output": "answer"}}
    for path in files:
        if path.name == "corpus.json":  # the layout corpus's index (test_data_corpus.py), not a dataset
            continue
        loaded = read_dataset(str(path), columns=mapped.get(path.name), bad_rows="skip")
        if loaded.format in ("preference", "feedback"):
            continue
        rows = enumerate(loaded.records[:PER_FILE], start=1)
        found += [(f"{path.name}:{row}", record) for row, record in rows]
    return found + [(f"edge:{index}", record) for index, record in enumerate(EDGE_RECORDS, start=1)]


@pytest.fixture(scope="module")
def records() -> list[tuple[str, dict]]:
    found = corpus()
    assert len(found) > 100  # the shared datasets are there when CI runs this
    return found


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@pytest.mark.parametrize("train_on_inputs", [False, True])
def test_masks_equal_encode_record_token_by_token(records, name, train_on_inputs):
    tokenizer = build_tokenizer(TEMPLATES[name], "<|im_end|>" if TEMPLATES[name] else "<|endoftext|>")
    template = template_for(tokenizer)
    expected, accepted = [], []
    for label, record in records:
        try:
            expected.append(encode_record(tokenizer, record, template, train_on_inputs, 1))
            accepted.append((label, record))
        except DatasetError:
            continue  # a record the template refuses (a tool turn) is refused by both: tested below
    encoder = Encoder(tokenizer, train_on_inputs)
    got = encoder.encode([record for _, record in accepted])
    for (label, _), want, have in zip(accepted, expected, got, strict=True):
        assert have == want, f"{name}: {label}"
    assert len(got) == len(accepted) > 100


def test_the_fast_path_is_taken_for_plain_conversations(records):
    tokenizer = build_tokenizer(CHATML, "<|im_end|>")
    encoder = Encoder(tokenizer)
    assert probe_shape(tokenizer, None).closing == "<|im_end|>\n"
    # Not the ones encode_record must take: tool calls, list content, an opening assistant turn.
    plain = [
        record
        for _, record in records
        if all(isinstance(m.get("content"), str) and "tool_calls" not in m for m in record.get("messages", []))
        and record.get("messages", [{}])[0].get("role") != "assistant"
    ]
    encoder.encode(plain)
    assert encoder.fallbacks == 0 and encoder.fast_records == len(plain)


def test_the_self_test_tokenizer_matches_on_the_shared_alpaca_file():
    path = SHARED / "alpaca_en_demo.json"
    if not path.exists():
        pytest.skip(f"real datasets not found at {SHARED}")
    tokenizer = tiny_tokenizer()
    records = load_records(str(path)).records
    result = encode_records(tokenizer, records, 256)
    template = template_for(tokenizer)
    for index, (record, example) in enumerate(zip(records, result.examples, strict=True), start=1):
        ids, labels = encode_record(tokenizer, record, template, False, index)
        assert (example["input_ids"], example["labels"]) == (ids[:256], labels[:256])
    assert result.truncated == sum(1 for record in records if len(encode_record(tokenizer, record, template, False, 1)[0]) > 256)


def test_text_blocks_equal_the_per_record_stream():
    tokenizer = build_tokenizer(None, "<|endoftext|>")
    records = [{"text": "the quick brown fox"}, {"text": "jumps over<|endoftext|>"}, {"text": ""}]
    stream = []
    for record in records:
        stream += encode_record(tokenizer, record, None, True, 1)[0]
    blocks = text_blocks(tokenizer, records, 4)
    assert [block["input_ids"][0] for block in blocks[1:]] == [block["input_ids"][-1] for block in blocks[:-1]]
    assert [token for block in blocks for token in block["input_ids"][1:]] == stream[1:]


def test_a_refused_record_is_named_in_file_order():
    refusing = build_tokenizer(
        "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}" + CHATML, "<|im_end|>"
    )
    tool_call = {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}
    # Record 2 takes encode_record (its tool call), record 3 the batch: record 2 is still the one named.
    records = [{"messages": CONVERSATION[1:3]}, {"messages": [CONVERSATION[0], CONVERSATION[1], tool_call]}, {"messages": CONVERSATION}]
    with pytest.raises(DatasetError, match=r"^dataset record 2: the model's chat template cannot render"):
        Encoder(refusing).encode(records)
