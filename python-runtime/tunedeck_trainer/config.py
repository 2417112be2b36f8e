"""The job config (DIR/config.json), validated against the schema electron/shared/config.ts exports.

The TypeScript zod schema is the one place a field is written. ``npm run config-schema``
exports it as job_config.schema.json beside this file (types, ranges, defaults, unknown keys
refused, and each field's ``expected`` in words) and as the frozen dataclasses of contract.py;
this module validates with ``jsonschema`` against the schema, fills the defaults it gives and
builds the dataclasses. Adding a setting is two edits: declare it in config.ts (then run the
command), use it here as ``config.<section>.<snake_case_name>``. Every error
names the dotted field, e.g. ``config.json: training.batchSize: expected a whole number from
1 to 1024, got "four"``. Shared vectors in tests/fixtures/config keep both sides honest.

Deliberately imports nothing heavy (no torch) so a bad config fails in a fraction of a second.

Usage::

    from tunedeck_trainer.config import load_config
    config = load_config("jobs/abc/config.json")
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# The config classes are generated from electron/shared/config.ts (npm run config-schema); the
# sections' names are re-exported here, where the trainer has always imported them from.
from .contract import (  # noqa: F401
    METHODS,
    SECTIONS,
    UNHASHED,
    DatasetSettings,
    JobConfigFields,
    LoraSettings,
    ModelSettings,
    TrainingSettings,
)


class ConfigError(Exception):
    """A config problem; ``field`` is the dotted config path it is about (or None for the file)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class JobConfig(JobConfigFields):
    """The whole config.json with every default filled in; its fields and sections are generated
    from electron/shared/config.ts into contract.py."""

    def hash(self) -> str:
        """A short digest of everything that shapes the training run: not the fields marked unhashed in
        config.ts (resume and init choices, the job id, dataloader workers), nor the settings sections of
        other methods than the job's own, so adding a method or changing another's settings is the same run."""
        shaping = asdict(self)
        for dotted in UNHASHED:
            *sections, name = dotted.split(".")
            parent = shaping
            for section in sections:
                parent = parent[section]
            del parent[name]
        if shaping["dataset"]["text_split"] == "auto":
            del shaping["dataset"]["text_split"]  # the default: checkpoints from before the field keep their hash
        if shaping["dataset"]["csv_header"] == "auto":
            del shaping["dataset"]["csv_header"]  # likewise
        if not shaping["dataset"]["mix"]:
            # No mix (the defaults): checkpoints from before dataset.mix keep their hash.
            del shaping["dataset"]["mix"]
            if shaping["dataset"]["weight"] == 1:
                del shaping["dataset"]["weight"]
        for name, method in METHODS.items():
            if method.section is not None and name != self.method:
                del shaping[method.section]
        return hashlib.sha256(json.dumps(shaping, sort_keys=True, default=list).encode()).hexdigest()[:16]


# --- validation, from the schema -----------------------------------------------------------

SCHEMA_FILE = Path(__file__).with_name("job_config.schema.json")


@functools.lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    """job_config.schema.json, exported from electron/shared/config.ts (npm run config-schema)."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    # Imported here so that importing this module stays cheap for code that only needs the dataclasses.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema())


def _show(value: Any) -> str:
    """How a bad value appears in a message: JSON, shortened."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _dotted(parts: Any) -> str:
    return ".".join(str(part) for part in parts)


def _config_error(error: Any) -> ConfigError:
    """One jsonschema error as a ConfigError naming the dotted field, in the words the schema gives."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and error.validator_value is False:
        allowed = list(error.schema.get("properties", {}))
        unknown = next(key for key in error.instance if key not in allowed)
        dotted = _dotted([*path, unknown])
        return ConfigError(f"config.json: {dotted}: unknown key; remove it (allowed: {', '.join(allowed)})", dotted)
    if error.validator == "required":
        missing = next(key for key in error.validator_value if key not in error.instance)
        dotted = _dotted([*path, missing])
        return ConfigError(f"config.json: {dotted}: required", dotted)
    dotted = _dotted(path) or "(root)"
    expected = error.schema.get("expected", error.message)
    return ConfigError(f"config.json: {dotted}: expected {expected}, got {_show(error.instance)}", dotted if path else None)


def _first_error(data: Any) -> Any:
    """The error to report, as jsonschema ranks them: within a union, the branch the value was meant for
    (a bad element of a target-modules list, lora.targetModules.1, rather than the list as a whole)."""
    from jsonschema.exceptions import best_match

    return best_match(_validator().iter_errors(data))


def _with_defaults(value: Any, schema: dict[str, Any]) -> Any:
    """``value`` with every default the schema gives filled in, down through the sections."""
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_with_defaults(item, schema["items"]) for item in value]  # a mixed dataset's own defaults
    properties = schema.get("properties")
    if not isinstance(value, dict) or properties is None:
        return value
    filled = dict(value)
    for key, child in properties.items():
        if key not in filled and "default" in child:
            filled[key] = copy.deepcopy(child["default"])
        if key in filled:
            filled[key] = _with_defaults(filled[key], child)
    return filled


def _is_integer(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "integer" or any(branch.get("type") == "integer" for branch in schema.get("anyOf", []))


def _attribute(key: str) -> str:
    """camelCase (config.json) to snake_case (the dataclasses): badRows -> bad_rows."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _value(value: Any, schema: dict[str, Any]) -> Any:
    """A JSON value as the dataclasses hold it: numbers as the schema's int or float (4.0 counts as 4, as in JavaScript),
    lists as tuples."""
    if "const" in schema:
        return schema["const"]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return int(value) if _is_integer(schema) else float(value)
    if isinstance(value, list):
        return tuple(value)
    return dict(value)


def _section(cls: type, value: dict[str, Any], schema: dict[str, Any]) -> Any:
    properties = schema["properties"]
    return cls(**{_attribute(key): _value(item, properties[key]) for key, item in value.items()})


def parse_config(data: Any) -> JobConfig:
    """Validates parsed JSON against the schema and returns the config with defaults filled in; raises ConfigError."""
    error = _first_error(data)
    if error is not None:
        raise _config_error(error)
    schema = _schema()
    filled = _with_defaults(data, schema)
    fields = {_attribute(key): _value(value, schema["properties"][key]) for key, value in filled.items() if key not in SECTIONS}
    for key, cls in SECTIONS.items():
        # Every section, given or left out, is typed by the schema (an integer alpha is a float), so the
        # config hash a checkpoint carries is the same either way.
        section_schema = schema["properties"][key]
        fields[key] = _section(cls, _with_defaults(data.get(key, {}), section_schema), section_schema)
    return JobConfig(**fields)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_config(path: str | Path) -> JobConfig:
    """Reads and validates a config.json file; raises ConfigError naming the file position or field."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"config.json: cannot read {path}: {error.strerror or error}") from error
    try:
        # Python reads NaN and Infinity, which JSON (and the host) does not have.
        data = json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ConfigError(f"config.json: line {error.lineno} column {error.colno}: not valid JSON ({error.msg})") from error
    except ValueError as error:
        raise ConfigError(f"config.json: not valid JSON ({error})") from error
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
