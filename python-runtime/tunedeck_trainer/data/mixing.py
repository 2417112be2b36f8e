"""A job's datasets mixed: dataset.path and each of dataset.mix, read in its own format, weighted and interleaved.

Weights (electron/shared/config.ts, mixWeight): a dataset of n usable rows with weight w gives
round(n * w) rows, at least one: floor(w) copies of every row, then a sample without replacement of
the rest. All the chosen rows are then put in one order by a shuffle. Both draws come from one
``random.Random(training.seed)``: the same seed gives the same mix, row for row, and another seed
another one. (Python's Mersenne Twister with an int seed draws the same on every platform.)

The loader returns plain lists, not ``datasets.Dataset``s, so this is a small seeded sampler rather
than ``datasets.interleave_datasets``, whose stopping rules leave the row counts to chance; here each
dataset's count is exact and known before training, so the form's step count can show it.

Used by job_data.job_records (the preference methods, evaluation), by the SFT method on encoded
records (``mixed_encoded``: each dataset is encoded, and cached, on its own), and by the preview
(mix_preview.py), so the rows the form counts are the rows that train. A mix is recorded in the
dataset event (``mix``: each dataset's rows read and taken) and in the terminal.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..config import JobConfig, resolve_path
from ..errors import TrainerError

Row = TypeVar("Row")


@dataclass(frozen=True)
class Source:
    """One dataset of a mix as config.json names it; ``field`` is where ("dataset" or "dataset.mix.N")."""

    field: str
    path: str
    format: str
    columns: dict[str, str]
    text_split: str
    weight: float
    dataset_id: str | None = None
    sha256: str | None = None
    csv_header: str = "auto"


def sources(config: JobConfig) -> list[Source]:
    """dataset.path, then each of dataset.mix, with its own reading and weight."""
    dataset = config.dataset
    found = [
        Source(
            "dataset",
            dataset.path,
            dataset.format,
            dict(dataset.columns),
            dataset.text_split,
            dataset.weight,
            dataset.dataset_id,
            dataset.sha256,
            dataset.csv_header,
        )
    ]
    for index, entry in enumerate(dataset.mix):
        found.append(
            Source(
                f"dataset.mix.{index}",
                str(entry["path"]),
                str(entry.get("format", "auto")),
                dict(entry.get("columns") or {}),
                str(entry.get("textSplit", "auto")),
                float(entry.get("weight", 1)),  # type: ignore[arg-type]
                entry.get("datasetId"),
                entry.get("sha256"),
                str(entry.get("csvHeader", "auto")),  # type: ignore[arg-type]
            )
        )
    return found


def taken(rows: int, weight: float) -> int:
    """Rows a dataset of ``rows`` gives with ``weight``: round(rows * weight), half up, at least one."""
    return 0 if rows == 0 else max(1, math.floor(rows * weight + 0.5))


def mix_order(sizes: Sequence[int], weights: Sequence[float], seed: int) -> list[tuple[int, int]]:
    """The mix as (dataset index, row index) pairs in training order (see the module docstring)."""
    generator = random.Random(seed)
    chosen: list[tuple[int, int]] = []
    for part, (size, weight) in enumerate(zip(sizes, weights, strict=True)):
        if size == 0:
            continue
        whole, rest = divmod(taken(size, weight), size)
        rows = list(range(size)) * whole + sorted(generator.sample(range(size), rest))
        chosen.extend((part, row) for row in rows)
    generator.shuffle(chosen)
    return chosen


def mix_rows(parts: Sequence[Sequence[Row]], weights: Sequence[float], seed: int) -> tuple[list[Row], list[int]]:
    """The rows of every part, weighted and interleaved, and how many each part gave."""
    order = mix_order([len(part) for part in parts], weights, seed)
    counts = [0] * len(parts)
    for part, _ in order:
        counts[part] += 1
    return [parts[part][row] for part, row in order], counts


def mixed_format(formats: Sequence[str]) -> str:
    """The mix's format as events and the report show it: "alpaca", or "alpaca+sharegpt" for several."""
    return "+".join(dict.fromkeys(formats))


def summary(
    found: Sequence[Source], job_dir: Path, formats: Sequence[str], rows: Sequence[int], counts: Sequence[int]
) -> list[dict[str, Any]]:
    """The dataset event's ``mix``: each dataset's path, library id, format, usable rows, weight and rows taken."""
    return [
        {
            "path": str(resolve_path(job_dir, source.path)),
            "datasetId": source.dataset_id,
            "format": format,
            "rows": size,
            "weight": source.weight,
            "taken": count,
        }
        for source, format, size, count in zip(found, formats, rows, counts, strict=True)
    ]


def describe(mix: Sequence[dict[str, Any]], seed: int) -> str:
    """One terminal line about the mix: rows of each, and the seed that fixed their order."""
    parts = [
        f"{part['taken']:,} of {Path(part['path']).name} ({part['format']}, "
        f"{'all' if part['taken'] == part['rows'] else str(part['weight']) + ' x'} {part['rows']:,} rows)"
        for part in mix
    ]
    total = sum(part["taken"] for part in mix)
    return f"[tunedeck] mix: {'; '.join(parts)}: {total:,} records, interleaved with seed {seed}"


def as_part(config: JobConfig, source: Source) -> JobConfig:
    """``config`` with ``source`` as its only dataset, so the single-dataset readers (and the encoded
    cache, keyed by each file) read it in its own format."""
    dataset = dataclasses.replace(
        config.dataset,
        path=source.path,
        format=source.format,
        columns=source.columns,
        text_split=source.text_split,
        csv_header=source.csv_header,
        dataset_id=source.dataset_id,
        sha256=source.sha256,
        weight=1.0,
        mix=(),
    )
    return dataclasses.replace(config, dataset=dataset)


def read_part(source: Source, read: Callable[[], Row]) -> Row:
    """``read()`` of one mixed dataset; an error about "dataset.x" names the mixed one ("dataset.mix.N.x")."""
    if source.field == "dataset":
        return read()
    try:
        return read()
    except TrainerError as error:
        field = error.field or "dataset.path"
        renamed = field.replace("dataset.", f"{source.field}.", 1) if field.startswith("dataset.") else field
        message = str(error)
        if message.startswith(f"{field}:"):
            message = renamed + message[len(field) :]
        raise TrainerError(message, renamed) from error
