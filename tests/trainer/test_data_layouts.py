"""The layouts of issue 19, read from the corpus files (tests/fixtures/datasets) and checked record by
record and token by token: feedback as conversation + true/false label (what KTO learns), preference
pairs as whole conversations (what DPO learns), tool calls rendered by a tools-aware template this
test writes, .txt documents by line or paragraph separated by eos, and the preview's pieces as whole
characters.

Run: PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_data_layouts.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tunedeck_trainer.data import IGNORE_INDEX, encode_records, load_records, preview
from tunedeck_trainer.data.encode import text_blocks
from tunedeck_trainer.data.job_data import require_format
from tunedeck_trainer.data.loader import read_dataset
from tunedeck_trainer.errors import TrainerError
from tunedeck_trainer.methods.preference import Tokenizing, answer_rows
from tunedeck_trainer.tiny_model import build_tokenizer

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "datasets"

# A Qwen2.5-like template: tool definitions in a system turn, calls as <tool_call> JSON, results as
# <tool_response> in a user turn. Written here so that the test does not depend on a downloaded model.
TOOLS_TEMPLATE = (
    "{% if tools %}<|im_start|>system\n# Tools\n{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}<|im_end|>\n{% endif %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' and message.get('tool_calls') %}<|im_start|>assistant\n{{ message['content'] }}"
    "{% for call in message['tool_calls'] %}<tool_call>{{ call['function'] | tojson }}</tool_call>{% endfor %}<|im_end|>\n"
    "{% elif message['role'] == 'tool' %}<|im_start|>user\n<tool_response>{{ message['content'] }}</tool_response><|im_end|>\n"
    "{% else %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="module")
def tool_aware():
    tokenizer = build_tokenizer()
    tokenizer.chat_template = TOOLS_TEMPLATE
    return tokenizer


def load(name: str, **options):
    return load_records(str(FIXTURES / name), **options)


def learned_runs(tokenizer, ids, labels) -> list[str]:
    """Decoded runs of consecutive learned tokens; each label is checked to be its own token."""
    runs, current = [], []
    for token, label in zip(list(ids), list(labels), strict=True):
        if label == IGNORE_INDEX:
            if current:
                runs.append(tokenizer.decode(current))
            current = []
        else:
            assert label == token
            current.append(int(token))
    if current:
        runs.append(tokenizer.decode(current))
    return runs


def answer_learned(tokenizer, prompt_messages, answer: str) -> list[str]:
    """What DPO and KTO learn of prompt + answer: the rows their collate makes, masks checked token by token."""
    tokens = Tokenizing(tokenizer, 512, FIXTURES)
    prompt, _ = tokens.prompt({"prompt": prompt_messages}, 0)
    batch = answer_rows([(prompt, tokens.answer(answer))], tokenizer.pad_token_id, 512)
    return learned_runs(tokenizer, batch.input_ids[0][: int(batch.attention_mask[0].sum())], batch.labels[0])


def test_messages_with_a_boolean_label_are_feedback_judging_the_last_assistant_turn(chatml):
    loaded = load("kto_messages.json")
    assert (loaded.format, len(loaded.records)) == ("feedback", 6)
    second_turn = loaded.records[3]
    assert second_turn == {
        "prompt": [
            {"role": "user", "content": "Name a prime."},
            {"role": "assistant", "content": "7"},
            {"role": "user", "content": "Another one?"},
        ],
        "completion": "9",
        "label": False,
    }
    assert [record["label"] for record in loaded.records] == [True, False, True, False, True, True]
    # KTO learns the judged completion and its eos, never the earlier assistant turn or the prompt.
    eos = chatml.decode([chatml.eos_token_id])
    assert answer_learned(chatml, second_turn["prompt"], second_turn["completion"]) == ["9" + eos]


def test_kto_tag_with_sharegpt_and_true_false_csv_cells_are_feedback():
    tagged = load("kto_sharegpt.jsonl")
    assert tagged.format == "feedback"
    assert tagged.records[2] == {
        "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Largest planet?"}],
        "completion": "Jupiter.",
        "label": True,
    }
    cells = load("feedback.csv")
    assert [(record["completion"], record["label"]) for record in cells.records] == [("Hello there!", True), ("Go away.", False)]


def test_a_boolean_label_is_never_read_as_sft():
    for name, forced in (("kto_messages.json", "openai"), ("kto_sharegpt.jsonl", "sharegpt"), ("feedback.csv", "prompt_completion")):
        loaded = read_dataset(str(FIXTURES / name), format=forced, bad_rows="skip")
        assert loaded.records == [] and loaded.skipped == loaded.rows
        assert 'marks a feedback row for method "kto"' in str(loaded.errors[0])
    with pytest.raises(TrainerError, match='was read as "feedback".*set method to "kto"'):
        require_format("sft", "feedback", FIXTURES / "kto_messages.json")


def test_chosen_and_rejected_messages_are_preference_pairs_learned_on_the_final_reply(chatml):
    pairs = load("pair_messages.jsonl")
    assert pairs.format == "preference"
    assert pairs.records[1] == {
        "prompt": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "I failed my test."}],
        "chosen": "I'm sorry. Want to plan the next one together?",
        "rejected": "Study harder.",
    }
    assert pairs.records[2]["chosen"] == "长城是中国古代修建的军事防御工程。"
    eos = chatml.decode([chatml.eos_token_id])
    record = pairs.records[0]
    assert answer_learned(chatml, record["prompt"], record["chosen"]) == ["Paris." + eos]
    assert answer_learned(chatml, record["prompt"], record["rejected"]) == ["Lyon." + eos]
    shared = load("pair_messages_prompt.jsonl").records
    assert shared[0]["prompt"] == [{"role": "user", "content": "Write a haiku about rain."}]
    # The prompt written both as the prompt column and inside each conversation is not doubled.
    assert shared[1] == {"prompt": [{"role": "user", "content": "2+2?"}], "chosen": "4", "rejected": "5"}


def test_sharegpt_tool_turns_render_in_a_tools_aware_template_and_train_the_calls(tool_aware):
    loaded = load("sharegpt_tools.jsonl")
    first, second = loaded.records[0], loaded.records[1]
    assert first["tools"][0]["function"]["name"] == "get_weather"  # bare definitions are wrapped
    assert first["messages"][1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}],
    }
    example = encode_records(tool_aware, [first], 1024).examples[0]
    text = tool_aware.decode(example["input_ids"])
    assert text.startswith('<|im_start|>system\n# Tools\n{"type": "function", "function": {"name": "get_weather"')
    assert '<tool_response>{"temp_c": 3, "sky": "snow"}</tool_response>' in text
    assert learned_runs(tool_aware, example["input_ids"], example["labels"]) == [
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call><|im_end|>',
        "It is 3 °C and snowing in Oslo.<|im_end|>",
    ]
    # The assistant's words before its call and the call are one turn, learned together.
    runs = learned_runs(tool_aware, *encode_records(tool_aware, [second], 1024).examples[0].values())
    assert runs[0] == (
        'Let me convert that.<tool_call>{"name": "convert_currency", "arguments": '
        '{"amount": 20, "from": "USD", "to": "EUR"}}</tool_call><|im_end|>'
    )


def test_typed_tool_call_and_tool_response_parts_with_loss_weights(tool_aware):
    loaded = load("typed_parts_tools.jsonl")
    messages = loaded.records[0]["messages"]
    assert messages[2] == {
        "role": "assistant",
        "content": "",
        "weight": 1,
        "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}],
    }
    assert messages[3] == {"role": "tool", "content": '{"temp_c": 10}', "name": "get_weather"}
    example = encode_records(tool_aware, [loaded.records[0]], 1024).examples[0]
    assert learned_runs(tool_aware, example["input_ids"], example["labels"]) == [
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call><|im_end|>',
        "It is 10 °C in Oslo.<|im_end|>",
    ]


def test_the_preview_counts_rows_whose_tools_the_template_drops(tmp_path, tool_aware):
    plain = preview(str(FIXTURES / "sharegpt_tools.jsonl"), tokens={"shown": 1})
    assert plain["tokens"]["toolsLost"] == 3  # ChatML renders none of the three rows' tools
    typed = preview(str(FIXTURES / "typed_parts_tools.jsonl"), tokens={"shown": 1})
    assert typed["tokens"]["toolsLost"] == 5  # the five rows with calls; the others have none
    tool_aware.save_pretrained(tmp_path / "model")
    aware = preview(str(FIXTURES / "sharegpt_tools.jsonl"), tokens={"shown": 1, "model": str(tmp_path / "model")})
    assert aware["tokens"]["toolsLost"] == 0


def test_txt_documents_by_line_paragraph_or_file_each_ended_by_eos(chatml):
    articles = load("articles.txt")
    assert len(articles.records) == 5 and articles.records[2] == {"text": "长江是中国最长的河流，全长约六千三百公里。"}
    assert len(load("articles.txt", text_split="paragraph").records) == 1
    assert len(load("notes.txt").records) == 3
    assert len(load("notes.txt", text_split="line").records) == 4
    whole = load("notes.txt", text_split="file").records
    assert len(whole) == 1 and whole[0]["text"].startswith("First paragraph,") and whole[0]["text"].endswith("Third.")
    blocks = text_blocks(chatml, articles.records, 64)
    stream = [blocks[0]["input_ids"][0]] + [token for block in blocks for token in block["input_ids"][1:]]
    assert stream.count(chatml.eos_token_id) == 5 and stream[-1] == chatml.eos_token_id


def test_the_token_view_shows_chinese_and_an_en_dash_as_characters():
    summary = preview(str(FIXTURES / "articles.txt"), tokens={"shown": 1, "maxLength": 512})
    pieces = summary["tokens"]["examples"][0]
    text = "".join(piece["text"] for piece in pieces)
    assert "\ufffd" not in text
    assert "gas – slowly" in text and "长江是中国最长的河流" in text
    assert any(piece["tokens"] > 1 for piece in pieces)  # byte-level pieces were grouped
    assert sum(piece["tokens"] for piece in pieces) == min(512, summary["tokens"]["learnedTokens"] + 1)


def test_detection_alone_reads_only_the_first_rows_of_json_lines(tmp_path):
    # jobs.create checks the method with this: the format from the first 20 rows, whatever follows.
    rows = (FIXTURES / "kto_sharegpt.jsonl").read_text(encoding="utf-8") * 7 + "not json at all\n"
    path = tmp_path / "big.jsonl"
    path.write_text(rows, encoding="utf-8")
    detected = preview(str(path), detect_only=True)
    assert (detected["ok"], detected["format"], detected["rows"], detected["records"]) == (True, "feedback", 0, [])
    assert detected["columns"] == ["conversations", "kto_tag", "system"]
    assert preview(str(path), limit=0)["skipped"] == 1  # the whole read does reach the broken line


def test_one_row_reads_as_one_row(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text('{"instruction": "Hi"}\n', encoding="utf-8")
    with pytest.raises(Exception, match=r"one\.jsonl: no usable rows: the only row was skipped; the first: one\.jsonl line 1"):
        load_records(str(path), bad_rows="skip")


def test_the_default_text_split_keeps_the_config_hash_of_checkpoints_from_before_it():
    from tunedeck_trainer.config import parse_config

    base = {"version": 1, "jobId": "job-hash", "model": {"path": "/models/tiny"}, "dataset": {"path": "/data/notes.txt"}}
    before = parse_config(base).hash()
    assert parse_config({**base, "dataset": {**base["dataset"], "textSplit": "auto"}}).hash() == before
    assert parse_config({**base, "dataset": {**base["dataset"], "textSplit": "line"}}).hash() != before
