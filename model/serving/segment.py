"""Read a whole number: segmentation by recognition, over the atoms of `model.serving.atoms`.

The idea. Where one digit ends and the next begins is easy to see once you know the digits, and
the network knows digits. So we do not decide the cuts first: we cut the drawing into atoms, too
small to hold two digits (see atoms.py), and then try every way of gluing consecutive atoms into
pieces, asking the network how well it reads each piece as ONE digit. The best reading of the
whole drawing is a shortest path:

    atoms a0 a1 ... a(n-1), left to right;  a piece (i, j) = atoms i..j-1, at most MAX_ATOMS
    cost(i, j) = -log p(best digit | piece)            the network's doubt
               + costs.piece                            each piece must pay its way
               + shape: wider than that digit is drawn, shorter than the line of digits
               + glue: blobs (strokes, or blobs of ink) set side by side in one piece
               + VERDICT_COSTS[the piece's verdict]     when the predictor gives one
    best[0] = 0,  best[j] = min over i of best[i] + cost(i, j)    (dynamic programming)

and following the choices back from best[n] gives the pieces. Every piece goes through the SAME
recipe as a single drawn digit (its ink cropped from the image, then `to_mnist`), and all the
candidate pieces are read in one `Predictor.predict` batch. One exception: a connected piece of
ink that the verdict classifier calls "not a digit" as a whole (an X, a "+") is kept whole, as
one piece that is not a digit (`choose_pieces`), and so is a mark beside the digits, a minus,
a decimal point, an "=" or a colon, however close (`mark_spans`).

Worked example (docs/segmentation.png): "2024", the 0 touching the 2 after it, from the image
alone. Six atoms: 2-left, 2-right, 0, 2-left, 2-right, 4. The candidates read, with their costs:

    [2-left] "6" 0.59   [2-left 2-right] "2" 0.10   [2-right] "2" 0.81
    [0] "0" 0.05        [0 2-left] "6" 0.30         [0 2-left 2-right] "6" 0.62
    [2-left] "6" 0.19   [2-left 2-right] "2" 0.10   [2-right] "7" 0.98    [4] "4" 0.05

The cheapest path is [2-left 2-right] [0] [2-left 2-right] [4], cost 0.30: "2024". Cutting the
second 2 in two would cost 0.19 + 0.98 for its halves alone.

`number` is the readings of the pieces whose verdict is "digit"; the drawing is a "number" when
every piece is a digit; its confidence is the product of the pieces' confidences, the chance
that every digit is right if the pieces' errors are independent.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from model.serving.atoms import Atom, Atoms, Grid, find_atoms, working_grid
from model.serving.dots import DOT_SIZE
from model.serving.predictor import Prediction, Predictor
from model.serving.preprocess import (
    INK_THRESHOLD,
    ImageLimits,
    PreprocessError,
    ink_map,
    open_image,
    to_mnist,
)
from model.serving.prototypes import Prototypes
from model.serving.verdict import NOT_A_DIGIT, SEVERAL_DIGITS

MAX_ATOMS = 5  # atoms one piece may span: a digit cut in up to five
MAX_WIDTH = 2.0  # a piece wider than this many line heights is not tried
# Blank columns inside a piece (blobs glued across a gap): a digit's own parts overlap or touch
# in x (a 5's flag, a 4's bar); digits written apart do not. Wider gaps are not tried.
MAX_GAP = 0.25  # line heights
# Width / height beyond which a piece is unlikely to be the digit it is read as: the 95th
# percentile of each digit's ink box in the training writers' UNIPEN digits (brush 10% of the
# height), 0 to 9. A 1 is narrow; "88" read as one 8 is twice as wide as an 8.
ASPECT_LIMITS = (1.5, 0.8, 1.4, 1.1, 1.05, 1.4, 1.0, 1.3, 1.05, 0.95)
# What a piece's verdict adds, once the predictor gives one (model.serving.predictor).
# "several digits" costs nothing here: the path itself tries every split of a piece, and a piece
# it keeps whole reads better as one digit than split (a 4 in two strokes can look like "61").
VERDICT_COSTS = {"digit": 0.0, "not_a_digit": 2.0, "several_digits": 0.0}
DEFAULT_LIMITS = ImageLimits()
MIN_PROBABILITY = 1e-9  # -log of a zero would be infinite: a hopeless piece costs 20.7


@dataclass(frozen=True)
class Costs:
    """The weights of a piece's cost beside the network's doubt, -log p (module docstring).

    Lengths are in line heights. Chosen by a search over these values on numbers of the
    training writers' digits (`python -m benchmarks.eval_numbers --writers training`, 840
    numbers, with and without strokes), never on the held-out writers'.
    """

    piece: float = 0.05  # per piece: a split must buy more confidence than this
    wide: float = 0.5  # per unit of width / height beyond the digit's ASPECT_LIMITS
    short_height: float = 0.8  # a piece shorter than this is likely a part (a flag, a bar) ...
    short: float = 6.0  # ... and costs this per line height it falls short
    merge: float = 1.0  # gluing two blobs side by side (no overlap in x); less as they overlap
    merge_touching: float = 0.5  # the same for blobs whose ink touches (strokes that meet)
    # Per cut glued back (atoms of one blob side by side in a piece). Equal to `piece`, so
    # whether to cut through ink is left to the network alone: a split costs one piece more and
    # one glued cut less. On the training writers' numbers, 0.1 lost 5 points, 0 lost 2.
    glue_cut: float = 0.05


COSTS = Costs()


@dataclass(frozen=True)
class Candidate:
    """One way to glue atoms `first`..`last - 1` into a piece, and how well it reads."""

    first: int
    last: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in image px (end exclusive) of its ink
    prediction: Prediction
    cost: float


@dataclass(frozen=True)
class NumberReading:
    """The chosen pieces, left to right, and what they say; `atoms` and `candidates` show how."""

    pieces: list[Candidate]
    number: str
    verdict: str  # "number" | "not_a_number"
    confidence: float
    atoms: Atoms
    candidates: list[Candidate]
    factor: int  # px per cell of the atoms' grid
    # Each piece's: "digit", "not_a_digit" (see verdict_of), or "several_digits" (`_several`).
    verdicts: list[str]


# The verdict classifier learnt whole drawings, not pieces cut out of a number: a small 0 cut
# from "2024" on a phone-sized pad can look like a dot to it. A piece the network reads this
# surely keeps its digit.
CONFIDENT_PIECE = 0.9
# A connected piece of ink cut into atoms, at most this many line heights wide, that the verdict
# classifier calls "not a digit" as a whole, is one piece and not a digit (an X, a "+"). Wider
# ones are left to the path: two or three touching digits are wider, and as a whole they can
# look like nothing the classifier knows. Chosen on held-out writers' numbers: 1.0 keeps the
# share read exactly (91.4% with strokes, 87.6% from the image alone, against 91.3% and 88.0%
# without the rule); 1.3 loses 1.3 points from the image alone, no limit 1.9.
SYMBOL_WIDTH = 1.0
# A drawing whose every piece is a dot, at most this many brush widths across (a round dab is
# 2.5: atoms.brush_width takes area over half the outline), has no digit in it: "..." or ":"
# would otherwise read "000" and "00", the line height being a dot's. One dot among digits is
# left to the other rules (a full stop after a number is short, and so not a digit). DOT_SIZE
# is the digit pad's (model.serving.dots), measured here in the atoms' grid.
# A piece more than this many line heights tall is not a digit of the line: a column of dots
# (the line height is then a dot's) or marks stacked far above one another. A digit written
# taller than its neighbours sets the line height itself when they are under 40% of it
# (atoms.line_height), and stays under this when they are not.
TALL_PIECE = 3.0


def verdict_of(prediction: Prediction, alone: bool = False) -> str:
    """A piece's verdict: the predictor's, except that a piece of a number is never "several
    digits" (the path already weighed splitting it, see VERDICT_COSTS), nor "not a digit" when
    the network reads it at CONFIDENT_PIECE or more, unless it is `alone`: the only piece (the
    whole drawing, what the verdict classifier learnt), or a piece shorter than the line of
    digits (a dash or a dot, which the network surely names 0 or 1). So a dot or a letter drawn
    in number mode, or a dash after a digit, is "not a digit". (`choose_pieces` lets a piece
    wider than MAX_WIDTH keep "several digits": see `_several`.)"""
    verdict = str(getattr(prediction, "verdict", "digit"))
    if verdict == "several_digits" or (prediction.confidence >= CONFIDENT_PIECE and not alone):
        return "digit"
    return verdict


class StrokeError(PreprocessError):
    """Strokes that cannot be this image's (HTTP 422): not (k, 2) finite numbers, or far off it."""


def read_number_image(
    predictor: Predictor,
    data: bytes,
    limits: ImageLimits = DEFAULT_LIMITS,
    strokes: Sequence[Sequence[Sequence[float]]] | None = None,
    prototypes: Prototypes | None = None,
) -> NumberReading:
    """Encoded image bytes, and optionally the strokes that drew it (x, y in its px) -> the
    number, read with `prototypes` (a profile's examples) if given. Raises a PreprocessError
    (StrokeError for bad strokes) for input it cannot read."""
    ink = ink_map(open_image(data, limits))
    on_ink = None if strokes is None else strokes_on(ink.shape, strokes)
    return read_number(predictor, ink, on_ink, prototypes=prototypes)


def strokes_on(
    shape: tuple[int, ...], strokes: Sequence[Sequence[Sequence[float]]]
) -> list[NDArray[np.float64]]:
    """Strokes as (k, 2) arrays, checked against an image of `shape` (H, W): every point finite
    and at most one image size outside it (a pen may leave the pad; it does not go miles)."""
    height, width = shape[:2]
    arrays = []
    for index, stroke in enumerate(strokes):
        try:
            points = np.asarray(stroke, dtype=np.float64)
        except (TypeError, ValueError):
            raise StrokeError(f"strokes[{index}] is not a list of [x, y] points") from None
        if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
            raise StrokeError(f"strokes[{index}] must be a non-empty list of [x, y] points")
        if not np.isfinite(points).all():
            raise StrokeError(f"strokes[{index}] holds a number that is not finite")
        x, y = points[:, 0], points[:, 1]
        if not ((-width <= x) & (x <= 2 * width) & (-height <= y) & (y <= 2 * height)).all():
            raise StrokeError(
                f"strokes[{index}] has points far outside the {width}x{height} image: strokes "
                "are in the image's pixels"
            )
        arrays.append(points)
    return arrays


def read_number(
    predictor: Predictor,
    ink: NDArray[np.floating],
    strokes: Sequence[NDArray[np.floating]] | None = None,
    costs: Costs = COSTS,
    prototypes: Prototypes | None = None,
) -> NumberReading:
    """Read the number drawn in an ink map (H, W), ink high (as `ink_map` gives it); every
    candidate piece is read with `prototypes` (a profile's examples) when given.

    `strokes`: the drawing's strokes in drawing order, each (k, 2) x, y in the ink map's px;
    they decide which ink belongs together, the ink itself is always read from the image.
    A drawing without ink raises the recipe's own NoInkError.
    """
    ink = np.asarray(ink, dtype=np.float32)
    if not float(ink.max(initial=0.0)) > 0.0:
        to_mnist(ink)  # raises the recipe's NoInkError, so a blank number reads as a blank digit
    grid = working_grid(ink)
    found = find_atoms(grid, strokes)
    groups = ink_groups(found)
    marks = mark_spans(found, costs)
    spans = candidate_spans(found)
    # Each piece of ink cut in several atoms is read whole too, and so is each mark, if no
    # candidate is it already.
    extra = [g for g in groups if g[1] - g[0] > 1] + marks
    every = [*spans, *dict.fromkeys(g for g in extra if g not in spans)]
    crops = [piece_ink(ink, grid, found.atoms[first:last]) for first, last in every]
    predictions = predictor.predict([to_mnist(crop) for crop, _ in crops], prototypes)
    boxes = [box for _, box in crops]
    return choose_pieces(found, every, boxes, predictions, grid.factor, costs, groups, marks)


def ink_groups(found: Atoms) -> list[tuple[int, int]]:
    """The atoms (first, last) of each connected piece of ink whose atoms come one after another
    left to right: the atoms of one blob, and of blobs whose ink touches (an X's two strokes).
    A piece whose atoms interleave with another's (digits overlapping) is left out."""
    parent = {atom.blob: atom.blob for atom in found.atoms}

    def root(blob: int) -> int:
        while parent[blob] != blob:
            parent[blob] = parent[parent[blob]]
            blob = parent[blob]
        return blob

    for a, b in found.touching:
        if a in parent and b in parent:
            parent[root(a)] = root(b)
    members: dict[int, list[int]] = {}
    for index, atom in enumerate(found.atoms):
        members.setdefault(root(atom.blob), []).append(index)
    return sorted(
        (indices[0], indices[-1] + 1)
        for indices in members.values()
        if indices[-1] - indices[0] + 1 == len(indices)
    )


def choose_pieces(
    found: Atoms,
    spans: Sequence[tuple[int, int]],
    boxes: Sequence[tuple[int, int, int, int]],
    predictions: Sequence[Prediction],
    factor: int,
    costs: Costs = COSTS,
    refusable: Sequence[tuple[int, int]] = (),
    marks: Sequence[tuple[int, int]] = (),
) -> NumberReading:
    """Cost every candidate piece, take the shortest path, and say what it reads.

    `refusable`: connected pieces of ink, (first, last) atoms (`ink_groups`). One cut into
    several atoms that the verdict classifier reads, whole, as "not a digit" is one piece of the
    answer, not a digit, when it is the whole drawing or at most SYMBOL_WIDTH line heights wide:
    cut apart, a dash's halves read "0" and "1" and an X's strokes "11", each part a fair digit
    on its own; the whole can tell. Digits that touch mostly read "several digits" as a whole,
    and are wider, so they are cut as usual.
    `marks`: marks beside the digits (`mark_spans`: a minus, a decimal point, an "=", a colon).
    Glued to its neighbour, a mark costs less than standing alone, shorter than the line ("0.5"
    read "05", "1=2" read "12"), so one the classifier calls "not a digit", or one made only of
    separate dots (`_dot`; the classifier takes a colon for a 4), is refused the same way.
    A chosen piece wider than MAX_WIDTH that the classifier calls "several digits" keeps that
    verdict (`_several`), and the number leaves it out.
    """
    candidates = [
        Candidate(first, last, box, prediction, piece_cost(found, first, last, prediction, costs))
        for (first, last), box, prediction in zip(spans, boxes, predictions, strict=True)
    ]
    by_span = {(c.first, c.last): c for c in candidates}
    groups = [g for g in refusable if g[1] - g[0] > 1 and _refused_by_verdict(by_span.get(g))]
    marked = [m for m in marks if _refused_by_verdict(by_span.get(m)) or _dots(found, m, by_span)]
    wide_enough = [
        span
        for span in dict.fromkeys([*groups, *marked])
        if span == (0, len(found.atoms)) or _extent(found, *span)[0] <= SYMBOL_WIDTH
    ]
    # A mark takes in every connected piece of ink within its columns: keep the outermost.
    refused = [
        by_span[span]
        for span in wide_enough
        if not any(o != span and o[0] <= span[0] and span[1] <= o[1] for o in wide_enough)
    ]
    kept = [c for c in candidates if not any(_overlap(c, r) for r in refused)]
    pieces = shortest_path([*kept, *refused], len(found.atoms))
    verdicts = [
        NOT_A_DIGIT
        if any(piece is r for r in refused) or _too_tall(found, piece)
        else SEVERAL_DIGITS
        if _several(found, piece)
        else verdict_of(piece.prediction, len(pieces) == 1 or _short(found, piece, costs))
        for piece in pieces
    ]
    if pieces and all(_dot(found, piece) for piece in pieces):
        verdicts = [NOT_A_DIGIT] * len(pieces)
    digits = [p.prediction.digit for p, v in zip(pieces, verdicts, strict=True) if v == "digit"]
    return NumberReading(
        pieces=pieces,
        number="".join(map(str, digits)),
        verdict="number" if pieces and all(v == "digit" for v in verdicts) else "not_a_number",
        confidence=math.prod(p.prediction.confidence for p in pieces),
        atoms=found,
        candidates=candidates,
        factor=factor,
        verdicts=verdicts,
    )


def _dots(found: Atoms, span: tuple[int, int], by_span: dict[tuple[int, int], Candidate]) -> bool:
    """Whether atoms span[0]..span[1]-1 are two or more dots (`_dot`), each a blob of its own:
    as with a drawing of dots only, no digit is made of them, whatever the verdict classifier
    says (it reads a colon's two dots, fitted into its box, as the ends of a digit's strokes)."""
    atoms = found.atoms[span[0] : span[1]]
    return (
        span in by_span
        and len(atoms) > 1
        and len({a.blob for a in atoms}) == len(atoms)
        and _dot(found, by_span[span])
    )


def _refused_by_verdict(candidate: Candidate | None) -> bool:
    """Whether a candidate was read and the verdict classifier calls it "not a digit"."""
    return candidate is not None and getattr(candidate.prediction, "verdict", "") == NOT_A_DIGIT


def _extent(found: Atoms, first: int, last: int) -> tuple[float, float]:
    """(width, height) of atoms first..last-1 together, in line heights."""
    atoms = found.atoms[first:last]
    wide = max(a.right for a in atoms) - min(a.left for a in atoms)
    tall = max(a.bottom for a in atoms) - min(a.top for a in atoms)
    return wide / found.line_height, tall / found.line_height


def mark_spans(found: Atoms, costs: Costs = COSTS) -> list[tuple[int, int]]:
    """The atoms (first, last) of each mark beside the digits: a minus, a hyphen, a decimal
    point, an "=", a colon. A mark is atoms linked by shared columns, by a blob (a stroke, or a
    connected piece of ink) cut between them, or by touching ink, that share no column with any
    other atom; it is shorter than the line (`costs.short_height`), and each of its blobs is at
    most DOT_SIZE brush widths tall (a dot's limit; a dash is a pen's width). So an "=" or a
    colon is one mark, its bars or dots one above the other.

    A part of a digit that does not touch the rest lies over it (a 5's flag, a 7's bar), and so
    shares its columns, or is taller: without the DOT_SIZE limit, 4s drawn with the open arm
    apart from the stem (4.2 to 6.3 brush widths tall) lost 6 of the held-out writers' 700
    numbers with strokes; with it, none. The training writers' share read exactly moved neither
    way."""
    atoms = found.atoms
    parent = list(range(len(atoms)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for i, j in itertools.combinations(range(len(atoms)), 2):
        a, b = atoms[i], atoms[j]
        pair = (min(a.blob, b.blob), max(a.blob, b.blob))
        if (a.left < b.right and b.left < a.right) or a.blob == b.blob or pair in found.touching:
            parent[root(i)] = root(j)
    members: dict[int, list[int]] = {}
    for index in range(len(atoms)):
        members.setdefault(root(index), []).append(index)
    marks = []
    for indices in members.values():
        first, last = indices[0], indices[-1] + 1
        if last - first != len(indices):
            continue  # interleaved with other atoms: not beside them
        tops: dict[int, int] = {}
        bottoms: dict[int, int] = {}
        for atom in atoms[first:last]:
            tops[atom.blob] = min(tops.get(atom.blob, atom.top), atom.top)
            bottoms[atom.blob] = max(bottoms.get(atom.blob, atom.bottom), atom.bottom)
        if all(bottoms[b] - tops[b] <= DOT_SIZE * found.brush for b in tops) and (
            max(bottoms.values()) - min(tops.values()) < costs.short_height * found.line_height
        ):
            marks.append((first, last))
    return marks


def _too_tall(found: Atoms, piece: Candidate) -> bool:
    """Whether a piece is over TALL_PIECE line heights tall: no digit of the line."""
    return _extent(found, piece.first, piece.last)[1] > TALL_PIECE


def _several(found: Atoms, piece: Candidate) -> bool:
    """Whether a piece is over MAX_WIDTH line heights wide and the verdict classifier calls it
    "several digits": touching digits read whole, which no split of theirs read better (a
    piece that wide comes only from a connected piece read whole, or an atom left uncut)."""
    return (
        getattr(piece.prediction, "verdict", "") == SEVERAL_DIGITS
        and _extent(found, piece.first, piece.last)[0] > MAX_WIDTH
    )


def _dot(found: Atoms, piece: Candidate) -> bool:
    """Whether a piece is only dabs of the pen: atoms at most DOT_SIZE brush widths tall and
    wide, from blobs no two of which touch (a digit dabbed in touching strokes is not dots)."""
    atoms = found.atoms[piece.first : piece.last]
    if any(max(a.mask.shape) > DOT_SIZE * found.brush for a in atoms):
        return False
    blobs = sorted({a.blob for a in atoms})
    return not any((a, b) in found.touching for a in blobs for b in blobs if a < b)


def _short(found: Atoms, piece: Candidate, costs: Costs) -> bool:
    """Whether a piece is shorter than `costs.short_height` line heights (a dash, a dot)."""
    return _extent(found, piece.first, piece.last)[1] < costs.short_height


def _overlap(a: Candidate, b: Candidate) -> bool:
    return a.first < b.last and b.first < a.last


def candidate_spans(found: Atoms) -> list[tuple[int, int]]:
    """Every (first, last) worth reading: one atom alone always; more while the piece stays
    within MAX_ATOMS atoms and MAX_WIDTH line heights, and has no gap wider than MAX_GAP."""
    atoms, height = found.atoms, found.line_height
    spans = []
    for first in range(len(atoms)):
        for last in range(first + 1, min(first + MAX_ATOMS, len(atoms)) + 1):
            group = atoms[first:last]
            if last - first > 1:
                left, right = min(a.left for a in group), max(a.right for a in group)
                if right - left > MAX_WIDTH * height:
                    break  # adding atoms never makes a piece narrower
                if widest_gap(group) > MAX_GAP * height:
                    continue
            spans.append((first, last))
    return spans


def widest_gap(atoms: Sequence[Atom]) -> int:
    """The widest run of blank columns between the atoms' column ranges (0 if none)."""
    widest, reach = 0, None
    for atom in sorted(atoms, key=lambda a: a.left):
        if reach is not None:
            widest = max(widest, atom.left - reach)
        reach = atom.right if reach is None else max(reach, atom.right)
    return widest


def piece_ink(
    ink: NDArray[np.float32], grid: Grid, atoms: Sequence[Atom]
) -> tuple[NDArray[np.float32], tuple[int, int, int, int]]:
    """The ink of the atoms' cells only, cropped to them, and its box (x0, y0, x1, y1) in px.

    The cells are f x f px, so the mask is blown up f times, after growing it by one cell: the
    faint anti-aliased edge of a stroke (under the inked cells' threshold) belongs to the piece
    too, so a digit standing alone comes out exactly as `to_mnist` of the image around it. The
    box is that of the ink the recipe crops (at least INK_THRESHOLD of the piece's strongest).
    """
    top, left = min(a.top for a in atoms) - 1, min(a.left for a in atoms) - 1
    bottom, right = max(a.bottom for a in atoms) + 1, max(a.right for a in atoms) + 1
    mask = np.zeros((bottom - top, right - left), dtype=bool)
    for atom in atoms:
        y, x = atom.top - top - 1, atom.left - left - 1  # grown() adds a cell on every side
        mask[y : y + atom.mask.shape[0] + 2, x : x + atom.mask.shape[1] + 2] |= atom.grown
    f = grid.factor
    y0, x0 = max(top * f, 0), max(left * f, 0)
    y1, x1 = min(bottom * f, ink.shape[0]), min(right * f, ink.shape[1])
    if f > 1:
        mask = np.repeat(np.repeat(mask, f, axis=0), f, axis=1)
    crop = ink[y0:y1, x0:x1] * mask[y0 - top * f : y1 - top * f, x0 - left * f : x1 - left * f]
    inked = crop >= INK_THRESHOLD * max(float(crop.max()), 1e-12)
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    box = (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)
    return crop, box


def piece_cost(
    found: Atoms, first: int, last: int, prediction: Prediction, costs: Costs = COSTS
) -> float:
    """How unlike one well-read digit the piece of atoms first..last-1 is; lower is better.

    -log p of its reading, plus `costs.piece`, plus: its width over height beyond what its digit
    allows (ASPECT_LIMITS); its height below `costs.short_height` line heights; and, for each
    blob it glues to the blobs left of it, `merge` (or `merge_touching`, when their ink touches)
    times how little they overlap in x.
    """
    atoms, height = found.atoms[first:last], found.line_height
    top, bottom = min(a.top for a in atoms), max(a.bottom for a in atoms)
    left, right = min(a.left for a in atoms), max(a.right for a in atoms)
    tall, aspect = (bottom - top) / height, (right - left) / max(bottom - top, 1)
    cost = -math.log(max(prediction.confidence, MIN_PROBABILITY)) + costs.piece
    # A short piece is judged less on its shape: a dash is wide, and short costs already.
    cost += costs.wide * max(0.0, aspect - ASPECT_LIMITS[prediction.digit]) * min(tall, 1.0)
    cost += costs.short * max(0.0, costs.short_height - tall)
    apart, touching = glued(atoms, found.touching)
    cost += costs.merge * apart + costs.merge_touching * touching
    cost += costs.glue_cut * (len(atoms) - len({a.blob for a in atoms}))
    return cost + VERDICT_COSTS.get(verdict_of(prediction), 0.0)


def glued(atoms: Sequence[Atom], touching: frozenset[tuple[int, int]]) -> tuple[float, float]:
    """How far apart the blobs a piece glues together lie: (apart, touching).

    The piece's part of each blob is taken left to right, and each is compared with the ones
    before it: 1 - their overlap in x over the narrower one's width (0 when one lies above the
    other, as a 5's flag over its body; 1 when they sit side by side, as two digits do). The sum
    goes to `touching` when its ink touches one of theirs (strokes that meet), else to `apart`.
    """
    spans: dict[int, tuple[int, int]] = {}
    for atom in atoms:
        low, high = spans.get(atom.blob, (atom.left, atom.right))
        spans[atom.blob] = (min(low, atom.left), max(high, atom.right))
    ordered = sorted(spans.items(), key=lambda item: item[1])
    apart = meeting = 0.0
    _, (start, reach) = ordered[0]
    for index, (blob, (low, high)) in enumerate(ordered[1:], start=1):
        overlap = min(reach, high) - low
        narrower = max(min(reach - start, high - low), 1)
        side_by_side = 1.0 - min(max(overlap / narrower, 0.0), 1.0)
        if any((min(blob, b), max(blob, b)) in touching for b, _ in ordered[:index]):
            meeting += side_by_side
        else:
            apart += side_by_side
        reach = max(reach, high)
    return apart, meeting


def shortest_path(candidates: Sequence[Candidate], atoms: int) -> list[Candidate]:
    """The cheapest run of candidates covering atoms 0..atoms-1 in order (dynamic programming).

    best[j] is the cheapest reading of atoms 0..j-1; single-atom candidates always exist, so
    every atom can be reached.
    """
    ending: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        ending.setdefault(candidate.last, []).append(candidate)
    best = [0.0] + [math.inf] * atoms
    choice: list[Candidate | None] = [None] * (atoms + 1)
    for last in range(1, atoms + 1):
        for candidate in ending.get(last, []):
            total = best[candidate.first] + candidate.cost
            if total < best[last]:
                best[last], choice[last] = total, candidate
    pieces = []
    position = atoms
    while position > 0:
        chosen = choice[position]
        assert chosen is not None  # single-atom candidates reach every position
        pieces.append(chosen)
        position = chosen.first
    return pieces[::-1]
