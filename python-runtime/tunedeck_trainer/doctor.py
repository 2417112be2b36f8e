"""What this Python environment has, for the host's environment doctor (Set-up page).

    python -m tunedeck_trainer.doctor --requirements python-runtime/requirements.txt [--smoke]

Prints one line, ``TUNEDECK_DOCTOR {json}``: the interpreter, each pinned requirement's installed
version, torch's build (CUDA version, kernel architectures) and whether it sees a GPU, whether
bitsandbytes imports (and, on CUDA, quantizes), and with ``--smoke`` a timed bf16 matmul on the GPU.
The host turns these facts into verdicts (electron/host/python/diagnosis.ts); nothing here judges.

Every probe catches its own failure and reports it: a broken torch must still give an answer.
Imports only the standard library at module level, so a venv without torch runs it too.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from importlib import metadata
from typing import Any

# "torch==2.9.1" or "bitsandbytes==0.48.2; sys_platform == 'linux'"
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)\s*(?:;\s*([^#]+))?")


def _applies(marker: str | None) -> bool:
    """Whether a requirement's environment marker holds here (True when it cannot be evaluated)."""
    if not marker:
        return True
    try:
        from packaging.markers import Marker

        return bool(Marker(marker.strip()).evaluate())
    except Exception:  # noqa: BLE001 - without packaging, assume it applies and let the host say so
        return True


def packages(requirements_file: str) -> list[dict[str, Any]]:
    """Each pinned requirement that applies to this platform, with the version installed (or None)."""
    found = []
    with open(requirements_file, encoding="utf-8") as handle:
        for line in handle:
            match = _PIN.match(line)
            if not match or not _applies(match.group(3)):
                continue
            name, wanted = match.group(1), match.group(2)
            try:
                installed: str | None = metadata.version(name)
            except metadata.PackageNotFoundError:
                installed = None
            found.append({"name": name, "wanted": wanted, "installed": installed})
    return found


def torch_facts() -> dict[str, Any]:
    """torch's version and CUDA build, and what it sees of the GPU."""
    facts: dict[str, Any] = {
        "version": None,
        "cudaBuild": None,
        "cudaAvailable": False,
        "deviceCount": 0,
        "devices": [],
        "archList": [],
        "error": None,
    }
    try:
        import torch
    except Exception as error:  # noqa: BLE001 - a broken install raises anything
        facts["error"] = f"{type(error).__name__}: {error}"
        return facts
    facts["version"] = str(torch.__version__)
    facts["cudaBuild"] = torch.version.cuda
    try:
        facts["archList"] = list(torch.cuda.get_arch_list()) if torch.version.cuda else []
        facts["cudaAvailable"] = bool(torch.cuda.is_available())
        if facts["cudaAvailable"]:
            facts["deviceCount"] = torch.cuda.device_count()
            for index in range(facts["deviceCount"]):
                major, minor = torch.cuda.get_device_capability(index)
                facts["devices"].append({"name": torch.cuda.get_device_name(index), "capability": f"{major}.{minor}"})
    except Exception as error:  # noqa: BLE001 - CUDA initialisation errors carry the driver's reason
        facts["error"] = f"{type(error).__name__}: {error}"
    return facts


def bitsandbytes_facts(cuda: bool) -> dict[str, Any]:
    """Whether bitsandbytes imports and, on CUDA, round-trips a tensor through 4-bit NF4."""
    facts: dict[str, Any] = {"version": None, "works": None, "error": None}
    try:
        import bitsandbytes
        import bitsandbytes.functional as functional
    except Exception as error:  # noqa: BLE001
        facts["error"] = f"{type(error).__name__}: {error}"
        return facts
    facts["version"] = getattr(bitsandbytes, "__version__", None)
    if not cuda:
        return facts
    try:
        import torch

        weights = torch.randn(64, 64, device="cuda", dtype=torch.bfloat16)
        packed, state = functional.quantize_4bit(weights, quant_type="nf4")
        restored = functional.dequantize_4bit(packed, state)
        facts["works"] = bool(torch.isfinite(restored).all()) and float((restored - weights).abs().mean()) < 0.5
    except Exception as error:  # noqa: BLE001
        facts["works"] = False
        facts["error"] = f"{type(error).__name__}: {error}"
    return facts


def cuda_smoke() -> dict[str, Any]:
    """A 2048 x 2048 bf16 matmul on the GPU: does a kernel run, how long, how many TFLOPS."""
    try:
        import torch

        left = torch.randn(2048, 2048, device="cuda", dtype=torch.bfloat16)
        right = torch.randn(2048, 2048, device="cuda", dtype=torch.bfloat16)
        (left @ right).sum().item()  # warm-up: kernel selection and the context
        torch.cuda.synchronize()
        start = time.perf_counter()
        repeats = 20
        for _ in range(repeats):
            product = left @ right
        torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / repeats
        finite = bool(torch.isfinite(product).all())
        return {"ran": True, "finite": finite, "milliseconds": seconds * 1000, "tflops": 2 * 2048**3 / seconds / 1e12, "error": None}
    except Exception as error:  # noqa: BLE001 - "no kernel image is available" lands here
        return {"ran": False, "finite": False, "milliseconds": None, "tflops": None, "error": f"{type(error).__name__}: {error}"}


def collect(requirements_file: str, smoke: bool) -> dict[str, Any]:
    """Every fact the doctor needs, as one JSON-ready dict."""
    torch = torch_facts()
    return {
        "python": {"version": sys.version.split()[0], "executable": sys.executable, "inVenv": sys.prefix != sys.base_prefix},
        "packages": packages(requirements_file),
        "torch": torch,
        "bitsandbytes": bitsandbytes_facts(torch["cudaAvailable"]),
        "smoke": cuda_smoke() if smoke and torch["cudaAvailable"] else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tunedeck_trainer.doctor", description=__doc__.split("\n")[0])
    parser.add_argument("--requirements", required=True, help="the pinned requirements file to compare with")
    parser.add_argument("--smoke", action="store_true", help="also time a bf16 matmul on the GPU")
    arguments = parser.parse_args(argv)
    print("TUNEDECK_DOCTOR " + json.dumps(collect(arguments.requirements, arguments.smoke)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
