"""The export's Python step on a real tiny job: the merged model, the GGUF adapter's contents,
the compatibility rules and the errors a user can cause.

    PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_export.py
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from conftest import make_job, run_cli
from tunedeck_trainer.errors import TrainerError
from tunedeck_trainer.export.compatibility import report
from tunedeck_trainer.export.prepare import portable_base_name, prepare

IDS = [[3, 17, 45, 99, 250, 4, 3, 61, 62, 63, 7, 8]]


@pytest.fixture(scope="module")
def trained(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A job folder whose adapter trained four steps on the tiny model."""
    job = make_job(tmp_path_factory.mktemp("export") / "job", tiny_model, training={"maxSteps": 4})
    completed = run_cli(job)
    assert completed.returncode == 0, completed.stdout[-2000:]
    return job


def _logits(model) -> object:
    import torch

    with torch.no_grad():
        return model(torch.tensor(IDS)).logits


def test_merged_model_gives_base_plus_adapter_logits(trained: Path, tiny_model: Path, tmp_path: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    prepare(trained / "adapter", tiny_model, tmp_path, base_name=str(tiny_model), merged=True, dtype="float32")
    merged_dir = tmp_path / "merged"
    assert not (merged_dir / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(str(merged_dir), dtype=torch.float32).eval()
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model), dtype=torch.float32).eval()
    base_logits = _logits(base)
    with_adapter = _logits(PeftModel.from_pretrained(base, str(trained / "adapter")).eval())
    difference = (_logits(merged) - with_adapter).abs().max().item()
    print(f"merged vs base+adapter: max |logit difference| = {difference:.2e}")
    # Measured on CPU in float32: 8.3e-6 to 8.7e-6 (the merge adds B.A into W once, then one matmul
    # instead of two); 2e-5 leaves room for other CPUs' kernels, ten times below the old 1e-4.
    assert difference < 2e-5
    assert (with_adapter - base_logits).abs().max().item() > 1e-2  # the adapter matters


def test_merged_model_is_16_bit_by_default(trained: Path, tiny_model: Path, tmp_path: Path) -> None:
    from safetensors import safe_open

    prepare(trained / "adapter", tiny_model, tmp_path, base_name=str(tiny_model), merged=True)
    shards = sorted((tmp_path / "merged").glob("*.safetensors"))
    assert shards
    with safe_open(str(shards[0]), "pt") as handle:
        dtypes = {str(handle.get_tensor(key).dtype) for key in handle.keys()}
    assert dtypes == {"torch.bfloat16"}
    generation = json.loads((tmp_path / "merged" / "generation_config.json").read_text())
    assert generation["eos_token_id"] == [4, 3]


def test_gguf_adapter_holds_the_lora_matrices_under_llama_cpp_names(trained: Path, tiny_model: Path, tmp_path: Path) -> None:
    import gguf
    import numpy
    from safetensors.numpy import load_file

    from tunedeck_trainer.export.architectures import permute_rows

    result = prepare(trained / "adapter", tiny_model, tmp_path, base_name=str(tiny_model))
    reader = gguf.GGUFReader(str(tmp_path / "adapter.gguf"))
    fields = {name: field for name, field in reader.fields.items()}

    def text(name: str) -> str:
        field = fields[name]
        return bytes(field.parts[field.data[0]]).decode()

    assert text("general.architecture") == "llama"
    assert text("general.type") == "adapter"
    assert text("adapter.type") == "lora"
    assert float(fields["adapter.lora.alpha"].parts[-1][0]) == 16.0
    tensors = {tensor.name: tensor for tensor in reader.tensors}
    assert len(tensors) == 2 * 7 * 2  # 7 linear modules in each of 2 blocks, A and B
    weights = load_file(str(trained / "adapter" / "adapter_model.safetensors"))
    prefix = "base_model.model.model.layers.1."
    a = tensors["blk.1.attn_v.weight.lora_a"]
    assert a.tensor_type == gguf.GGMLQuantizationType.F16
    numpy.testing.assert_array_equal(numpy.asarray(a.data), weights[prefix + "self_attn.v_proj.lora_A.weight"].astype(numpy.float16))
    # llama.cpp's rotary layout: the query's B rows are permuted as the base's q_proj rows are.
    numpy.testing.assert_array_equal(
        numpy.asarray(tensors["blk.1.attn_q.weight.lora_b"].data),
        permute_rows(weights[prefix + "self_attn.q_proj.lora_B.weight"], 4).astype(numpy.float16),
    )
    assert result["gguf"] == {"architecture": "llama", "alpha": 16.0, "modules": 14}


def test_rslora_alpha_is_rescaled_for_llama_cpp(trained: Path, tiny_model: Path, tmp_path: Path) -> None:
    adapter = tmp_path / "rslora"
    shutil.copytree(trained / "adapter", adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["use_rslora"] = True
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    result = prepare(adapter, tiny_model, tmp_path / "out", base_name=str(tiny_model))
    # PEFT scales by alpha / sqrt(r); llama.cpp by alpha / r: the written alpha makes them agree.
    assert result["gguf"]["alpha"] / 8 == pytest.approx(16 / math.sqrt(8))


def test_a_base_is_named_as_another_machine_can_find_it() -> None:
    assert [
        portable_base_name(name)
        for name in (
            "org/base",
            "/home/me/.cache/huggingface/hub/models--Qwen--Qwen2.5-0.5B-Instruct/snapshots/7ae557604adf67be50417f59c2c2f167def9a775",
            "/home/me/models/my-llama/",
            "C:\\Users\\me\\models\\my-llama",
        )
    ] == ["org/base", "Qwen/Qwen2.5-0.5B-Instruct", "my-llama", "my-llama"]


def test_staged_adapter_names_its_base_and_keeps_the_chat_template(trained: Path, tiny_model: Path, tmp_path: Path) -> None:
    result = prepare(trained / "adapter", tiny_model, tmp_path, base_name="org/base")
    staged = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert staged["base_model_name_or_path"] == "org/base"  # a hub id, not this machine's cache folder
    prepare(trained / "adapter", tiny_model, tmp_path / "local", base_name=str(tiny_model))
    local = json.loads((tmp_path / "local" / "adapter" / "adapter_config.json").read_text())
    assert local["base_model_name_or_path"] == tiny_model.name  # the folder's name, never this machine's path
    tokenizer_config = json.loads((tmp_path / "adapter" / "tokenizer_config.json").read_text())
    template = tokenizer_config.get("chat_template") or (tmp_path / "adapter" / "chat_template.jinja").read_text()
    assert "<|im_start|>" in template
    assert result["template"]["family"] == "chatml"
    assert result["template"]["stops"] == ["<|im_end|>", "<|im_start|>"]


def test_a_moved_base_or_a_missing_adapter_is_named(trained: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainerError, match=r"config\.json: not found; the base model folder has moved"):
        prepare(trained / "adapter", tmp_path / "gone", tmp_path / "out", base_name="x")
    with pytest.raises(TrainerError, match=r"adapter_model\.safetensors: not found; the job has no adapter"):
        prepare(tmp_path / "empty", tmp_path / "gone", tmp_path / "out", base_name="x")
    assert not (tmp_path / "out").exists()


BASE = {"model_type": "llama"}
PLAIN = {"r": 16, "lora_alpha": 32, "bias": "none"}


def _targets(adapter: dict, base: dict = BASE) -> dict:
    return {entry["target"]: entry for entry in report(adapter, base)["targets"]}


def test_compatibility_of_a_plain_adapter() -> None:
    assert all(entry["loads"] for entry in _targets(PLAIN).values())
    assert report({**PLAIN, "r": 64}, BASE)["vllmMaxLoraRank"] == 64


@pytest.mark.parametrize(
    ("change", "vllm", "llamacpp", "says"),
    [
        ({"use_dora": True}, False, False, "DoRA"),
        ({"modules_to_save": ["lm_head"]}, False, False, "lm_head"),
        ({"bias": "lora_only"}, False, False, "bias"),
        ({"r": 12}, False, True, "rank 12"),
        ({"rank_pattern": {"q_proj": 4}}, False, True, "rank 4"),
    ],
)
def test_compatibility_says_why_a_loader_refuses(change: dict, vllm: bool, llamacpp: bool, says: str) -> None:
    targets = _targets({**PLAIN, **change})
    assert targets["peft"]["loads"]
    assert targets["vllm"]["loads"] is vllm
    assert targets["llamacpp"]["loads"] is llamacpp
    assert targets["ollama"]["loads"] is llamacpp
    refusing = targets["vllm"] if not vllm else targets["llamacpp"]
    assert says in refusing["reason"]
    assert refusing["fix"]


def test_compatibility_of_other_architectures() -> None:
    qwen = _targets(PLAIN, {"model_type": "qwen2"})
    assert qwen["llamacpp"]["loads"] and qwen["ollama"]["loads"]
    assert "adapter.gguf" in qwen["ollama"]["reason"]  # Ollama cannot convert a Qwen2 safetensors adapter
    unknown = _targets(PLAIN, {"model_type": "mamba"})
    assert not unknown["llamacpp"]["loads"] and "mamba" in unknown["llamacpp"]["reason"]
    assert unknown["vllm"]["loads"]


QWEN_LIKE = (
    "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are Tunedeck.<|im_end|>\\n' }}{% endif %}"
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
GEMMA_LIKE = (
    "{% for message in messages %}{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role'])"
    " + '\\n' + message['content'] + '<end_of_turn>\\n' }}{% endfor %}"
)


def test_ollama_template_stops_and_default_system_follow_the_trained_template(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    from tunedeck_trainer.export.templates import describe, stop_token_ids

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    tokenizer.chat_template = QWEN_LIKE
    chatml = describe(tokenizer)
    assert chatml["family"] == "chatml"
    assert chatml["system"] == "You are Tunedeck."
    assert chatml["ollamaTemplate"].startswith("{{- range .Messages }}<|im_start|>{{ .Role }}")
    assert stop_token_ids(tokenizer, chatml["stops"]) == [
        tokenizer.convert_tokens_to_ids("<|im_end|>"),
        tokenizer.convert_tokens_to_ids("<|im_start|>"),
    ]

    tokenizer.chat_template = GEMMA_LIKE
    gemma = describe(tokenizer)
    assert gemma["family"] == "gemma" and gemma["stops"][0] == "<end_of_turn>" and gemma["system"] is None
    # Not a token of this vocabulary: no id for it, the eos still stops.
    assert stop_token_ids(tokenizer, gemma["stops"]) == [tokenizer.eos_token_id]

    tokenizer.chat_template = "{{ messages[0]['content'] }}"
    unknown = describe(tokenizer)
    assert unknown["family"] is None and unknown["ollamaTemplate"] is None and unknown["stops"] == [tokenizer.eos_token]
