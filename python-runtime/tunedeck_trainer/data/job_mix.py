"""A job's mixed datasets read whole: records for the preference methods and evaluation (``mixed_records``),
encoded examples for SFT (``mixed_encoded``). Each dataset is read (and, for SFT, encoded and cached) on its
own, in its own format, checked against the method, and then mixed by mixing.mix_rows with training.seed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import JobConfig, resolve_path
from .encoded_cache import CachedData
from .job_data import read_job_records
from .job_encoded import encoded_records
from .loader import LoadResult
from .mixing import as_part, describe, mix_rows, mixed_format, read_part, sources
from .mixing import summary as mix_summary


def mixed_records(config: JobConfig, job_dir: Path) -> tuple[Path, LoadResult]:
    """The first dataset's path and every dataset's normalised records mixed; ``mix`` on the result says how."""
    found = sources(config)
    loads = [read_part(source, lambda source=source: read_job_records(as_part(config, source), job_dir)[1]) for source in found]
    records, counts = mix_rows([loaded.records for loaded in loads], [source.weight for source in found], config.training.seed)
    formats = [loaded.format for loaded in loads]
    mixed = LoadResult(
        records,
        mixed_format(formats),
        skipped=sum(loaded.skipped for loaded in loads),
        errors=[error for loaded in loads for error in loaded.errors],
        rows=sum(loaded.rows for loaded in loads),
        columns=loads[0].columns,
        notes=[note for loaded in loads for note in loaded.notes],
    )
    mixed.mix = mix_summary(found, job_dir, formats, [len(loaded.records) for loaded in loads], counts)
    print(describe(mixed.mix, config.training.seed), flush=True)
    return resolve_path(job_dir, config.dataset.path), mixed


def mixed_encoded(config: JobConfig, job_dir: Path, tokenizer: Any) -> tuple[Path, CachedData, list[dict[str, Any]]]:
    """SFT: each dataset encoded whole (or read from the encoded cache) in its own format, then mixed;
    with no mix, the one dataset as encoded_records gives it and an empty summary."""
    if not config.dataset.mix:
        path, data = encoded_records(config, job_dir, tokenizer)
        return path, data, []
    found = sources(config)
    parts = [read_part(source, lambda source=source: encoded_records(as_part(config, source), job_dir, tokenizer)[1]) for source in found]
    examples, counts = mix_rows([part.examples for part in parts], [source.weight for source in found], config.training.seed)
    formats = [part.format for part in parts]
    mix = mix_summary(found, job_dir, formats, [len(part.examples) for part in parts], counts)
    print(describe(mix, config.training.seed), flush=True)
    data = CachedData(examples, mixed_format(formats), sum(part.skipped for part in parts))
    return resolve_path(job_dir, config.dataset.path), data, mix
