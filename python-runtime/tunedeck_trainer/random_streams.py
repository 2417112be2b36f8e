"""Every random stream the training loop draws from (Python, NumPy, torch, CUDA), captured into a
checkpoint's rng.pt and put back on resume, so a resumed run draws the same dropout masks and
data order as the uninterrupted one. Its own module because both writing a checkpoint
(checkpoint.py) and the loop's resume (loop.py) need it, and it is not about folders.

Imports numpy and torch only inside the functions, as checkpoint.py does.
"""

from __future__ import annotations

import random
from typing import Any


def rng_state() -> dict[str, Any]:
    """Every random stream the training loop draws from."""
    import numpy as np
    import torch

    kind, keys, position, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        # As a tensor and plain numbers, so that torch.load(weights_only=True) reads it back.
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(cached)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Puts back what ``rng_state`` captured."""
    import numpy as np
    import torch

    random.setstate(state["python"])
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
