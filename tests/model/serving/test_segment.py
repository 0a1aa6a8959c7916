"""Reading whole numbers: real pen digits side by side with gaps, touching, overlapping, in
several strokes, on a slope, in different sizes, ten at a time; with and without strokes."""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from model.serving.atoms import working_grid
from model.serving.components import connected_components
from model.serving.predictor import Prediction, Predictor
from model.serving.preprocess import NoInkError, ink_map, open_image, to_mnist
from model.serving.prototypes import Prototypes
from model.serving.segment import (
    Candidate,
    NumberReading,
    StrokeError,
    read_number,
    shortest_path,
    strokes_on,
)
from tests.conftest import SHIPPED_WEIGHTS
from tests.model.serving.number_drawings import (
    COLON,
    CROSSED_SEVEN,
    DASH,
    DIGITS,
    EQUALS,
    FIVE_WITH_A_FLAG,
    FOUR_IN_TWO_STROKES,
    ONE_WITH_A_FOOT,
    POINT,
    Drawn,
    draw_number,
    marked,
    number_of,
    with_symbol,
)

WITH_AND_WITHOUT_STROKES = pytest.mark.parametrize("use_strokes", [False, True])


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_file(SHIPPED_WEIGHTS)


def read(predictor: Predictor, drawn: Drawn, use_strokes: bool) -> NumberReading:
    return read_number(predictor, drawn.ink, drawn.strokes if use_strokes else None)


def components(drawn: Drawn) -> int:
    return connected_components(working_grid(drawn.ink).inked)[1]


def test_each_test_digit_is_read_right_on_its_own(predictor: Predictor) -> None:
    records = [*DIGITS.values(), FOUR_IN_TWO_STROKES, FIVE_WITH_A_FLAG, CROSSED_SEVEN]
    for record in records:
        drawn = draw_number([record])
        assert read_number(predictor, drawn.ink).number == drawn.label


@WITH_AND_WITHOUT_STROKES
def test_digits_with_gaps(predictor: Predictor, use_strokes: bool) -> None:
    drawn = draw_number(number_of("2024"), gaps=0.3)
    reading = read(predictor, drawn, use_strokes)
    assert reading.number == "2024"
    assert reading.verdict == "number"


@WITH_AND_WITHOUT_STROKES
@pytest.mark.parametrize(
    ("text", "gaps"),
    [("2024", [0.3, -0.1, 0.3]), ("3856", -0.08), ("1717", -0.05), ("9630", -0.04)],
)
def test_touching_and_overlapping_neighbours(
    predictor: Predictor, use_strokes: bool, text: str, gaps: float | list[float]
) -> None:
    drawn = draw_number(number_of(text), gaps=gaps)
    assert components(drawn) < len(text)  # some digits really touch: no gap to cut at
    assert read(predictor, drawn, use_strokes).number == text


def test_overlapping_digits_are_told_apart_by_their_strokes(predictor: Predictor) -> None:
    drawn = draw_number(number_of("2024"), gaps=-0.08)
    assert components(drawn) == 1  # one blob of ink
    assert read(predictor, drawn, use_strokes=True).number == "2024"


@WITH_AND_WITHOUT_STROKES
@pytest.mark.parametrize("gap", [0.15, 0.02])
def test_digits_made_of_several_strokes(
    predictor: Predictor, use_strokes: bool, gap: float
) -> None:
    # A 4 in two strokes, a 5 whose flag is a stroke of its own, a 7 crossed with a bar.
    drawn = draw_number([FOUR_IN_TWO_STROKES, FIVE_WITH_A_FLAG, CROSSED_SEVEN, DIGITS[1]], gap)
    assert len(drawn.strokes) == 7
    assert read(predictor, drawn, use_strokes).number == "4571"


@WITH_AND_WITHOUT_STROKES
@pytest.mark.parametrize("text", ["17", "71", "717", "411", "118"])
def test_a_one_close_to_its_neighbour(predictor: Predictor, use_strokes: bool, text: str) -> None:
    drawn = draw_number(number_of(text), gaps=0.03)
    assert read(predictor, drawn, use_strokes).number == text


@WITH_AND_WITHOUT_STROKES
def test_a_one_with_a_foot_beside_a_one(predictor: Predictor, use_strokes: bool) -> None:
    drawn = draw_number([ONE_WITH_A_FOOT, DIGITS[1]], gaps=0.1)
    assert read(predictor, drawn, use_strokes).number == "11"


@WITH_AND_WITHOUT_STROKES
@pytest.mark.parametrize("slope", [-0.15, 0.15])
def test_a_sloping_baseline(predictor: Predictor, use_strokes: bool, slope: float) -> None:
    drawn = draw_number(number_of("34567"), gaps=0.2, heights=120, slope=slope)
    tops = [box[1] for box in drawn.boxes]
    assert abs(tops[-1] - tops[0]) > 50  # it really climbs (or falls) by a good part of a digit
    assert read(predictor, drawn, use_strokes).number == "34567"


@WITH_AND_WITHOUT_STROKES
def test_digits_of_different_sizes(predictor: Predictor, use_strokes: bool) -> None:
    drawn = draw_number(number_of("2468"), gaps=0.2, heights=[160, 100, 150, 120])
    assert read(predictor, drawn, use_strokes).number == "2468"


@WITH_AND_WITHOUT_STROKES
def test_ten_digits_on_a_wide_pad(predictor: Predictor, use_strokes: bool) -> None:
    drawn = draw_number(number_of("9876543210"), gaps=0.2, heights=110, pen=10, size=(1400, 280))
    reading = read(predictor, drawn, use_strokes)
    assert reading.number == "9876543210"
    assert len(reading.pieces) == 10


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - width * height
    return width * height / union


@WITH_AND_WITHOUT_STROKES
def test_pieces_come_left_to_right_with_their_ink_boxes(
    predictor: Predictor, use_strokes: bool
) -> None:
    # With strokes, the 7's bar reaches over the 0; from the image alone they stand a little
    # apart (the shipped model reads a joined "07" as one wide 0, as tests/app/test_number_api.py
    # says).
    overlap = -0.03 if use_strokes else 0.05
    drawn = draw_number(number_of("50721"), gaps=[0.3, overlap, 0.1, 0.05], slope=0.1)
    reading = read(predictor, drawn, use_strokes)
    assert reading.number == "50721"
    height, width = drawn.ink.shape
    lefts = [piece.box[0] for piece in reading.pieces]
    assert lefts == sorted(lefts)
    for piece, truth in zip(reading.pieces, drawn.boxes, strict=True):
        x0, y0, x1, y1 = piece.box
        assert 0 <= x0 < x1 <= width
        assert 0 <= y0 < y1 <= height
        assert iou(piece.box, truth) > 0.75, (piece.box, truth)


def test_each_piece_goes_through_the_same_recipe_as_a_single_digit(predictor: Predictor) -> None:
    drawn = draw_number(number_of("3816"), gaps=0.4)
    reading = read_number(predictor, drawn.ink)
    for piece in reading.pieces:
        x0, _, x1, _ = piece.box
        alone = drawn.ink[:, max(0, x0 - 4) : x1 + 4]  # the digit, nothing of its neighbours
        assert np.array_equal(piece.prediction.pixels, to_mnist(alone))


class CountingPredictor(Predictor):
    """The shipped predictor, counting its calls; `verdicts` may overrule some pieces' verdicts."""

    def __init__(
        self,
        inner: Predictor,
        verdicts: dict[int, str] | None = None,
        confidence: float | None = None,
    ) -> None:
        self.__dict__.update(inner.__dict__)
        self.calls: list[int] = []
        self.verdicts = verdicts or {}
        self.confidence = confidence  # what an overruled piece's confidence becomes, if given

    def predict(
        self, images: list[NDArray[np.uint8]], prototypes: Prototypes | None = None
    ) -> list[Prediction]:
        self.calls.append(len(images))
        predictions = super().predict(images, prototypes)
        return [
            dataclasses.replace(
                p,
                verdict=self.verdicts[p.digit],
                confidence=p.confidence if self.confidence is None else self.confidence,
            )
            if p.digit in self.verdicts
            else p
            for p in predictions
        ]


def test_every_candidate_is_read_in_one_batch(predictor: Predictor) -> None:
    counting = CountingPredictor(predictor)
    drawn = draw_number(number_of("2024"), gaps=[0.3, -0.05, 0.3])
    reading = read_number(counting, drawn.ink)
    assert counting.calls == [len(reading.candidates)]
    assert len(reading.candidates) > len(reading.pieces)


def test_the_confidence_is_the_product_of_the_pieces(predictor: Predictor) -> None:
    reading = read_number(predictor, draw_number(number_of("905"), gaps=0.25).ink)
    product = math.prod(piece.prediction.confidence for piece in reading.pieces)
    assert reading.confidence == pytest.approx(product)
    assert 0.0 < reading.confidence <= 1.0


def test_pieces_that_are_not_digits_are_left_out_of_the_number(predictor: Predictor) -> None:
    # A predictor that calls every 8 "not_a_digit" and doubts it: the 8 stays a piece but not
    # part of the number.
    judging = CountingPredictor(predictor, verdicts={8: "not_a_digit"}, confidence=0.5)
    reading = read_number(judging, draw_number(number_of("381"), gaps=0.4).ink)
    assert [piece.prediction.digit for piece in reading.pieces] == [3, 8, 1]
    assert reading.number == "31"
    assert reading.verdict == "not_a_number"


def test_a_piece_the_network_reads_surely_keeps_its_digit(predictor: Predictor) -> None:
    # The verdict classifier learnt whole drawings; a surely read piece of a number stays a digit.
    judging = CountingPredictor(predictor, verdicts={8: "not_a_digit"}, confidence=0.95)
    reading = read_number(judging, draw_number(number_of("381"), gaps=0.4).ink)
    assert reading.number == "381"
    assert reading.verdict == "number"


def test_a_blank_drawing_is_refused_as_the_recipe_refuses_it(predictor: Predictor) -> None:
    blank = np.zeros((280, 840), dtype=np.float32)
    with pytest.raises(NoInkError) as from_number:
        read_number(predictor, blank)
    with pytest.raises(NoInkError) as from_recipe:
        to_mnist(blank)
    assert str(from_number.value) == str(from_recipe.value)


def test_strokes_are_checked_against_the_image() -> None:
    shape = (280, 840)
    assert [s.shape for s in strokes_on(shape, [[[1, 2], [3, 4]], [[5.5, -6]]])] == [(2, 2), (1, 2)]
    for bad in ([[1, 2, 3]], [], [[float("nan"), 1]], [[3000, 10]], [[10, -300]], ["ab"]):
        with pytest.raises(StrokeError):
            strokes_on(shape, [bad])  # type: ignore[list-item]


def test_the_shortest_path_takes_the_cheapest_cover() -> None:
    dummy = Prediction(digit=0, confidence=1.0, probabilities=[0.1] * 10, pixels=np.zeros((28, 28)))

    def candidate(first: int, last: int, cost: float) -> Candidate:
        return Candidate(first, last, (0, 0, 1, 1), dummy, cost)

    candidates = [
        candidate(0, 1, 1.0),
        candidate(1, 2, 1.0),
        candidate(0, 2, 1.5),  # cheaper than the two singles
        candidate(2, 3, 0.2),
        candidate(1, 3, 0.1),  # but 0-1 + 1-3 is cheaper still
    ]
    assert [(c.first, c.last) for c in shortest_path(candidates, 3)] == [(0, 1), (1, 3)]


def pad_ink(strokes: list[list[tuple[float, float]]], pen: int = 20) -> NDArray[np.float32]:
    """Strokes drawn with a round pen on the 840x280 number pad, as the page's PNG is read."""
    image = Image.new("L", (840, 280), 255)
    canvas = ImageDraw.Draw(image)
    for stroke in strokes:
        canvas.line(stroke, fill=0, width=pen, joint="curve")
        for x, y in (stroke[0], stroke[-1]):
            canvas.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=0)
    encoded = io.BytesIO()
    image.save(encoded, "PNG")
    return ink_map(open_image(encoded.getvalue()))


ONE_PIECE_NOT_DIGITS = {
    "a dash": [[(360.0, 140.0), (480.0, 140.0)]],
    "an X": [[(380.0, 80.0), (460.0, 200.0)], [(460.0, 80.0), (380.0, 200.0)]],
}


@WITH_AND_WITHOUT_STROKES
@pytest.mark.parametrize("shape", sorted(ONE_PIECE_NOT_DIGITS))
def test_one_piece_of_ink_that_is_not_a_digit_is_not_a_number(
    predictor: Predictor, use_strokes: bool, shape: str
) -> None:
    # Cut into atoms, an X's strokes read "11"; as a whole, it is what the verdict classifier
    # refuses. A dash alone, one even stroke, is no longer cut (its halves read "0" and "1"),
    # and is read whole as the only piece.
    strokes = ONE_PIECE_NOT_DIGITS[shape]
    ink = pad_ink(strokes)
    given = [np.asarray(s, dtype=np.float64) for s in strokes] if use_strokes else None
    reading = read_number(predictor, ink, given)
    if shape == "an X":
        assert len(reading.atoms.atoms) > 1  # the premise: it is cut, its parts read as digits
    assert reading.number == ""
    assert reading.verdict == "not_a_number"
    assert reading.verdicts == ["not_a_digit"]
    (piece,) = reading.pieces
    assert piece.prediction.pixels.tolist() == to_mnist(ink).tolist()  # read as a whole
    x0, y0, x1, y1 = piece.box
    assert x0 < 380
    assert x1 > 460
    assert y0 < 140 < y1


DOTS = {
    "an ellipsis": [[(300.0 + 60 * i, 140.0)] for i in range(3)],
    "a colon": [[(420.0, 100.0)], [(420.0, 180.0)]],
    "five dots, far apart": [[(200.0 + 100 * i, 140.0)] for i in range(5)],
    "a grid of dots": [[(60.0 + 60 * i, 50.0 + 60 * j)] for i in range(12) for j in range(4)],
}


@pytest.mark.parametrize("pen", [8, 20, 40])
@pytest.mark.parametrize("shape", sorted(DOTS))
def test_dots_alone_are_not_a_number(predictor: Predictor, shape: str, pen: int) -> None:
    # The line height is then a dot's, and a round dab reads "0" at 0.92.
    reading = read_number(predictor, pad_ink(DOTS[shape], pen=pen))
    assert reading.number == ""
    assert reading.verdict == "not_a_number"
    assert set(reading.verdicts) == {"not_a_digit"}


@WITH_AND_WITHOUT_STROKES
def test_a_one_dabbed_in_touching_dots_is_still_a_one(
    predictor: Predictor, use_strokes: bool
) -> None:
    # Each dab is a stroke, a dot on its own; together they touch, and make a 1.
    dabs = [[(420.0, 60.0 + 14 * i)] for i in range(12)]
    given = [np.asarray(s, dtype=np.float64) for s in dabs] if use_strokes else None
    assert read_number(predictor, pad_ink(dabs), given).number == "1"


def test_a_column_of_square_dots_is_too_tall_to_be_a_digit(predictor: Predictor) -> None:
    # Squares close together in a column make one piece, four dots tall, which the network
    # reads at 0.97 as a 3; beside a digit, the line height is the digit's, not a dot's.
    image = Image.new("L", (840, 280), 255)
    canvas = ImageDraw.Draw(image)
    for y in (50, 110, 170, 230):
        canvas.rectangle((112, y - 8, 128, y + 8), fill=0)
    encoded = io.BytesIO()
    image.save(encoded, "PNG")
    reading = read_number(predictor, ink_map(open_image(encoded.getvalue())))
    assert reading.verdict == "not_a_number"
    assert reading.number == ""


@WITH_AND_WITHOUT_STROKES
def test_a_tall_one_beside_small_digits_is_still_read(
    predictor: Predictor, use_strokes: bool
) -> None:
    # Small digits 45% of the 1's height set the line height with it: the 1 is 2.2 lines tall.
    drawn = draw_number(number_of("123"), gaps=0.3, heights=[220, 100, 100])
    assert read(predictor, drawn, use_strokes).number == "123"


@WITH_AND_WITHOUT_STROKES
def test_an_x_between_digits_is_one_piece_and_no_digit(
    predictor: Predictor, use_strokes: bool
) -> None:
    # Cut apart, an X's strokes read "11": the whole is not a digit. (A plus is no test: an
    # open 4 is a plus with a longer stem, and the classifier may fairly call it a 4.)
    drawn = draw_number(number_of("24"), gaps=1.2)
    left, right = drawn.boxes[0][2], drawn.boxes[1][0]
    x, y = (left + right) / 2, (drawn.boxes[0][1] + drawn.boxes[0][3]) / 2
    half = 0.3 * (right - left)
    symbol = [[(x - half, y - half), (x + half, y + half)],
              [(x + half, y - half), (x - half, y + half)]]  # fmt: skip
    both = with_symbol(drawn, symbol)
    reading = read_number(predictor, both.ink, both.strokes if use_strokes else None)
    assert [p.prediction.digit if v == "digit" else "?" for p, v in
            zip(reading.pieces, reading.verdicts, strict=True)] == [2, "?", 4]  # fmt: skip
    assert reading.number == "24"
    assert reading.verdict == "not_a_number"
    assert reading.pieces[1].box[0] < x < reading.pieces[1].box[2]


def test_a_dash_after_a_digit_is_no_digit(predictor: Predictor) -> None:
    drawn = draw_number(number_of("1"))
    _, y0, x1, y1 = drawn.boxes[0]
    y = (y0 + y1) / 2
    dash = [[(x1 + 40.0, y), (x1 + 120.0, y)]]
    reading = read_number(predictor, with_symbol(drawn, dash).ink)
    assert reading.number == "1"
    assert reading.verdicts == ["digit", "not_a_digit"]


@WITH_AND_WITHOUT_STROKES
@pytest.mark.parametrize(
    ("text", "mark", "at", "gaps", "verdicts"),
    [
        ("05", POINT, 1, 0.5, ["digit", "not_a_digit", "digit"]),  # 0.5
        ("7", DASH, 0, 0.5, ["not_a_digit", "digit"]),  # -7
        ("12", DASH, 1, 0.5, ["digit", "not_a_digit", "digit"]),  # 1-2
        # 12:30 at handwriting spacing: the colon's dots were glued into the 3, read "1230".
        ("1230", COLON, 2, 0.2, ["digit", "digit", "not_a_digit", "digit", "digit"]),
        ("905", COLON, 1, 0.2, ["digit", "not_a_digit", "digit", "digit"]),
        # 1 = 2: the bars were glued to the 2 and read "18", with or without strokes.
        ("12", EQUALS, 1, 0.5, ["digit", "not_a_digit", "digit"]),
        ("47", EQUALS, 1, 0.5, ["digit", "not_a_digit", "digit"]),
    ],
)
def test_a_mark_beside_a_digit_is_a_piece_of_its_own(
    predictor: Predictor,
    use_strokes: bool,
    text: str,
    mark: list[list[tuple[float, float]]],
    at: int,
    gaps: float,
    verdicts: list[str],
) -> None:
    # Glued to the digit beside it, a dot or a dash costs less than standing alone, shorter than
    # the line: "0.5" read "05", and with strokes "-7" read "7" as one wide piece.
    drawn, x = marked(text, mark, at, gaps)
    reading = read_number(predictor, drawn.ink, drawn.strokes if use_strokes else None)
    assert reading.verdicts == verdicts
    assert reading.number == text
    assert reading.verdict == "not_a_number"
    piece = reading.pieces[verdicts.index("not_a_digit")]
    assert piece.box[0] < x < piece.box[2]
    assert all(not p.box[0] < x < p.box[2] for p in reading.pieces if p is not piece)


@WITH_AND_WITHOUT_STROKES
def test_separate_dots_beside_digits_are_no_digit_whatever_the_classifier_says(
    predictor: Predictor, use_strokes: bool
) -> None:
    # The verdict classifier may take a colon for a digit (a 4, on the digit pad): dots apart
    # from one another and from the digits are refused all the same.
    trusting = CountingPredictor(predictor, verdicts=dict.fromkeys(range(10), "digit"))
    drawn, x = marked("1230", COLON, 2, gaps=0.2)
    reading = read_number(trusting, drawn.ink, drawn.strokes if use_strokes else None)
    assert reading.verdicts == ["digit", "digit", "not_a_digit", "digit", "digit"]
    assert reading.number == "1230"
    assert reading.pieces[2].box[0] < x < reading.pieces[2].box[2]


@WITH_AND_WITHOUT_STROKES
def test_two_bars_are_two_pieces_each_whole(predictor: Predictor, use_strokes: bool) -> None:
    # An "=": each bar was cut a few px from its end, where the round cap thins, and the two
    # caps made a third piece of their own.
    bars = [[(300.0, 120.0), (500.0, 120.0)], [(300.0, 170.0), (500.0, 170.0)]]
    given = [np.asarray(s, dtype=np.float64) for s in bars] if use_strokes else None
    reading = read_number(predictor, pad_ink(bars), given)
    assert reading.verdict == "not_a_number"
    assert len(reading.pieces) == 2
    for piece in reading.pieces:
        assert piece.box[0] < 300
        assert piece.box[2] > 500


def test_touching_digits_read_whole_as_several_are_not_a_number(predictor: Predictor) -> None:
    # Five 8s overlapping, one blob 2.4 line heights wide: read whole, the network said "0" at
    # 0.99 and the number was "0"; the verdict classifier calls it several digits.
    drawn = draw_number(number_of("88888"), gaps=-0.1, heights=100)
    assert components(drawn) == 1
    reading = read_number(predictor, drawn.ink)
    assert "several_digits" in reading.verdicts
    assert reading.verdict == "not_a_number"
    assert len(reading.number) < 5
