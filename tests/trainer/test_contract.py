"""The trainer's side of the contract (contract.py, generated from electron/shared): every method
in the table has a module that registers it, every dataset format a reader and a method, and the
config classes hold the schema's defaults typed as parse_config types them.
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_contract.py
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from conftest import FIXTURES
from tunedeck_trainer.config import parse_config
from tunedeck_trainer.contract import DATASET_FORMATS, METHODS, SECTIONS
from tunedeck_trainer.data.formats import FORMATS
from tunedeck_trainer.data.judged import NORMALISERS
from tunedeck_trainer.errors import TrainerError
from tunedeck_trainer.methods import REGISTRY, method_for

MINIMAL = json.loads((FIXTURES / "config" / "valid" / "minimal.json").read_text())


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_in_the_table_registers_its_module(name: str) -> None:
    config = parse_config({**MINIMAL, "method": name})
    method = method_for(config)
    assert type(method) is REGISTRY[name] and method.name == name
    assert method.uses_reference == METHODS[name].reference
    section = METHODS[name].section
    assert method.settings == (getattr(config, section) if section else None)


def test_a_method_without_a_module_is_refused_naming_it() -> None:
    config = replace(parse_config(MINIMAL), method="nonesuch")
    with pytest.raises(TrainerError, match="'nonesuch' is not a training method"):
        method_for(config)


def test_every_format_has_a_reader_and_a_method() -> None:
    assert set(NORMALISERS) == set(FORMATS) == set(DATASET_FORMATS) - {"auto"}
    for format in FORMATS:
        assert any(format in method.formats for method in METHODS.values()), format


def test_left_out_sections_are_the_schema_defaults_typed() -> None:
    """A section left out and one given empty build the same settings, so the config hash is the same."""
    omitted = parse_config(MINIMAL)
    empty = parse_config({**MINIMAL, **{section: {} for section in SECTIONS if section not in ("model", "dataset")}})
    assert omitted == empty and omitted.hash() == empty.hash()
    assert isinstance(omitted.lora.alpha, float) and isinstance(omitted.training.batch_size, int)


def test_the_hash_covers_only_the_jobs_own_method_settings() -> None:
    sft = parse_config(MINIMAL)
    assert parse_config({**MINIMAL, "orpo": {"beta": 0.5}}).hash() == sft.hash()
    orpo = parse_config({**MINIMAL, "method": "orpo"})
    assert parse_config({**MINIMAL, "method": "orpo", "orpo": {"beta": 0.5}}).hash() != orpo.hash()
