"""Generated from electron/shared by `npm run config-schema`; do not edit.

What the trainer shares with the host: the config classes (config.py validates and fills them), the
fields left out of the config hash, the dataset formats and field names (data/), the training methods
(methods/) and the protocol constants (protocol.py). Change electron/shared and run the command;
tests/shared/configSchema.test.ts fails while this file is stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class ModelSettings:
    """``model``: Model settings."""

    path: str
    selftest: bool = False
    quantization: str = "none"


@dataclass(frozen=True)
class DatasetSettings:
    """``dataset``: Dataset settings."""

    path: str
    format: str = "auto"
    columns: dict[str, str] = field(default_factory=dict)
    text_split: str = "auto"
    csv_header: str = "auto"
    bad_rows: str = "fail"
    validation_split: float = 0.0
    dataset_id: str | None = None
    sha256: str | None = None
    weight: float = 1.0
    mix: tuple[dict[str, object], ...] = ()


@dataclass(frozen=True)
class LoraSettings:
    """``lora``: LoRA settings."""

    rank: int = 16
    alpha: float = 32.0
    dropout: float = 0.05
    target_modules: str | tuple[str, ...] = "all-linear"
    rslora: bool = False
    dora: bool = False


@dataclass(frozen=True)
class TrainingSettings:
    """``training``: Training settings."""

    learning_rate: float = 0.0002
    epochs: float = 1.0
    batch_size: int = 4
    gradient_accumulation: int = 1
    max_seq_length: int = 1024
    max_steps: int | None = None
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    seed: int = 42
    precision: str = "auto"
    train_on_inputs: bool = False
    packing: bool = True
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    log_every: int = 1
    gradient_checkpointing: bool = False
    oom_retry: bool = True
    dataloader_workers: int | None = None
    gpus: str | int | tuple[int, ...] = "all"
    sharding: str = "auto"


@dataclass(frozen=True)
class DpoSettings:
    """``dpo``: DPO settings."""

    beta: float = 0.1


@dataclass(frozen=True)
class KtoSettings:
    """``kto``: KTO settings."""

    beta: float = 0.1
    desirable_weight: float = 1.0
    undesirable_weight: float = 1.0


@dataclass(frozen=True)
class OrpoSettings:
    """``orpo``: ORPO settings."""

    beta: float = 0.1


@dataclass(frozen=True)
class JobConfigFields:
    """The whole config.json with every default filled in (config.JobConfig adds its hash)."""

    version: int
    job_id: str
    model: ModelSettings
    dataset: DatasetSettings
    method: str = "sft"
    lora: LoraSettings = field(default_factory=LoraSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    dpo: DpoSettings = field(default_factory=DpoSettings)
    kto: KtoSettings = field(default_factory=KtoSettings)
    orpo: OrpoSettings = field(default_factory=OrpoSettings)
    resume_from: str | None = None
    init_from: str | None = None
    init_optimizer: bool = False


# Each settings section of config.json and its class.
SECTIONS: dict[str, type] = {
    "model": ModelSettings,
    "dataset": DatasetSettings,
    "lora": LoraSettings,
    "training": TrainingSettings,
    "dpo": DpoSettings,
    "kto": KtoSettings,
    "orpo": OrpoSettings,
}
# Fields that do not change what a run computes (hashed: false in config.ts): not in the config hash.
UNHASHED: tuple[str, ...] = (
    "job_id",
    "training.dataloader_workers",
    "training.gpus",
    "training.sharding",
    "resume_from",
    "init_from",
    "init_optimizer",
)


class MethodInfo(NamedTuple):
    """A training method (electron/shared/methods.ts); methods/<name>.py holds its code."""

    label: str
    formats: tuple[str, ...]  # the dataset formats it trains on
    reference: bool  # whether its loss compares the policy with a frozen reference model
    section: str | None  # its settings section of config.json


METHODS: dict[str, MethodInfo] = {
    "sft": MethodInfo(
        label="Supervised fine-tune",
        formats=("alpaca", "sharegpt", "openai", "prompt_completion", "text"),
        reference=False,
        section=None,
    ),
    "dpo": MethodInfo(
        label="Preference (DPO)",
        formats=("preference",),
        reference=True,
        section="dpo",
    ),
    "kto": MethodInfo(
        label="Feedback (KTO)",
        formats=("feedback",),
        reference=True,
        section="kto",
    ),
    "orpo": MethodInfo(
        label="Preference without a reference (ORPO)",
        formats=("preference",),
        reference=False,
        section="orpo",
    ),
}


# Dataset formats, in the order the form offers them (detection breaks ties by it),
# and how a message names their rows.
DATASET_FORMATS: dict[str, str] = {
    "auto": "rows of a format detected from the file",
    "alpaca": "instructions (instruction, input and output)",
    "sharegpt": "conversations",
    "openai": "conversations",
    "prompt_completion": "prompts with their completions",
    "text": "plain text",
    "preference": "preference pairs (prompt, chosen and rejected)",
    "feedback": "feedback rows (prompt, completion and a true/false label)",
}
# Our field names, which dataset.columns may map to the file's own column names.
FIELDS: tuple[str, ...] = (
    "instruction",
    "input",
    "output",
    "system",
    "history",
    "conversations",
    "messages",
    "prompt",
    "completion",
    "chosen",
    "rejected",
    "chosen_messages",
    "rejected_messages",
    "text",
    "label",
    "tools",
    "role_tag",
    "content_tag",
    "user_tag",
    "assistant_tag",
    "system_tag",
    "tool_tag",
)
# Column-mapping entries that name keys and role tags inside conversation turns, not columns.
TAGS: tuple[str, ...] = (
    "role_tag",
    "content_tag",
    "user_tag",
    "assistant_tag",
    "system_tag",
    "tool_tag",
)

PROTOCOL_VERSION = 1
EXIT_CODES: dict[str, int] = {"completed": 0, "failed": 1, "paused": 3, "cancelled": 4}
