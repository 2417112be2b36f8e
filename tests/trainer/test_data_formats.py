"""load_records reads every format and file type into the normalised records.

Run: PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_data_formats.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tunedeck_trainer.data import DatasetError, load_records, preview

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "datasets"


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def system(text: str) -> dict[str, str]:
    return {"role": "system", "content": text}


ALPACA = [
    {"messages": [user("Name the color of the sky."), assistant("The sky is blue.")]},
    {"messages": [system("You are polite."), user("Greet the person.\nAda"), assistant("Hello, Ada!")]},
    {"messages": [user("Greet Ada."), assistant("Hello, Ada!"), user("And now Ben?"), assistant("Hello, Ben!")]},
]


def load(name: str, **options):
    return load_records(str(FIXTURES / name), **options)


def test_alpaca_json_array_with_input_system_and_history():
    result = load("alpaca.json")
    assert (result.format, result.rows, result.skipped, result.errors) == ("alpaca", 3, 0, [])
    assert result.records == ALPACA


def test_json_object_holding_one_list_of_rows():
    result = load("alpaca_wrapped.json")
    assert result.format == "alpaca"
    assert result.records[1] == {"messages": [user("Count to 2."), assistant("1, 2.")]}


def test_sharegpt_maps_function_call_and_observation():
    result = load("sharegpt.jsonl")
    assert result.format == "sharegpt" and result.rows == 2
    assert result.records[0]["messages"] == [
        system("You are a weather bot."),
        user("Weather in Paris?"),
        # A function_call turn is a structured call, not assistant text holding JSON.
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"type": "function", "function": {"name": "weather", "arguments": {"city": "Paris"}}}],
        },
        {"role": "tool", "content": '{"temp": 21}', "name": "weather"},
        assistant("It is 21 degrees in Paris."),
    ]
    assert result.records[1]["messages"] == [system("Be brief."), user("Hi"), assistant("Hello.")]


def test_openai_tool_calls_stay_structured_and_content_parts_join():
    result = load("openai.jsonl")
    assert result.format == "openai"
    call = result.records[0]["messages"][2]
    assert call["role"] == "assistant" and call["content"] == ""
    # Arguments given as JSON text are parsed: chat templates take them as objects.
    assert call["tool_calls"] == [{"type": "function", "function": {"name": "weather", "arguments": {"city": "Oslo"}}, "id": "call_1"}]
    assert result.records[0]["messages"][3] == {"role": "tool", "content": '{"temp": 3}', "tool_call_id": "call_1", "name": "weather"}
    assert result.records[1] == {"messages": [user("Two parts"), assistant("Joined.")]}


def test_prompt_completion_strings_and_message_lists():
    result = load("prompt_completion.jsonl")
    assert result.format == "prompt_completion"
    assert result.records == [
        {"messages": [user("The opposite of hot is"), assistant(" cold.")]},
        {"messages": [user("Opposite of up?"), assistant("Down.")]},
    ]


def test_text_rows_and_txt_paragraphs():
    assert load("text.jsonl").records[1] == {"text": "A second document."}
    result = load("notes.txt")
    assert result.format == "text"
    assert result.records == [
        {"text": "First paragraph,\nstill the first."},
        {"text": "Second paragraph."},
        {"text": "Third."},
    ]


def test_preference_strings_and_message_lists():
    result = load("preference.jsonl")
    assert result.format == "preference"
    assert result.records == [
        {"prompt": [user("Say hi.")], "chosen": "Hi!", "rejected": "No."},
        {"prompt": [system("Be kind."), user("Say bye.")], "chosen": "Bye, take care!", "rejected": "Whatever."},
    ]


def test_csv_with_a_column_mapping_quoted_cells_and_an_empty_cell():
    columns = {"instruction": "question", "input": "context", "output": "answer"}
    result = load("questions.csv", columns=columns)
    assert result.format == "alpaca" and result.rows == 3
    assert result.records == [
        {"messages": [user("What is 2+2?"), assistant("4")]},
        {"messages": [user('Summarise: "a, b"\nThe letters'), assistant("Two letters:\na and b.")]},
        {"messages": [user("Capital of France?\nEurope"), assistant("Paris")]},
    ]


def test_csv_without_a_mapping_cannot_be_detected_and_says_how_to_map():
    with pytest.raises(DatasetError) as caught:
        load("questions.csv")
    message = str(caught.value)
    assert message.startswith("questions.csv: cannot tell the format from the first rows' fields (question, context, answer)")
    assert '{"instruction": "question", "output": "answer"}' in message


def test_sharegpt_turns_under_a_messages_key_are_detected(tmp_path):
    path = tmp_path / "chat.jsonl"
    turns = [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello."}]
    path.write_text(json.dumps({"messages": turns}) + "\n")
    result = load_records(str(path))
    assert (result.format, result.records) == ("sharegpt", [{"messages": [user("Hi"), assistant("Hello.")]}])


def test_format_override_wins_over_detection(tmp_path):
    path = tmp_path / "both.jsonl"
    path.write_text(json.dumps({"text": "a document", "prompt": "p", "completion": "c"}) + "\n")
    assert load_records(str(path)).format == "prompt_completion"
    assert load_records(str(path), format="text").records == [{"text": "a document"}]


def test_parquet_file(tmp_path):
    import pyarrow
    import pyarrow.parquet

    rows = json.loads((FIXTURES / "alpaca.json").read_text())
    names = ["instruction", "input", "output", "system", "history"]
    rows = [{name: row.get(name) for name in names} for row in rows]  # Parquet has one schema: absent is null
    path = tmp_path / "alpaca.parquet"
    pyarrow.parquet.write_table(pyarrow.Table.from_pylist(rows), path)
    result = load_records(str(path))
    assert (result.format, result.rows) == ("alpaca", 3)
    assert result.records == ALPACA


def test_folder_saved_by_datasets_save_to_disk(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = [json.loads(line) for line in (FIXTURES / "sharegpt.jsonl").read_text().splitlines() if line.strip()]
    rows = [{"conversations": row["conversations"]} for row in rows]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "single"))
    result = load_records(str(tmp_path / "single"))
    assert (result.format, result.rows) == ("sharegpt", 2)
    assert result.records[1]["messages"] == [system("Be brief."), user("Hi"), assistant("Hello.")]
    train, test = datasets.Dataset.from_list(rows[1:]), datasets.Dataset.from_list(rows)
    splits = datasets.DatasetDict({"train": train, "test": test})
    splits.save_to_disk(str(tmp_path / "splits"))
    assert load_records(str(tmp_path / "splits")).rows == 1


def test_a_json_file_that_is_really_json_lines_is_read_line_by_line(tmp_path):
    path = tmp_path / "lines.json"
    path.write_text('{"text": "one"}\n{"text": "two"}\n')
    result = load_records(str(path))
    assert result.records == [{"text": "one"}, {"text": "two"}]


def test_preview_uses_the_loader_and_is_json(tmp_path):
    summary = preview(str(FIXTURES / "alpaca.json"), limit=2)
    assert json.loads(json.dumps(summary)) == summary
    assert (summary["ok"], summary["format"], summary["rows"], summary["usable"]) == (True, "alpaca", 3, 3)
    assert summary["columns"] == ["instruction", "input", "output", "system", "history"]
    assert summary["records"] == ALPACA[:2] and summary["errors"] == []
    broken = tmp_path / "broken.json"
    broken.write_text("[1,")
    assert preview(str(broken))["ok"] is False


def test_preview_command_line_prints_the_same_json(tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "python-runtime")}
    command = [
        sys.executable,
        "-m",
        "tunedeck_trainer.data",
        "preview",
        "--path",
        str(FIXTURES / "questions.csv"),
        "--columns",
        '{"instruction": "question", "output": "answer"}',
        "--limit",
        "1",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["format"], summary["rows"], len(summary["records"])) == ("alpaca", 3, 1)
    missing = subprocess.run([*command[:5], str(tmp_path / "nope.jsonl")], capture_output=True, text=True, env=environment, timeout=60)
    assert missing.returncode == 1
    error = json.loads(missing.stdout)["error"]
    assert error["message"] == "nope.jsonl: no such file. Choose an existing dataset file."
