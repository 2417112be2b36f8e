"""Several ranks for one job: torchrun's workers, one per GPU (gloo ranks on CPU), data parallel.

    training.gpus 2  ->  python -m tunedeck_trainer train  ->  launch.py  ->  torchrun  ->  2 x train

The math is one process's with the global batch (batchSize x ranks x gradientAccumulation):
- each epoch's shuffled order is cut into global micro-batches of batchSize x ranks examples;
  rank r takes every ranks-th example of each (``share``, as DistributedSampler splits), so a
  short last micro-batch leaves a rank fewer examples or none, never a padded duplicate;
- the step's weight (label tokens, pairs, examples) is summed over the ranks before any loss,
  each rank divides its summed losses by it, and the gradients are summed over the ranks after
  the step's micro-batches: exactly the gradient of the one big batch;
- KTO's KL estimate spans every rank's mismatched pairs (methods/kto.py).

The gradients are summed by hand, once per optimizer step, rather than by a
DistributedDataParallel wrapper: the loop calls the decoder and the head directly (loss.py) and
switches peft adapters for the reference pass, which a DDP wrapper's forward would not see, and
a rank whose share of a step is empty needs no dummy pass. LoRA's gradients are a few MB, so the
one coalesced all-reduce costs little next to the step.

Rank 0 owns events.jsonl, the checkpoints and the adapter, and reads the control commands;
``AgreedControl`` hands every rank rank 0's decision once per step, so all pause, checkpoint or
cancel after the same step. A collective that fails because another rank died raises
``PeerLost``: that rank exits with ``PEER_LOST_EXIT`` and no event, and the launcher names the
rank that died (launch.py).
"""

from __future__ import annotations

import datetime
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

PEER_LOST_EXIT = 75  # a rank whose collective failed because another rank died first
# A rank that stops answering (not dead: stuck) fails the others' collectives after this long.
COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=10)


class PeerLost(Exception):
    """A collective failed: another rank of the job died or was killed."""


@dataclass
class Ranks:
    """This process's place in the job; world 1 (one process) makes every collective the identity."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def main(self) -> bool:
        """Whether this is rank 0, which writes events, checkpoints and the adapter."""
        return self.rank == 0

    @property
    def _device(self) -> torch.device:
        # NCCL reduces CUDA tensors only; gloo CPU ones.
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    def _collective(self, operation: Any, *args: Any) -> Any:
        import torch.distributed as dist

        try:
            return getattr(dist, operation)(*args)
        except RuntimeError as error:  # gloo and NCCL raise RuntimeError (DistBackendError) for a lost peer
            raise PeerLost(f"{operation} failed: {error}") from error

    def sum(self, values: Sequence[float]) -> list[float]:
        """Each value summed over the ranks (float64)."""
        if self.world == 1:
            return list(values)
        tensor = torch.tensor(list(values), dtype=torch.float64, device=self._device)
        self._collective("all_reduce", tensor)
        return tensor.tolist()

    def total(self, value: Any) -> Any:
        """One number summed over the ranks; one process gets ``value`` back untouched."""
        return value if self.world == 1 else self.sum([value])[0]

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on some rank (an out-of-memory retry is agreed by all)."""
        return flag if self.world == 1 else self.sum([1.0 if flag else 0.0])[0] > 0

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order, on every rank (picklable values)."""
        if self.world == 1:
            return [value]
        found: list[Any] = [None] * self.world
        self._collective("all_gather_object", found, value)
        return found

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank."""
        if self.world == 1:
            return value
        box = [value]
        self._collective("broadcast_object_list", box, 0)
        return box[0]

    def combine(self, loss: float, tokens: int, sums: dict[str, float]) -> tuple[float, int, dict[str, float]]:
        """A step's loss, tokens and metric sums over all ranks, added up in rank order."""
        if self.world == 1:
            return loss, tokens, sums
        total_loss, total_tokens, total_sums = 0.0, 0, {}
        for their_loss, their_tokens, their_sums in self.gather((loss, tokens, sums)):
            total_loss += their_loss
            total_tokens += their_tokens
            for key, value in their_sums.items():
                total_sums[key] = total_sums.get(key, 0.0) + value
        return total_loss, total_tokens, total_sums

    def reduce_gradients(self, parameters: Sequence[torch.Tensor]) -> None:
        """Sums the gradients over the ranks, in one flat all-reduce (missing ones count as zero)."""
        if self.world == 1:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
        flat = torch.cat([grad.reshape(-1).to(torch.float32) for grad in grads]).to(self._device)
        self._collective("all_reduce", flat)
        offset = 0
        for parameter, grad in zip(parameters, grads, strict=True):
            count = grad.numel()
            parameter.grad = flat[offset : offset + count].view_as(grad).to(grad.dtype).to(grad.device)
            offset += count

    def finish(self) -> bool:
        """Waits for every rank at the end; False when one is gone."""
        if self.world == 1:
            return True
        try:
            self._collective("barrier")
            return True
        except PeerLost:
            return False


SINGLE = Ranks()


def start() -> Ranks:
    """Joins torchrun's process group when this process is one of several ranks (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return SINGLE
    import torch.distributed as dist

    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank)  # "cuda" is this rank's GPU from here on
    dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    return Ranks(rank, world, local_rank, backend)


def epoch_layout(count: int, global_batch: int, seed: int, epoch: int, offset: int = 0) -> list[list[int]]:
    """The global micro-batches of ``epoch`` from example ``offset`` of its order on.

    The order is batches.epoch_micro_batches's (a permutation seeded with seed + epoch); with one
    rank and offset 0 this is exactly that function's result. A resume on another rank count
    starts inside an epoch at an offset that need not fall on a micro-batch boundary.
    """
    generator = torch.Generator().manual_seed(seed + epoch)
    order = torch.randperm(count, generator=generator).tolist()[offset:]
    return [order[start : start + global_batch] for start in range(0, len(order), global_batch)]


def share(chunk: list[int], rank: int, world: int) -> list[int]:
    """Rank ``rank``'s examples of a global micro-batch: every world-th from the rank-th on."""
    return chunk[rank::world]


def examples_seen(micro: list[list[int]], position: int, offset: int) -> int:
    """Examples of the epoch's order consumed after ``position`` global micro-batches."""
    return offset + sum(len(chunk) for chunk in micro[:position])


def resume_place(state: dict[str, Any], global_batch: int, batch_size: int) -> tuple[int, int]:
    """(position, offset) in the epoch for a checkpoint's state, on this job's rank count.

    Checkpoints record examplesSeen; older ones (one process) only position x batchSize.
    """
    seen = state.get("examplesSeen")
    if not isinstance(seen, int):
        seen = int(state["position"]) * batch_size
    if seen % global_batch == 0:
        return seen // global_batch, 0
    return 0, seen


def rank_change(
    state: dict[str, Any], world: int, batch_size: int, accumulation: int, count: int, epochs: float, max_steps: int | None
) -> tuple[int | None, str | None]:
    """On a resume with another rank count than the checkpoint's: the new totalSteps (None: as
    computed) and a message saying what changes; (None, None) on the same count."""
    before = int(state.get("ranks", 1))
    if before == world:
        return None, None
    old, new = batch_size * before * accumulation, batch_size * world * accumulation
    step = int(state["step"])
    total = None
    if max_steps is None:
        done = int(state["epoch"]) * count + (state.get("examplesSeen") or int(state["position"]) * batch_size * before)
        total = step + max(0, math.ceil((epochs * count - done) / new - 1e-9))
    ends = f"the run now ends at step {total}" if total is not None else f"training.maxSteps {max_steps} still ends it"
    message = (
        f"resuming on {world} rank{'s' if world > 1 else ''}; checkpoint step {step} was trained on {before}: "
        f"the global batch changes from {old} to {new} examples (training.batchSize {batch_size} x ranks x "
        f"training.gradientAccumulation {accumulation}), {ends}, and the learning-rate schedule and dropout "
        "draws differ from a run that stayed on one rank count. The data continues where it stopped"
    )
    return total, message


class AgreedControl:
    """Rank 0's pause, cancel and checkpoint requests, the same on every rank.

    With one process the live requests are read directly, as before ranks existed. With several,
    ``refresh`` (once per step) broadcasts rank 0's and the loop reads that snapshot, so a command
    arriving in the middle of a step cannot reach rank 0's loop before the others'.
    """

    def __init__(self, control: Any, ranks: Ranks) -> None:
        self.control = control
        self.ranks = ranks
        self._pause = self._cancel = False
        self._names: list[str] = []

    def refresh(self) -> None:
        """Takes rank 0's requests so far; every rank calls it at the same point of the loop."""
        if self.ranks.world == 1:
            return
        mine = None
        if self.ranks.main:
            names = []
            while not self.control.checkpoints.empty():
                names.append(self.control.checkpoints.get())
            mine = (self.control.pause.is_set(), self.control.cancel.is_set(), names)
        self._pause, self._cancel, names = self.ranks.broadcast(mine)
        self._names.extend(names)

    @property
    def pause(self) -> bool:
        """Pause before the next step."""
        return self.control.pause.is_set() if self.ranks.world == 1 else self._pause

    @property
    def cancel(self) -> bool:
        """Cancel before the next step."""
        return self.control.cancel.is_set() if self.ranks.world == 1 else self._cancel

    @property
    def cancel_mid_step(self) -> bool:
        """Cancel after the current micro-batch: one process only (ranks agree between steps)."""
        return self.ranks.world == 1 and self.control.cancel.is_set()

    def take_checkpoints(self) -> list[str]:
        """The named checkpoints to save now."""
        if self.ranks.world == 1:
            names = []
            while not self.control.checkpoints.empty():
                names.append(self.control.checkpoints.get())
            return names
        names, self._names = self._names, []
        return names


class SilentEvents:
    """The event writer of ranks other than 0: remembers the final event, writes nothing."""

    def __init__(self) -> None:
        self.final: dict[str, Any] | None = None
        self.seq = 0

    def emit(self, type_name: str, **fields: Any) -> dict[str, Any] | None:
        from .protocol import FINAL_TYPES

        if self.final is not None:
            return None
        event = {"type": type_name, **fields}
        if type_name in FINAL_TYPES:
            self.final = event
        return event

    def close(self) -> None:
        """Nothing to close."""
