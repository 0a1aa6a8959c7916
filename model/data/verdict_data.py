"""The verdict classifier's examples: which writers, which kinds, drawn in parallel, seeded.

Every example is the (28, 28) uint8 input the server would make of a drawing. A *kind* names a
maker and the verdict it teaches ("digit/unipen" -> "digit", "not/letters" -> "not_a_digit",
"several/mnist" -> "several_digits", ...). Item i of a kind is drawn from its own generator,
seeded by (seed, kind, i), so a set is the same whatever the number of worker processes.

Writers: a UNIPEN writer whom `split_by_writer` holds out of either file (digits or letters)
is never trained on; the held-out side is the digits' held-out writers (those
`model.evaluation.writers` scores) plus the letters' held-out writers.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from model.data import negatives
from model.data.augment import AugmentParams, augment
from model.data.canvas import draw, random_drawing_params
from model.data.negatives import GROUP_SIZES
from model.data.unipen import (
    DIGITS_FILE,
    LETTERS_FILE,
    StrokeSet,
    load_strokes,
    split_by_writer,
)
from model.serving.preprocess import ink_map, to_mnist

Image28 = NDArray[np.uint8]
Side = Literal["train", "held_out"]
# Share of MNIST digits distorted by `augment` before the recipe: new slants, sizes, widths.
MNIST_AUGMENT_SHARE = 0.5
# Pen drawings: half are turned up to TURN degrees and slanted up to SLANT, more hands than the
# training writers' own.
TURN = 10.0
SLANT = 0.2


@dataclass(frozen=True)
class Sources:
    """What one side (training or held out) may draw its examples from."""

    digits: StrokeSet
    letters: StrokeSet
    digit_records: NDArray[np.intp]  # UNIPEN digit records of this side's writers
    letter_records: NDArray[np.intp]
    mnist_images: Image28  # (n, 28, 28): MNIST train for training, MNIST test held out
    mnist_labels: NDArray[np.uint8]

    @functools.cached_property
    def groups_by_writer(self) -> list[NDArray[np.intp]]:
        """This side's digit records, one array per writer (writers with at least 4 digits)."""
        writers = self.digits.writers[self.digit_records]
        groups = [self.digit_records[writers == w] for w in np.unique(writers)]
        return [g for g in groups if len(g) >= 4]


def writer_split(
    digits: StrokeSet, letters: StrokeSet
) -> dict[Side, tuple[NDArray[np.intp], NDArray[np.intp]]]:
    """{"train": (digit records, letter records), "held_out": (...)} by writer.

    Held out: the digits' `split_by_writer` validation side, and every letter whose writer is
    held out by either file's split. Training: records of writers held out by neither.
    """
    _, digits_held = split_by_writer(digits)
    _, letters_held = split_by_writer(letters)
    held = set(digits.writer_of()[digits_held]) | set(letters.writer_of()[letters_held])
    digit_out = np.isin(digits.writer_of(), list(held))
    letter_out = np.isin(letters.writer_of(), list(held))
    return {
        "train": (np.flatnonzero(~digit_out), np.flatnonzero(~letter_out)),
        "held_out": (digits_held, np.flatnonzero(letter_out)),
    }


def load_sources(
    side: Side, mnist: tuple[Image28, NDArray[np.uint8]], strokes_dir: Path | None = None
) -> Sources:
    """One side's sources; `mnist` is (images, labels) of the MNIST split that side uses."""
    digits = load_strokes(strokes_dir / DIGITS_FILE.name if strokes_dir else DIGITS_FILE)
    letters = load_strokes(strokes_dir / LETTERS_FILE.name if strokes_dir else LETTERS_FILE)
    digit_records, letter_records = writer_split(digits, letters)[side]
    return Sources(digits, letters, digit_records, letter_records, mnist[0], mnist[1])


# ---------------------------------------------------------------- makers, one per kind

Maker = Callable[[np.random.Generator, Sources, int], Image28]


def unipen_digit(rng: np.random.Generator, sources: Sources, index: int) -> Image28:
    """Record `index % records` drawn on the pad as people draw, any brush and size, and half
    of the time turned and slanted a little more than its writer did (TURN, SLANT)."""
    record = int(sources.digit_records[index % len(sources.digit_records)])
    return _drawn(rng, sources.digits.strokes(record))


def _drawn(rng: np.random.Generator, strokes: list[NDArray[np.float32]]) -> Image28:
    turn, slant = (TURN, SLANT) if rng.random() < 0.5 else (0.0, 0.0)
    params = random_drawing_params(rng, strokes, max_rotation_deg=turn, max_slant=slant)
    return to_mnist(ink_map(draw(strokes, params)))


def mnist_digit(rng: np.random.Generator, sources: Sources, index: int) -> Image28:
    """MNIST digit `index`, distorted half of the time, through the recipe."""
    digit = sources.mnist_images[index % len(sources.mnist_images)]
    if rng.random() < MNIST_AUGMENT_SHARE:
        distorted = augment(digit[None].astype(np.float32) / 255.0, rng, AugmentParams())[0]
        if distorted.max() > 0.05:
            return to_mnist(distorted)
    return to_mnist(digit.astype(np.float32))


def letter(rng: np.random.Generator, sources: Sources, index: int) -> Image28:
    """Letter record `index % records` drawn on the pad like `unipen_digit`."""
    record = int(sources.letter_records[index % len(sources.letter_records)])
    return _drawn(rng, sources.letters.strokes(record))


def unipen_group(
    rng: np.random.Generator, sources: Sources, index: int, sizes: Sequence[int] = GROUP_SIZES
) -> Image28:
    """2 to 4 digits by one writer side by side on the pad."""
    records = sources.groups_by_writer[int(rng.integers(len(sources.groups_by_writer)))]
    picked = negatives.pick_group(rng, sources.digits.labels[records], sizes)
    return negatives.unipen_group(rng, [sources.digits.strokes(int(records[i])) for i in picked])


def mnist_group(
    rng: np.random.Generator, sources: Sources, index: int, sizes: Sequence[int] = GROUP_SIZES
) -> Image28:
    """2 to 4 MNIST digits side by side, through the recipe."""
    picked = negatives.pick_group(rng, sources.mnist_labels, sizes)
    return negatives.mnist_group(rng, [sources.mnist_images[i] for i in picked])


def unipen_pair(rng: np.random.Generator, sources: Sources, index: int) -> Image28:
    """Two digits by one writer side by side on the pad."""
    return unipen_group(rng, sources, index, sizes=(2,))


def mnist_pair(rng: np.random.Generator, sources: Sources, index: int) -> Image28:
    """Two MNIST digits side by side, through the recipe."""
    return mnist_group(rng, sources, index, sizes=(2,))


@dataclass(frozen=True)
class Synthetic:
    """A maker for one of `negatives.NEGATIVE_KINDS` (a class, not a lambda: workers pickle it)."""

    kind: str

    def __call__(self, rng: np.random.Generator, sources: Sources, index: int) -> Image28:
        return negatives.NEGATIVE_KINDS[self.kind](rng)


Kinds = Mapping[str, tuple[int, Maker]]
# kind -> (the verdict it teaches, its maker). Class indices follow model.serving.verdict.VERDICTS.
KINDS: dict[str, tuple[int, Maker]] = {
    "digit/unipen": (0, unipen_digit),
    "digit/mnist": (0, mnist_digit),
    "not/letters": (1, letter),
    **{f"not/{kind}": (1, Synthetic(kind)) for kind in negatives.NEGATIVE_KINDS},
    "several/unipen": (2, unipen_group),
    "several/mnist": (2, mnist_group),
    "several/unipen-pairs": (2, unipen_pair),
    "several/mnist-pairs": (2, mnist_pair),
}


def kind_key(kind: str) -> int:
    """A stable number for a kind's name (seeds must not depend on dict order)."""
    return int.from_bytes(hashlib.sha256(kind.encode()).digest()[:4], "big")


# ---------------------------------------------------------------- drawing many, in parallel

_worker_sources: Sources | None = None


def _start_worker(sources: Sources) -> None:
    global _worker_sources
    _worker_sources = sources


def make_items(
    maker: Maker, key: int, start: int, stop: int, seed: int, sources: Sources | None = None
) -> Image28:
    """Items start..stop-1 of one kind (its maker and `kind_key`): (stop - start, 28, 28)."""
    chosen = sources if sources is not None else _worker_sources
    if chosen is None:
        raise RuntimeError("make_items needs sources (or a worker started with them)")
    return np.stack(
        [maker(np.random.default_rng([seed, key, i]), chosen, i) for i in range(start, stop)]
    )


@dataclass(frozen=True)
class ExampleSet:
    """Examples of several kinds: images (n, 28, 28) uint8, labels (n,) class indices into
    VERDICTS, kinds (n,) indices into `kind_names`."""

    images: Image28
    labels: NDArray[np.int64]
    kinds: NDArray[np.int64]
    kind_names: tuple[str, ...]

    def of_kind(self, kind: str) -> NDArray[np.intp]:
        return np.flatnonzero(self.kinds == self.kind_names.index(kind))


CHUNK = 250  # items per task: big enough to amortise a task, small enough to balance 2 workers


def build(
    counts: Mapping[str, int],
    sources: Sources,
    seed: int,
    workers: int = 0,
    kinds: Kinds = KINDS,
) -> ExampleSet:
    """`counts[kind]` items of each kind (makers from `kinds`), drawn by `workers` processes
    (0: one per core)."""
    unknown = set(counts) - set(kinds)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; known: {sorted(kinds)}")
    tasks = [
        (kind, start, min(start + CHUNK, count))
        for kind, count in counts.items()
        for start in range(0, count, CHUNK)
    ]
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(tasks) <= 1:
        parts = [
            make_items(kinds[kind][1], kind_key(kind), a, b, seed, sources) for kind, a, b in tasks
        ]
    else:
        with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(sources,)) as pool:
            futures = [
                pool.submit(make_items, kinds[kind][1], kind_key(kind), a, b, seed)
                for kind, a, b in tasks
            ]
            parts = [future.result() for future in futures]
    names = tuple(counts)
    kind_index = np.concatenate(
        [np.full(b - a, names.index(kind), dtype=np.int64) for kind, a, b in tasks]
    )
    labels = np.array([kinds[name][0] for name in names], dtype=np.int64)[kind_index]
    images = np.concatenate(parts) if parts else np.zeros((0, 28, 28), np.uint8)
    return ExampleSet(images, labels, kind_index, names)
