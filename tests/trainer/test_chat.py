"""The chat process on the tiny model and a real adapter: streamed greedy text against
``model.generate``, the base pane against the base model, Stop, and the errors a user can cause.

    PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_chat.py
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import RUNTIME, make_job, run_cli

MESSAGES = [{"role": "user", "content": "What is two plus two?"}]
GREEDY = {"temperature": 0, "maxNewTokens": 40, "seed": 1}


class ChatProcess:
    """The real `python -m tunedeck_trainer.chat serve`, read line by line on a thread."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tunedeck_trainer.chat", "serve", "--heartbeat-seconds", "0.5"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(RUNTIME), **(env or {})},
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.next("ready")["protocol"] == 1

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def send(self, **request: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def next(self, *types: str, timeout: float = 120) -> dict[str, Any]:
        """The next message of one of ``types`` (heartbeats and others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if message["type"] in types:
                return message

    def answer(self, request_id: str) -> tuple[str, dict[str, Any]]:
        """The streamed text of one answer and its done message."""
        streamed = ""
        while True:
            message = self.next("token", "done", "error")
            assert message["type"] != "error", message
            if message["id"] != request_id:
                continue
            if message["type"] == "done":
                return streamed, message
            streamed += message["text"]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def adapter(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The adapter of a job trained a few steps on the tiny model with a high learning rate."""
    job = make_job(tmp_path_factory.mktemp("chat") / "job", tiny_model, training={"maxSteps": 6, "learningRate": 0.05})
    completed = run_cli(job)
    assert completed.returncode == 0, completed.stdout[-2000:]
    return job / "adapter"


@pytest.fixture()
def chat(tiny_model: Path, adapter: Path):
    process = ChatProcess()
    process.send(type="load", base=str(tiny_model), adapters={"tuned": str(adapter)}, device="cpu")
    loaded = process.next("loaded", "error")
    assert loaded["type"] == "loaded", loaded
    yield process
    process.close()


def _generate(model_dir: Path, adapter: Path | None, prompt: str, max_new_tokens: int) -> str:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(adapter or model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter)).eval()
    ids = torch.tensor([tokenizer(prompt, add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        output = model.generate(input_ids=ids, do_sample=False, max_new_tokens=max_new_tokens)
    return tokenizer.decode(output[0, ids.shape[1] :], skip_special_tokens=True)


def test_greedy_stream_equals_generate_and_base_pane_equals_base(chat: ChatProcess, tiny_model: Path, adapter: Path) -> None:
    # Both panes at once, interleaved in one process: the tuned adapter and the same model with it off.
    chat.send(type="generate", id="tuned", messages=MESSAGES, settings=GREEDY, adapter="tuned")
    chat.send(type="generate", id="base", messages=MESSAGES, settings=GREEDY, adapter=None, templateFrom="tuned")
    prompt = chat.next("started")["prompt"]
    assert prompt.endswith("<|im_start|>assistant\n")  # the adapter's ChatML template
    texts: dict[str, str] = {"tuned": "", "base": ""}
    done: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    while len(done) < 2:
        message = chat.next("token", "done", "error")
        assert message["type"] != "error", message
        if message["type"] == "token":
            texts[message["id"]] += message["text"]
            order.append(message["id"])
        else:
            done[message["id"]] = message
    tuned_expected = _generate(tiny_model, adapter, prompt, 40)
    base_expected = _generate(tiny_model, None, prompt, 40)
    print(f"tuned: {texts['tuned']!r}\nbase: {texts['base']!r}")
    assert texts["tuned"] == tuned_expected == done["tuned"]["text"]
    assert texts["base"] == base_expected == done["base"]["text"]
    assert texts["tuned"] != texts["base"]  # the adapter changes the answer, so the panes test something
    assert {"tuned", "base"} <= set(order[:4])  # both streamed from the start, not one after the other


def test_two_adapters_of_one_base_each_answer_as_alone(tiny_model: Path, adapter: Path, tmp_path: Path) -> None:
    # A second adapter, trained otherwise, so that switching between them per token is tested.
    other_job = make_job(tmp_path / "other", tiny_model, training={"maxSteps": 3, "learningRate": 0.08, "seed": 7})
    completed = run_cli(other_job)
    assert completed.returncode == 0, completed.stdout[-2000:]
    other = other_job / "adapter"
    process = ChatProcess()
    try:
        process.send(type="load", base=str(tiny_model), adapters={"one": str(adapter), "two": str(other)}, device="cpu")
        assert process.next("loaded", "error")["type"] == "loaded"
        process.send(type="generate", id="one", messages=MESSAGES, settings=GREEDY, adapter="one")
        process.send(type="generate", id="two", messages=MESSAGES, settings=GREEDY, adapter="two")
        prompt = process.next("started")["prompt"]
        texts: dict[str, str] = {}
        while len(texts) < 2:
            message = process.next("done", "error")
            assert message["type"] == "done", message
            texts[message["id"]] = message["text"]
    finally:
        process.close()
    print(f"one: {texts['one']!r}\ntwo: {texts['two']!r}")
    assert texts["one"] == _generate(tiny_model, adapter, prompt, 40)
    assert texts["two"] == _generate(tiny_model, other, prompt, 40)
    assert texts["one"] != texts["two"]


def test_stop_ends_a_long_generation(tiny_model: Path, adapter: Path) -> None:
    process = ChatProcess(env={"TUNEDECK_CHAT_TOKEN_DELAY": "0.05"})
    try:
        process.send(type="load", base=str(tiny_model), adapters={"tuned": str(adapter)}, device="cpu")
        assert process.next("loaded", "error")["type"] == "loaded"
        settings = {"temperature": 1.0, "topP": 0.95, "maxNewTokens": 400, "seed": 3}
        process.send(type="generate", id="long", messages=MESSAGES, settings=settings, adapter="tuned")
        process.next("token")
        asked = time.monotonic()
        process.send(type="stop", id="long")
        done = process.next("done")
        elapsed = time.monotonic() - asked
        print(f"stopped after {done['tokens']} tokens, {elapsed:.3f} s after Stop")
        assert done["reason"] == "stopped"
        assert done["tokens"] < 400  # cut short; how soon after Stop is printed, not asserted on a shared CI
    finally:
        process.close()


def test_sampling_is_repeatable_with_the_same_seed(chat: ChatProcess) -> None:
    settings = {"temperature": 0.9, "topP": 0.9, "maxNewTokens": 20, "seed": 7}
    answers = []
    for request_id in ("first", "second"):
        chat.send(type="generate", id=request_id, messages=MESSAGES, settings=settings, adapter="tuned")
        answers.append(chat.answer(request_id)[0])
    assert answers[0] == answers[1] and answers[0]


def test_a_last_message_longer_than_the_context_is_refused(chat: ChatProcess) -> None:
    chat.send(type="generate", id="long", messages=[{"role": "user", "content": "two plus two " * 400}], settings=GREEDY, adapter="tuned")
    error = chat.next("error", "started")
    assert error["type"] == "error" and error["id"] == "long"
    assert "longer than the model's context of 512 tokens" in error["message"]


def test_a_conversation_longer_than_the_context_drops_its_oldest_turns(chat: ChatProcess) -> None:
    answer = {"role": "assistant", "content": "four " * 20}
    turns = [message for n in range(4) for message in [{"role": "user", "content": f"old question {n} " + "two plus two " * 60}, answer]]
    chat.send(type="generate", id="longer", messages=[*turns, *MESSAGES], settings=GREEDY, adapter="tuned")
    started = chat.next("started", "error")
    assert started["type"] == "started", started
    assert started["id"] == "longer" and started["dropped"] > 0 and started["dropped"] % 2 == 0
    # The newest question is kept, the oldest is gone, and the answer has room.
    assert "What is two plus two?" in started["prompt"] and "old question 0 " not in started["prompt"]
    assert started["promptTokens"] <= 512 - 40
    chat.answer("longer")


def test_a_missing_base_model_is_named(tmp_path: Path, adapter: Path) -> None:
    process = ChatProcess()
    try:
        missing = tmp_path / "gone"
        process.send(type="load", base=str(missing), adapters={"tuned": str(adapter)}, device="cpu")
        error = process.next("error", "loaded")
        assert error["type"] == "error" and error["request"] == "load"
        assert str(missing) in error["message"] and "base model" in error["message"]
        assert process.next("heartbeat", timeout=5)["generating"] == 0  # still serving
    finally:
        process.close()
