"""Data read as its author meant it (issue 19): a CSV whose first row is data, a file whose format
cannot be detected (its suggested reading), kto_tag and boolean columns mapped as the feedback
label, DPO and KTO prompts rendered with the row's tools, and the preview's masks of preference and
feedback rows, checked token by token.

Run: PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_data_reading.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_job
from tunedeck_trainer.config import load_config
from tunedeck_trainer.data import IGNORE_INDEX, load_records, preview
from tunedeck_trainer.data.csv_header import first_row_is_data
from tunedeck_trainer.data.errors import DatasetError
from tunedeck_trainer.data.job_encoded import encoded_records
from tunedeck_trainer.data.judged_tokens import judged_examples
from tunedeck_trainer.data.loader import read_dataset
from tunedeck_trainer.methods.preference import Tokenizing, answer_rows
from tunedeck_trainer.tiny_model import build_tokenizer

# Tools in a system turn, calls as <tool_call> JSON, results as <tool_response>: written here so that
# the test needs no downloaded model (a Qwen2.5-like template; ChatML renders no tools at all).
TOOLS_TEMPLATE = (
    "{% if tools %}<|im_start|>system\n# Tools\n{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}<|im_end|>\n{% endif %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' and message.get('tool_calls') %}<|im_start|>assistant\n{{ message['content'] }}"
    "{% for call in message['tool_calls'] %}<tool_call>{{ call['function'] | tojson }}</tool_call>{% endfor %}<|im_end|>\n"
    "{% elif message['role'] == 'tool' %}<|im_start|>user\n<tool_response>{{ message['content'] }}</tool_response><|im_end|>\n"
    "{% else %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
TOOL_PROMPT = [
    {"role": "user", "content": "Weather in Oslo?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}],
    },
    {"role": "tool", "content": '{"temp_c": 3}'},
]


@pytest.fixture(scope="module")
def tool_aware():
    tokenizer = build_tokenizer()
    tokenizer.chat_template = TOOLS_TEMPLATE
    return tokenizer


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def write_rows(path: Path, rows: list[dict]) -> str:
    return write(path, "".join(json.dumps(row) + "\n" for row in rows))


# -- a CSV whose first row is data ------------------------------------------------------------


@pytest.mark.parametrize(
    "row, data",
    [
        (["What is 2+2?", "4", "true"], True),  # a question, a number, true/false
        (["Tell me a story about a dragon who learns to fly", "ok"], True),  # longer than a column name
        (["Paris", "Paris"], True),  # a header names each column once
        (["Frage", "Antwort"], False),  # short labels: odd column names
        (["question", "answer", "kto_tag"], False),
        (["instruction", "42"], False),  # a known field name wins over the number beside it
    ],
)
def test_first_row_is_data_is_guessed_as_a_person_would(row, data):
    assert first_row_is_data(row) is data


def test_a_headerless_csv_keeps_its_first_row_and_names_the_columns(tmp_path):
    path = write(tmp_path / "qa.csv", "What is 2+2?,4\nName a colour.,Blue\n\nCapital of France?,Paris\n")
    mapping = {"instruction": "column_1", "output": "column_2"}
    loaded = load_records(path, columns=mapping)
    assert (loaded.format, loaded.rows, loaded.columns) == ("alpaca", 3, ["column_1", "column_2"])
    assert [record["messages"][1]["content"] for record in loaded.records] == ["4", "Blue", "Paris"]
    assert "the first row is data, not column names: the columns are column_1 to column_2" in loaded.notes
    # Line numbers still count the file's lines: the blank line 3 is skipped, "Capital" is line 4.
    bad = write(tmp_path / "bad.csv", "What is 2+2?,4\nName a colour.,\n")
    skipped = read_dataset(bad, columns=mapping, bad_rows="skip")
    assert str(skipped.errors[0]) == 'bad.csv line 2: field "column_2": missing. Fix the row or set bad rows to "skip".'


def test_the_header_choice_overrides_the_guess(tmp_path):
    odd = write(tmp_path / "odd.csv", "Frage,Antwort\nWie alt?,Zehn\n")
    assert read_dataset(odd, columns={"instruction": "Frage", "output": "Antwort"}).rows == 1
    as_data = read_dataset(odd, columns={"instruction": "column_1", "output": "column_2"}, csv_header="no")
    assert [record["messages"][0]["content"] for record in as_data.records] == ["Frage", "Wie alt?"]
    numbers = write(tmp_path / "numbers.csv", "1,2\n3,4\n")
    assert read_dataset(numbers, format="text", columns={"text": "1"}, csv_header="yes").records == [{"text": "3"}]


def test_the_header_choice_is_part_of_the_encoded_cache_key(tmp_path, tiny_model, monkeypatch):
    from transformers import AutoTokenizer

    monkeypatch.setenv("TUNEDECK_ENCODED_CACHE", str(tmp_path / "cache"))
    data = write(tmp_path / "notes.csv", "column_1\nhello there\nbye now\n")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    counts = []
    for header in ("yes", "no", "yes"):
        job_dir = make_job(
            tmp_path / f"job-{header}",
            tiny_model,
            dataset={"path": data, "format": "text", "columns": {"text": "column_1"}, "csvHeader": header},
        )
        _, encoded = encoded_records(load_config(job_dir / "config.json"), job_dir, tokenizer)
        counts.append(len(encoded.examples))
    # Read with the header, two documents; as data, three: never the other's cached encoding.
    assert counts[0] == counts[2] != counts[1]
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_an_unknown_format_previews_with_its_columns_sample_and_a_suggested_reading(tmp_path):
    path = write(tmp_path / "judged.csv", "What is 2+2?,4,true\nName a colour.,Blue,true\nCapital of France?,Berlin,false\n")
    shown = preview(path)
    assert shown["ok"] is False and shown["needsReading"] is True
    assert shown["error"]["message"].startswith(
        "judged.csv: cannot tell the format from the first rows' fields (column_1, column_2, column_3)"
    )
    assert shown["columns"] == ["column_1", "column_2", "column_3"]
    assert shown["sample"][0] == {"column_1": "What is 2+2?", "column_2": "4", "column_3": "true"}
    suggestion = shown["suggestion"]
    assert suggestion == {"format": "feedback", "columns": {"label": "column_3", "prompt": "column_1", "completion": "column_2"}}
    read = load_records(path, suggestion["format"], suggestion["columns"])
    assert [(record["completion"], record["label"]) for record in read.records] == [("4", True), ("Blue", True), ("Berlin", False)]


def test_suggestions_come_from_odd_names(tmp_path):
    path = write_rows(tmp_path / "pairs.jsonl", [{"question": "2+2?", "good": "4", "bad": "5", "id": 7}])
    assert preview(path)["suggestion"] == {"format": "preference", "columns": {"chosen": "good", "rejected": "bad", "prompt": "question"}}


# -- kto_tag and boolean columns as the label ---------------------------------------------------


def test_kto_tag_and_a_boolean_column_map_as_the_feedback_label(tmp_path):
    tagged = write_rows(
        tmp_path / "tagged.jsonl",
        [
            {"question": "Greet me.", "reply": "Hello!", "kto_tag": True},
            {"question": "Greet me.", "reply": "Go away.", "kto_tag": False},
        ],
    )
    mapping = {"prompt": "question", "completion": "reply", "label": "kto_tag"}
    loaded = load_records(tagged, columns=mapping)
    assert loaded.format == "feedback"
    assert [(record["completion"], record["label"]) for record in loaded.records] == [("Hello!", True), ("Go away.", False)]
    thumbs = write(tmp_path / "thumbs.csv", "q,a,thumbs_up\nGreet me.,Hi!,True\nGreet me.,No.,false\n")
    loaded = load_records(thumbs, columns={"prompt": "q", "completion": "a", "label": "thumbs_up"})
    assert (loaded.format, [record["label"] for record in loaded.records]) == ("feedback", [True, False])
    words = write(tmp_path / "words.csv", "q,a,verdict\nGreet me.,Hi!,good\n")
    with pytest.raises(DatasetError, match=r'words.csv line 2: field "verdict": expected true \(desirable\) or false'):
        load_records(words, format="feedback", columns={"prompt": "q", "completion": "a", "label": "verdict"})


# -- DPO and KTO prompts with tools ----------------------------------------------------------


def learned_and_masked(tokenizer, ids, labels) -> tuple[str, str]:
    """(learned text, masked text), each label checked to be its own token."""
    learned, masked = [], []
    for token, label in zip(list(ids), list(labels), strict=True):
        if label == IGNORE_INDEX:
            masked.append(int(token))
        else:
            assert label == token
            learned.append(int(token))
    return tokenizer.decode(learned), tokenizer.decode(masked)


def rendered_prompt(tools: bool) -> str:
    definitions = (
        '<|im_start|>system\n# Tools\n{"type": "function", "function": ' + json.dumps(WEATHER) + "}\n<|im_end|>\n" if tools else ""
    )
    return (
        definitions + "<|im_start|>user\nWeather in Oslo?<|im_end|>\n<|im_start|>assistant\n"
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call><|im_end|>\n'
        '<|im_start|>user\n<tool_response>{"temp_c": 3}</tool_response><|im_end|>\n<|im_start|>assistant\n'
    )


def test_preference_and_feedback_prompts_render_their_tools_and_tool_calls(tmp_path, tool_aware):
    pairs = write_rows(tmp_path / "pairs.jsonl", [{"prompt": TOOL_PROMPT, "chosen": "3 °C.", "rejected": "Sunny.", "tools": [WEATHER]}])
    feedback = write_rows(
        tmp_path / "feedback.jsonl",
        [{"messages": [*TOOL_PROMPT, {"role": "assistant", "content": "3 °C."}], "kto_tag": True, "tools": json.dumps([WEATHER])}],
    )
    pair = load_records(pairs).records[0]
    judged = load_records(feedback).records[0]
    assert pair["tools"] == judged["tools"] == [{"type": "function", "function": WEATHER}]
    # The tool result is named after the call it answers.
    assert judged["prompt"] == [*TOOL_PROMPT[:2], {**TOOL_PROMPT[2], "name": "get_weather"}] == pair["prompt"]
    assert (judged["completion"], judged["label"]) == ("3 °C.", True)
    tokens = Tokenizing(tool_aware, 512, Path(pairs))
    for record, answer in ((pair, "3 °C."), (pair, "Sunny."), (judged, "3 °C.")):
        prompt, cut = tokens.prompt(record, 0)
        assert not cut
        batch = answer_rows([(prompt, tokens.answer(answer))], tool_aware.pad_token_id, 512)
        length = int(batch.attention_mask[0].sum())
        learned, masked = learned_and_masked(tool_aware, batch.input_ids[0][:length], batch.labels[0][:length])
        assert (learned, masked) == (answer + "<|im_end|>", rendered_prompt(tools=True))
    # Without the tools column the same prompt renders without the definitions (the calls stay).
    bare = Tokenizing(tool_aware, 512, Path(pairs)).prompt({"prompt": TOOL_PROMPT}, 0)[0]
    assert tool_aware.decode(bare) == rendered_prompt(tools=False)


# -- the preview's masks of preference and feedback rows -----------------------------------------


def pieces_text(example, learned: bool) -> str:
    return "".join(piece["text"] for piece in example if piece["learned"] is learned)


def test_the_preview_masks_preference_rows_chosen_then_rejected(tmp_path, tool_aware):
    pairs = write_rows(
        tmp_path / "pairs.jsonl",
        [
            {"prompt": "2+2?", "chosen": "4", "rejected": "5"},
            {"prompt": TOOL_PROMPT, "chosen": "3 °C.", "rejected": "Sunny.", "tools": [WEATHER]},
        ],
    )
    tokens = preview(pairs, tokens={"shown": 4, "maxLength": 512})["tokens"]
    assert tokens["sides"] == ["chosen", "rejected", "chosen", "rejected"]
    first_prompt = "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"
    assert [(pieces_text(example, True), pieces_text(example, False)) for example in tokens["examples"][:2]] == [
        ("4<|im_end|>", first_prompt),
        ("5<|im_end|>", first_prompt),
    ]
    assert pieces_text(tokens["examples"][3], True) == "Sunny.<|im_end|>"
    # Every learned piece follows every masked one: the answer is the end of each row.
    for example in tokens["examples"]:
        flags = [piece["learned"] for piece in example]
        assert flags == sorted(flags)
    chatml = build_tokenizer()
    expected = sum(len(chatml(answer + "<|im_end|>", add_special_tokens=False)["input_ids"]) for answer in ("4", "5", "3 °C.", "Sunny."))
    assert (tokens["learnedTokens"], tokens["trainable"], tokens["toolsLost"]) == (expected, 2, 1)
    # With a tools-aware template (a model folder holding it) the tools are shown, none lost.
    folder = tmp_path / "model"
    tool_aware.save_pretrained(folder)
    aware = preview(pairs, tokens={"shown": 4, "maxLength": 512, "model": str(folder)})["tokens"]
    assert pieces_text(aware["examples"][2], False) == rendered_prompt(tools=True) and aware["toolsLost"] == 0


def test_the_preview_masks_feedback_rows_desirable_or_not(tmp_path):
    feedback = write_rows(
        tmp_path / "feedback.jsonl",
        [
            {"prompt": "Greet me.", "completion": "Hello!", "label": True},
            {"prompt": "Greet me.", "completion": "Go away.", "label": False},
        ],
    )
    tokens = preview(feedback, tokens={"shown": 3, "maxLength": 512})["tokens"]
    assert tokens["sides"] == ["desirable", "undesirable"]
    assert [pieces_text(example, True) for example in tokens["examples"]] == ["Hello!<|im_end|>", "Go away.<|im_end|>"]
    assert {pieces_text(example, False) for example in tokens["examples"]} == {
        "<|im_start|>user\nGreet me.<|im_end|>\n<|im_start|>assistant\n"
    }


def test_judged_examples_cut_the_prompt_as_training_does():
    chatml = build_tokenizer()
    long_prompt = {"prompt": [{"role": "user", "content": "word " * 200}], "completion": "ok", "label": True}
    [(side, length, example)] = judged_examples(chatml, long_prompt, None, 64)
    assert side == "desirable" and length > 64 and len(example["input_ids"]) <= 64
    tokens = Tokenizing(chatml, 64, Path("x.jsonl"))
    prompt, cut = tokens.prompt(long_prompt, 0)
    assert cut and example["input_ids"] == (prompt + tokens.answer("ok"))[:64]


def test_csv_cells_keep_unicode_separators_and_the_first_row_keeps_its_spaces(tmp_path):
    """Fuzzing's findings: str.splitlines cut cells at \\x1e (and \\x85, \\u2028); a first row of data lost its spaces."""
    path = write(tmp_path / "odd.csv", 'a\x1eb,"c\u2028d"\n 0 ,x\n')
    rows = read_dataset(path, format="text", columns={"text": "column_1"}, csv_header="no").records
    assert rows == [{"text": "a\x1eb"}, {"text": " 0 "}]
