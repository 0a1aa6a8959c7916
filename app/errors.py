"""The API's errors: every one is JSON `{"detail": ..., "code": ...}`; the codes live here.

`detail` is for people and its wording may change; `code` is for programs and does not: a
client keys on it (snake_case, never renamed, never reused for another meaning). Routes and
app/inputs.py raise `ApiError(status, code, detail)`. A plain HTTPException still gets a code
(`error_code`): from the model or store error it was raised from, else from its status.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Literal

from fastapi import HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.store import DatabaseFullError, ProfileFullError, StoreError, UnknownProfileError
from model.serving.preprocess import (
    ImageDecodeError,
    ImageTooLargeError,
    NoInkError,
    PixelValueError,
    PreprocessError,
    UnsupportedImageError,
)

ErrorCode = Literal[
    "bad_image",
    "no_ink",
    "invalid_input",
    "malformed_json",
    "empty_body",
    "too_large",
    "unsupported_media_type",
    "not_found",
    "unknown_profile",
    "method_not_allowed",
    "profile_full",
    "database_full",
    "store_unavailable",
    "internal_error",
]

# Every code, with what it means; the README and the OpenAPI error schema show this list.
CODES: dict[ErrorCode, str] = {
    "bad_image": "not an image, an undecodable or truncated one, or invalid base64",
    "no_ink": "the drawing or pixel list holds no ink: draw a digit",
    "invalid_input": "a value of the wrong shape, type or range (also every schema error)",
    "malformed_json": "the body is not JSON",
    "empty_body": "the request has no body",
    "too_large": "the body, an image, or a batch is over a limit",
    "unsupported_media_type": "a content type (or a data URL's type) that is not taken",
    "not_found": "no such page or endpoint",
    "unknown_profile": "no such profile (never created, or deleted)",
    "method_not_allowed": "the path does not answer this method (see the Allow header)",
    "profile_full": "the profile holds as many examples as a profile may",
    "database_full": "the database is at its size limit",
    "store_unavailable": "the example store cannot be used; prediction still works",
    "internal_error": "a fault of the server's (logged there)",
}

# A status's code when nothing more specific is known; any other status gets its HTTP reason
# phrase in snake_case (400 "bad_request", 429 "too_many_requests", 503 "service_unavailable").
STATUS_CODES: Mapping[int, ErrorCode] = {
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    500: "internal_error",
}

# The code of an error raised from one of these (most specific first).
CAUSE_CODES: tuple[tuple[type[Exception], ErrorCode], ...] = (
    (NoInkError, "no_ink"),
    (ImageTooLargeError, "too_large"),
    (ImageDecodeError, "bad_image"),
    (UnsupportedImageError, "bad_image"),
    (PixelValueError, "invalid_input"),
    (PreprocessError, "invalid_input"),
    (UnknownProfileError, "unknown_profile"),
    (ProfileFullError, "profile_full"),
    (DatabaseFullError, "database_full"),
    (StoreError, "store_unavailable"),  # StoreUnavailableError, and any other store failure
)

# Details raised with no error behind them, by routes that do not raise ApiError yet.
DETAIL_CODES: Mapping[tuple[int, str], ErrorCode] = {(404, "unknown profile"): "unknown_profile"}


class ApiError(HTTPException):
    """An HTTP error with its machine-readable `code` (one of CODES)."""

    def __init__(
        self,
        status_code: int,
        code: ErrorCode,
        detail: Any,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, detail, dict(headers) if headers else None)
        self.code: ErrorCode = code


def code_for_status(status: int) -> str:
    """The code of an error known only by its status."""
    if status in STATUS_CODES:
        return STATUS_CODES[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return f"http_{status}"
    return phrase.lower().replace("-", "_").replace(" ", "_")


def code_for_preprocess_error(error: PreprocessError) -> ErrorCode:
    """The code of an input the recipe refused (app/inputs.py raises it as an ApiError)."""
    return next(code for kind, code in CAUSE_CODES if isinstance(error, kind))


def error_code(error: StarletteHTTPException) -> str:
    """The code of any HTTP error: its own, else that of the model or store error a route raised
    it from (`raise HTTPException(...) from None` still keeps that in `__context__`), else one
    for its detail or status."""
    if isinstance(error, ApiError):
        return error.code
    cause = error.__context__
    for kind, code in CAUSE_CODES:
        if isinstance(cause, kind):
            return code
    if isinstance(error.detail, str) and (error.status_code, error.detail) in DETAIL_CODES:
        return DETAIL_CODES[(error.status_code, error.detail)]
    return code_for_status(error.status_code)
