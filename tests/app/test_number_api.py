"""/api/number through the real app: the answer's shape and order, boxes on the image, the
input forms and error rules of /api/predict, bad strokes, a blank pad, ten digits, the schema."""

from __future__ import annotations

import base64
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from app.cli import main
from app.schemas import (
    EXAMPLE_NUMBER_DATA_URL,
    EXAMPLE_NUMBER_STROKES,
    MAX_NUMBER_POINTS,
    MAX_NUMBER_STROKES,
)
from model.data.canvas import png_bytes, png_data_url
from tests.model.serving.number_drawings import (
    COLON,
    EQUALS,
    Drawn,
    draw_number,
    marked,
    number_of,
)

DIGIT_KEYS = {"digit", "verdict", "confidence", "probabilities", "box", "input"}


@pytest.fixture(scope="module")
def drawn() -> Drawn:
    """Digits close together, none touching, on a rising line: readable from the image alone."""
    return draw_number(number_of("50721"), gaps=[0.3, 0.05, 0.1, 0.05], slope=0.1)


@pytest.fixture(scope="module")
def overlapping() -> Drawn:
    """The same with the 7's bar reaching over the 0: only the strokes tell them apart (from
    the image alone, the shipped model reads the joined "07" as one wide 0)."""
    return draw_number(number_of("50721"), gaps=[0.3, -0.03, 0.1, 0.05], slope=0.1)


def strokes_json(drawn: Drawn) -> list[list[list[float]]]:
    return [np.round(s, 1).tolist() for s in drawn.strokes]


def assert_number(body: dict, width: int, height: int) -> None:
    assert set(body) == {"number", "verdict", "confidence", "digits"}
    pieces = body["digits"]
    assert body["verdict"] == ("number" if pieces else "not_a_number")
    assert body["number"] == "".join(str(d["digit"]) for d in pieces if d["verdict"] == "digit")
    assert body["confidence"] == pytest.approx(math.prod(d["confidence"] for d in pieces))
    for piece in pieces:
        assert set(piece) == DIGIT_KEYS
        assert sum(piece["probabilities"]) == pytest.approx(1.0, abs=1e-9)
        assert piece["confidence"] == max(piece["probabilities"])
        assert piece["digit"] == int(np.argmax(piece["probabilities"]))
        assert np.array(piece["input"]).shape == (28, 28)
        x0, y0, x1, y1 = piece["box"]
        assert 0 <= x0 < x1 <= width
        assert 0 <= y0 < y1 <= height
    lefts = [piece["box"][0] for piece in pieces]
    assert lefts == sorted(lefts)  # left to right


@pytest.mark.parametrize("with_strokes", [False, True])
def test_a_drawn_number_is_read_left_to_right(
    client: TestClient, drawn: Drawn, with_strokes: bool
) -> None:
    body = {"image": png_data_url(drawn.png)}
    if with_strokes:
        body["strokes"] = strokes_json(drawn)  # type: ignore[assignment]
    response = client.post("/api/number", json=body)
    assert response.status_code == 200
    answer = response.json()
    assert_number(answer, 840, 280)
    assert answer["number"] == "50721"
    assert answer["verdict"] == "number"
    for piece, truth in zip(answer["digits"], drawn.boxes, strict=True):
        centre_x = (piece["box"][0] + piece["box"][2]) / 2
        assert truth[0] <= centre_x <= truth[2]  # each box sits on its own digit


def test_overlapping_digits_are_told_apart_by_their_strokes(
    client: TestClient, overlapping: Drawn
) -> None:
    body = {"image": png_data_url(overlapping.png), "strokes": strokes_json(overlapping)}
    answer = client.post("/api/number", json=body).json()
    assert answer["number"] == "50721"
    for piece, truth in zip(answer["digits"], overlapping.boxes, strict=True):
        centre_x = (piece["box"][0] + piece["box"][2]) / 2
        assert truth[0] <= centre_x <= truth[2]


def test_a_raw_image_body_and_bare_base64_read_the_same(client: TestClient, drawn: Drawn) -> None:
    raw = client.post("/api/number", content=drawn.png, headers={"content-type": "image/png"})
    bare = client.post("/api/number", json={"image": base64.b64encode(drawn.png).decode()})
    assert raw.status_code == bare.status_code == 200
    assert raw.json() == bare.json()
    assert raw.json()["number"] == "50721"


def test_dark_ink_on_white_paper_reads_too(client: TestClient, drawn: Drawn) -> None:
    alpha = np.asarray(Image.open(io.BytesIO(drawn.png)))[..., 3]
    paper = Image.fromarray(255 - alpha)  # grey, dark ink on white, no transparency
    response = client.post(
        "/api/number", content=png_bytes(paper), headers={"content-type": "image/png"}
    )
    assert response.json()["number"] == "50721"


def test_ten_digits_on_a_wide_pad(client: TestClient) -> None:
    drawn = draw_number(number_of("3141592653"), gaps=0.2, heights=110, pen=10, size=(1400, 280))
    for body in (
        {"image": png_data_url(drawn.png)},
        {"image": png_data_url(drawn.png), "strokes": strokes_json(drawn)},
    ):
        answer = client.post("/api/number", json=body).json()
        assert_number(answer, 1400, 280)
        assert answer["number"] == "3141592653"
        assert len(answer["digits"]) == 10


def test_a_single_digit_is_a_one_digit_number(client: TestClient) -> None:
    drawn = draw_number(number_of("7"), size=(280, 280))
    answer = client.post("/api/number", json={"image": png_data_url(drawn.png)}).json()
    assert answer["number"] == "7"
    predicted = client.post("/api/predict", json={"image": png_data_url(drawn.png)}).json()
    assert answer["digits"][0]["input"] == predicted["input"]  # the same recipe, the same input


def test_a_blank_pad_is_answered_as_predict_answers_it(client: TestClient) -> None:
    blank = png_bytes(Image.new("RGBA", (840, 280), (0, 0, 0, 0)))
    number = client.post("/api/number", json={"image": png_data_url(blank)})
    predict = client.post("/api/predict", json={"image": png_data_url(blank)})
    assert number.status_code == predict.status_code == 422
    assert number.json() == predict.json()


@pytest.mark.parametrize(
    ("strokes", "where"),
    [
        ([[[10, 20, 30]]], "strokes"),  # three numbers to a point
        ([[[10]]], "strokes"),  # one
        ([[]], "strokes"),  # an empty stroke
        ([], "strokes"),  # no strokes at all: leave the field out instead
        ([[[True, 2]]], "strokes"),
        ([[["10", 2]]], "strokes"),
        ([[[1e9, 5]]], "outside"),  # finite, but miles off the 100x48 image
        ([[[5, -200]]], "outside"),
        ([[[1, 2]]] * (MAX_NUMBER_STROKES + 1), "strokes"),
        ([[[1.0, 2.0]] * (MAX_NUMBER_POINTS // 2 + 1)] * 2, "points"),
        ("strokes", "strokes"),
    ],
)
def test_bad_strokes_get_a_clear_422(client: TestClient, strokes: object, where: str) -> None:
    response = client.post(
        "/api/number", json={"image": EXAMPLE_NUMBER_DATA_URL, "strokes": strokes}
    )
    assert response.status_code == 422
    assert where in json.dumps(response.json())


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_coordinates_get_422(client: TestClient, literal: bytes) -> None:
    body = b'{"image": "%s", "strokes": [[[%s, 2]]]}' % (EXAMPLE_NUMBER_DATA_URL.encode(), literal)
    response = client.post(
        "/api/number", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["strokes", 0, 0, 0]


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", {"content-type": "application/json"}, 400),
        (b'{"image": "%%%"}', {"content-type": "application/json"}, 400),
        (b"not an image", {"content-type": "image/png"}, 400),
        (b'{"image": "data:text/plain;base64,aGk="}', {"content-type": "application/json"}, 415),
        (b"hello", {"content-type": "text/plain"}, 415),
        (b'{"pixels": [0]}', {"content-type": "application/json"}, 422),
        (b'{"image": 5}', {"content-type": "application/json"}, 422),
        (b"", {"content-type": "image/png"}, 400),
    ],
)
def test_the_error_rules_of_predict(
    client: TestClient, body: bytes, headers: dict[str, str], status: int
) -> None:
    number = client.post("/api/number", content=body, headers=headers)
    assert number.status_code == status
    assert "detail" in number.json()


def test_a_body_over_the_limit_is_413(client: TestClient) -> None:
    response = client.post(
        "/api/number", content=b"x" * (3 * 1024 * 1024), headers={"content-type": "image/png"}
    )
    assert response.status_code == 413


def test_the_schema_documents_the_route_and_its_example_works(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/number"]["post"]
    assert {"200", "400", "413", "415", "422"} <= set(operation["responses"])
    content = operation["requestBody"]["content"]
    assert "image/png" in content
    examples = content["application/json"]["schema"]["examples"]
    assert examples[1]["strokes"] == EXAMPLE_NUMBER_STROKES
    for example in examples:
        answer = client.post("/api/number", json=example).json()
        assert answer["number"] == "174"
        assert [d["box"] for d in answer["digits"]] == [
            [15, 5, 21, 43],
            [31, 6, 59, 43],
            [63, 5, 91, 44],
        ]


def test_the_command_line_reads_numbers_as_the_api_does(
    client: TestClient, drawn: Drawn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "number.png"
    path.write_bytes(drawn.png)
    assert main(["predict", "--number", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{path}: 50721  (number, ")
    assert [line.split()[0] for line in lines[1:]] == list("50721")
    assert all("box [" in line for line in lines[1:])

    assert main(["predict", "--number", "--json", str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    api = client.post("/api/number", content=drawn.png, headers={"content-type": "image/png"})
    assert printed == {"file": str(path), **api.json()}


def test_a_dot_alone_is_not_a_number(client: TestClient) -> None:
    """The only piece is the whole drawing: the verdict classifier's word stands, however surely
    the network names a digit for a dot (it says 0)."""
    canvas = Image.new("RGBA", (840, 280), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).ellipse((410, 130, 430, 150), fill=(0, 0, 0, 255))
    answer = client.post(
        "/api/number", content=png_bytes(canvas), headers={"content-type": "image/png"}
    ).json()
    assert answer["verdict"] == "not_a_number"
    assert answer["number"] == ""
    assert [piece["verdict"] for piece in answer["digits"]] == ["not_a_digit"]
    single = client.post(
        "/api/predict", content=png_bytes(canvas), headers={"content-type": "image/png"}
    ).json()
    assert single["verdict"] == "not_a_digit"  # what digit mode says of the same dot


@pytest.mark.parametrize(("bars", "status"), [(60, 200), (61, 422)])
def test_more_pieces_than_a_number_holds_is_a_clear_422(
    client: TestClient, bars: int, status: int
) -> None:
    """Sixty strokes side by side are read; one more is refused, never read with some left out."""
    canvas = Image.new("RGBA", (bars * 30 + 20, 280), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    strokes = []
    for i in range(bars):
        x = 20 + 30 * i
        draw.line((x, 100, x, 180), fill=(0, 0, 0, 255), width=8)
        strokes.append([[x, 100], [x, 180]])
    body = {"image": png_data_url(png_bytes(canvas)), "strokes": strokes}
    answer = client.post("/api/number", json=body)
    assert answer.status_code == status
    if status == 200:
        assert len(answer.json()["digits"]) == bars
    else:
        assert answer.json()["code"] == "invalid_input"
        assert "61 separate pieces of ink" in answer.json()["detail"]
        assert "at most 60" in answer.json()["detail"]


def test_a_digit_drawn_in_many_strokes_is_read_from_its_ink(client: TestClient) -> None:
    """Seventy short strokes that touch (a 1 dabbed with a stylus) are one piece of ink."""
    canvas = Image.new("RGBA", (840, 280), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    strokes = []
    for i in range(70):
        y = 50 + 2.5 * i
        draw.line((420, y, 420, y + 8), fill=(0, 0, 0, 255), width=14)
        strokes.append([[420, y], [420, y + 8]])
    body = {"image": png_data_url(png_bytes(canvas)), "strokes": strokes}
    answer = client.post("/api/number", json=body)
    assert answer.status_code == 200
    assert answer.json()["number"] == "1"


def test_a_minus_sign_drawn_in_strokes_is_a_piece_of_its_own(client: TestClient) -> None:
    """ "-7": with its strokes, the dash was glued to the 7, one piece 267 px wide read "7"."""
    drawn = draw_number(number_of("7"))
    x0, y0, _, y1 = drawn.boxes[0]
    dash = [[x0 - 70.0, (y0 + y1) / 2], [x0 - 25.0, (y0 + y1) / 2]]
    image = Image.open(io.BytesIO(drawn.png)).convert("RGBA")
    ImageDraw.Draw(image).line([tuple(p) for p in dash], fill=(0, 0, 0, 255), width=14)
    body = {"image": png_data_url(png_bytes(image)), "strokes": [dash, *strokes_json(drawn)]}
    answer = client.post("/api/number", json=body).json()
    assert [(piece["verdict"], piece["box"][2] <= x0) for piece in answer["digits"]] == [
        ("not_a_digit", True),
        ("digit", False),
    ]
    assert answer["number"] == "7"
    assert answer["verdict"] == "not_a_number"


def test_touching_digits_read_whole_say_what_predict_says(client: TestClient) -> None:
    """Five overlapping 8s, one blob: read whole, they are "several digits" in both modes, and
    no confident one-digit number."""
    drawn = draw_number(number_of("88888"), gaps=-0.1, heights=100)
    headers = {"content-type": "image/png"}
    answer = client.post("/api/number", content=drawn.png, headers=headers).json()
    single = client.post("/api/predict", content=drawn.png, headers=headers).json()
    assert single["verdict"] == "several_digits"
    assert answer["verdict"] == "not_a_number"
    assert "several_digits" in [piece["verdict"] for piece in answer["digits"]]


@pytest.mark.parametrize("with_strokes", [False, True])
@pytest.mark.parametrize(
    ("text", "mark", "at", "gaps"),
    [("1230", COLON, 2, 0.2), ("12", EQUALS, 1, 0.5)],
    ids=["12:30", "1 = 2"],
)
def test_a_colon_or_an_equals_sign_between_digits_is_no_digit(
    client: TestClient,
    text: str,
    mark: list[list[tuple[float, float]]],
    at: int,
    gaps: float,
    with_strokes: bool,
) -> None:
    """ "12:30" at handwriting spacing read "1230", a number at 0.999: the colon's dots were
    glued into the 3. "1 = 2" read "18": the bars were glued to the 2."""
    drawn, x = marked(text, mark, at, gaps)
    body = {"image": png_data_url(drawn.png)}
    if with_strokes:
        body["strokes"] = strokes_json(drawn)  # type: ignore[assignment]
    answer = client.post("/api/number", json=body).json()
    verdicts = ["digit"] * len(text)
    verdicts.insert(at, "not_a_digit")
    assert [piece["verdict"] for piece in answer["digits"]] == verdicts
    mark_box = answer["digits"][at]["box"]
    assert mark_box[0] < x < mark_box[2]
    assert answer["number"] == text
    assert answer["verdict"] == "not_a_number"
