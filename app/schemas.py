"""Every request and response body of the JSON API, in one place."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, model_validator

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
