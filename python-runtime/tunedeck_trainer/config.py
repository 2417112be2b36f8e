"""The job config (DIR/config.json), validated by hand against electron/shared/config.ts.

The TypeScript zod schema is the source of truth; this module mirrors it field by field
(camelCase keys, the same defaults and ranges, unknown keys rejected) so that every error
names the dotted field, e.g. ``config.json: training.batchSize: expected an integer >= 1,
got "four"``. Shared vectors in tests/fixtures/config keep both sides honest.

Deliberately imports nothing heavy (no torch) so a bad config fails in a fraction of a second.

Usage::

    from tunedeck_trainer.config import load_config
    config = load_config("jobs/abc/config.json")
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

CONFIG_VERSION = 1
DATASET_FORMATS = ("auto", "alpaca", "sharegpt", "openai", "prompt_completion", "text", "preference", "feedback")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
METHODS = ("sft", "dpo", "kto")
QUANTIZATIONS = ("none", "4bit")
BAD_ROWS = ("fail", "skip")
# zod's z.int() only accepts safe integers.
MAX_SAFE_INTEGER = 2**53 - 1


class ConfigError(Exception):
    """A config problem; ``field`` is the dotted config path it is about (or None for the file)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ModelConfig:
    """``model``: where the base model lives."""

    path: str
    selftest: bool = False
    quantization: str = "none"


@dataclass(frozen=True)
class DatasetConfig:
    """``dataset``: the training file and how to read it."""

    path: str
    format: str = "auto"
    columns: dict[str, str] = field(default_factory=dict)
    bad_rows: str = "fail"
    validation_split: float = 0.0


@dataclass(frozen=True)
class LoraSettings:
    """``lora``: the adapter's shape."""

    rank: int = 16
    alpha: float = 32
    dropout: float = 0.05
    target_modules: str | tuple[str, ...] = "all-linear"
    rslora: bool = False
    dora: bool = False


@dataclass(frozen=True)
class TrainingSettings:
    """``training``: the optimisation loop."""

    learning_rate: float = 2e-4
    epochs: float = 1
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


@dataclass(frozen=True)
class DpoSettings:
    """``dpo``: preference optimisation against the initFrom checkpoint when set, else the base with the adapter disabled."""

    beta: float = 0.1


@dataclass(frozen=True)
class KtoSettings:
    """``kto``: unpaired feedback against the same reference as DPO, with a weight for each label."""

    beta: float = 0.1
    desirable_weight: float = 1.0
    undesirable_weight: float = 1.0


@dataclass(frozen=True)
class JobConfig:
    """The whole config.json with every default filled in."""

    version: int
    job_id: str
    model: ModelConfig
    dataset: DatasetConfig
    method: str = "sft"
    lora: LoraSettings = field(default_factory=LoraSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    dpo: DpoSettings = field(default_factory=DpoSettings)
    kto: KtoSettings = field(default_factory=KtoSettings)
    resume_from: str | None = None
    init_from: str | None = None

    def hash(self) -> str:
        """A short digest of everything that shapes the training run (not resume/init choices)."""
        shaping = {key: value for key, value in asdict(self).items() if key not in ("resume_from", "init_from", "job_id")}
        # Workers change where batches are collated, not what they hold: resuming with another
        # count is the same run (and checkpoints from before the field existed keep their hash).
        del shaping["training"]["dataloader_workers"]
        return hashlib.sha256(json.dumps(shaping, sort_keys=True, default=list).encode()).hexdigest()[:16]


# --- checks -------------------------------------------------------------------------------

_MISSING = object()


def _show(value: Any) -> str:
    """How a bad value appears in a message: JSON, shortened."""
    text = json.dumps(value, ensure_ascii=False) if value is not _MISSING else "nothing"
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(path: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"config.json: {path}: expected {expected}, got {_show(value)}", path)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _range_text(noun: str, low: float | None, high: float | None, positive: bool) -> str:
    if positive and high is not None:
        return f"{noun} > 0 and <= {high:g}"
    if positive:
        return f"{noun} > 0"
    if low is not None and high is not None:
        return f"{noun} between {low:g} and {high:g}"
    if low is not None:
        return f"{noun} >= {low:g}"
    if high is not None:
        return f"{noun} <= {high:g}"
    return noun


def number(low: float | None = None, high: float | None = None, positive: bool = False) -> Callable[[Any, str], float]:
    """A finite JSON number in [low, high] (or > 0 when ``positive``)."""

    def check(value: Any, path: str) -> float:
        ok = _is_number(value)
        ok = ok and (low is None or value >= low) and (high is None or value <= high) and (not positive or value > 0)
        if not ok:
            raise _fail(path, _range_text("a number", low, high, positive), value)
        return float(value)

    return check


def integer(low: int | None = None, high: int | None = None) -> Callable[[Any, str], int]:
    """A JSON integer in [low, high]; 4.0 counts as 4, as it does once JSON is parsed in JavaScript."""

    def check(value: Any, path: str) -> int:
        ok = _is_number(value) and float(value).is_integer() and abs(value) <= MAX_SAFE_INTEGER
        ok = ok and (low is None or value >= low) and (high is None or value <= high)
        if not ok:
            raise _fail(path, _range_text("an integer", low, high, False), value)
        return int(value)

    return check


def boolean(value: Any, path: str) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise _fail(path, "true or false", value)
    return value


def text(min_length: int = 0, hint: str | None = None) -> Callable[[Any, str], str]:
    """A string of at least ``min_length`` characters."""

    def check(value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise _fail(path, "a string", value)
        if len(value) < min_length:
            raise ConfigError(f"config.json: {path}: {hint or 'must not be empty'}", path)
        return value

    return check


def choice(options: tuple[str, ...]) -> Callable[[Any, str], str]:
    """One of the given strings."""

    def check(value: Any, path: str) -> str:
        if value not in options or not isinstance(value, str):
            raise _fail(path, "one of " + ", ".join(f'"{option}"' for option in options), value)
        return value

    return check


def nullable(inner: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    """``inner`` or null."""

    def check(value: Any, path: str) -> Any:
        return None if value is None else inner(value, path)

    return check


def literal(expected: Any) -> Callable[[Any, str], Any]:
    """Exactly ``expected``."""

    def check(value: Any, path: str) -> Any:
        if value != expected or isinstance(value, bool) != isinstance(expected, bool):
            raise _fail(path, _show(expected), value)
        return expected

    return check


def string_map(value: Any, path: str) -> dict[str, str]:
    """An object whose values are all strings (dataset.columns)."""
    if not isinstance(value, dict):
        raise _fail(path, "an object of strings", value)
    for key, item in value.items():
        if not isinstance(item, str):
            raise _fail(f"{path}.{key}", "a string", item)
    return dict(value)


def target_modules(value: Any, path: str) -> str | tuple[str, ...]:
    """"all-linear" or a non-empty list of non-empty module names.

    Like zod's union, a bad element of a list is reported at its index (lora.targetModules.1).
    """
    if value == "all-linear":
        return "all-linear"
    if isinstance(value, list) and value:
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise _fail(f"{path}.{index}", "a module name such as \"q_proj\"", item)
        return tuple(value)
    raise _fail(path, '"all-linear" or a non-empty list of module names such as "q_proj"', value)


def _object(value: Any, path: str, fields: dict[str, tuple[str, Callable[[Any, str], Any], Any]]) -> dict[str, Any]:
    """Checks a strict object: each camelCase key -> (attribute name, check, default or _MISSING)."""
    if not isinstance(value, dict):
        raise _fail(path or "(root)", "an object", value)
    for key in value:
        if key not in fields:
            dotted = f"{path}.{key}" if path else key
            raise ConfigError(f"config.json: {dotted}: unknown key; remove it (allowed: {', '.join(fields)})", dotted)
    result: dict[str, Any] = {}
    for key, (attribute, check, default) in fields.items():
        dotted = f"{path}.{key}" if path else key
        if key not in value:
            if default is _MISSING:
                raise ConfigError(f"config.json: {dotted}: required", dotted)
            result[attribute] = default() if callable(default) else default
        else:
            result[attribute] = check(value[key], dotted)
    return result


def _section(cls: type, fields: dict[str, tuple[str, Callable[[Any, str], Any], Any]]) -> Callable[[Any, str], Any]:
    def check(value: Any, path: str) -> Any:
        return cls(**_object(value, path, fields))

    return check


_model = _section(ModelConfig, {
    "path": ("path", text(1, "choose a model folder"), _MISSING),
    "selftest": ("selftest", boolean, False),
    "quantization": ("quantization", choice(QUANTIZATIONS), "none"),
})

_dataset = _section(DatasetConfig, {
    "path": ("path", text(1, "choose a dataset file"), _MISSING),
    "format": ("format", choice(DATASET_FORMATS), "auto"),
    "columns": ("columns", string_map, dict),
    "badRows": ("bad_rows", choice(BAD_ROWS), "fail"),
    "validationSplit": ("validation_split", number(0, 0.5), 0.0),
})

_lora = _section(LoraSettings, {
    "rank": ("rank", integer(1, 1024), 16),
    "alpha": ("alpha", number(positive=True), 32.0),
    "dropout": ("dropout", number(0, 0.9), 0.05),
    "targetModules": ("target_modules", target_modules, "all-linear"),
    "rslora": ("rslora", boolean, False),
    "dora": ("dora", boolean, False),
})

_training = _section(TrainingSettings, {
    "learningRate": ("learning_rate", number(high=1, positive=True), 2e-4),
    "epochs": ("epochs", number(high=100, positive=True), 1.0),
    "batchSize": ("batch_size", integer(1, 1024), 4),
    "gradientAccumulation": ("gradient_accumulation", integer(1, 1024), 1),
    "maxSeqLength": ("max_seq_length", integer(16, 131072), 1024),
    "maxSteps": ("max_steps", nullable(integer(1)), None),
    "warmupRatio": ("warmup_ratio", number(0, 0.5), 0.03),
    "weightDecay": ("weight_decay", number(0, 1), 0.0),
    "seed": ("seed", integer(0), 42),
    "precision": ("precision", choice(PRECISIONS), "auto"),
    "trainOnInputs": ("train_on_inputs", boolean, False),
    # On by default: fewer padded tokens; the SFT recipe trains unpacked (with a warning) for
    # models whose mask code cannot keep packed examples apart.
    "packing": ("packing", boolean, True),
    "checkpointEvery": ("checkpoint_every", integer(0), 0),
    "keepCheckpoints": ("keep_checkpoints", integer(1), 2),
    "logEvery": ("log_every", integer(1), 1),
    "gradientCheckpointing": ("gradient_checkpointing", boolean, False),
    "oomRetry": ("oom_retry", boolean, True),
    # Processes that collate upcoming micro-batches while the GPU computes; null picks a share
    # of the cores on CUDA and 0 (the main process) on CPU, where the cores compute the model.
    "dataloaderWorkers": ("dataloader_workers", nullable(integer(0, 64)), None),
})

_dpo = _section(DpoSettings, {
    "beta": ("beta", number(high=10, positive=True), 0.1),
})

_kto = _section(KtoSettings, {
    "beta": ("beta", number(high=10, positive=True), 0.1),
    "desirableWeight": ("desirable_weight", number(high=100, positive=True), 1.0),
    "undesirableWeight": ("undesirable_weight", number(high=100, positive=True), 1.0),
})

_JOB_FIELDS: dict[str, tuple[str, Callable[[Any, str], Any], Any]] = {
    "version": ("version", literal(CONFIG_VERSION), _MISSING),
    "jobId": ("job_id", text(1), _MISSING),
    "method": ("method", choice(METHODS), "sft"),
    "model": ("model", _model, _MISSING),
    "dataset": ("dataset", _dataset, _MISSING),
    "lora": ("lora", _lora, LoraSettings),
    "training": ("training", _training, TrainingSettings),
    "dpo": ("dpo", _dpo, DpoSettings),
    "kto": ("kto", _kto, KtoSettings),
    "resumeFrom": ("resume_from", nullable(text(1)), None),
    "initFrom": ("init_from", nullable(text(1)), None),
}


def parse_config(data: Any) -> JobConfig:
    """Validates parsed JSON and returns the config with defaults filled in; raises ConfigError."""
    return JobConfig(**_object(data, "", _JOB_FIELDS))


def load_config(path: str | Path) -> JobConfig:
    """Reads and validates a config.json file; raises ConfigError naming the file position or field."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"config.json: cannot read {path}: {error.strerror or error}") from error
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"config.json: line {error.lineno} column {error.colno}: not valid JSON ({error.msg})"
        ) from error
    return parse_config(data)


def resolve_path(job_dir: Path, value: str) -> Path:
    """Paths in config.json may be relative: they are relative to the job folder."""
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else (job_dir / path)


HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def resolve_model_path(job_dir: Path, value: str) -> Path:
    """A local folder, or a hub id (org/name) already in the Hugging Face cache.

    Training never downloads: a hub id that is not cached resolves to a path that does not
    exist, and the caller reports it naming model.path.
    """
    local = resolve_path(job_dir, value)
    if local.exists() or not HUB_ID.match(value):
        return local
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(value, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means "not in the cache"
        return local
