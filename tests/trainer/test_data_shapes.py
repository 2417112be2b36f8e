"""The shapes real users bring, from small files, checked token by token where masks matter:
typed content parts (text/value, reasoning), per-message loss weights, a tools column and
structured tool calls, preference pairs as two full conversations, ShareGPT with role/content
keys and mapped tags, unpaired feedback, and text cut into blocks that train every token once.

Run: PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_data_shapes.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunedeck_trainer.data import IGNORE_INDEX, encode_records, load_records
from tunedeck_trainer.data.encode import text_blocks
from tunedeck_trainer.data.job_data import require_format
from tunedeck_trainer.errors import TrainerError
from tunedeck_trainer.tiny_model import build_tokenizer

# A template that renders reasoning, tools and structured tool calls (as Qwen3's and others do).
RICH_TEMPLATE = (
    "{% if tools %}{{ '<|im_start|>system\\nTools: ' + "
    "(tools | map(attribute='function') | map(attribute='name') | join(', ')) + '<|im_end|>\\n' }}{% endif %}"
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message.get('reasoning_content') %}{{ '<think>' + message['reasoning_content'] + '</think>' }}{% endif %}"
    "{{ message['content'] }}"
    "{% for call in message.get('tool_calls', []) %}{{ '<call>' + call['function']['name'] + '</call>' }}{% endfor %}"
    "{{ '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@pytest.fixture(scope="module")
def rich():
    tokenizer = build_tokenizer()
    tokenizer.chat_template = RICH_TEMPLATE
    return tokenizer


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def learned_text(tokenizer, example) -> list[str]:
    """Decoded runs of consecutive learned tokens, each label checked to be its token."""
    runs, current = [], []
    for token, label in zip(example["input_ids"], example["labels"], strict=True):
        if label == IGNORE_INDEX:
            if current:
                runs.append(tokenizer.decode(current))
            current = []
        else:
            assert label == token
            current.append(token)
    if current:
        runs.append(tokenizer.decode(current))
    return runs


def test_typed_content_parts_with_text_or_value_keys(tmp_path, chatml):
    rows = [
        {
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "value": "there"}]},
                {"role": "assistant", "content": [{"type": "text", "value": "Hello."}]},
            ]
        }
    ]
    loaded = load_records(write_jsonl(tmp_path / "parts.jsonl", rows))
    assert loaded.records == [{"messages": [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello."}]}]
    example = encode_records(chatml, loaded.records, 256).examples[0]
    assert learned_text(chatml, example) == ["Hello.<|im_end|>"]


def test_reasoning_parts_train_where_the_template_renders_them(tmp_path, chatml, rich):
    rows = [
        {
            "messages": [
                {"role": "user", "content": "2+2?"},
                {"role": "assistant", "content": [{"type": "reasoning", "text": "Add them."}, {"type": "text", "text": "4"}]},
            ]
        }
    ]
    loaded = load_records(write_jsonl(tmp_path / "reasoning.jsonl", rows))
    assert loaded.records[0]["messages"][1] == {"role": "assistant", "content": "4", "reasoning_content": "Add them."}
    assert learned_text(rich, encode_records(rich, loaded.records, 256).examples[0]) == ["<think>Add them.</think>4<|im_end|>"]
    # A template that knows no reasoning never sees it: what trains is what the preview shows.
    assert learned_text(chatml, encode_records(chatml, loaded.records, 256).examples[0]) == ["4<|im_end|>"]


def test_a_weight_0_assistant_turn_is_masked_token_by_token(tmp_path, chatml):
    rows = [
        {
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Bad answer.", "weight": 0},
                {"role": "user", "content": "Again"},
                {"role": "assistant", "content": "Good answer.", "weight": 1},
            ]
        }
    ]
    loaded = load_records(write_jsonl(tmp_path / "weights.jsonl", rows))
    example = encode_records(chatml, loaded.records, 256).examples[0]
    learned = [token for token, label in zip(example["input_ids"], example["labels"], strict=True) if label != IGNORE_INDEX]
    expected = chatml("Good answer.", add_special_tokens=False)["input_ids"] + [chatml.convert_tokens_to_ids("<|im_end|>")]
    assert learned == expected
    bad = write_jsonl(
        tmp_path / "bad-weight.jsonl",
        [{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 0.5}]}],
    )
    with pytest.raises(Exception, match=r'bad-weight\.jsonl line 1: field "messages\[1\]\.weight": expected 0'):
        load_records(bad)


def test_tools_column_and_structured_tool_calls_reach_the_template(tmp_path, chatml, rich):
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]
    rows = [
        {
            "tools": json.dumps(tools),
            "messages": [
                {"role": "user", "content": "Weather in Oslo?"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}],
                },
                {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 3}'},
                {"role": "assistant", "content": "3 degrees."},
            ],
        }
    ]
    loaded = load_records(write_jsonl(tmp_path / "tools.jsonl", rows))
    record = loaded.records[0]
    assert record["tools"] == tools
    example = encode_records(rich, [record], 512).examples[0]
    assert rich.decode(example["input_ids"]).startswith("<|im_start|>system\nTools: weather<|im_end|>")
    assert learned_text(rich, example) == ["<call>weather</call><|im_end|>", "3 degrees.<|im_end|>"]
    # A template without tool_calls gets the call as JSON text, so it still trains.
    plain = learned_text(chatml, encode_records(chatml, [record], 512).examples[0])
    assert json.loads(plain[0].removesuffix("<|im_end|>")) == [{"name": "weather", "arguments": {"city": "Oslo"}}]


def test_preference_as_two_full_conversations(tmp_path):
    prompt = [{"role": "user", "content": "Capital of France?"}]
    rows = [
        {"chosen": prompt + [{"role": "assistant", "content": "Paris."}], "rejected": prompt + [{"role": "assistant", "content": "Lyon."}]}
    ]
    loaded = load_records(write_jsonl(tmp_path / "pairs.jsonl", rows))
    assert loaded.format == "preference"
    assert loaded.records == [{"prompt": prompt, "chosen": "Paris.", "rejected": "Lyon."}]


def test_sharegpt_with_role_content_keys_and_mapped_tags(tmp_path):
    plain = [{"conversations": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}]
    loaded = load_records(write_jsonl(tmp_path / "rc.jsonl", plain))
    assert (loaded.format, loaded.records[0]["messages"][1]) == ("sharegpt", {"role": "assistant", "content": "Hello."})
    odd = [{"dialog": [{"speaker": "Customer", "text": "Hi"}, {"speaker": "Agent", "text": "Hello."}]}]
    columns = {"conversations": "dialog", "role_tag": "speaker", "content_tag": "text", "user_tag": "customer", "assistant_tag": "agent"}
    mapped = load_records(write_jsonl(tmp_path / "odd.jsonl", odd), "sharegpt", columns)
    assert mapped.records == [{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}]


def test_feedback_is_recognised_and_never_trained_as_sft(tmp_path):
    rows = [{"prompt": "Hi", "completion": "Hello.", "label": True}, {"prompt": "Hi", "completion": "Go away.", "label": False}]
    loaded = load_records(write_jsonl(tmp_path / "feedback.jsonl", rows))
    assert loaded.format == "feedback"
    with pytest.raises(TrainerError, match='method "sft" does not train on; set method to "kto"'):
        require_format("sft", loaded.format, tmp_path / "feedback.jsonl")


def test_text_blocks_cover_every_token_of_a_long_document_exactly_once(chatml):
    document = " ".join(f"word{index} of a long document about foxes." for index in range(300))
    short = "A short second document."
    max_length = 64
    blocks = text_blocks(chatml, [{"text": document}, {"text": short}], max_length)
    stream = chatml(document)["input_ids"] + [chatml.eos_token_id] + chatml(short)["input_ids"] + [chatml.eos_token_id]
    assert len(stream) > 10 * max_length  # the document alone is many blocks long
    assert all(len(block["input_ids"]) <= max_length for block in blocks)
    # Targets are label positions 1.. (the loss predicts token i from those before it).
    targets = [
        token for block in blocks for token, label in zip(block["input_ids"][1:], block["labels"][1:], strict=True) if label != IGNORE_INDEX
    ]
    assert targets == stream[1:]  # every token after the first, each exactly once, in order
    assert all(block["labels"][0] == IGNORE_INDEX for block in blocks)


def test_a_text_dataset_trains_on_blocks_not_truncated_documents(tmp_path, tiny_model):
    from conftest import make_job, read_events
    from tunedeck_trainer.runner import run_job

    document = " ".join(f"The quick brown fox number {index} jumps over the lazy dog." for index in range(80))
    data = write_jsonl(tmp_path / "corpus.jsonl", [{"text": document}, {"text": "A short note."}])
    job_dir = make_job(
        tmp_path / "job",
        tiny_model,
        dataset={"path": data, "format": "text"},
        training={"maxSeqLength": 64, "batchSize": 2, "maxSteps": 2, "packing": True},
    )
    assert run_job(job_dir, read_stdin=False, handle_signals=False) == 0
    events = read_events(job_dir)
    dataset = next(event for event in events if event["type"] == "dataset")
    tokens = len(build_tokenizer()(document)["input_ids"])
    # One example per block of 64 tokens (sharing one token), not one truncated example per document.
    assert dataset["examples"] >= tokens // 63
    assert events[-1]["type"] == "completed"


def test_the_preview_counts_the_rows_pack_examples_makes(chatml):
    from tunedeck_trainer.data import pack_examples
    from tunedeck_trainer.data.masks import packed_rows

    records = [
        {"messages": [{"role": "user", "content": "word " * (index % 17)}, {"role": "assistant", "content": "reply " * (1 + index % 5)}]}
        for index in range(40)
    ]
    examples = encode_records(chatml, records, 10**9).examples
    for max_length in (24, 64, 200):
        kept = [example for example in examples if any(label != IGNORE_INDEX for label in example["labels"][1:max_length])]
        assert packed_rows([len(example["input_ids"]) for example in kept], max_length) == len(pack_examples(kept, max_length))
