"""Control of a running trainer: stdin commands, signals, and a kill in the middle of a save."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from conftest import finish, make_job, merge, read_config, read_events, send, start_cli, wait_for, write_config
from tunedeck_trainer.checkpoint import list_checkpoints, read_state
from tunedeck_trainer.protocol import event_errors

# Long enough that the run is still going when the test acts on it.
LONG = {"training": {"maxSteps": 5000, "learningRate": 0.001}}


def _is_step(event: dict, at_least: int = 1) -> bool:
    return event["type"] == "step" and event["step"] >= at_least


def test_stdin_commands_checkpoint_then_pause(tmp_path: Path, tiny_model: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, **LONG)
    process = start_cli(job_dir)
    wait_for(job_dir, _is_step, process)
    send(process, "this is not json")
    send(process, {"cmd": "dance"})
    send(process, {"cmd": "checkpoint", "name": "../escape"})
    send(process, {"cmd": "checkpoint", "name": "before-change"})
    wait_for(job_dir, lambda event: event["type"] == "checkpoint" and event["name"] == "before-change", process)
    send(process, {"cmd": "pause"})
    code, output = finish(process)
    events = read_events(job_dir)
    assert code == 3, output[-3000:]
    assert all(event_errors(event) == [] for event in events)
    warnings = [event["message"] for event in events if event["type"] == "log" and event["level"] == "warning"]
    assert len(warnings) == 3 and "not JSON" in warnings[0] and "dance" in warnings[1] and "escape" in warnings[2]
    paused = events[-1]
    assert paused["type"] == "paused"
    pause_checkpoint = events[-2]
    assert pause_checkpoint["type"] == "checkpoint" and pause_checkpoint["kind"] == "pause"
    assert pause_checkpoint["name"] == paused["checkpoint"] and pause_checkpoint["step"] == paused["step"]
    names = {folder.name: state["kind"] for folder, state in list_checkpoints(job_dir)}
    assert names == {"before-change": "named", paused["checkpoint"]: "pause"}


def test_cancel_on_stdin_stops_without_saving(tmp_path: Path, tiny_model: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, **LONG)
    process = start_cli(job_dir)
    wait_for(job_dir, _is_step, process)
    send(process, {"cmd": "cancel"})
    code, output = finish(process, timeout=30)
    events = read_events(job_dir)
    assert code == 4, output[-3000:]
    assert events[-1]["type"] == "cancelled" and events[-1]["step"] >= 1
    assert not (job_dir / "adapter").exists() and list_checkpoints(job_dir) == []


def test_ctrl_c_while_loading_cancels_promptly(tmp_path: Path, tiny_model: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, **LONG)
    process = start_cli(job_dir)
    wait_for(job_dir, lambda event: event["type"] == "heartbeat", process)
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    code, output = finish(process, timeout=30)
    events = read_events(job_dir)
    assert code == 4, output[-3000:]
    print(f"Ctrl-C while loading: exited {time.monotonic() - sent:.2f} s after the signal")
    assert events[-1]["type"] == "cancelled"
    assert not any(event["type"] == "step" for event in events)


def test_sigterm_during_training_pauses_with_a_checkpoint(tmp_path: Path, tiny_model: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, **LONG)
    process = start_cli(job_dir)
    wait_for(job_dir, lambda event: _is_step(event, 2), process)
    process.send_signal(signal.SIGTERM)
    code, output = finish(process, timeout=60)
    events = read_events(job_dir)
    assert code == 3, output[-3000:]
    assert events[-1]["type"] == "paused"
    assert read_state(job_dir / "checkpoints" / events[-1]["checkpoint"]) is not None


def test_kill_during_a_checkpoint_save_leaves_nothing_loadable(tmp_path: Path, tiny_model: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, training={"checkpointEvery": 2, "maxSteps": 50})
    process = start_cli(job_dir, TUNEDECK_CHECKPOINT_SAVE_DELAY="60")
    partial = job_dir / "checkpoints" / ".tmp-step-2"
    deadline = time.monotonic() + 90
    while not (partial / "rng.pt").exists():
        assert process.poll() is None and time.monotonic() < deadline, "the save never started"
        time.sleep(0.05)
    process.kill()  # SIGKILL: no handler runs
    process.communicate(timeout=30)
    assert list_checkpoints(job_dir) == []
    assert read_state(partial) is None
    assert not (job_dir / "checkpoints" / "step-2").exists()
    # A torn events file still reads: every whole line is a valid event and none is final.
    events = read_events(job_dir)
    assert events and all(event_errors(event) == [] for event in events)
    assert not any(event["type"] in ("completed", "checkpoint") for event in events)

    # Running the job again cleans up the partial save and continues the event sequence.
    from tunedeck_trainer.runner import run_job

    write_config(job_dir, merge(read_config(job_dir), {"training": {"maxSteps": 2}}))
    assert run_job(job_dir, read_stdin=False, handle_signals=False) == 0
    assert not partial.exists()
    assert [folder.name for folder, _ in list_checkpoints(job_dir)] == ["step-2"]
    rerun = read_events(job_dir)
    assert [event["seq"] for event in rerun] == list(range(1, len(rerun) + 1))


def test_commands_in_a_pty_are_not_echoed(tmp_path: Path, tiny_model: Path) -> None:
    """The host runs the trainer in a pty: its commands must not show up in the terminal log."""
    import os
    import pty
    import subprocess
    import sys

    from conftest import cli_env

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
    )
    os.close(slave)
    output = b""
    try:
        wait_for(job_dir, lambda event: event["type"] == "heartbeat", process)  # type: ignore[arg-type]
        os.write(master, b'{"cmd":"cancel"}\n')
        process.wait(timeout=30)
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO once the child side is closed
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 4, output.decode(errors="replace")[-3000:]
    assert read_events(job_dir)[-1]["type"] == "cancelled"
    assert b'"cmd"' not in output
    assert b"cancel" in output  # the trainer's own message is there
