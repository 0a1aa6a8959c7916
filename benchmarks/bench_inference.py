"""Time inference with the shipped weights: one image (bare network and served path), and 10,000.

- single image, served path: `Predictor.predict([28x28 uint8])`, what /api/predict calls after
  decoding: the first layer from the inked pixels only (normalisation folded in), the rest of
  the network, float64 softmax with the temperature, Prediction objects. The 40 us target for
  "one 28x28 forward pass" is judged on this row;
- single image, bare network: `MLP.predict_proba` on a (1, 784) float32 row already normalised
  (dense first layer, float32 softmax, no temperature), for reference;
- batch: the 10,000 MNIST test images as a (10000, 784) float32 array, through
  `model.evaluation.metrics.predict_in_batches` and a direct `predict_proba` (target >= 120,000
  images/s).

Single-image calls cycle through the first 100 test digits, so the served path sees typical
amounts of ink (a drawing from the page inks about as many pixels as an MNIST digit).

Each figure is measured in several rounds interleaved with the others, so a burst of load from
another process spreads over all of them; medians are over every call of every round.
Preprocessing of a canvas PNG is timed separately by benchmarks/bench_preprocess.py.

    python -m benchmarks.bench_inference [--calls 20000] [--batch-repeats 30] [--data DIR]
                                         [--threads N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.bench_train import (
    blas_environment,
    find_data,
    numpy_blas_threads,
    set_numpy_blas_threads,
)
from model.data.mnist import load_mnist
from model.evaluation.metrics import predict_in_batches
from model.nn.losses import softmax
from model.resources import shipped_weights
from model.serving.predictor import Predictor
from model.serving.preprocess import normalize

TARGET_SINGLE_US = 40.0
TARGET_BATCH_PER_S = 120_000.0
ROUNDS = 5
CYCLED_DIGITS = 100
SERVED = "Predictor.predict([28x28 uint8])"  # the row the single-image target is judged on
BARE = "predict_proba (1, 784)"


def call_times(function: Callable[[], object], calls: int) -> list[float]:
    """Wall time of each of `calls` calls, in seconds."""
    times = []
    clock = time.perf_counter
    for _ in range(calls):
        start = clock()
        function()
        times.append(clock() - start)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[int(fraction * (len(ordered) - 1))]


def main() -> None:
    """Interleaved rounds, then a table of medians against the targets and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="single-image calls, in all")
    parser.add_argument("--batch-repeats", type=int, default=30, help="10,000-image passes")
    parser.add_argument("--weights", type=Path, default=None, help="default: the shipped weights")
    parser.add_argument("--data", default=None, help="MNIST folder (default: $DIGITS_DATA, cache)")
    parser.add_argument(
        "--threads", type=int, default=0, help="OpenBLAS threads (default 0: leave as they are)"
    )
    args = parser.parse_args()
    if args.threads > 0:
        set_numpy_blas_threads(args.threads)

    weights = args.weights or shipped_weights()
    predictor = Predictor.from_file(weights)
    network = predictor.network
    images, labels = load_mnist(find_data(args.data), "test")
    x = normalize(images.reshape(len(images), -1), predictor.mean, predictor.std)  # (10000, 784)
    one_rows = itertools.cycle([np.ascontiguousarray(row[None]) for row in x[:CYCLED_DIGITS]])
    one_images = itertools.cycle(list(images[:CYCLED_DIGITS]))  # (28, 28) uint8, ink high

    # Sanity: the served path (sparse first layer) agrees with the dense forward pass, and the
    # model reads MNIST.
    batch_probabilities = network.predict_proba(x)
    accuracy = float((batch_probabilities.argmax(axis=1) == labels).mean())
    dense_logits = network.forward(x[:CYCLED_DIGITS]).astype(np.float64)
    dense = softmax(dense_logits / predictor.temperature)
    served = [p.probabilities for p in predictor.predict(list(images[:CYCLED_DIGITS]))]
    served_one = [predictor.predict([image])[0].probabilities for image in images[:CYCLED_DIGITS]]
    assert np.allclose(served, dense, atol=1e-5)
    assert np.allclose(served_one, dense, atol=1e-5)
    assert (np.argmax(served_one, axis=1) == dense.argmax(axis=1)).all()

    single: dict[str, Callable[[], object]] = {
        SERVED: lambda: predictor.predict([next(one_images)]),
        BARE: lambda: network.predict_proba(next(one_rows)),
    }
    batch: dict[str, Callable[[], object]] = {
        "predict_in_batches (10000, 784)": lambda: predict_in_batches(network, x),
        "predict_proba (10000, 784)": lambda: network.predict_proba(x),
    }
    for function in single.values():
        call_times(function, 1000)
    for function in batch.values():
        call_times(function, 2)

    single_times: dict[str, list[float]] = {name: [] for name in single}
    batch_times: dict[str, list[float]] = {name: [] for name in batch}
    per_round_calls = max(args.calls // ROUNDS, 1)
    per_round_batches = max(args.batch_repeats // ROUNDS, 1)
    for _ in range(ROUNDS):
        for name, function in single.items():
            single_times[name] += call_times(function, per_round_calls)
        for name, function in batch.items():
            batch_times[name] += call_times(function, per_round_batches)

    threads = numpy_blas_threads()
    env = blas_environment()
    print(
        f"weights {weights.name} (test accuracy here {accuracy * 100:.2f}%), numpy {np.__version__}"
        f", OpenBLAS threads {threads}, BLAS environment: "
        + (", ".join(f"{k}={v}" for k, v in env.items()) or "none set")
    )
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'figure':<44}{'median':>12}{'p99':>12}  {'target':<14}{'met':>4}")
    record_single = {}
    for name, times in single_times.items():
        median_us = statistics.median(times) * 1e6
        p99_us = percentile(times, 0.99) * 1e6
        record_single[name] = {"median_us": round(median_us, 2), "p99_us": round(p99_us, 2)}
        is_target = name == SERVED
        target = f"<= {TARGET_SINGLE_US:.0f} us" if is_target else ""
        met = ("yes" if median_us <= TARGET_SINGLE_US else "NO") if is_target else ""
        print(f"{name + ', us':<44}{median_us:>12.1f}{p99_us:>12.1f}  {target:<14}{met:>4}")
    record_batch = {}
    for name, times in batch_times.items():
        median_s = statistics.median(times)
        rate = len(x) / median_s
        slowest_rate = len(x) / max(times)
        record_batch[name] = {"median_ms": round(median_s * 1e3, 3), "images_per_s": round(rate)}
        met = "yes" if rate >= TARGET_BATCH_PER_S else "NO"
        print(
            f"{name + ', images/s':<44}{rate:>12,.0f}{slowest_rate:>12,.0f}  "
            f"{'>= 120,000':<14}{met:>4}"
        )
    print(
        f"(single image: the target is judged on {SERVED}, the served path of one 28x28 "
        f"drawing;\n {BARE} is the bare network on a normalised row, dense, for reference. "
        "Batch rows: the p99 column is the slowest pass.)"
    )

    single_median_us = record_single[SERVED]["median_us"]
    batch_rate = record_batch["predict_proba (10000, 784)"]["images_per_s"]
    record = {
        "benchmark": "inference",
        "weights": weights.name,
        "numpy": np.__version__,
        "numpy_threads": threads,
        "blas_env": env,
        "calls": per_round_calls * ROUNDS,
        "batch_repeats": per_round_batches * ROUNDS,
        "single": record_single,
        "batch": record_batch,
        "targets": {"single_us": TARGET_SINGLE_US, "batch_images_per_s": TARGET_BATCH_PER_S},
        "single_target_judged_on": SERVED,
        "meets_single": single_median_us <= TARGET_SINGLE_US,
        "meets_batch": batch_rate >= TARGET_BATCH_PER_S,
        "meets_batch_in_batches": (
            record_batch["predict_in_batches (10000, 784)"]["images_per_s"] >= TARGET_BATCH_PER_S
        ),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
