"""Time one training epoch of the reference network: our NumPy loop vs PyTorch vs its GEMMs alone.

The reference network is 784-512-256-10, ReLU, dropout 0.4/0.2/0.1 on the layer inputs, plain
momentum SGD (lr 0.05, momentum 0.9, no Nesterov), softmax cross-entropy, batch 128, float32, on
the full 60,000-image MNIST training set normalised with `model.serving.preprocess.normalize`.
Four ways to spend one epoch, run interleaved round by round in this one process so that every
ratio compares runs made side by side on the same (shared, noisy) machine:

- project train_epoch: `model.training.train.train_epoch` itself, bookkeeping and all;
- bare step loop: its per-batch calls only (gather, `train_step_gradients`, `optimizer.step`);
- torch: the same network, loss, optimizer and batch in PyTorch on the CPU, same thread count,
  in a child process (its OpenMP pool, once started, slowed NumPy epochs in the same process);
- GEMM floor: exactly the matrix products one epoch performs (forward x @ W for 3 layers,
  dW = x.T @ g for 3, dX = g @ W.T for layers 2 and 3) on float32 arrays, in NumPy.

Then the peak resident memory of a real `python -m model.train --epochs 1` run, in a subprocess.
Targets: train_epoch <= 0.5x torch and <= 1.3x the GEMM floor; training peak RSS <= 1.5 GB.

    python -m benchmarks.bench_train [--repeats 3] [--data DIR] [--threads N] [--skip-rss]
                                     [--no-torch] [--breakdown]

On a shared machine compare with `--threads 1`: a 2-thread BLAS call stalls whenever another
process holds the second core, and that hurts PyTorch's OpenMP pool most of all.

PyTorch is optional: `pip install torch==2.13.0` (or `pip install -e .[bench]`).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import io
import itertools
import json
import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from app.blas import blas_threads, set_blas_threads
from benchmarks.common import ROOT
from model.data.mnist import load_mnist, resolve_data_dir
from model.fast.training import train_step_gradients, use_fast_layers
from model.nn.mlp import MLP
from model.nn.optimizers import Momentum
from model.serving.preprocess import normalize
from model.training.checkpoint import TrainingState
from model.training.config import TrainConfig
from model.training.dataset import Dataset
from model.training.progress import ProgressBar
from model.training.train import train_epoch

LAYER_SIZES = (784, 512, 256, 10)
DROPOUT = (0.4, 0.2, 0.1)
BATCH = 128
LR = 0.05
MOMENTUM = 0.9
# One epoch's GEMM work per sample: forward and dW for all three layers, dX for layers 2 and 3.
FLOPS_PER_SAMPLE = 2 * (
    2 * sum(a * b for a, b in itertools.pairwise(LAYER_SIZES))
    + sum(a * b for a, b in itertools.pairwise(LAYER_SIZES[1:]))
)
TARGET_VS_TORCH = 0.5
TARGET_VS_GEMM = 1.3
TARGET_PEAK_RSS_MB = 1536.0  # 1.5 GB, in the MiB that /proc and ru_maxrss count
WARMUP_ROWS = 20 * BATCH
BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ------------------------------------------------------------------------------ environment
def numpy_blas_threads() -> int:
    """Threads NumPy's OpenBLAS uses (asked from the library), else the CPU count."""
    threads = blas_threads()
    return threads if threads is not None else os.cpu_count() or 1


def set_numpy_blas_threads(threads: int) -> None:
    """Ask NumPy's OpenBLAS to use `threads` threads from now on (this process only)."""
    if not set_blas_threads(threads):
        raise RuntimeError("cannot find NumPy's OpenBLAS to set its thread count; use --threads 0")


def blas_environment() -> dict[str, str]:
    """The BLAS/OpenMP variables set in this environment (reported, never changed)."""
    return {name: os.environ[name] for name in BLAS_ENV if name in os.environ}


# ------------------------------------------------------------------------------ data
def find_data(explicit: str | None) -> Path:
    """--data, else $DIGITS_DATA, else the download cache, as `digits train` finds it."""
    return resolve_data_dir(explicit)


def load_training_set(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The full training set: images (60000, 28, 28) uint8, the same as (60000, 784) float32
    normalised with its own mean/std, and labels."""
    images, labels = load_mnist(data_dir, "train")
    flat = images.reshape(len(images), -1)
    scaled = flat.astype(np.float64) / 255.0
    mean, std = float(scaled.mean()), float(scaled.std())
    del scaled
    return images, normalize(flat, mean, std), labels


def as_dataset(images: np.ndarray, x: np.ndarray, y: np.ndarray, data_dir: Path) -> Dataset:
    """A training `Dataset` whose training split is (x, y); no validation rows are needed."""
    values: dict[str, Any] = {
        "x_train": x,
        "images_train": images,  # raw (n, 28, 28) uint8, read only when augmenting
        "y_train": y,
        "x_val": x[:0],
        "y_val": y[:0],
        "mean": 0.0,
        "std": 1.0,
        "data_dir": data_dir,
        "checksums": {},
    }
    # Follow whatever fields this version of Dataset has: the ones above if present, None for
    # any other (such fields hold augmentation extras, which the reference run does not use).
    fields: dict[str, Any] = {f.name: values.get(f.name) for f in dataclasses.fields(Dataset)}
    return Dataset(**fields)


# ------------------------------------------------------------------------------ contenders
def reference_config() -> TrainConfig:
    """The reference run as a TrainConfig: constant lr (no warm-up), no L2, no smoothing."""
    # No augmentation and no max-norm either, where this version of TrainConfig has them.
    extras: dict[str, Any] = {"augment": False, "max_norm": 0.0}
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(
        **{k: v for k, v in extras.items() if k in names},
        hidden=LAYER_SIZES[1:-1],
        activation="relu",
        epochs=1,
        batch_size=BATCH,
        optimizer="momentum",
        lr=LR,
        momentum=MOMENTUM,
        nesterov=False,
        schedule="constant",
        warmup_epochs=0.0,
        dropout=DROPOUT,
        l2=0.0,
        label_smoothing=0.0,
    )


def reference_state(seed: int, dropout: tuple[float, ...] = DROPOUT) -> TrainingState:
    """A fresh network and optimizer built from the project's own classes."""
    rng = np.random.default_rng(seed)
    network = use_fast_layers(
        MLP(LAYER_SIZES, activation="relu", dropout=dropout, rng=rng, dtype=np.float32)
    )
    optimizer = Momentum(LR, momentum=MOMENTUM, nesterov=False)
    return TrainingState(network=network, optimizer=optimizer, rng=rng)


def project_epoch(data: Dataset, seed: int) -> float:
    """`train_epoch` on a fresh reference network; returns the training loss."""
    config = reference_config()
    state = reference_state(seed)
    quiet = ProgressBar(len(data.y_train), "bench", stream=io.StringIO())
    row = train_epoch(config, state, data, quiet)
    return float(row["train_loss"])


def bare_epoch(
    data: Dataset,
    seed: int,
    dropout: bool = True,
    optimizer_step: bool = True,
    shuffle: bool = True,
) -> float:
    """The per-batch calls of train_epoch without its bookkeeping; returns the last loss.

    With `--breakdown`, parts are switched off to measure what each costs: the dropout masks,
    the optimizer step, and the shuffled batch gather (in order, a batch is a view).
    """
    state = reference_state(seed, DROPOUT if dropout else (0.0,) * len(DROPOUT))
    network, optimizer = state.network, state.optimizer
    parameters, gradients = network.parameters(), network.gradients()
    n = len(data.y_train)
    order = state.rng.permutation(n)
    loss = math.nan
    for start in range(0, n, BATCH):
        batch = order[start : start + BATCH] if shuffle else slice(start, start + BATCH)
        loss, _ = train_step_gradients(network, data.x_train[batch], data.y_train[batch])
        if optimizer_step:
            optimizer.step(parameters, gradients)
    return float(loss)


# With --breakdown: the step loop with parts switched off, each timed against the GEMM floor.
BREAKDOWN: dict[str, dict[str, bool]] = {
    "loop, no optimizer step": {"optimizer_step": False},
    "loop, no dropout": {"dropout": False},
    "loop, neither, batches in order": {
        "optimizer_step": False,
        "dropout": False,
        "shuffle": False,
    },
}


def make_torch_epoch(
    x: np.ndarray, y: np.ndarray, threads: int
) -> Callable[[int, int | None], float]:
    """A PyTorch epoch of the same network and step, or raise ImportError without torch."""
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    x_all = torch.from_numpy(x)
    y_all = torch.from_numpy(y.astype(np.int64))

    def epoch(seed: int, rows: int | None = None) -> float:
        torch.manual_seed(seed)
        sizes = LAYER_SIZES
        model = nn.Sequential(
            nn.Dropout(DROPOUT[0]),
            nn.Linear(sizes[0], sizes[1]),
            nn.ReLU(),
            nn.Dropout(DROPOUT[1]),
            nn.Linear(sizes[1], sizes[2]),
            nn.ReLU(),
            nn.Dropout(DROPOUT[2]),
            nn.Linear(sizes[2], sizes[3]),
        )
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, nesterov=False)
        loss_fn = nn.CrossEntropyLoss()
        n = rows or len(y_all)
        order = torch.randperm(n)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, BATCH):
            batch = order[start : start + BATCH]
            xb, yb = x_all[batch], y_all[batch]
            optimizer.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            # The same per-step bookkeeping any loop reporting train loss/accuracy does.
            loss_sum += loss.item() * len(batch)
            correct += int((logits.argmax(dim=1) == yb).sum())
        return loss_sum / n

    return epoch


def torch_worker(connection: Connection, data_dir: str, threads: int) -> None:
    """Serve PyTorch epochs from a child process: receive (seed, rows), send back seconds.

    PyTorch runs in its own process because its OpenMP pool, once started, slowed the NumPy
    epochs that ran next to it in one process (1.64 s alone, 2.25 s interleaved).
    """
    try:
        _, x, y = load_training_set(Path(data_dir))
        epoch = make_torch_epoch(x, y, threads)
        import torch

        connection.send(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        connection.send(None)
        return
    while (job := connection.recv()) is not None:
        seed, rows = job
        connection.send(timed(functools.partial(epoch, seed, rows)))


class TorchProcess:
    """A PyTorch reference living in a child process (see `torch_worker`)."""

    def __init__(self, data_dir: Path, threads: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=torch_worker, args=(child, str(data_dir), threads), daemon=True
        )
        self.process.start()
        self.note: str | None = self.connection.recv()

    def epoch(self, seed: int, rows: int | None = None) -> float:
        self.connection.send((seed, rows))
        seconds: float = self.connection.recv()
        return seconds

    def close(self) -> None:
        self.connection.send(None)
        self.process.join(timeout=10)


def make_gemm_epoch(x: np.ndarray, seed: int) -> Callable[[int | None], float]:
    """Exactly one epoch's matrix products, float32, results written to preallocated arrays."""
    rng = np.random.default_rng(seed)
    _, h1, h2, n_out = LAYER_SIZES
    W = [
        rng.standard_normal((a, b), dtype=np.float32) * 0.05
        for a, b in itertools.pairwise(LAYER_SIZES)
    ]
    dW = [np.empty_like(w) for w in W]

    def buffers(rows: int) -> dict[str, np.ndarray]:
        def normal(cols: int) -> np.ndarray:
            return rng.standard_normal((rows, cols), dtype=np.float32)

        return {
            "a1": normal(h1),
            "a2": normal(h2),
            "z3": normal(n_out),
            "g1": normal(h1),
            "g2": normal(h2),
            "g3": normal(n_out),
        }

    full = buffers(BATCH)
    last = len(x) % BATCH
    tail = buffers(last) if last else full

    def epoch(rows: int | None = None) -> float:
        n = rows or len(x)
        for start in range(0, n, BATCH):
            xb = x[start : start + BATCH]
            b = full if len(xb) == BATCH else tail
            np.matmul(xb, W[0], out=b["a1"])  # (B, 784) @ (784, 512)
            np.matmul(b["a1"], W[1], out=b["a2"])  # (B, 512) @ (512, 256)
            np.matmul(b["a2"], W[2], out=b["z3"])  # (B, 256) @ (256, 10)
            np.matmul(b["a2"].T, b["g3"], out=dW[2])  # (256, B) @ (B, 10)
            np.matmul(b["g3"], W[2].T, out=b["a2"])  # (B, 10) @ (10, 256): dX of layer 3
            np.matmul(b["a1"].T, b["g2"], out=dW[1])  # (512, B) @ (B, 256)
            np.matmul(b["g2"], W[1].T, out=b["a1"])  # (B, 256) @ (256, 512): dX of layer 2
            np.matmul(xb.T, b["g1"], out=dW[0])  # (784, B) @ (B, 512)
        return float(dW[0][0, 0])

    return epoch


# ------------------------------------------------------------------------------ peak memory
def training_peak_rss(data_dir: Path) -> dict[str, Any]:
    """Peak RSS (MB) and wall time of a real one-epoch `python -m model.train` subprocess."""
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        out = Path(tmp) / "x.npz"
        command = [
            sys.executable,
            "-m",
            "model.train",
            "--data",
            str(data_dir),
            "--epochs",
            "1",
            "--out",
            str(out),
        ]
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        # wait4 gives this child's own rusage: ru_maxrss is its peak resident set, in KiB.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        if process.stderr:
            process.stderr.close()
    if process.returncode != 0:
        raise RuntimeError(f"training exited with {process.returncode}: {stderr[-2000:]}")
    return {"peak_rss_mb": usage.ru_maxrss / 1024, "seconds": seconds, "command": command}


# ------------------------------------------------------------------------------ report
def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    """Interleaved rounds, then a table of medians, targets, and one JSON line for the record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (default: 3)")
    parser.add_argument("--data", default=None, help="MNIST folder (default: $DIGITS_DATA, cache)")
    parser.add_argument("--skip-rss", action="store_true", help="skip the peak-memory training run")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time the step loop without the optimizer step, dropout, or shuffling",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="BLAS threads for NumPy and PyTorch alike (default 0: what NumPy already uses)",
    )
    args = parser.parse_args()

    data_dir = find_data(args.data)
    images, x, y = load_training_set(data_dir)
    data = as_dataset(images, x, y, data_dir)
    small = as_dataset(images[:WARMUP_ROWS], x[:WARMUP_ROWS], y[:WARMUP_ROWS], data_dir)
    if args.threads > 0:
        set_numpy_blas_threads(args.threads)
    threads = numpy_blas_threads()
    load_before = os.getloadavg()[0]
    gflop = FLOPS_PER_SAMPLE * len(y) / 1e9

    contenders: dict[str, Callable[[int], object]] = {
        "project train_epoch": lambda seed: project_epoch(data, seed),
        "bare step loop": lambda seed: bare_epoch(data, seed),
    }
    warmups: dict[str, Callable[[], object]] = {
        "project train_epoch": lambda: project_epoch(small, 0),
        "bare step loop": lambda: bare_epoch(small, 0),
    }
    torch_note = "skipped (--no-torch)"
    torch_version = None
    torch_process: TorchProcess | None = None
    times_inside: dict[str, Callable[[int], float]] = {}
    if not args.no_torch:
        torch_process = TorchProcess(data_dir, threads)
        if torch_process.note is None:
            torch_process = None
            torch_note = (
                "skipped: PyTorch is not installed (pip install torch==2.13.0, "
                "or pip install -e .[bench])"
            )
        else:
            process = torch_process
            torch_note = f"{process.note}, in a child process"
            torch_version = process.note.split()[1].rstrip(",")
            # Timed inside the child, so the pipe round trip is not counted.
            times_inside["torch"] = lambda seed: process.epoch(seed, None)
            contenders["torch"] = times_inside["torch"]
            warmups["torch"] = lambda: process.epoch(0, WARMUP_ROWS)
    if args.breakdown:
        for name, switches in BREAKDOWN.items():
            contenders[name] = functools.partial(bare_epoch, data, **switches)
            warmups[name] = functools.partial(bare_epoch, small, 0, **switches)
    gemm_epoch = make_gemm_epoch(x, seed=1)
    contenders["GEMM floor"] = lambda seed: gemm_epoch(None)
    warmups["GEMM floor"] = lambda: gemm_epoch(WARMUP_ROWS)

    print(f"numpy {np.__version__}, OpenBLAS threads {threads}; {torch_note}")
    env = blas_environment()
    print("BLAS environment: " + (", ".join(f"{k}={v}" for k, v in env.items()) or "none set"))
    cores = os.cpu_count() or 1
    print(f"load average {load_before:.2f} on {cores} cores before starting")
    if load_before > 0.5 * cores:
        print(
            "  warning: the machine is busy; BLAS thread pools (PyTorch's OpenMP pool most of\n"
            "  all) slow down badly when another process holds a core. Compare with --threads 1."
        )
    print(
        f"{len(y):,} images, batch {BATCH}, {gflop:.1f} GFLOP of GEMM per epoch, "
        f"{args.repeats} interleaved rounds"
    )

    for warm in warmups.values():
        warm()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_index in range(args.repeats):
        for name, run in contenders.items():
            if name in times_inside:
                seconds = times_inside[name](round_index)
            else:
                seconds = timed(functools.partial(run, round_index))
            times[name].append(seconds)
            print(f"  round {round_index + 1}: {name:<20} {seconds:7.3f} s", flush=True)

    if torch_process is not None:
        torch_process.close()
    medians = {name: statistics.median(t) for name, t in times.items()}

    def paired_ratio(a: str, b: str) -> float | None:
        """Median over rounds of a/b, each pair measured side by side in one round."""
        if a not in times or b not in times:
            return None
        return statistics.median(ta / tb for ta, tb in zip(times[a], times[b], strict=True))

    vs_torch = paired_ratio("project train_epoch", "torch")
    vs_gemm = paired_ratio("project train_epoch", "GEMM floor")
    bare_vs_torch = paired_ratio("bare step loop", "torch")
    bare_vs_gemm = paired_ratio("bare step loop", "GEMM floor")
    load_after = os.getloadavg()[0]
    rss = None if args.skip_rss else training_peak_rss(data_dir)

    def yes_no(ok: bool | None) -> str:
        return "n/a" if ok is None else ("yes" if ok else "NO")

    print()
    print(f"{'figure':<44}{'value':>12}  {'target':<12}{'met':>4}")
    for name, median in medians.items():
        rate = gflop / median
        print(
            f"{'epoch time, ' + name + ' (s)':<44}{median:>12.3f}  "
            f"{'':<12}{'':>4}   {rate:5.1f} GFLOP/s"
        )
    rows = [
        (
            "train_epoch / torch (paired median)",
            vs_torch,
            f"<= {TARGET_VS_TORCH}",
            None if vs_torch is None else vs_torch <= TARGET_VS_TORCH,
        ),
        (
            "train_epoch / GEMM floor (paired median)",
            vs_gemm,
            f"<= {TARGET_VS_GEMM}",
            vs_gemm <= TARGET_VS_GEMM if vs_gemm is not None else None,
        ),
        ("bare step loop / torch", bare_vs_torch, "", None),
        ("bare step loop / GEMM floor", bare_vs_gemm, "", None),
    ]
    breakdown = {name: paired_ratio(name, "GEMM floor") for name in BREAKDOWN if name in times}
    rows += [(f"{name} / GEMM floor", ratio, "", None) for name, ratio in breakdown.items()]
    for label, value, target, ok in rows:
        shown = "n/a" if value is None else f"{value:.2f}x"
        print(f"{label:<44}{shown:>12}  {target:<12}{yes_no(ok) if target else '':>4}")
    if rss is not None:
        peak = rss["peak_rss_mb"]
        print(
            f"{'training peak RSS, 1 epoch subprocess (MB)':<44}{peak:>12.0f}  "
            f"{'<= 1536':<12}{yes_no(peak <= TARGET_PEAK_RSS_MB):>4}"
        )
        print(f"  ({' '.join(rss['command'][1:4])} ... took {rss['seconds']:.1f} s wall clock)")

    record = {
        "benchmark": "train",
        "images": len(y),
        "batch": BATCH,
        "gemm_gflop_per_epoch": round(gflop, 2),
        "numpy": np.__version__,
        "numpy_threads": threads,
        "torch": torch_version,
        "blas_env": env,
        "load_average_before_after": [round(load_before, 2), round(load_after, 2)],
        "repeats": args.repeats,
        "seconds": {name: [round(t, 4) for t in ts] for name, ts in times.items()},
        "median_seconds": {name: round(m, 4) for name, m in medians.items()},
        "train_epoch_vs_torch": None if vs_torch is None else round(vs_torch, 3),
        "train_epoch_vs_gemm": None if vs_gemm is None else round(vs_gemm, 3),
        "bare_vs_torch": None if bare_vs_torch is None else round(bare_vs_torch, 3),
        "bare_vs_gemm": None if bare_vs_gemm is None else round(bare_vs_gemm, 3),
        "breakdown_vs_gemm": {k: None if v is None else round(v, 3) for k, v in breakdown.items()},
        "training_peak_rss_mb": None if rss is None else round(rss["peak_rss_mb"], 1),
        "targets": {
            "vs_torch": TARGET_VS_TORCH,
            "vs_gemm": TARGET_VS_GEMM,
            "peak_rss_mb": TARGET_PEAK_RSS_MB,
        },
        "meets_vs_torch": None if vs_torch is None else vs_torch <= TARGET_VS_TORCH,
        "meets_vs_gemm": None if vs_gemm is None else vs_gemm <= TARGET_VS_GEMM,
        "meets_peak_rss": None if rss is None else rss["peak_rss_mb"] <= TARGET_PEAK_RSS_MB,
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
