"""Bad rows and bad files: the message names the file, the line or row and the field.

With bad_rows="fail" the first bad row raises; with "skip" it is counted and kept.
Run: PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_data_errors.py
"""

from __future__ import annotations

import json

import pytest

from tunedeck_trainer.data import DatasetError, load_records

SKIP = ' Fix the row or set bad rows to "skip".'
GOOD_ALPACA = {"instruction": "Say hi.", "output": "Hi!"}
GOOD_SHAREGPT = {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello."}]}
GOOD_OPENAI = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}
GOOD_PREFERENCE = {"prompt": "Say hi.", "chosen": "Hi!", "rejected": "No."}

# (case, first good row, second row as JSONL text, field, message after "bad.jsonl line 2: ")
CASES = [
    ("missing field", GOOD_ALPACA, {"instruction": "Say bye."}, "output", 'field "output": missing.'),
    ("null", GOOD_ALPACA, {"instruction": "Say bye.", "output": None}, "output", 'field "output": expected a string, got null.'),
    ("number", GOOD_ALPACA, {"instruction": "Say bye.", "output": 42}, "output", 'field "output": expected a string, got a number (42).'),
    (
        "list",
        GOOD_ALPACA,
        {"instruction": ["Say", "bye"], "output": "Bye."},
        "instruction",
        'field "instruction": expected a string, got a list.',
    ),
    ("empty conversation", GOOD_SHAREGPT, {"conversations": []}, "conversations", 'field "conversations": the conversation is empty.'),
    (
        "no assistant turn",
        GOOD_SHAREGPT,
        {"conversations": [{"from": "human", "value": "Hi"}]},
        "conversations",
        'field "conversations": the conversation has no assistant turn, so there is nothing to learn from.',
    ),
    (
        "unknown from",
        GOOD_SHAREGPT,
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "bot", "value": "Hello."}]},
        "conversations[1].from",
        'field "conversations[1].from": unknown role "bot"; expected one of human, user, gpt, assistant, system, '
        "function_call, observation.",
    ),
    (
        "unknown role",
        GOOD_OPENAI,
        {"messages": [{"role": "narrator", "content": "Once"}, {"role": "assistant", "content": "upon"}]},
        "messages[0].role",
        'field "messages[0].role": unknown role "narrator"; expected one of system, developer, user, assistant, tool, function.',
    ),
    ("not an object", GOOD_ALPACA, ["Say bye.", "Bye."], None, "expected an object with the dataset's fields, got a list."),
    ("broken line", GOOD_ALPACA, '{"instruction": "Say bye.", "output": }', None, "not valid JSON (Expecting value at column 39)."),
    (
        "missing rejected",
        GOOD_PREFERENCE,
        {"prompt": "Say bye.", "chosen": "Bye!"},
        "rejected",
        'field "rejected": missing (a preference row needs prompt, chosen and rejected).',
    ),
]


@pytest.mark.parametrize("case, good, bad, field, expected", CASES, ids=[case[0] for case in CASES])
def test_bad_row_fails_or_is_skipped(tmp_path, case, good, bad, field, expected):
    path = tmp_path / "bad.jsonl"
    bad_line = bad if isinstance(bad, str) else json.dumps(bad)
    path.write_text(json.dumps(good) + "\n" + bad_line + "\n" + json.dumps(good) + "\n")
    with pytest.raises(DatasetError) as caught:
        load_records(str(path))
    error = caught.value
    assert str(error) == "bad.jsonl line 2: " + expected + SKIP
    assert (error.file, error.row, error.field) == (str(path), 2, field)
    skipped = load_records(str(path), bad_rows="skip")
    assert (skipped.rows, skipped.skipped, len(skipped.records)) == (3, 1, 2)
    assert [str(item) for item in skipped.errors] == [str(error)]


def test_json_array_rows_are_numbered_from_one(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([GOOD_ALPACA, GOOD_ALPACA, {"instruction": "x", "output": None}]))
    with pytest.raises(DatasetError, match=r'^rows\.json row 3: field "output": expected a string, got null\.'):
        load_records(str(path))


def test_csv_errors_give_the_line_even_after_a_multiline_cell(tmp_path):
    path = tmp_path / "qa.csv"
    path.write_text('question,answer\n"two\nlines",fine\nno answer,\n')
    with pytest.raises(DatasetError) as caught:
        load_records(str(path), columns={"instruction": "question", "output": "answer"})
    # The mapped column is named as the file names it.
    assert str(caught.value) == 'qa.csv line 4: field "answer": missing.' + SKIP


def test_a_file_that_is_not_json_names_line_and_column(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('[\n  {"instruction": "a", "output": "b"}\n  {"instruction": "c"}\n]')
    with pytest.raises(DatasetError) as caught:
        load_records(str(path), bad_rows="skip")
    assert str(caught.value) == (
        "data.json line 3: not valid JSON at column 3 (Expecting ',' delimiter). Fix the file: a .json dataset is "
        "one array of rows (or use .jsonl, one row per line)."
    )
    assert caught.value.row == 3


def test_unknown_file_type_lists_the_supported_ones(tmp_path):
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(DatasetError) as caught:
        load_records(str(path))
    assert str(caught.value) == (
        "sheet.xlsx: unsupported file type .xlsx. Use .json, .jsonl, .csv, .parquet, .txt, or a folder written by datasets' save_to_disk."
    )


@pytest.mark.parametrize("name, content", [("empty.jsonl", "\n\n"), ("empty.json", "[]"), ("empty.csv", "a,b\n")])
def test_empty_dataset(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DatasetError) as caught:
        load_records(str(path))
    assert str(caught.value) == f"{name}: the file has no rows. Add rows or choose another file."


@pytest.mark.parametrize(
    "name, content, what",
    [
        ("empty.json", "", "0 bytes"),
        ("blank.json", " \n\n", "only blank space"),
        ("empty.jsonl", "", "0 bytes"),
        ("empty.csv", "", "0 bytes"),
        ("empty.txt", "", "0 bytes"),
    ],
)
def test_an_empty_file_is_called_empty(tmp_path, name, content, what):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DatasetError) as caught:
        load_records(str(path))
    # Not "not valid JSON at column 1": the file has nothing in it at all.
    assert str(caught.value) == f"{name}: the file is empty ({what}). Choose a file with rows, or add rows to it."


def test_all_rows_bad_in_skip_mode_is_an_error_quoting_the_first(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"instruction": "a"}\n{"instruction": "b"}\n')
    with pytest.raises(DatasetError) as caught:
        load_records(str(path), bad_rows="skip")
    assert str(caught.value) == (
        'bad.jsonl: no usable rows: all 2 rows were skipped; the first: bad.jsonl line 1: field "output": missing. '
        'Fix the row or set bad rows to "skip". Check the format and the column mapping.'
    )


def test_skip_mode_counts_every_bad_row_and_keeps_their_errors_in_order(tmp_path):
    lines = [json.dumps(GOOD_ALPACA), "not json", json.dumps({"instruction": "x", "output": 1}), "[]", json.dumps(GOOD_ALPACA)]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = load_records(str(path), bad_rows="skip")
    assert (result.rows, result.skipped, len(result.records)) == (5, 3, 2)
    assert [(error.row, error.field) for error in result.errors] == [(2, None), (3, "output"), (4, None)]
