"""The model list: the hub cache found as huggingface_hub finds it, folders, what each file says.

Also the trainer's check of a hub id that is not downloaded, and which repository files a download takes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import make_job
from tunedeck_trainer import loss
from tunedeck_trainer.config import load_config
from tunedeck_trainer.errors import TrainerError
from tunedeck_trainer.models import catalog
from tunedeck_trainer.models.download import RepoFile, select_files
from tunedeck_trainer.models.fit import verdict
from tunedeck_trainer.runner import check_paths


def cache_with(root: Path, hub_id: str, model: Path) -> Path:
    """A hub cache laid out as huggingface_hub writes it: blobs, a snapshot of links, refs/main."""
    repo = root / f"models--{hub_id.replace('/', '--')}"
    commit = "a" * 40
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for file in model.iterdir():
        blob = repo / "blobs" / file.name
        shutil.copy(file, blob)
        (snapshot / file.name).symlink_to(blob)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def test_cache_dir_honours_hf_hub_cache_then_hf_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert catalog.hub_cache_dir() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert catalog.hub_cache_dir() == tmp_path / "elsewhere"


def test_lists_the_cache_and_folders_with_what_their_files_say(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model: Path) -> None:
    snapshot = cache_with(tmp_path / "cache", "tiny-org/tiny-chat", tiny_model)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    [cached] = catalog.cached_models()
    assert cached["hubId"] == "tiny-org/tiny-chat" and cached["path"] == str(snapshot) and cached["source"] == "hub-cache"
    config = json.loads((tiny_model / "config.json").read_text())
    expected_parameters = config["vocab_size"] * config["hidden_size"] * (1 if config["tie_word_embeddings"] else 2)
    assert cached["parameters"] > expected_parameters
    assert cached["architecture"] == "LlamaForCausalLM" and cached["dtype"] == "f32"
    assert cached["chatTemplate"] is True and cached["labelOnlyLoss"] is True
    # Blobs are counted once: the snapshot's links add nothing.
    assert cached["bytes"] == sum(file.stat().st_size for file in tiny_model.iterdir())

    models = tmp_path / "mine"
    shutil.copytree(tiny_model, models / "a")
    shutil.copytree(tiny_model, models / "b")
    (models / "b" / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 512}))
    (models / "b" / "model.safetensors").unlink()
    listed = {item["name"]: item for item in catalog.folder_models(models)}
    assert set(listed) == {"a", "b"}
    assert listed["b"]["chatTemplate"] is False and listed["b"]["parameters"] is None
    assert listed["b"]["problems"] == ["no .safetensors weights"]
    assert catalog.folder_models(models / "a")[0]["path"] == str(models / "a")


def test_label_only_types_agree_with_the_loss() -> None:
    assert catalog.HEAD_ONLY_TYPES == loss.HEAD_ONLY_TYPES


def test_a_download_takes_only_what_a_fine_tune_needs() -> None:
    files = [
        RepoFile(name, 1)
        for name in (
            "config.json",
            "generation_config.json",
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors",
            "model.safetensors.index.json",
            "pytorch_model.bin",
            "pytorch_model.bin.index.json",
            "model.Q4_K_M.gguf",
            "original/consolidated.00.pth",
            "original/tokenizer.model",
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "README.md",
            ".gitattributes",
            "onnx/model.onnx",
        )
    ]
    assert [file.name for file in select_files(files)] == [
        "README.md",
        "config.json",
        "generation_config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    # Without safetensors, the PyTorch weights are the weights.
    only_bin = [RepoFile(name, 1) for name in ("config.json", "pytorch_model.bin", "tokenizer.json")]
    assert [file.name for file in select_files(only_bin)] == ["config.json", "pytorch_model.bin", "tokenizer.json"]


def test_verdicts() -> None:
    assert verdict(800, 1000) == "fits"
    assert verdict(950, 1000) == "tight"
    assert verdict(1001, 1000) == "no"
    assert verdict(1, None) is None


def test_trainer_names_a_hub_id_that_is_not_downloaded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    job = make_job(tmp_path / "job", Path("tiny-org/never-downloaded"))
    config = load_config(job / "config.json")
    assert config.model.path == "tiny-org/never-downloaded"
    with pytest.raises(TrainerError) as raised:
        check_paths(config, job)
    message = str(raised.value)
    assert message.startswith("model.path: the hub id tiny-org/never-downloaded is not in the Hugging Face cache")
    assert str(tmp_path / "cache") in message and str(job) not in message


def test_fit_names_a_setting_that_fits_and_follows_a_preset(tiny_model: Path) -> None:
    from tunedeck_trainer.models.fit import model_fit

    default = model_fit(tiny_model, 1e9, cuda=False)
    assert default["lora"]["verdict"] == "fits" and default["qlora"]["verdict"] == "fits"
    lora_mb = default["lora"]["estimatedMb"]
    short = model_fit(tiny_model, lora_mb * 0.95, cuda=False)
    assert short["lora"]["verdict"] == "no"
    assert short["lora"]["suggestion"] is not None and short["lora"]["suggestion"].startswith("training.")
    assert short["lora"]["fsdpGpus"] is None  # a setting fits: no need to split it
    # A preset with a micro-batch of 1 and shorter rows needs less.
    small = model_fit(tiny_model, 1e9, cuda=False, settings={"training": {"batchSize": 1, "maxSeqLength": 256}})
    assert small["lora"]["estimatedMb"] < lora_mb / 4


def test_fit_names_the_fewest_gpus_fsdp_fits_a_model_on_when_no_setting_does(tmp_path: Path) -> None:
    import json

    from test_memory import QWEN_05B
    from tunedeck_trainer.models.fit import model_fit

    # Qwen2.5-0.5B's shape: 942 MB of bf16 weights, of which the root and two layers are 317 MB.
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2", **QWEN_05B}), encoding="utf-8")
    fit = model_fit(tmp_path, 1800, cuda=True)
    assert fit["lora"]["verdict"] == "no" and fit["lora"]["suggestion"] is None
    # At the mildest settings tried (checkpointing, batch 1, 256 tokens) one GPU needs 2,119 MB;
    # FSDP over 2, 3 and 4 GPUs needs 1,775, 1,660 and 1,603 MB each, and only the last is under
    # 90% of 1,800 MB (1,620).
    assert fit["lora"]["fsdpGpus"] == 4
    # The gathered root and layers, the adapter, the logits and the CUDA context stay on every GPU:
    # even 64 GPUs need 1,441 MB each, more than 90% of 1,500.
    assert model_fit(tmp_path, 1500, cuda=True)["lora"]["fsdpGpus"] is None
