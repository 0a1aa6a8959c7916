"""Killing a writer at any moment leaves the old weight file or the new one, never a broken one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from model.files import load_weights
from model.training.train import load_checkpoint
from tests.conftest import ROOT, SAMPLE_DIR

# Rewrites one ~7 MB weight file as fast as it can, numbering each version from a start value and
# printing it once written, so a kill at a random moment usually lands in the middle of a write.
WRITER = """
import itertools, sys
import numpy as np
from model.nn.mlp import MLP
from model.files import save_weights
path, start = sys.argv[1], int(sys.argv[2])
net = MLP([784, 1024, 1024, 10], rng=np.random.default_rng(0))
for version in itertools.count(start):
    for p in net.parameters().values():
        p.fill(version % 7)
    save_weights(path, net, {"version": version})
    print(version, flush=True)
"""


def wait_for(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.01)


@pytest.mark.slow
def test_killing_the_writer_never_leaves_a_broken_file(tmp_path: Path) -> None:
    target = tmp_path / "weights.npz"
    rng = np.random.default_rng(0)
    last_complete = None
    mid_sequence_kills = 0
    for trial in range(8):
        start = 1000 * (trial + 1)
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target), str(start)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        wait_for(target)
        time.sleep(float(rng.uniform(0.05, 1.0)))
        process.send_signal(signal.SIGKILL)
        printed = [int(line) for line in process.communicate(timeout=30)[0].split()]
        network, metadata = load_weights(target)  # raises if the file were torn
        version = metadata["version"]
        assert np.all(network.parameters()["dense0.W"] == version % 7)  # arrays match metadata
        if printed:
            mid_sequence_kills += 1
            # The last announced write, or the next one if the kill fell between its rename
            # and its print.
            assert version in (printed[-1], printed[-1] + 1)
        else:
            assert version in (last_complete, start)
        last_complete = version
    assert mid_sequence_kills >= 4  # most kills landed after some writes, i.e. during another


@pytest.mark.slow
def test_killing_training_leaves_a_resumable_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "w.npz"
    checkpoint = tmp_path / "w.ckpt.npz"
    command = [
        sys.executable, "-m", "model.train", "--data", str(SAMPLE_DIR), "--out", str(out),
        "--val-size", "200", "--hidden", "1024,1024", "--epochs", "50",
    ]  # fmt: skip
    rng = np.random.default_rng(1)
    for _ in range(3):
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        wait_for(checkpoint)
        time.sleep(float(rng.uniform(0.2, 2.0)))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        config, state = load_checkpoint(checkpoint)
        assert config.hidden == (1024, 1024)
        assert len(state.history) == state.epoch
        assert not out.exists()  # final weights are only written at the end
