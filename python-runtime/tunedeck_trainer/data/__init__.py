"""The dataset layer: read a file in any supported format, normalise, tokenise and pack.

    from tunedeck_trainer.data import load_records, encode_records, pack_examples, preview

Preview from the command line (prints JSON; see __main__.py)::

    PYTHONPATH=python-runtime python -m tunedeck_trainer.data preview --path data.jsonl --limit 5

Tests: ``PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_data_*.py``
"""

from .encode import DEFAULT_CHAT_TEMPLATE, IGNORE_INDEX, EncodeResult, encode_records
from .errors import DatasetError
from .formats import FORMATS
from .loader import LoadResult, load_records
from .packing import pack_examples
from .preview import preview

__all__ = [
    "DEFAULT_CHAT_TEMPLATE",
    "FORMATS",
    "IGNORE_INDEX",
    "DatasetError",
    "EncodeResult",
    "LoadResult",
    "encode_records",
    "load_records",
    "pack_examples",
    "preview",
]
