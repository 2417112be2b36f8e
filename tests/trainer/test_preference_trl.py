"""DPO and KTO end to end against TRL on the same rows and the same tiny model: the answer rows'
masks token by token (the prompt masked, the answer and its end token learned), TRL's own
tokenisation of the rows, the sequence log-probabilities of policy and reference, and one step's
loss. test_preference_loss.py checks the loss formulas alone, on made-up log-probabilities.

The policy is our job's model with its LoRA B matrices drawn at random (a fresh adapter is zero,
so policy and reference would agree and every loss would be trivial); TRL's DPOTrainer and
KTOTrainer get that same model object, so both sides compute on identical weights.
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_preference_trl.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from test_dpo import dpo_job, write_preferences
from test_dpo_reference import run
from test_kto import kto_job, write_feedback
from tunedeck_trainer.batches import IGNORE_INDEX

EXAMPLES = 4
# Both sides run the same float32 kernels on the same tensors; measured on CPU: the log-probabilities
# agree within 3.1e-5 (sums of 20 to 40 token log-probabilities of about -6 each; TRL pads to other
# widths and takes them from the whole sequence's logits) and the losses within 1e-7.
LOGPS_TOLERANCE = 5e-5
LOSS_TOLERANCE = 1e-6


def prepared(method: str, root: Path, model_path: Path) -> Any:
    """Our job set up (not trained), its adapter's B matrices drawn at random."""
    settings = {"lora": {"dropout": 0.0}, "training": {"seed": 5, "batchSize": EXAMPLES}}
    if method == "dpo":
        job = dpo_job(root / "dpo", model_path, write_preferences(root / "pairs.jsonl", rows=8), **settings)
    else:
        job = kto_job(root / "kto", model_path, write_feedback(root / "feedback.jsonl", rows=8), **settings)
    recipe = run(job, train=False)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in recipe.model.named_parameters():
            if "lora_B" in name and parameter.requires_grad:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return recipe


def their_rows(recipe: Any, tokenizer: Any, answer: str) -> list[dict[str, Any]]:
    """The job's records as TRL's datasets take them: the prompt rendered by the chat template for a reply."""
    from tunedeck_trainer.data.job_data import job_records

    _, _, records, _ = job_records(recipe.config, recipe.job_dir)
    rows = []
    for record in records[:EXAMPLES]:
        prompt = tokenizer.apply_chat_template(record["prompt"], tokenize=False, add_generation_prompt=True)
        rows.append({"prompt": prompt, **{key: record[key] for key in (answer, "rejected", "label") if key in record}})
    return rows


def check_masks(tokenizer: Any, batch: Any, prompts: list[list[int]], answers: list[str]) -> None:
    """Row by row, token by token: the prompt and the padding masked, the answer and its end token learned."""
    for row, (prompt, answer) in enumerate(zip(prompts, answers, strict=True)):
        ids, labels = batch.input_ids[row].tolist(), batch.labels[row].tolist()
        length = int(batch.attention_mask[row].sum())
        assert ids[: len(prompt)] == prompt
        assert tokenizer.decode(prompt).endswith("<|im_start|>assistant\n")
        assert labels[: len(prompt)] == [IGNORE_INDEX] * len(prompt)
        assert labels[len(prompt) : length] == ids[len(prompt) : length]
        assert labels[length:] == [IGNORE_INDEX] * (len(labels) - length)
        learned = ids[len(prompt) : length]
        assert learned == tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        assert tokenizer.decode(learned) == answer + "<|im_end|>"


@pytest.fixture(scope="module")
def dpo(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Any]:
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    root = tmp_path_factory.mktemp("dpo-trl")
    recipe = prepared("dpo", root, tiny_model)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    rows = their_rows(recipe, tokenizer, "chosen")
    args = DPOConfig(
        output_dir=str(root / "trl"),
        per_device_train_batch_size=EXAMPLES,
        beta=recipe.method.beta,
        report_to=[],
        max_length=None,
        max_prompt_length=None,
        max_completion_length=None,
        use_cpu=True,
    )
    trainer = DPOTrainer(model=recipe.model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    theirs = trainer.data_collator([trainer.train_dataset[index] for index in range(EXAMPLES)])
    examples = recipe.data.train[:EXAMPLES]
    ours = recipe.method.collate(examples)
    with torch.no_grad():
        their_loss, _ = trainer.get_batch_loss_metrics(recipe.model, theirs)
        their_policy = trainer.concatenated_forward(recipe.model, theirs)
        their_reference = trainer.compute_ref_log_probs(theirs)
        our_loss, _ = recipe.method.loss(recipe.forward, ours, None)
        policy, reference = recipe.forward.sequence_logps(ours), recipe.forward.reference_logps(ours)
    return {
        "recipe": recipe,
        "tokenizer": tokenizer,
        "rows": rows,
        "theirs": theirs,
        "examples": examples,
        "ours": ours,
        "their_loss": float(their_loss),
        "our_loss": float(our_loss) / EXAMPLES,
        "their_logps": torch.cat([their_policy["chosen_logps"], their_policy["rejected_logps"]]),
        "their_reference": torch.cat(their_reference),
        "policy": policy,
        "reference": reference,
    }


def test_dpo_rows_mask_the_prompt_and_learn_each_answer_and_its_end_token(dpo: dict[str, Any]) -> None:
    prompts = [example["prompt"] for example in dpo["examples"]] * 2
    answers = [row["chosen"] for row in dpo["rows"]] + [row["rejected"] for row in dpo["rows"]]
    check_masks(dpo["tokenizer"], dpo["ours"], prompts, answers)


def test_dpo_tokens_equal_trls_tokenisation_of_the_same_rows(dpo: dict[str, Any]) -> None:
    theirs = dpo["theirs"]
    for index, example in enumerate(dpo["examples"]):
        for ours, key in ((example["prompt"], "prompt"), (example["chosen"], "chosen"), (example["rejected"], "rejected")):
            mask = theirs[f"{key}_attention_mask"][index].bool()
            assert theirs[f"{key}_input_ids"][index][mask].tolist() == ours, key


def test_dpo_log_probabilities_and_loss_equal_trls(dpo: dict[str, Any]) -> None:
    policy, reference = dpo["policy"], dpo["reference"]
    assert (policy - reference).abs().max() > 0.5  # the adapter matters: not a comparison of equal numbers
    assert (policy - dpo["their_logps"]).abs().max().item() <= LOGPS_TOLERANCE
    assert (reference - dpo["their_reference"]).abs().max().item() <= LOGPS_TOLERANCE
    assert abs(dpo["our_loss"] - dpo["their_loss"]) <= LOSS_TOLERANCE
    print(
        f"DPO: log-probabilities within {(policy - dpo['their_logps']).abs().max().item():.2g} of TRL's, "
        f"loss {dpo['our_loss']:.6f} vs {dpo['their_loss']:.6f}"
    )


@pytest.fixture(scope="module")
def kto(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Any]:
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import KTOConfig, KTOTrainer

    root = tmp_path_factory.mktemp("kto-trl")
    recipe = prepared("kto", root, tiny_model)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    rows = their_rows(recipe, tokenizer, "completion")
    # TRL's KTOTrainer puts the tokenizer's bos token before every prompt (its DPOTrainer does not); our KTO
    # takes the prompt as the chat template renders it, as our DPO and SFT do. TRL gets a tokenizer without
    # a bos token, so both sides see the same tokens and the comparison is of the training itself.
    their_tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    their_tokenizer.bos_token = None
    method = recipe.method
    args = KTOConfig(
        output_dir=str(root / "trl"),
        per_device_train_batch_size=EXAMPLES,
        beta=method.beta,
        desirable_weight=method.desirable_weight,
        undesirable_weight=method.undesirable_weight,
        report_to=[],
        max_length=None,
        max_prompt_length=None,
        max_completion_length=None,
        use_cpu=True,
    )
    trainer = KTOTrainer(model=recipe.model, args=args, train_dataset=Dataset.from_list(rows), processing_class=their_tokenizer)
    theirs = trainer.data_collator([trainer.train_dataset[index] for index in range(EXAMPLES)])
    examples = recipe.data.train[:EXAMPLES]
    step = method.collate_step(examples, [list(range(EXAMPLES))], EXAMPLES)
    with torch.no_grad():
        their_loss, their_metrics = trainer.get_batch_loss_metrics(recipe.model, theirs)
        kl = method.prepare(recipe.forward, step)
        our_loss, _ = method.loss(recipe.forward, step[0][0], kl)
    return {
        "tokenizer": tokenizer,
        "rows": rows,
        "theirs": theirs,
        "examples": examples,
        "batch": step[0][0],
        "their_loss": float(their_loss),
        "our_loss": float(our_loss) / EXAMPLES,
        "kl": float(kl),
        "their_kl": float(their_metrics["kl"]),
    }


def test_kto_rows_and_their_kl_rows_mask_the_prompt_and_learn_the_completion(kto: dict[str, Any]) -> None:
    prompts = [example["prompt"] for example in kto["examples"]]
    completions = [row["completion"] for row in kto["rows"]]
    check_masks(kto["tokenizer"], kto["batch"], prompts, completions)
    # The KL rows: each prompt with the completion of the example before it (TRL's rotation by one).
    check_masks(kto["tokenizer"], kto["batch"].kl, prompts, completions[-1:] + completions[:-1])
    assert kto["batch"].desirable.tolist() == [row["label"] for row in kto["rows"]]
    assert set(kto["batch"].desirable.tolist()) == {True, False}


def test_kto_tokens_kl_and_loss_equal_trls(kto: dict[str, Any]) -> None:
    theirs = kto["theirs"]
    for index, example in enumerate(kto["examples"]):
        unpadded = {
            key: theirs[f"{key}_input_ids"][index][theirs[f"{key}_attention_mask"][index].bool()].tolist()
            for key in ("prompt", "completion")
        }
        assert unpadded == {"prompt": example["prompt"], "completion": example["prompt"] + example["completion"]}
    assert kto["kl"] == pytest.approx(kto["their_kl"], abs=LOGPS_TOLERANCE)  # a mean of log-probability differences
    assert abs(kto["our_loss"] - kto["their_loss"]) <= LOSS_TOLERANCE
    assert abs(kto["our_loss"] - 0.5) > 1e-3  # not the loss of a policy equal to its reference
    print(f"KTO: kl {kto['kl']:.6f} vs {kto['their_kl']:.6f}, loss {kto['our_loss']:.6f} vs {kto['their_loss']:.6f}")
