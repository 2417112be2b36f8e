"""Which merged GGUF types the export offers for a base, and why not the others; q4_K_M through llama.cpp.

f16, q8_0 and q4_0 are written here (gguf_model.py) for the architectures and tokenizers it
supports. q4_K_M needs llama.cpp's own k-quant search, which the `gguf` package does not have: it
is offered only when llama.cpp's `llama-quantize` is on PATH (or named by TUNEDECK_LLAMA_QUANTIZE),
and made from the f16 file by it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ..errors import TrainerError
from . import gguf_model

QUANTIZER_TYPES = ("q4_K_M",)


def find_quantizer() -> str | None:
    """llama.cpp's llama-quantize: TUNEDECK_LLAMA_QUANTIZE, else on PATH."""
    named = os.environ.get("TUNEDECK_LLAMA_QUANTIZE")
    if named:
        return named if Path(named).is_file() else None
    return shutil.which("llama-quantize")


def tokenizer_folder(adapter_dir: Path, base_dir: Path) -> Path:
    """Where the trained tokenizer is: beside the adapter, else the base's."""
    return adapter_dir if (adapter_dir / "tokenizer.json").is_file() else base_dir


def offers(base: dict[str, Any], tokenizer_dir: Path) -> list[dict[str, Any]]:
    """One entry per type: ``offered`` and, when not, ``reason`` in words a person reads."""
    problem = None
    try:
        gguf_model.check_supported(base)
        tokenizer_json = tokenizer_dir / "tokenizer.json"
        if not tokenizer_json.is_file():
            raise TrainerError(f"model.gguf: no tokenizer.json in {tokenizer_dir}; the writer needs a fast tokenizer")
        gguf_model.pre_tokenizer(json.loads(tokenizer_json.read_text(encoding="utf-8")))
    except TrainerError as error:
        problem = str(error).removeprefix("model.gguf: ")
    entries = [{"type": kind, "offered": problem is None, "reason": problem} for kind in gguf_model.TYPES]
    quantizer = find_quantizer()
    for kind in QUANTIZER_TYPES:
        reason = problem or (
            None
            if quantizer
            else "needs llama.cpp's llama-quantize on PATH (the gguf package has no "
            "k-quant search); install llama.cpp, or choose q4_0 or q8_0"
        )
        entries.append({"type": kind, "offered": reason is None, "reason": reason})
    return entries


def quantize_with_llama_cpp(source: Path, out: Path, kind: str) -> None:
    """Runs llama-quantize on the f16 ``source``; a TrainerError with its last output when it fails."""
    quantizer = find_quantizer()
    if quantizer is None:
        raise TrainerError(f"model.gguf: {kind} needs llama.cpp's llama-quantize on PATH; choose q4_0 or q8_0", "ggufType")
    completed = subprocess.run([quantizer, str(source), str(out), kind.upper()], capture_output=True, text=True)
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        raise TrainerError(f"model.gguf: llama-quantize failed ({completed.returncode}): {' / '.join(tail)}", "ggufType")
