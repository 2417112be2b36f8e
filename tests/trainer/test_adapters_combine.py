"""Combining adapters: exact mode's merged weights are the weighted mean of the sources' merged
weights; average mode is the hand-computed mean of the tensors; mismatched shapes are refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import RUNTIME
from tunedeck_trainer.adapters.combine import combine
from tunedeck_trainer.errors import TrainerError


def make_adapter(base: Path, out: Path, seed: int, rank: int = 4, alpha: float = 8, targets=("q_proj", "v_proj"), rslora=False) -> Path:
    """A PEFT adapter on the tiny model with random A and B (B is zero when PEFT makes it)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(targets), use_rslora=rslora, task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_" in name:
                parameter.copy_(torch.randn_like(parameter) * 0.1)
    peft_model.save_pretrained(out)
    return out


def merged_weights(base: Path, adapter: Path | None) -> dict[str, torch.Tensor]:
    """The base's weights with ``adapter`` merged in (the base alone for None)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base)
    if adapter is not None:
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


@pytest.mark.parametrize("rslora", [False, True])
def test_exact_mode_merges_to_the_weighted_mean_of_the_deltas(tiny_model: Path, tmp_path: Path, rslora: bool) -> None:
    sources = [make_adapter(tiny_model, tmp_path / f"a{seed}", seed, rslora=rslora) for seed in (1, 2, 3)]
    examples = [100.0, 300.0, 50.0]
    result = combine(sources, examples, "exact", tmp_path / "combined")
    assert result["rank"] == 12
    config = json.loads((tmp_path / "combined" / "adapter_config.json").read_text())
    assert config["r"] == 12

    base = merged_weights(tiny_model, None)
    each = [merged_weights(tiny_model, source) for source in sources]
    combined = merged_weights(tiny_model, tmp_path / "combined")
    share = [value / sum(examples) for value in examples]
    changed = 0
    for name, weight in base.items():
        expected = weight + sum(part * (merged[name] - weight) for part, merged in zip(share, each, strict=True))
        assert torch.allclose(combined[name], expected, atol=1e-5), name
        changed += int(not torch.equal(combined[name], weight))
    assert changed == 4  # q_proj and v_proj of the tiny model's two layers


def test_average_mode_is_the_hand_computed_mean(tiny_model: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    first = make_adapter(tiny_model, tmp_path / "first", 5, rank=2)
    second = make_adapter(tiny_model, tmp_path / "second", 6, rank=2)
    result = combine([first, second], [1, 3], "average", tmp_path / "combined")
    assert result["rank"] == 2 and result["weights"] == [0.25, 0.75]
    a = load_file(str(first / "adapter_model.safetensors"))
    b = load_file(str(second / "adapter_model.safetensors"))
    out = load_file(str(tmp_path / "combined" / "adapter_model.safetensors"))
    assert set(out) == set(a) and len(out) == 8
    for name in a:
        # By hand, element by element: a quarter of the first plus three quarters of the second.
        for index in range(a[name].numel()):
            x, y = a[name].flatten()[index].item(), b[name].flatten()[index].item()
            assert out[name].flatten()[index].item() == pytest.approx(0.25 * x + 0.75 * y, abs=1e-7)
    config = json.loads((tmp_path / "combined" / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"]) == (2, 8)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"rank": 8}, "rank"),
        ({"targets": ("q_proj", "k_proj")}, "target modules"),
        ({"rslora": True}, "rsLoRA"),
        ({"alpha": 16}, "alpha"),
    ],
)
def test_different_shapes_are_refused_naming_what_differs(tiny_model: Path, tmp_path: Path, change: dict, named: str) -> None:
    first = make_adapter(tiny_model, tmp_path / "first", 1)
    second = make_adapter(tiny_model, tmp_path / "second", 2, **change)
    with pytest.raises(TrainerError, match=f"in its {named}"):
        combine([first, second], [1, 1], "average", tmp_path / "combined")
    assert not (tmp_path / "combined").exists()


def test_different_base_models_and_dora_are_refused(tiny_model: Path, tmp_path: Path) -> None:
    first = make_adapter(tiny_model, tmp_path / "first", 1)
    second = make_adapter(tiny_model, tmp_path / "second", 2)
    config_file = second / "adapter_config.json"
    config = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**config, "base_model_name_or_path": "/elsewhere/other-model"}))
    with pytest.raises(TrainerError, match="in its base model: '/elsewhere/other-model'"):
        combine([first, second], [1, 1], "exact", tmp_path / "combined")
    config_file.write_text(json.dumps({**config, "use_dora": True}))
    with pytest.raises(TrainerError, match="in its DoRA"):
        combine([first, second], [1, 1], "exact", tmp_path / "combined")


def test_command_line_prints_the_result_or_the_error(tiny_model: Path, tmp_path: Path) -> None:
    first = make_adapter(tiny_model, tmp_path / "first", 1)
    second = make_adapter(tiny_model, tmp_path / "second", 2, rank=8)
    command = [
        sys.executable,
        "-m",
        "tunedeck_trainer.adapters",
        "combine",
        "--mode",
        "exact",
        "--source",
        str(first),
        "--weight",
        "1",
        "--source",
        str(first),
        "--weight",
        "2",
        "--out",
        str(tmp_path / "ok"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env={"PYTHONPATH": str(RUNTIME)}, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.split("TUNEDECK_EXPORT_RESULT ", 1)[1])["rank"] == 8
    command[command.index(str(first), 8)] = str(second)
    command[-1] = str(tmp_path / "refused")
    done = subprocess.run(command, capture_output=True, text=True, env={"PYTHONPATH": str(RUNTIME)}, check=False)
    assert done.returncode == 2
    assert "in its rank: 8 against 4" in done.stdout


def test_dora_adapters_average_but_do_not_stack(tiny_model: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    sources = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model), LoraConfig(r=2, target_modules=["q_proj"], use_dora=True))
        model.save_pretrained(tmp_path / f"dora{seed}")
        sources.append(tmp_path / f"dora{seed}")
    with pytest.raises(TrainerError, match="DoRA adapters cannot be combined exactly"):
        combine(sources, [1, 1], "exact", tmp_path / "stacked")
    assert not (tmp_path / "stacked").exists()
    result = combine(sources, [1, 1], "average", tmp_path / "averaged")
    # lora_A, lora_B and the magnitude vector of two layers' q_proj.
    assert result["tensors"] == 6
