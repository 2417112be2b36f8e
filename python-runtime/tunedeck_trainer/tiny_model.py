"""A tiny random Llama model with a locally trained byte-level BPE tokenizer.

Used by the self-test job and by the tests: nothing is downloaded. The folder is a normal
Hugging Face model folder (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json with a ChatML-like chat_template). Same seed, same files.

    python -m tunedeck_trainer make-tiny-model --out DIR [--seed 0]
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

# Wide enough that a frozen lm_head can still express confident predictions after RMSNorm.
INIT_RANGE = 0.2
SPECIAL_TOKENS = ["<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
EXTRA_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Tunedeck fine-tunes language models with LoRA adapters on your own GPU.",
    "Below is an instruction that describes a task. Write a response that completes the request.",
    "Question: what is two plus two? Answer: four.",
    "system user assistant tool",
]


def build_tokenizer(vocab_size: int = 1024):
    """Trains a byte-level BPE tokenizer on the built-in corpus and wraps it for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from .selftest_data import corpus_lines

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus_lines() + EXTRA_CORPUS * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="<|im_end|>",
        pad_token="<pad>",
        additional_special_tokens=["<|im_start|>", "</s>"],
        chat_template=CHAT_TEMPLATE,
        model_max_length=512,
    )


def build_tiny_model(out: str | Path, seed: int = 0) -> Path:
    """Builds the tiny model folder at ``out``; safe when several processes race to build it.

    Each builder writes a private temporary folder beside ``out`` and renames it into place;
    whoever loses the race discards its copy and uses the winner's.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out).resolve()
    if (out / "config.json").exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{uuid.uuid4().hex[:8]}-", dir=out.parent))
    os.chmod(temporary, 0o755)  # mkdtemp makes it private; a model folder is ordinary data
    try:
        tokenizer = build_tokenizer()
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=64,
            intermediate_size=256,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=512,
            rms_norm_eps=1e-6,
            initializer_range=INIT_RANGE,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            tie_word_embeddings=False,
            torch_dtype="float32",
        )
        # Fork the RNG so building the model never shifts the caller's random stream.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = LlamaForCausalLM(config)
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.save_pretrained(temporary, safe_serialization=True)
        tokenizer.save_pretrained(temporary, save_jinja_files=False)
        try:
            os.rename(temporary, out)
        except OSError:
            if not (out / "config.json").exists():
                raise
            # Another process built it first: theirs is identical, keep it.
            shutil.rmtree(temporary, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return out
