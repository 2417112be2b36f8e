"""Training on CPU with the tiny model: the loss falls, the saved adapter is the trained one,
and the self-test job the app offers finishes quickly with a clearly falling loss."""

from __future__ import annotations

import json
import time
from itertools import pairwise
from pathlib import Path

import pytest
import torch

from conftest import SELFTEST_JOB, finish, make_job, read_config, read_events, start_cli, step_losses, write_config
from tunedeck_trainer.config import load_config
from tunedeck_trainer.control import Control
from tunedeck_trainer.loop import Training
from tunedeck_trainer.protocol import EventWriter, event_errors


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path):
    """A 30-step run of the SFT recipe in this process, with its adapter saved."""
    job_dir = make_job(
        tmp_path_factory.mktemp("trained") / "job",
        tiny_model,
        dataset={"validationSplit": 0.1},
        lora={"rank": 8, "alpha": 16, "dropout": 0.05},
        training={"maxSteps": 30, "learningRate": 0.01, "seed": 3},
    )
    events = EventWriter(job_dir / "events.jsonl")
    recipe = Training(load_config(job_dir / "config.json"), job_dir, events, Control(events))
    recipe.setup()
    recipe.train()
    adapter = recipe.save_adapter()
    events.close()
    return recipe, adapter, read_events(job_dir)


def test_loss_falls_over_30_steps(trained) -> None:
    _, _, events = trained
    losses = step_losses(events)
    assert sorted(losses) == list(range(1, 31))
    first = sum(losses[step] for step in (1, 2, 3)) / 3
    last = sum(losses[step] for step in (28, 29, 30)) / 3
    assert first - last > 1.5, f"loss went from {first:.3f} to {last:.3f}"
    evals = [event["loss"] for event in events if event["type"] == "eval"]
    assert len(evals) >= 2 and evals[-1] < evals[0] - 1.0


def test_step_events_carry_the_metrics(trained) -> None:
    _, _, events = trained
    assert all(event_errors(event) == [] for event in events)
    steps = [event for event in events if event["type"] == "step"]
    assert all(event["totalSteps"] == 30 and event["tokens"] > 0 and event["tokensPerSecond"] > 0 for event in steps)
    assert all(event["gradNorm"] is not None and event["gradNorm"] > 0 for event in steps)
    # Linear warmup (2 steps at ratio 0.05) then linear decay to zero.
    lrs = [event["lr"] for event in steps]
    assert lrs[0] == 0 and lrs[1] == pytest.approx(0.005) and lrs[2] == pytest.approx(0.01)
    assert all(later < earlier for earlier, later in pairwise(lrs[2:]))
    epochs = [event["epoch"] for event in steps]
    assert epochs == sorted(epochs) and epochs[-1] > 2
    dataset = next(event for event in events if event["type"] == "dataset")
    assert (dataset["format"], dataset["examples"], dataset["validationExamples"]) == ("alpaca", 86, 10)
    # Packing is on by default, and Llama keeps packed examples apart: no warning about it.
    assert 0 < dataset["packedRows"] < 86
    assert not any(event["type"] == "log" and "training.packing" in event["message"] for event in events)


def test_saved_adapter_reproduces_the_logits(trained, tiny_model: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    recipe, adapter, _ = trained
    assert (adapter / "adapter_model.safetensors").is_file() and (adapter / "adapter_config.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(str(adapter))  # the tokenizer travels with the adapter
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Name the color of the sky."}], tokenize=False, add_generation_prompt=True
    )
    input_ids = torch.tensor([tokenizer(prompt, add_special_tokens=False)["input_ids"]])
    recipe.model.eval()
    loaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(tiny_model)), str(adapter)).eval()
    with torch.no_grad():
        in_memory = recipe.model(input_ids=input_ids).logits
        reloaded = loaded(input_ids=input_ids).logits
        with loaded.disable_adapter():
            untrained = loaded(input_ids=input_ids).logits
    torch.testing.assert_close(reloaded, in_memory, atol=1e-5, rtol=0)
    assert (untrained - in_memory).abs().max() > 1e-2  # the adapter really changed the model


def test_selftest_jobs_finish_quickly_with_a_falling_loss(tmp_path: Path) -> None:
    """The job the app's self-test runs. Two start at once and race to build the tiny model at
    the same model.path: both must finish, with one intact model folder and no leftovers."""
    defaults = json.loads(SELFTEST_JOB.read_text())
    models = tmp_path / "models"
    model_path = models / "tiny-selftest"
    jobs = []
    for name in ("first", "second"):
        job_dir = tmp_path / name
        job_dir.mkdir()
        write_config(
            job_dir,
            {
                "version": 1,
                "jobId": name,
                # The host adds the self-test model's folder and marks it as the self-test (configMerge.ts).
                "model": {"path": str(model_path), "selftest": True, **defaults.get("model", {})},
                "dataset": {"path": str(SELFTEST_JOB.parent / defaults["datasetFile"]), **defaults["dataset"]},
                "lora": defaults["lora"],
                "training": defaults["training"],
            },
        )
        jobs.append(job_dir)
    started = time.monotonic()
    processes = [start_cli(job_dir) for job_dir in jobs]
    results = [finish(process, timeout=120) for process in processes]
    elapsed = time.monotonic() - started
    for job_dir, (code, output) in zip(jobs, results, strict=True):
        assert code == 0, output[-4000:]
        events = read_events(job_dir)
        assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
        assert all(event_errors(event) == [] for event in events), [event_errors(event) for event in events]
        losses = step_losses(events)
        assert len(losses) >= 10
        steps = sorted(losses)
        assert losses[steps[0]] - losses[steps[-1]] > 3, losses
        assert events[-1]["type"] == "completed" and Path(events[-1]["adapterPath"]) == job_dir / "adapter"
        assert (job_dir / "adapter" / "adapter_model.safetensors").is_file()
        assert f"step {steps[-1]}/{steps[-1]}" in output  # a readable progress line per step
        # From the first event (after Python starts) to completed, for each of the two jobs.
        took = events[-1]["time"] - events[0]["time"]
        print(f"self-test job {job_dir.name} took {took:.1f}s")
    assert [path.name for path in models.iterdir()] == ["tiny-selftest"]
    config = json.loads((model_path / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert "chat_template" in json.loads((model_path / "tokenizer_config.json").read_text())
    print(f"two self-test jobs side by side took {elapsed:.1f}s")


def test_packing_trains_on_packed_rows(tmp_path: Path, tiny_model: Path) -> None:
    from tunedeck_trainer.runner import run_job

    job_dir = make_job(
        tmp_path / "job",
        tiny_model,
        lora={"rank": 16, "alpha": 32},
        training={"packing": True, "batchSize": 2, "maxSeqLength": 256, "maxSteps": 12},
    )
    assert run_job(job_dir, read_stdin=False, handle_signals=False) == 0
    events = read_events(job_dir)
    dataset = next(event for event in events if event["type"] == "dataset")
    assert dataset["examples"] == 96 and 0 < dataset["packedRows"] < 20
    losses = step_losses(events)
    assert losses[1] - losses[12] > 2
    assert events[-1]["type"] == "completed"


def test_a_model_that_cannot_pack_trains_unpacked_with_a_warning(tmp_path: Path, tiny_model: Path) -> None:
    """OPT builds its own causal mask, blind to restarting positions: packed examples would see
    each other. With packing on (the default) the job trains one example per row and says why."""
    from transformers import AutoTokenizer, OPTConfig, OPTForCausalLM

    from tunedeck_trainer.runner import run_job

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    config = OPTConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        word_embed_proj_dim=32,
        ffn_dim=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = OPTForCausalLM(config)
    opt = tmp_path / "tiny-opt"
    model.save_pretrained(opt)
    tokenizer.save_pretrained(opt)

    job_dir = make_job(tmp_path / "job", opt, training={"maxSteps": 2})
    assert "packing" not in read_config(job_dir)["training"]  # the default
    assert run_job(job_dir, read_stdin=False, handle_signals=False) == 0
    events = read_events(job_dir)
    warnings = [e["message"] for e in events if e["type"] == "log" and e["level"] == "warning"]
    assert any(message.startswith("training.packing: OPTForCausalLM") and "unpacked" in message for message in warnings)
    dataset = next(event for event in events if event["type"] == "dataset")
    assert dataset["examples"] == 96 and "packedRows" not in dataset
    assert events[-1]["type"] == "completed"


def test_gradient_accumulation_equals_a_bigger_batch(tmp_path: Path, tiny_model: Path) -> None:
    """Token-weighted loss: 2 micro-batches of 4 make the same steps as 1 batch of 8."""
    from tunedeck_trainer.runner import run_job

    runs = {}
    for name, batch, accumulation in (("big", 8, 1), ("accumulated", 4, 2)):
        job_dir = make_job(
            tmp_path / name,
            tiny_model,
            lora={"dropout": 0.0},
            training={"batchSize": batch, "gradientAccumulation": accumulation, "maxSteps": 4},
        )
        assert run_job(job_dir, read_stdin=False, handle_signals=False) == 0
        runs[name] = [event for event in read_events(job_dir) if event["type"] == "step"]
    for big, accumulated in zip(runs["big"], runs["accumulated"], strict=True):
        assert accumulated["loss"] == pytest.approx(big["loss"], abs=1e-5)
        assert accumulated["gradNorm"] == pytest.approx(big["gradNorm"], abs=1e-5)
        assert accumulated["tokens"] == big["tokens"]
