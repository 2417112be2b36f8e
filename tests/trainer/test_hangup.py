"""A host that goes away costs no training: when the trainer's pty hangs up (its host was killed),
the trainer finishes the step, saves a pause checkpoint and exits 3, printing to the dead
terminal without dying of EIO or SIGHUP.

    PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_hangup.py
"""

from __future__ import annotations

import fcntl
import os
import pty
import subprocess
import sys
import termios
from pathlib import Path

from conftest import cli_env, make_job, read_events, wait_for
from tunedeck_trainer.checkpoint import read_state

# Long enough that the run is still going when the test acts on it.
LONG = {"training": {"maxSteps": 5000, "learningRate": 0.001}}


def _take_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty, as node-pty sets it up."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_a_hung_up_pty_pauses_with_a_checkpoint(tmp_path: Path, tiny_model: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, **LONG)
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tunedeck_trainer", "train", "--job-dir", str(job_dir)],
        cwd="/",
        env=cli_env(),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
        preexec_fn=_take_terminal,
    )
    os.close(slave)
    try:
        wait_for(job_dir, lambda event: event["type"] == "step" and event["step"] >= 2, process)  # type: ignore[arg-type]
        # The host dies: the kernel closes the pty's master, which hangs up the trainer's terminal
        # (SIGHUP to the session leader; reads end with EIO; writes fail with EIO).
        os.close(master)
        master = -1
        code = process.wait(timeout=90)
    finally:
        if master >= 0:
            os.close(master)
        if process.poll() is None:
            process.kill()
    events = read_events(job_dir)
    assert code == 3, events[-5:]
    assert events[-1]["type"] == "paused"
    assert read_state(job_dir / "checkpoints" / events[-1]["checkpoint"]) is not None
    assert any(event["type"] == "log" and "the host went away" in event.get("message", "") for event in events)
    # The pause came at a step boundary after the hangup, and no step was written after it.
    last_step = max(event["step"] for event in events if event["type"] == "step")
    assert events[-1]["step"] == last_step


def test_a_closed_pipe_is_not_a_hangup(tmp_path: Path, tiny_model: Path) -> None:
    """Scripts run the trainer with stdin from /dev/null: that EOF must not pause the job."""
    job_dir = make_job(tmp_path / "job", tiny_model, training={"maxSteps": 3})
    result = subprocess.run(
        [sys.executable, "-m", "tunedeck_trainer", "train", "--job-dir", str(job_dir)],
        cwd="/",
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert read_events(job_dir)[-1]["type"] == "completed"
