"""Fuzzing the data layer with Hypothesis: any row, any column mapping and any file's bytes give
records or a DatasetError naming the row (or the file), never another exception; any record the
loader accepts encodes to tokens or fails as a row error.

Bounded and reproducible by default (fuzz_rows.FUZZ_EXAMPLES examples per test, derandomised);
more with TUNEDECK_FUZZ_EXAMPLES=2000.
Run: PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_fuzz_data.py
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from fuzz_rows import accepted_rows, fuzz, garbage, keys, mutated, rows
from tunedeck_trainer.data import FORMATS, DatasetError
from tunedeck_trainer.data.encode import IGNORE_INDEX, encode_record, template_for
from tunedeck_trainer.data.formats import FIELDS
from tunedeck_trainer.data.loader import read_dataset
from tunedeck_trainer.data.masks import TokenStats
from tunedeck_trainer.data.preview import preview
from tunedeck_trainer.data.readers import read_table
from tunedeck_trainer.errors import TrainerError
from tunedeck_trainer.methods.preference import Tokenizing

formats = st.sampled_from(["auto", *FORMATS])


@pytest.fixture(scope="session")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="session")
def tokenizers(tiny_model: Path) -> list[Any]:
    """The tiny model's tokenizer with its ChatML template, and the same without one (the default template)."""
    from transformers import AutoTokenizer

    plain = AutoTokenizer.from_pretrained(tiny_model)
    plain.chat_template = None
    return [AutoTokenizer.from_pretrained(tiny_model), plain]


def write_lines(folder: Path, values: list[Any]) -> Path:
    path = folder / f"{uuid.uuid4().hex}.jsonl"
    path.write_text("".join(json.dumps(value) + "\n" for value in values), encoding="utf-8")
    return path


def load(path: Path, format: str, columns: dict[str, Any] | None, count: int):
    """read_dataset with bad rows skipped, checked: each line is a record or an error naming that line.

    Returns the result, or None when the file as a whole was refused (a DatasetError naming no row).
    """
    try:
        result = read_dataset(str(path), format, columns, bad_rows="skip")
    except DatasetError as error:
        assert error.row is None or error.unit == "line", str(error)
        event("file refused")
        return None
    assert len(result.records) + result.skipped == result.rows == count
    lines = [error.row for error in result.errors]
    assert lines == sorted(set(lines)) and all(1 <= line <= count for line in lines)
    for error in result.errors:
        assert error.unit == "line" and f"{path.name} line {error.row}: " in str(error)
    event(f"{result.format}: {len(result.records)} of {count} rows accepted")  # --hypothesis-show-statistics
    for record in result.records:
        assert isinstance(record, dict) and record.keys() & {"messages", "text", "chosen", "label"}
    return result


@fuzz
@given(values=st.lists(rows, min_size=1, max_size=4), format=formats)
def test_any_row_gives_a_record_or_an_error_naming_its_line(folder: Path, values: list[Any], format: str) -> None:
    path = write_lines(folder, values)
    result = load(path, format, None, len(values))
    if result is None:
        return
    # "fail" stops at the first bad line with the same error "skip" kept for it.
    try:
        failed = read_dataset(str(path), format, None, bad_rows="fail")
    except DatasetError as error:
        assert result.errors and str(error) == str(result.errors[0])
    else:
        assert not result.errors and failed.records == result.records


@fuzz
@given(
    values=st.lists(rows, min_size=1, max_size=3),
    format=formats,
    columns=st.dictionaries(st.one_of(st.sampled_from(FIELDS), keys), st.one_of(keys, garbage), max_size=4),
)
def test_any_column_mapping_gives_records_or_an_error_naming_the_row_or_mapping(
    folder: Path, values: list[Any], format: str, columns: dict[str, Any]
) -> None:
    load(write_lines(folder, values), format, columns, len(values))


@fuzz
@given(
    values=st.lists(st.one_of(accepted_rows, mutated(accepted_rows)), min_size=1, max_size=3),
    format=st.sampled_from(["auto", "auto", *FORMATS]),
    max_length=st.integers(2, 300),
)  # the preview route allows 2 and up
def test_accepted_records_encode_to_tokens_or_a_row_error(
    folder: Path, tokenizers: list[Any], values: list[Any], format: str, max_length: int
) -> None:
    result = load(write_lines(folder, values), format, None, len(values))
    for record in result.records if result else []:
        for tokenizer in tokenizers:
            if "prompt" in record:
                encode_answer_rows(tokenizer, record, max_length)
                continue
            try:
                ids, labels = encode_record(tokenizer, record, template_for(tokenizer), False, 1)
            except DatasetError as error:
                assert error.row == 1 and error.unit == "record", str(error)
            else:
                assert len(ids) == len(labels) and all(isinstance(token, int) for token in ids)
                assert all(label in (IGNORE_INDEX, token) for token, label in zip(ids, labels, strict=True))
            stats = TokenStats(tokenizer, "fuzz", max_length, False, 1)
            try:
                stats.add(record)
            except DatasetError as error:
                assert error.unit == "record", str(error)
            else:
                shown = stats.result()["examples"]
                assert all(isinstance(token["text"], str) for example in shown for token in example)


def encode_answer_rows(tokenizer: Any, record: dict[str, Any], max_length: int) -> None:
    """A preference or feedback record as DPO and KTO tokenise it: tokens, or a TrainerError naming the record."""
    tokens = Tokenizing(tokenizer, max_length, Path("fuzz.jsonl"))
    try:
        prompt, _ = tokens.prompt(record, 0)
    except TrainerError as error:
        assert "record 1" in str(error) and error.field == "dataset.path", str(error)
        return
    assert len(prompt) <= max(1, max_length // 2)
    for side in ("chosen", "rejected", "completion"):
        if side in record:
            answer = tokens.answer(record[side])
            assert answer[-1] == tokenizer.eos_token_id and all(isinstance(token, int) for token in answer)


FILE_TYPES = [".jsonl", ".json", ".csv", ".txt", ".parquet", ".ndjson"]


@fuzz
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.lists(rows, max_size=3).map(lambda values: json.dumps(values).encode()),
    ),
    extension=st.sampled_from(FILE_TYPES),
    format=formats,
)
def test_any_file_bytes_give_rows_or_an_error_naming_the_file(folder: Path, content: bytes, extension: str, format: str) -> None:
    path = folder / f"{uuid.uuid4().hex}{extension}"
    path.write_bytes(content)
    try:
        table = read_table(str(path))
    except DatasetError as error:
        assert path.name in str(error)
    else:
        assert all(isinstance(number, int) and number >= 1 for number, _ in table.rows)
    try:
        read_dataset(str(path), format, None, bad_rows="skip")
    except DatasetError as error:
        assert path.name in str(error)
    shown = preview(str(path), format, limit=2)
    assert shown["ok"] in (True, False) and (shown["ok"] or path.name in shown["error"]["message"])


# -- the fuzzers' findings, kept as named regression tests ------------------------------------


def test_a_lone_surrogate_escape_is_a_row_error_naming_the_field(tmp_path: Path, tokenizers: list[Any]) -> None:
    """Found by test_accepted_records_encode_to_tokens_or_a_row_error: a JSON "\\ud800" escape without its pair
    passed the loader and crashed the tokenizer with a TypeError (the whole job, mid-encoding)."""
    path = tmp_path / "chat.jsonl"
    path.write_text(
        '{"instruction": "Say hi.", "output": "Hi!"}\n'
        '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "ok \\ud800"}]}\n',
        encoding="utf-8",
    )
    result = read_dataset(str(path), "auto", None, bad_rows="skip")
    assert [str(error) for error in result.errors] == [
        'chat.jsonl line 2: field "messages[1].content": holds \\ud800 at character 4, half of a UTF-16 surrogate '
        'pair and not a character; fix or remove the escape. Fix the row or set bad rows to "skip".'
    ]
    for tokenizer in tokenizers:
        ids, labels = encode_record(tokenizer, result.records[0], template_for(tokenizer), False, 1)
        assert ids and any(label != IGNORE_INDEX for label in labels)
    with pytest.raises(DatasetError, match="line 2"):
        read_dataset(str(path), "auto", None, bad_rows="fail")
