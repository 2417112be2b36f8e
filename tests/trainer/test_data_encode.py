"""encode_records: labels cover exactly the assistant's tokens, for any chat template.

Run: PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_data_encode.py
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from tunedeck_trainer.data import DatasetError, encode_records, load_records

IGNORE = -100
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello to Ada."},
    {"role": "assistant", "content": "Hello, Ada! Nice to meet you."},
    {"role": "user", "content": "Now count from 1 to 3."},
    {"role": "assistant", "content": "1, 2, 3."},
]
REPLIES = ["Hello, Ada! Nice to meet you.", "1, 2, 3."]
CORPUS = [
    "You are terse. Say hello to Ada. Hello, Ada! Nice to meet you. Now count from 1 to 3. 1, 2, 3.",
    "### System: ### User: ### Assistant: ### Tool: Hello world, the quick brown fox jumps over the lazy dog.",
    "User: Assistant: What is the opposite of hot? The opposite of hot is cold.",
] * 20
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def build_tokenizer(chat_template: str | None, eos: str) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on CORPUS, with ChatML markers as special tokens."""
    model = Tokenizer(models.BPE())
    model.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    model.decoder = decoders.ByteLevel()
    model.post_processor = processors.ByteLevel(trim_offsets=False)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    model.train_from_iterator(CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=model, eos_token=eos, pad_token="<|endoftext|>", clean_up_tokenization_spaces=False
    )
    tokenizer.chat_template = chat_template
    return tokenizer


@pytest.fixture(scope="module")
def chatml() -> PreTrainedTokenizerFast:
    return build_tokenizer(CHATML, "<|im_end|>")


@pytest.fixture(scope="module")
def plain() -> PreTrainedTokenizerFast:
    return build_tokenizer(None, "<|endoftext|>")


def labelled_spans(tokenizer, example) -> list[str]:
    """Decoded text of each run of consecutive labelled tokens."""
    spans, current = [], []
    for token, label in zip(example["input_ids"], example["labels"], strict=True):
        if label == IGNORE:
            if current:
                spans.append(tokenizer.decode(current))
            current = []
        else:
            assert label == token, "a label must be the token itself"
            current.append(token)
    if current:
        spans.append(tokenizer.decode(current))
    return spans


def test_chatml_labels_only_assistant_content_and_im_end(chatml):
    result = encode_records(chatml, [{"messages": CONVERSATION}], max_length=512)
    example = result.examples[0]
    text = chatml.apply_chat_template(CONVERSATION, tokenize=False)
    assert chatml.decode(example["input_ids"]) == text
    assert labelled_spans(chatml, example) == [reply + "<|im_end|>" for reply in REPLIES]
    im_end = chatml.convert_tokens_to_ids("<|im_end|>")
    labelled = [token for token, label in zip(example["input_ids"], example["labels"], strict=True) if label != IGNORE]
    # Token by token: the labelled tokens are exactly each reply's tokens followed by <|im_end|>.
    expected = []
    for reply in REPLIES:
        expected += chatml(reply, add_special_tokens=False)["input_ids"] + [im_end]
    assert labelled == expected
    assert result.truncated == 0


def test_default_template_for_a_tokenizer_without_one(plain):
    example = encode_records(plain, [{"messages": CONVERSATION}], max_length=512).examples[0]
    decoded = plain.decode(example["input_ids"])
    assert decoded.startswith("### System:\nYou are terse.\n\n### User:\nSay hello to Ada.\n\n### Assistant:\n")
    assert labelled_spans(plain, example) == [reply + "<|endoftext|>" for reply in REPLIES]


def test_train_on_inputs_labels_every_token(chatml):
    example = encode_records(chatml, [{"messages": CONVERSATION}], 512, train_on_inputs=True).examples[0]
    assert example["labels"] == example["input_ids"]


def test_truncation_is_counted_and_cuts_to_max_length(chatml):
    records = [{"messages": CONVERSATION}, {"messages": CONVERSATION[1:3]}]
    full = encode_records(chatml, records, 512).examples
    limit = len(full[1]["input_ids"]) + 1  # the short one fits, the long one does not
    result = encode_records(chatml, records, limit)
    assert result.truncated == 1
    assert [len(example["input_ids"]) for example in result.examples] == [limit, len(full[1]["input_ids"])]
    assert result.examples[0]["labels"] == full[0]["labels"][:limit]


def test_text_records_train_every_token_and_end_with_eos(plain):
    example = encode_records(plain, [{"text": "the quick brown fox"}], 64).examples[0]
    assert example["labels"] == example["input_ids"]
    assert plain.decode(example["input_ids"]) == "the quick brown fox<|endoftext|>"


def test_preference_records_are_refused(chatml):
    record = {"prompt": [{"role": "user", "content": "Hi"}], "chosen": "Hello", "rejected": "Go away"}
    with pytest.raises(DatasetError, match=r"record 1: is a preference pair \(prompt/chosen/rejected\)"):
        encode_records(chatml, [record], 64)


def test_a_template_that_splits_tokens_differently_falls_back_to_offsets():
    # The generation prompt ends in a space that BPE merges into the reply's first word, so the
    # prompt's tokens are not a prefix of the conversation's; character offsets find the turn.
    template = (
        "{% for m in messages %}{{ ('User: ' if m['role'] == 'user' else 'Assistant: ') + m['content'] }}"
        "{{ '<|im_end|>' if m['role'] == 'assistant' else '\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}"
    )
    chatml_copy = build_tokenizer(template, "<|im_end|>")
    messages = [m for m in CONVERSATION if m["role"] != "system"]
    example = encode_records(chatml_copy, [{"messages": messages}], 512).examples[0]
    spans = labelled_spans(chatml_copy, example)
    assert [span.strip() for span in spans] == [reply + "<|im_end|>" for reply in REPLIES]


def test_a_template_that_renders_prefixes_differently_is_searched():
    # The header counts the messages, so shorter renders are not prefixes of the whole text.
    template = "{{ messages | length }} messages\n" + CHATML
    counted = build_tokenizer(template, "<|im_end|>")
    example = encode_records(counted, [{"messages": CONVERSATION}], 512).examples[0]
    assert labelled_spans(counted, example) == [reply + "<|im_end|>" for reply in REPLIES]


def test_real_alpaca_rows_encode_with_labels_on_every_reply(chatml):
    path = SHARED / "identity.json"
    if not path.exists():
        pytest.skip(f"real datasets not found at {SHARED} (CI puts shared/ beside the clone)")
    records = load_records(str(path)).records
    result = encode_records(chatml, records, 4096)
    assert len(result.examples) == 91 and result.truncated == 0
    for record, example in zip(records, result.examples, strict=True):
        assert labelled_spans(chatml, example) == [record["messages"][-1]["content"] + "<|im_end|>"]


def test_a_conversation_the_template_refuses_names_the_record():
    template = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    refusing = build_tokenizer(template + CHATML, "<|im_end|>")
    records = [{"messages": CONVERSATION[1:3]}, {"messages": CONVERSATION}]
    with pytest.raises(DatasetError) as caught:
        encode_records(refusing, records, 512)
    assert str(caught.value).startswith(
        "dataset record 2: the model's chat template cannot render this conversation (System role not supported)."
    )
