"""A job's dataset: the file named by config.dataset read, checked against the method, and split.

Every method reads its file through ``read_job_records`` and holds out validation rows with
``split_validation``, so a seed holds out the same rows of a file whichever method trains on it;
the method then tokenises the records into its own examples (methods/). Failures raise
TrainerError naming dataset.path or dataset.format.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..config import JobConfig, resolve_path
from ..contract import DATASET_FORMATS, METHODS
from ..errors import TrainerError
from .errors import DatasetError
from .loader import LoadResult, load_records

Row = TypeVar("Row")


@dataclass
class JobData:
    """A method's tokenised examples for training and validation, and the dataset event's counts."""

    train: list[dict[str, list[int]]]
    validation: list[dict[str, list[int]]]
    format: str
    skipped: int
    truncated: int
    empty: int = 0  # SFT: examples with no token to learn from (dropped)
    packed_from: int = 0  # SFT with training.packing: how many examples the packed rows hold
    longest: int = 0  # tokens of the longest sequence a forward pass sees (memory estimate)
    mix: list[dict[str, Any]] = field(default_factory=list)  # with dataset.mix: each dataset's rows (data/mixing.py)


def read_job_records(config: JobConfig, job_dir: Path) -> tuple[Path, LoadResult]:
    """The dataset file and its normalised records, in a format the job's method trains on."""
    dataset = config.dataset
    path = resolve_path(job_dir, dataset.path)
    if not path.exists() or not os.access(path, os.R_OK):
        what = "no file" if not path.exists() else "cannot read the file"
        raise TrainerError(f"dataset.path: {what} at {path}; choose a readable dataset file", "dataset.path")
    try:
        loaded = load_records(
            str(path),
            format=dataset.format,
            columns=dict(dataset.columns),
            bad_rows=dataset.bad_rows,
            text_split=dataset.text_split,
            csv_header=dataset.csv_header,
        )
    except DatasetError as error:
        raise TrainerError(f"dataset.path: {error}", "dataset.path") from error
    except OSError as error:
        raise TrainerError(f"dataset.path: cannot read {path}: {error}", "dataset.path") from error
    require_format(config.method, loaded.format, path)
    return path, loaded


def require_format(method: str, format: str, path: Path | str) -> None:
    """Fails naming dataset.format when ``method`` does not train on rows of ``format`` (the method table
    of electron/shared/methods.ts, in contract.py), saying which methods do."""
    wanted = METHODS[method].formats
    if format in wanted:
        return
    owners = [name for name, info in METHODS.items() if format in info.formats]
    rows = DATASET_FORMATS.get(format, f"{format} rows")
    needs = " or ".join(dict.fromkeys(DATASET_FORMATS[name] for name in wanted))
    where = f'dataset.format: {path} was read as "{format}": {rows}, which method "{method}" does not train on'
    if not owners:
        raise TrainerError(f"{where} (it needs {needs}), nor does any other method; choose another file", "dataset.format")
    choices = " or ".join(f'"{name}"' for name in owners)
    raise TrainerError(
        f"{where}; set method to {choices} to train on this file, or choose a file of {needs}",
        "dataset.format",
    )


def split_validation(rows: list[Row], fraction: float, seed: int) -> tuple[list[Row], list[Row]]:
    """(training rows, held-out rows): ``fraction`` of the rows, at least one and never all, picked by a
    permutation seeded with ``seed``; nothing is held out below two rows. Both keep the file's order."""
    import torch

    if fraction <= 0 or len(rows) < 2:
        return list(rows), []
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed)).tolist()
    held = min(len(rows) - 1, max(1, round(len(rows) * fraction)))
    held_out = set(order[:held])
    return ([row for index, row in enumerate(rows) if index not in held_out], [row for index, row in enumerate(rows) if index in held_out])


def job_records(config: JobConfig, job_dir: Path) -> tuple[Path, LoadResult, list[Any], list[Any]]:
    """The file, its load result, and its records split into training and held-out ones; with dataset.mix,
    the records of every dataset, mixed (job_mix.py), held out after mixing."""
    if config.dataset.mix:
        # Imported here: job_mix reads each dataset through read_job_records.
        from .job_mix import mixed_records

        path, loaded = mixed_records(config, job_dir)
    else:
        path, loaded = read_job_records(config, job_dir)
    train, validation = split_validation(list(loaded.records), config.dataset.validation_split, config.training.seed)
    return path, loaded, train, validation
