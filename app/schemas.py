"""Every request and response body of the JSON API, in one place."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, model_validator

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
        description="28x28 nested list or flat list of 784 numbers 0..255, ink high, already "
        "MNIST-style (cropped, 20x20 in a 28x28 frame, centred): used as is, only normalised.",
    )

    @model_validator(mode="after")
    def exactly_one(self) -> ImageInput:
        if (self.image is None) == (self.pixels is None):
            raise ValueError("give exactly one of 'image' or 'pixels'")
        return self


class BatchInput(BaseModel):
    """Many images, answered in the same order."""

    model_config = ConfigDict(extra="forbid")

    instances: list[ImageInput] = Field(min_length=1)


class PredictResponse(BaseModel):
    digit: int = Field(ge=0, le=9, description="The most likely digit.")
    confidence: float = Field(ge=0, le=1, description="Its probability.")
    probabilities: list[float] = Field(
        min_length=10, max_length=10, description="One per digit 0..9, summing to 1."
    )
    input: list[list[int]] = Field(
        description="The 28x28 image the network saw, 0..255 ink high, before normalisation."
    )


class BatchResponse(BaseModel):
    predictions: list[PredictResponse]


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


# ---------------------------------------------------------------- looking inside the network
DEFAULT_ATTACK_EPSILON = 64  # pixel units 0..255: enough to turn most MNIST digits (tested)
DEFAULT_ATTACK_STEPS = 20  # most attacks succeed within 10 steps


class ExplainResponse(BaseModel):
    digit: int = Field(ge=0, le=9, description="The most likely digit.")
    probabilities: list[float] = Field(
        min_length=10, max_length=10, description="One per digit 0..9, summing to 1."
    )
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


class Health(BaseModel):
    status: str = "ok"


class ErrorResponse(BaseModel):
    detail: Any = Field(description="What was wrong with the request.")


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
        400: "Malformed body, invalid base64, or undecodable image.",
        413: "Body or image too large.",
        415: "Unsupported content type.",
        422: "Wrong shape or values, or no ink in the drawing.",
    }
    return {code: {"model": ErrorResponse, "description": descriptions[code]} for code in codes}
