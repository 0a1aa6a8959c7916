"""Every request and response body of the JSON API, in one place."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, model_validator

from app.errors import CODES

# Strict: JSON true/false and "12" are refused (422), not read as 1.0 and 12.0. Integers are fine;
# NaN and Infinity literals pass here and are refused by pixels_to_mnist (also 422).
PixelGrid = list[list[StrictFloat]] | list[StrictFloat]


# A 28x28 PNG of a "1" (dark on white), so the schema's examples really work when sent.
EXAMPLE_PNG_DATA_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAAAAABXZoBIAAAAJElEQVR42mP8z4AbMDHQX5"
    "IFhcfIwPB/gB00KjlAkoyDLWkCAKJDAzeTHA3dAAAAAElFTkSuQmCC"
)
EXAMPLE_PIXELS: list[Any] = [[255 if 5 <= row < 23 and 13 <= col < 16 else 0 for col in range(28)]
                  for row in range(28)]  # fmt: skip


class ImageInput(BaseModel):
    """One image: a PNG/JPEG/... as a data URL or bare base64, or 28x28 MNIST-style pixels."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"image": EXAMPLE_PNG_DATA_URL},
                {"pixels": EXAMPLE_PIXELS},
            ]
        },
    )

    image: str | None = Field(
        default=None, description="A data URL (`data:image/png;base64,...`) or bare base64."
    )
    pixels: PixelGrid | None = Field(
        default=None,
        description="28x28 nested list or flat list of 784 numbers 0..255, ink high (a bright "
        "digit on a dark background), already MNIST-style (cropped, 20x20 in a 28x28 frame, "
        "centred): used as is, only normalised. Refused with 422: all zeros (no ink); no value "
        "above 1 (a 0..1 scale: multiply by 255); more than half the pixels above 127 (an "
        "inverted image: ink must be high).",
    )

    @model_validator(mode="after")
    def exactly_one(self) -> ImageInput:
        if (self.image is None) == (self.pixels is None):
            raise ValueError("give exactly one of 'image' or 'pixels'")
        return self


MAX_PROFILE_ID = 64  # characters; the server's ids have 22
READ_PROFILE_DESCRIPTION = (
    "A profile id from POST /api/profiles: read with the model adapted to that profile's "
    "examples (its own handwriting), as of its newest example. 404 if there is no such profile."
)
ANSWER_PROFILE_DESCRIPTION = "The profile the answer was adapted to; absent without one."


def profile_field(description: str = READ_PROFILE_DESCRIPTION) -> Any:
    return Field(default=None, min_length=1, max_length=MAX_PROFILE_ID, description=description)


class PredictInput(ImageInput):
    """One image, as ImageInput, and optionally whose handwriting it is."""

    profile: str | None = profile_field()


class BatchInput(BaseModel):
    """Many images, answered in the same order, all read with one profile if given."""

    model_config = ConfigDict(extra="forbid")

    instances: list[ImageInput] = Field(min_length=1)
    profile: str | None = profile_field()


VERDICT_DESCRIPTION = (
    'Whether the drawing is one digit: "digit"; "not_a_digit" (a dot, a dash, a scribble, a '
    'blob, a letter); "several_digits" (two or more digits side by side, such as "11"). A '
    "separate classifier decides (see `verdict` in GET /api/model); `digit`, `confidence` and "
    '`probabilities` are the network\'s reading either way. Always "digit" when the weight '
    "file has no verdict classifier."
)
VERDICT_EXAMPLES = ["digit", "not_a_digit", "several_digits"]


class PredictResponse(BaseModel):
    digit: int = Field(ge=0, le=9, description="The most likely digit.")
    confidence: float = Field(ge=0, le=1, description="Its probability.")
    probabilities: list[float] = Field(
        min_length=10, max_length=10, description="One per digit 0..9, summing to 1."
    )
    verdict: DigitVerdict = Field(description=VERDICT_DESCRIPTION, examples=VERDICT_EXAMPLES)
    input: list[list[int]] = Field(
        description="The 28x28 image the network saw, 0..255 ink high, before normalisation."
    )
    profile: str | None = Field(default=None, description=ANSWER_PROFILE_DESCRIPTION)


class BatchResponse(BaseModel):
    predictions: list[PredictResponse]
    profile: str | None = Field(default=None, description=ANSWER_PROFILE_DESCRIPTION)


class Normalization(BaseModel):
    mean: float
    std: float


class ModelInfo(BaseModel):
    layer_sizes: list[int]
    activation: str
    parameter_count: int
    normalization: Normalization
    test_accuracy: float | None
    val_accuracy: float | None
    trained_at: str | None = Field(description="When training finished (ISO 8601, UTC).")
    temperature: float = Field(
        description="Softmax temperature fitted on the validation split (1.0: uncalibrated)."
    )
    weights_file: str
    weights_sha256: str
    verdict: VerdictInfo = Field(description="The classifier behind each prediction's `verdict`.")


class VerdictInfo(BaseModel):
    available: bool = Field(
        description='False: the weight file has no verdict classifier, so every verdict is "digit".'
    )
    detail: str = Field(description="One sentence saying which, for people.")
    layer_sizes: list[int] | None = Field(
        default=None,
        description="The classifier's MLP: 784 grey levels + features (+ the digit network's "
        "view) -> 3 classes.",
    )
    features: list[str] | None = Field(
        default=None, description="The structural features after the 784 grey levels."
    )
    digit_view: dict[str, Any] | None = Field(
        default=None,
        description="When it also reads the digit network's last hidden layer and logits: that "
        "layer's width (`hidden`), the scales its inputs are divided by, and the checksum of "
        "the digit network it was fitted on (`network_sha256`).",
    )
    fits_network: bool | None = Field(
        default=None,
        description="False when it reads the view of another digit network than the one "
        "served (retrained or fine-tuned since): it still answers, less well; refit it.",
    )
    thresholds: dict[str, float] | None = Field(
        default=None,
        description="The smallest probability of not_a_digit (several_digits) that gives that "
        "verdict, chosen so at most 1% of held-out writers' real digits are refused.",
    )
    rates: dict[str, Any] | None = Field(
        default=None,
        description="Measured on writers never trained on: `refused` real digits, `caught` "
        "non-digits and digit groups per kind, `named` (given their own verdict), `counts`.",
    )
    created: str | None = Field(default=None, description="When it was fitted (ISO 8601, UTC).")


# ---------------------------------------------------------------- looking inside the network
DEFAULT_ATTACK_EPSILON = 64  # pixel units 0..255: enough to turn most MNIST digits (tested)
DEFAULT_ATTACK_STEPS = 20  # most attacks succeed within 10 steps


class ExplainResponse(BaseModel):
    digit: int = Field(ge=0, le=9, description="The most likely digit.")
    probabilities: list[float] = Field(
        min_length=10, max_length=10, description="One per digit 0..9, summing to 1."
    )
    verdict: DigitVerdict = Field(description=VERDICT_DESCRIPTION, examples=VERDICT_EXAMPLES)
    saliency: list[list[float]] = Field(
        description="28x28: the gradient of the predicted digit's score (its logit) with "
        "respect to each input pixel, per 0..255 grey level. Positive: more ink there would "
        "make the network surer."
    )
    grad_x_input: list[list[float]] = Field(
        description="28x28: saliency times the pixel value, how much each pixel's ink added to "
        "the score (zero where there is no ink)."
    )
    activations: list[list[float]] = Field(
        description="One list per hidden layer: every unit's output (after ReLU) for this input."
    )
    profile: str | None = Field(
        default=None,
        description=ANSWER_PROFILE_DESCRIPTION + " With a profile, `digit` and `probabilities` "
        "are the adapted reading; saliency and activations are the network's own.",
    )


class AttackInput(ImageInput):
    """One image and the digit to make the network see in it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"pixels": EXAMPLE_PIXELS, "target": 7},
                {"image": EXAMPLE_PNG_DATA_URL, "target": 4, "epsilon": 48, "steps": 10},
            ]
        },
    )

    target: StrictInt = Field(ge=0, le=9, description="The digit the network should say.")
    epsilon: StrictInt = Field(
        default=DEFAULT_ATTACK_EPSILON,
        ge=0,
        le=255,
        description="Largest change of any one pixel, in grey levels 0..255; at most the "
        "server's limit (128 by default, DIGITS_MAX_ATTACK_EPSILON).",
    )
    steps: StrictInt = Field(
        default=DEFAULT_ATTACK_STEPS,
        ge=1,
        description="Most gradient-sign steps to take (it stops early once the network says "
        "`target`); at most the server's limit (50 by default, DIGITS_MAX_ATTACK_STEPS).",
    )


class AttackResponse(BaseModel):
    digit: int = Field(ge=0, le=9, description="The prediction for `perturbed`.")
    probabilities: list[float] = Field(
        min_length=10, max_length=10, description="For `perturbed`, one per digit 0..9."
    )
    original_digit: int = Field(ge=0, le=9, description="The prediction for the input.")
    perturbed: list[list[int]] = Field(
        description="The changed 28x28 image, 0..255 ink high. Sent back as `pixels` to "
        "/api/predict it gives `digit` again."
    )
    linf: int = Field(ge=0, le=255, description="The largest change of any pixel (0..255).")
    steps_taken: int = Field(ge=0, description="Gradient steps taken (0: already `target`).")


class LayerInfo(BaseModel):
    name: str = Field(description="The parameters' prefix in the weight file, e.g. `dense0`.")
    inputs: int
    outputs: int
    weights: int
    biases: int
    parameters: int
    activation: str = Field(description="What follows the layer (softmax for the last).")
    dropout: float = Field(description="Dropout rate on the layer's input during training.")


class TrainingCurves(BaseModel):
    """Per-epoch series, one list per quantity (None where an epoch did not record it)."""

    epoch: list[int]
    train_loss: list[float | None]
    train_accuracy: list[float | None]
    val_accuracy: list[float | None]
    learning_rate: list[float | None] = Field(description="At the end of each epoch.")
    seconds: list[float | None]
    grad_norms: list[list[float | None]] = Field(
        description="One series per dense layer: the norm of its weight gradient, epoch mean."
    )


class ConfusedPair(BaseModel):
    true: int
    predicted: int
    count: int


class Mistake(BaseModel):
    index: int = Field(description="Position in the MNIST test set.")
    true: int
    predicted: int
    confidence: float = Field(description="The probability the network gave `predicted`.")
    pixels: list[list[int]] = Field(description="The 28x28 test digit, 0..255 ink high.")


class FirstLayerPictures(BaseModel):
    units: int = Field(description="Units in the first hidden layer.")
    side: int = Field(description="Pictures are side x side (28; 0 if the input is not 28x28).")
    scale: list[float] = Field(
        description="Per unit, the |weight| shown at full colour (its 99th percentile)."
    )
    pixels_b64: str = Field(
        description="Base64 of units x side x side bytes, unit after unit, row-major: "
        "weight ~ (byte - 128) / 127 * scale[unit], clipped at +-scale[unit]."
    )


class ModelReport(ModelInfo):
    """Everything the model page draws, from the network and its weight file's metadata."""

    layers: list[LayerInfo]
    best_epoch: int | None
    training_seconds: float | None
    per_class_accuracy: list[float] | None = Field(description="Test accuracy of each digit.")
    confusion: list[list[int]] | None = Field(
        description="10x10 test-set counts: row = true digit, column = predicted digit."
    )
    most_confused: list[ConfusedPair]
    config: dict[str, Any] = Field(description="The training configuration.")
    data_sha256: dict[str, str] = Field(description="SHA-256 of each training data file.")
    curves: TrainingCurves | None
    mistakes: list[Mistake] = Field(description="Misclassified test digits, most confident first.")
    first_layer: FirstLayerPictures


# ---------------------------------------------------------------- profiles and examples
MAX_STROKES = 100  # strokes in one example
MAX_STROKE_POINTS = 10_000  # [x, y] points in all its strokes together
Coordinate = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Point = Annotated[list[Coordinate], Field(min_length=2, max_length=2)]
# Points are bounded in all (below), not per stroke, so no single stroke has a limit of its own.
Stroke = Annotated[list[Point], Field(min_length=1)]
# An example's stroke points are pixels of the image sent: a pen may leave the pad, it does not
# go miles. Three times the largest image side (DIGITS_MAX_IMAGE_SIDE's default) either way.
# (/api/number checks its strokes against the image itself, model/serving/segment.py.)
MAX_COORDINATE = 3 * 4096
BoundedCoordinate = Annotated[
    float, Field(strict=True, allow_inf_nan=False, ge=-MAX_COORDINATE, le=MAX_COORDINATE)
]
ExampleStroke = Annotated[
    list[Annotated[list[BoundedCoordinate], Field(min_length=2, max_length=2)]],
    Field(min_length=1),
]
PROFILE_DESCRIPTION = "A profile id from POST /api/profiles; the example is counted in it."


class ExampleInput(ImageInput):
    """One image (as for /api/predict), the digit it really is, and optionally whose it is."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"pixels": EXAMPLE_PIXELS, "label": 1},
                {"image": EXAMPLE_PNG_DATA_URL, "label": 1, "strokes": [[[140, 40], [141, 240]]]},
            ]
        },
    )

    label: StrictInt | None = Field(
        default=None,
        ge=0,
        le=9,
        description="The digit the drawing really is. Required, here or as `?label=`.",
    )
    profile: str | None = profile_field(PROFILE_DESCRIPTION)
    strokes: list[ExampleStroke] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_STROKES,
        description="The drawing as the pad recorded it: strokes, each a list of [x, y] points "
        f"in the image's pixels (at most {MAX_STROKES} strokes and {MAX_STROKE_POINTS:,} points "
        f"in all, each coordinate within ±{MAX_COORDINATE:,}).",
    )

    @model_validator(mode="after")
    def bounded_strokes(self) -> ExampleInput:
        points = sum(len(stroke) for stroke in self.strokes or [])
        if points > MAX_STROKE_POINTS:
            raise ValueError(f"strokes hold {points:,} points; at most {MAX_STROKE_POINTS:,}")
        return self


class ExampleStored(BaseModel):
    id: int = Field(description="The stored example's id.")
    profile: str | None = Field(description="Its profile, or null.")
    examples: int = Field(
        ge=1, description="Examples in the profile now; without a profile, in the whole store."
    )


class ProfileCreated(BaseModel):
    profile: str = Field(description="The new profile's id (128 random bits): keep it secret.")


class ProfileInfo(BaseModel):
    profile: str
    examples: int = Field(ge=0, description="Examples stored in the profile.")
    per_digit: list[int] = Field(
        min_length=10, max_length=10, description="Examples per label 0..9."
    )


# ---------------------------------------------------------------- whole numbers
MAX_NUMBER_STROKES = 200  # strokes in one drawing of a number (ten digits take about 25)
MAX_NUMBER_POINTS = 20_000  # [x, y] points in all its strokes together
# A 100x48 PNG of "174" (dark on transparent, as the pad exports) and the strokes that drew it.
EXAMPLE_NUMBER_DATA_URL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAGQAAAAwCAYAAADn/d+1AAACgklEQVR42u1a0VHDMAx99BggI2SEMkE6Ahs0GzSd"
    "oOkEwASUCToCZQLaCZoN8Ablg3D0ghVaS3Fso3eXO+q7KJafZekJAwqFQqFQKBQt7gG8AtgCmKq/PNwITG579tsA"
    "uAPQXGlj0b57EPavaO2uAeyFyOD6OyheAZw6T32lgycPzweAXMDfd6a/f2LCfN8w31942jgZgJJpY0YcUSYkQg4j"
    "E+rzWw+WsQbAJiRCuFh7IsUwF64kokN8/rcjE7Jvk2IpaHNlGXtiLtyKmPsGgaEeOsk57GRbUs+EfTy1OUUcE6SF"
    "uWVsw4iOjCg8du2jhPxRBc2Ic94VFRFdy6GcSIkQaie7iracyB2bjsgMqlMRSg7JBzjnnwmbeY+wZQvQVCKEqoJc"
    "z/kpUfmtOxG3kBagKRBCLcKTsAg0AB6HFrYpEFIJK2iqOLBpmYMSclkyl46OxldujJ2Q0lKWctokfS0SKCFuyZwj"
    "BEdvkcRMyD1RYroeVzVhb+nTqZgJWRDR4SIEM3hukaRGSF8l5FqpZWNHR8yEzIndvHdU+Ze0SLzgNkIy8h4VLZXI"
    "z/NKHwpirD7720DuksVFidB3L+vB8s0jozAI6pJFbEdWJhwdwV2yiI2QSlgIGo9zNykSMhduk/i6ZHGxuIwpqZeW"
    "c9jgdwf22oXiXLIoLOX3DsCbJYK9RKPPpH60fOt55E0i7n8sR9aMqFLWSAyxELISbJMoIQJC0NYmeUGCmEQaHTt4"
    "bvopIT9Kuvwv0SFBSDHw/GxKukGAd2pDIcQMrH6NsBCURhEaoVN8Nc6+a/B38C42+7bPxdaiQ6oQqqAa9D95Qrcf"
    "1Ia5gUJiw5Tw3CJRKBQKhaKLT/V2CLHvebJrAAAAAElFTkSuQmCC"
)
EXAMPLE_NUMBER_STROKES: list[Any] = [
    [[18, 8], [18, 40]],
    [[34, 9], [56, 9], [42, 40]],
    [[78, 8], [66, 30], [88, 30]],
    [[82, 18], [82, 41]],
]
EXAMPLE_NUMBER_DIGIT: dict[str, Any] = {
    "digit": 1,
    "verdict": "digit",
    "confidence": 1.0,
    "probabilities": [0.0, 1.0] + [0.0] * 8,
    "box": [15, 5, 21, 43],
    "input": [[0] * 28 for _ in range(28)],
}
NumberVerdict = Literal["number", "not_a_number"]
DigitVerdict = Literal["digit", "not_a_digit", "several_digits"]


class NumberInput(BaseModel):
    """A drawing of a whole number: the image, and optionally the strokes that drew it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"image": EXAMPLE_NUMBER_DATA_URL},
                {"image": EXAMPLE_NUMBER_DATA_URL, "strokes": EXAMPLE_NUMBER_STROKES},
            ]
        },
    )

    image: str = Field(
        description="A data URL (`data:image/png;base64,...`) or bare base64 of the drawing."
    )
    strokes: list[Stroke] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_NUMBER_STROKES,
        description="The drawing's strokes in drawing order, each a list of [x, y] points in the "
        "image's pixels (x right, y down); they say which ink belongs together, so digits that "
        f"touch are told apart. At most {MAX_NUMBER_STROKES} strokes and "
        f"{MAX_NUMBER_POINTS:,} points in all, within one image size of the image.",
    )
    profile: str | None = profile_field()

    @model_validator(mode="after")
    def bounded_strokes(self) -> NumberInput:
        points = sum(len(stroke) for stroke in self.strokes or [])
        if points > MAX_NUMBER_POINTS:
            raise ValueError(f"strokes hold {points:,} points; at most {MAX_NUMBER_POINTS:,}")
        return self


class NumberDigit(BaseModel):
    digit: int = Field(ge=0, le=9, description="The piece read as one digit.")
    verdict: DigitVerdict = Field(
        description='Whether the piece is one digit; only "digit" pieces make up `number`.'
    )
    confidence: float = Field(ge=0, le=1, description="The digit's probability.")
    probabilities: list[float] = Field(
        min_length=10, max_length=10, description="One per digit 0..9, summing to 1."
    )
    box: list[int] = Field(
        min_length=4,
        max_length=4,
        description="[x0, y0, x1, y1]: the piece's ink in the image's pixels, ends exclusive.",
    )
    input: list[list[int]] = Field(
        description="The 28x28 image the network saw, 0..255 ink high, before normalisation."
    )


class NumberResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": "174",
                    "verdict": "number",
                    "confidence": 0.9999,
                    "digits": [EXAMPLE_NUMBER_DIGIT],
                }
            ]
        }
    )

    number: str = Field(
        description='The digits read, left to right, of the pieces whose verdict is "digit".'
    )
    verdict: NumberVerdict = Field(
        description='"number" when there is at least one piece and every piece is a digit.'
    )
    confidence: float = Field(
        ge=0,
        le=1,
        description="The product of the pieces' confidences: how likely every digit is right, "
        "if each piece's reading is right or wrong on its own.",
    )
    digits: list[NumberDigit] = Field(description="The pieces, left to right.")
    profile: str | None = Field(default=None, description=ANSWER_PROFILE_DESCRIPTION)


class Health(BaseModel):
    status: str = "ok"


class ErrorResponse(BaseModel):
    detail: Any = Field(description="What was wrong with the request, for people.")
    code: str = Field(
        description="What was wrong, for programs: a stable snake_case code.\n\n"
        + "".join(f"- `{code}`: {meaning}\n" for code, meaning in CODES.items())
        + "\nAny other error: its HTTP reason phrase in snake_case (`bad_request`, ...).",
        examples=["no_ink"],
    )


def inline_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every `$ref` replaced by its definition, for `openapi_extra`.

    A schema spliced into the OpenAPI document by hand cannot point into `#/components` (FastAPI
    only lists the models routes declare) nor into its own `$defs` (a `#` pointer means the
    document root), so it must be self-contained. Our models are not recursive.
    """
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            resolved = {key: resolve(value) for key, value in node.items() if key != "$ref"}
            if "$ref" in node:  # the definition, plus any keywords written beside the reference
                return {**resolve(definitions[node["$ref"].rsplit("/", 1)[-1]]), **resolved}
            return resolved
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    inlined: dict[str, Any] = resolve(schema)
    return inlined


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations for the error statuses a route can answer with."""
    descriptions = {
        400: "Malformed body (`malformed_json`, `empty_body`), invalid base64 or undecodable "
        "image (`bad_image`).",
        413: "Body or image too large (`too_large`).",
        415: "Unsupported content type (`unsupported_media_type`).",
        422: "Wrong shape or values (`invalid_input`), or no ink in the drawing (`no_ink`).",
        403: "The database is at its size limit (DIGITS_MAX_DATABASE_MB; `database_full`): "
        "no new profiles or examples until room is made.",
        404: "No such profile, never created or deleted (`unknown_profile`).",
        429: "The profile holds as many examples as a profile may (DIGITS_MAX_PROFILE_EXAMPLES; "
        "`profile_full`).",
        503: "The example store is unavailable (its database is missing and cannot be created, "
        "read-only, full, corrupt or unreachable); prediction still works (`store_unavailable`).",
    }
    return {code: {"model": ErrorResponse, "description": descriptions[code]} for code in codes}
