"""The chat model: one base loaded once, its LoRA adapters beside it, and generations that
advance one token at a time so that several can be interleaved and any can stop between tokens.

Why our own token loop rather than ``model.generate`` in a thread with TextIteratorStreamer: a
loop lets one process run two panes at once on one model (each step picks the adapter, or
disables it, for the pane it advances), and Stop takes effect before the next token instead of
waiting for a stopping criterion inside another thread. Greedy steps take the argmax of the same
logits ``generate`` computes (prompt forward, then one token per forward with the KV cache), so
the text is the same; tests/trainer/test_chat.py checks it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.encode import DEFAULT_CHAT_TEMPLATE


class ChatError(Exception):
    """A problem the user can fix (a missing model folder, a prompt longer than the context)."""


@dataclass
class Settings:
    """Sampling settings of one answer; temperature 0 means greedy."""

    temperature: float = 0.7
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int = 0
    stop: list[str] = field(default_factory=list)
    system_prompt: str = ""

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Settings:
        """Reads the camelCase settings of a generate request; unknown keys are ignored."""
        return cls(
            temperature=max(0.0, float(raw.get("temperature", 0.7))),
            top_p=min(1.0, max(0.0, float(raw.get("topP", 1.0)))) or 1.0,
            max_new_tokens=max(1, int(raw.get("maxNewTokens", 256))),
            seed=int(raw.get("seed", 0)),
            stop=[str(text) for text in raw.get("stop", []) if str(text)],
            system_prompt=str(raw.get("systemPrompt", "")),
        )


def _check_folder(folder: Path, marker: str, what: str) -> None:
    if not (folder / marker).exists():
        raise ChatError(f"{what} {folder} is missing or incomplete (no {marker}): put it back, or chat with another model.")


class ChatModel:
    """A base model with zero or more named adapters, on CUDA when there is one, else the CPU."""

    def __init__(self, base: str, adapters: dict[str, str], device: str = "auto") -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from ..config import resolve_model_path

        base_dir = resolve_model_path(Path.cwd(), base)
        _check_folder(base_dir, "config.json", "The base model folder")
        for name, folder in adapters.items():
            _check_folder(Path(folder), "adapter_config.json", f'The adapter "{name}" folder')
        self.device = "cuda" if device != "cpu" and torch.cuda.is_available() else "cpu"
        if self.device == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            dtype = torch.float32
        self.dtype = str(dtype).removeprefix("torch.")
        model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=dtype).to(self.device)
        self.tokenizers: dict[str | None, Any] = {None: AutoTokenizer.from_pretrained(str(base_dir))}
        if adapters:
            from peft import PeftModel

            names = list(adapters)
            model = PeftModel.from_pretrained(model, adapters[names[0]], adapter_name=names[0])
            for name in names[1:]:
                model.load_adapter(adapters[name], adapter_name=name)
            for name, folder in adapters.items():
                # The adapter folder carries the tokenizer (and chat template) it trained with.
                has_tokenizer = (Path(folder) / "tokenizer_config.json").exists()
                self.tokenizers[name] = AutoTokenizer.from_pretrained(folder) if has_tokenizer else self.tokenizers[None]
        self.model = model.eval()
        self.adapters = list(adapters)
        config = getattr(model, "config", None)
        self.context_length = int(getattr(config, "max_position_embeddings", 0) or self.tokenizers[None].model_max_length)

    def describe(self) -> dict[str, Any]:
        """What the chat shows about the loaded model."""
        return {"device": self.device, "dtype": self.dtype, "contextLength": self.context_length, "adapters": self.adapters}

    def render(self, messages: list[dict[str, str]], template_from: str | None, system_prompt: str) -> str:
        """The exact prompt text: the conversation through the chat template of ``template_from``'s tokenizer."""
        tokenizer = self.tokenizers.get(template_from, self.tokenizers[None])
        turns = [{"role": "system", "content": system_prompt}] if system_prompt else []
        turns += [{"role": str(turn["role"]), "content": str(turn["content"])} for turn in messages]
        template = None if getattr(tokenizer, "chat_template", None) else DEFAULT_CHAT_TEMPLATE
        try:
            return tokenizer.apply_chat_template(turns, chat_template=template, tokenize=False, add_generation_prompt=True)
        except Exception as error:  # jinja2 raises TemplateError on turns a template refuses
            raise ChatError(
                f"The model's chat template cannot render this conversation ({error}): check the system prompt and the turns."
            ) from error

    def encode(self, prompt: str, template_from: str | None) -> list[int]:
        """Token ids of the rendered prompt (its special tokens are already in the text)."""
        tokenizer = self.tokenizers.get(template_from, self.tokenizers[None])
        return list(tokenizer(prompt, add_special_tokens=False)["input_ids"])

    @contextlib.contextmanager
    def adapter(self, name: str | None) -> Iterator[None]:
        """Runs the body with adapter ``name`` active, or with every adapter off when None."""
        if not self.adapters:
            yield
        elif name is None:
            with self.model.disable_adapter():
                yield
        else:
            if self.model.active_adapter != name:
                self.model.set_adapter(name)
            yield

    def eos_ids(self, template_from: str | None) -> set[int]:
        """Token ids that end an answer: the generation config's and the tokenizer's end of sequence."""
        ids: set[int] = set()
        configured = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ids.update(configured if isinstance(configured, list) else [configured] if configured is not None else [])
        tokenizer = self.tokenizers.get(template_from, self.tokenizers[None])
        if tokenizer.eos_token_id is not None:
            ids.add(tokenizer.eos_token_id)
        return ids

    def unload(self) -> None:
        """Drops the weights and returns GPU memory to the driver."""
        import torch

        del self.model
        gc.collect()
        if self.device == "cuda":
            torch.cuda.empty_cache()


def _token_delay() -> float:
    # Test hook: TUNEDECK_CHAT_TOKEN_DELAY=S sleeps S seconds per token so a test sees a long answer.
    try:
        return float(os.environ.get("TUNEDECK_CHAT_TOKEN_DELAY", "0") or 0)
    except ValueError:
        return 0.0


def _can_drop(messages: list[dict[str, str]]) -> bool:
    """Whether a turn comes before the last user message (which is always kept)."""
    users = [index for index, turn in enumerate(messages) if turn.get("role") == "user"]
    return bool(users) and users[-1] > 0


def _without_oldest_turn(messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], int]:
    """The messages without the first one and the answers that follow it, up to the next user message."""
    end = 1
    while end < len(messages) and messages[end].get("role") != "user":
        end += 1
    return messages[end:], end


class Generation:
    """One answer being generated: its own KV cache, random generator and text sent so far."""

    def __init__(
        self,
        chat: ChatModel,
        request_id: str,
        messages: list[dict[str, str]],
        settings: Settings,
        adapter: str | None,
        template_from: str | None,
    ) -> None:
        import torch

        if adapter is not None and adapter not in chat.adapters:
            raise ChatError(f'No adapter "{adapter}" is loaded: load it before asking it.')
        self.chat = chat
        self.id = request_id
        self.adapter = adapter
        self.settings = settings
        # A conversation longer than the context loses its oldest turns (the answer says how many),
        # until the answer has room for its length or a quarter of the context, whichever is less.
        wanted = max(1, min(settings.max_new_tokens, chat.context_length // 4))
        kept = list(messages)
        self.dropped = 0
        while True:
            self.prompt = chat.render(kept, template_from, settings.system_prompt)
            self.prompt_ids = chat.encode(self.prompt, template_from)
            room = chat.context_length - len(self.prompt_ids)
            if room >= wanted or not _can_drop(kept):
                break
            kept, dropped = _without_oldest_turn(kept)
            self.dropped += dropped
        if room < 1:
            raise ChatError(
                f"The last message is {len(self.prompt_ids)} tokens with the system prompt, as long as or longer than the "
                f"model's context of {chat.context_length} tokens: shorten it or the system prompt."
            )
        self.max_new_tokens = min(settings.max_new_tokens, room)
        self.eos = chat.eos_ids(template_from)
        self.tokenizer = chat.tokenizers.get(template_from, chat.tokenizers[None])
        self.generator = torch.Generator(device=chat.device).manual_seed(settings.seed)
        self.ids: list[int] = []
        self.past: Any = None
        self.sent = ""
        self.started = time.monotonic()
        self.delay = _token_delay()

    def step(self) -> tuple[str, str | None]:
        """Generates one token; returns (new text, finish reason or None while it goes on)."""
        import torch

        if self.delay:
            time.sleep(self.delay)
        feed = self.prompt_ids if self.past is None else self.ids[-1:]
        with torch.inference_mode(), self.chat.adapter(self.adapter):
            output = self.chat.model(input_ids=torch.tensor([feed], device=self.chat.device), past_key_values=self.past, use_cache=True)
        self.past = output.past_key_values
        token = self._pick(output.logits[0, -1].float())
        if token in self.eos:
            return "", "eos"
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        for stop in self.settings.stop:
            at = text.find(stop)
            if at >= 0:
                return self._delta(text[:at], final=True), "stop"
        reason = "length" if len(self.ids) >= self.max_new_tokens else None
        return self._delta(text, final=reason is not None), reason

    def text(self) -> str:
        """The whole answer so far (what done reports)."""
        return self.sent

    def _delta(self, text: str, final: bool) -> str:
        # Hold back a half-decoded character (U+FFFD) until its next bytes arrive.
        if (not final and text.endswith("\ufffd")) or not text.startswith(self.sent):
            return ""
        delta = text[len(self.sent) :]
        self.sent = text
        return delta

    def _pick(self, logits: Any) -> int:
        import torch

        if self.settings.temperature <= 0:
            return int(torch.argmax(logits).item())
        probabilities = torch.softmax(logits / self.settings.temperature, dim=-1)
        if self.settings.top_p < 1.0:
            ordered, order = torch.sort(probabilities, descending=True)
            # Keep the smallest set whose mass reaches top_p (the first token always stays).
            outside = torch.cumsum(ordered, dim=-1) - ordered > self.settings.top_p
            ordered[outside] = 0.0
            probabilities = torch.zeros_like(probabilities).scatter(0, order, ordered)
        choice = torch.multinomial(probabilities, 1, generator=self.generator)
        return int(choice.item())


def dumps(payload: dict[str, Any]) -> str:
    """One protocol line."""
    return json.dumps(payload, ensure_ascii=False)
