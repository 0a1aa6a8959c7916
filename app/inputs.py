"""Turn an HTTP request into 28x28 uint8 images, or an HTTP error saying what was wrong.

The size limit is enforced while the body streams in, and every preprocessing failure maps
to one status: 400 undecodable, 413 too large, 422 wrong values or no ink. Each error also
carries its code (app/errors.py): `bad_image`, `too_large`, `invalid_input`, `no_ink`, ...

Where the work runs: a slow image must never block the event loop (and with it /healthz and
every other client), so images are decoded in a worker thread, except for input known to be
quick, which is cheaper to handle in place than to hand over: 784 pixels, or a small PNG of a
modest size such as the page's 280x280 drawings (`decodes_quickly`).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from typing import Any, TypeVar

import numpy as np
from fastapi import Request
from numpy.typing import NDArray
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from app.errors import ApiError, code_for_preprocess_error
from app.schemas import BatchInput, ImageInput, inline_json_schema
from app.settings import Settings
from model.serving.preprocess import (
    ImageDecodeError,
    ImageLimits,
    ImageTooLargeError,
    PreprocessError,
    header_pixels,
    image_to_mnist,
    pixels_to_mnist,
)

IMAGE_TYPES = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "image/bmp",
    "image/tiff",
    "application/octet-stream",
)
# Other names clients send for those types (curl and some browsers say image/jpg).
IMAGE_TYPE_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/x-ms-bmp": "image/bmp",
}
ItemT = TypeVar("ItemT", bound=ImageInput)
# A batch's 422 names at most this many bad instances, then says how many more there are.
MAX_LISTED_INSTANCES = 20
# Bodies up to this size are read and discarded before a 413; larger ones are cut off.
DRAIN_LIMIT = 64 * 1024 * 1024
# RFC 2397: the scheme, the media type and "base64" are case-insensitive.
DATA_URL = re.compile(
    r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[\w=.+-]+)*?;base64,", re.ASCII | re.IGNORECASE
)
# Decoded on the event loop (see `decodes_quickly`): an 8-bit PNG of at most this many bytes,
# pixels and chunks. The page sends 280x280 PNGs of a few KB, which decode and go through the
# recipe in about a millisecond; a worker thread would add its own hand-over cost to that.
QUICK_PNG_BYTES = 64 * 1024
QUICK_PNG_PIXELS = 320 * 320
QUICK_PNG_CHUNKS = 16  # Pillow reads each chunk in Python: thousands of tiny ones are slow
QUICK_BASE64_CHARS = 4 * QUICK_PNG_BYTES // 3 + 100  # its base64, with a data URL prefix
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks whose content Pillow inflates (text, an ICC profile: up to 1 MB each) or parses entry
# by entry in Python (EXIF): a small PNG can carry enough of them to take many milliseconds.
SLOW_PNG_CHUNKS = (b"zTXt", b"iTXt", b"iCCP", b"eXIf")


def image_body(schema: type[ImageInput]) -> dict[str, Any]:
    """`openapi_extra` declaring what `read_image_input` accepts: JSON of `schema`, or raw bytes
    of any image type."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": inline_json_schema(schema)},
                **{kind: binary for kind in IMAGE_TYPES},
            },
        }
    }


async def read_json_or_image_body(request: Request, settings: Settings) -> tuple[bool, bytes]:
    """(is it JSON, the body) of a request that may send JSON or a raw image; 415 for any other
    content type, 413 for a body over the limit."""
    kind = media_type(request)
    if kind != "application/json" and kind not in IMAGE_TYPES:
        check_not_empty(request)
        raise ApiError(
            415,
            "unsupported_media_type",
            f"unsupported content type {kind or 'none'!r}; send JSON or an image",
        )
    return kind == "application/json", await read_body(request, settings.max_body_bytes)


async def read_image_input(
    request: Request, settings: Settings, schema: type[ItemT]
) -> tuple[NDArray[np.uint8], ItemT | None]:
    """One image from JSON (`schema`: ImageInput or an extension of it) or a raw image body.

    Returns the (28, 28) uint8 digit and the parsed JSON item (None for a raw image body).
    Images are decoded in a worker thread unless they are known to be quick (module docstring).
    """
    is_json, body = await read_json_or_image_body(request, settings)
    limits = settings.image_limits
    if not is_json:
        return await decode_image(body, limits), None
    item: ItemT = parse_json(body, schema)
    if item.image is None:  # 784 numbers, validated and used as they are: quick
        return item_to_pixels(item, limits), item
    if len(item.image) <= QUICK_BASE64_CHARS:
        return await decode_image(decode_base64_image(item.image), limits), item
    return await run_in_threadpool(item_to_pixels, item, limits), item


async def decode_image(data: bytes, limits: ImageLimits) -> NDArray[np.uint8]:
    """Encoded image -> (28, 28) uint8 digit: in place if `decodes_quickly`, else in a thread."""
    if decodes_quickly(data):
        return raw_image_to_pixels(data, limits)
    return await run_in_threadpool(raw_image_to_pixels, data, limits)


def decodes_quickly(data: bytes) -> bool:
    """True for a PNG cheap enough to decode on the event loop: at most QUICK_PNG_BYTES, a header
    claiming at most QUICK_PNG_PIXELS of at most 8 bits, at most QUICK_PNG_CHUNKS chunks, none
    of them SLOW_PNG_CHUNKS.

    Read from the chunk headers alone, a bounded walk; anything else (other formats, a bigger,
    odder or malformed PNG) goes to a worker thread, where it is checked and decoded as before.
    """
    if not 33 <= len(data) <= QUICK_PNG_BYTES or not data.startswith(PNG_SIGNATURE):
        return False  # 33 bytes: the signature and a complete IHDR chunk
    _, kind, width, height, bit_depth = struct.unpack_from(">I4sIIB", data, 8)
    if kind != b"IHDR" or width * height > QUICK_PNG_PIXELS or bit_depth > 8:
        return False
    position = len(PNG_SIGNATURE)
    for _ in range(QUICK_PNG_CHUNKS):
        if position + 8 > len(data):
            return True  # truncated: Pillow refuses it quickly
        length, kind = struct.unpack_from(">I4s", data, position)
        if kind in SLOW_PNG_CHUNKS:
            return False
        if kind == b"IEND":
            return True
        position += 12 + length  # length, type, data, CRC
    return False


def check_attack_limits(epsilon: int, steps: int, settings: Settings) -> None:
    """422 unless the attack stays within the server's limits."""
    if epsilon > settings.max_attack_epsilon:
        raise ApiError(
            422,
            "invalid_input",
            f"epsilon {epsilon} is over the limit of {settings.max_attack_epsilon}",
        )
    if steps > settings.max_attack_steps:
        raise ApiError(
            422, "invalid_input", f"steps {steps} is over the limit of {settings.max_attack_steps}"
        )


def status_for(error: PreprocessError) -> int:
    if isinstance(error, ImageDecodeError):
        return 400
    if isinstance(error, ImageTooLargeError):
        return 413
    return 422


def preprocess_error(error: PreprocessError) -> ApiError:
    """The HTTP error for an input the recipe refused: its status, code and message."""
    return ApiError(status_for(error), code_for_preprocess_error(error), str(error))


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or 413 once it exceeds `limit` bytes (memory stays bounded by `limit`).

    An over-limit body of moderate size is still read to its end and thrown away: a server
    that answers early and closes makes most clients see a reset instead of the 413.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > DRAIN_LIMIT:
        raise _too_large(limit, close=True)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > DRAIN_LIMIT:
            raise _too_large(limit, close=True)
        if size <= limit:
            chunks.append(chunk)
    if size > limit:
        raise _too_large(limit, close=False)
    body = b"".join(chunks)
    if not body:
        raise ApiError(400, "empty_body", "empty request body")
    return body


def _too_large(limit: int, close: bool) -> ApiError:
    # When the rest of the body is left unread, the connection cannot be reused: say so.
    headers = {"Connection": "close"} if close else None
    return ApiError(
        413, "too_large", f"request body over the limit of {limit:,} bytes", headers=headers
    )


def check_not_empty(request: Request) -> None:
    """400 `empty_body` for a request that says it sends nothing (no Content-Type, a zero or
    missing Content-Length, not chunked): a bare `curl -X POST` lacks a body, not a type."""
    headers = request.headers
    if (
        "content-type" not in headers
        and headers.get("content-length", "0").strip() == "0"
        and "transfer-encoding" not in headers
    ):
        raise ApiError(400, "empty_body", "empty request body")


def media_type(request: Request) -> str:
    """The request's media type, lower case, without parameters, aliases given their usual name."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return IMAGE_TYPE_ALIASES.get(kind, kind)


def parse_json(body: bytes, model: type[BaseModel]) -> Any:
    """Validate a JSON body against a schema model: 400 if not JSON, 422 if the wrong shape.

    pydantic's own parser bounds nesting depth, so hostile deeply nested JSON fails fast.
    """
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        invalid = [e for e in error.errors(include_url=False) if e["type"] == "json_invalid"]
        if invalid:
            reason = str(invalid[0].get("ctx", {}).get("error", ""))
            if reason.startswith("number out of range"):
                # Well-formed JSON whose integer is too long to read (over 4,300 digits): like
                # 1e400, a value out of range (422), not a malformed body.
                raise ApiError(422, "invalid_input", reason) from None
            raise ApiError(400, "malformed_json", f"malformed JSON: {invalid[0]['msg']}") from None
        raise ApiError(422, "invalid_input", _validation_detail(error)) from None


ValueT = TypeVar("ValueT")


async def single_query_values(request: Request) -> None:
    """A query parameter the route reads, given twice, is a 422 (an app-wide dependency; async,
    as a plain function would cost every request a hop to a worker thread, about 0.25 ms):
    FastAPI would silently take one of them, and `?profile=a&profile=b` could store an example
    in the wrong profile. Parameters the route does not read are left alone."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    read = {param.alias for param in getattr(dependant, "query_params", [])}
    names = [name for name, _ in request.query_params.multi_items() if name in read]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        given = ", ".join(f"?{name}=" for name in repeated)
        raise ApiError(422, "invalid_input", f"{given} given more than once; give each once")


def body_or_query(name: str, in_body: ValueT | None, in_query: ValueT | None) -> ValueT | None:
    """A field a JSON body carries and the query string may carry too (`profile`, `label`).

    The query's value stands in for one the body leaves out; two different values are a 422
    naming both, so a value is never silently dropped (an example sent with `?profile=` and a
    JSON body must not land outside the profile, where "Forget me" cannot reach it).
    """
    if in_query is None:
        return in_body
    if in_body is None or in_body == in_query:
        return in_query
    raise ApiError(
        422,
        "invalid_input",
        f"'{name}' differs between the JSON body ({in_body!r}) and the query string "
        f"(?{name}={in_query}); give it once",
    )


def decode_base64_image(text: str) -> bytes:
    """Bytes of a data URL or bare base64 string.

    A data URL's media type must be one a raw image body may have (`IMAGE_TYPES`), so the two
    ways of sending the same bytes get the same answer; any other type is a 415.
    """
    match = DATA_URL.match(text)
    if match:
        kind = (match.group("type") or "").lower()
        if IMAGE_TYPE_ALIASES.get(kind, kind) not in IMAGE_TYPES:
            not_image = f"data URL of type {kind or 'unknown'!r} is not an image type we read"
            raise ApiError(415, "unsupported_media_type", not_image)
        text = text[match.end() :]
    elif text[:5].lower() == "data:":
        raise ApiError(
            400, "bad_image", "data URL must be base64-encoded (data:image/png;base64,...)"
        )
    try:
        return base64.b64decode(re.sub(r"\s+", "", text), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "bad_image", "invalid base64 in 'image'") from None


def item_to_pixels(item: ImageInput, limits: ImageLimits) -> NDArray[np.uint8]:
    """One validated input -> (28, 28) uint8, ink high."""
    if item.image is not None:
        return raw_image_to_pixels(decode_base64_image(item.image), limits)
    try:
        return pixels_to_mnist(item.pixels)
    except PreprocessError as error:
        raise preprocess_error(error) from None


def items_to_pixels(
    batch: BatchInput, limits: ImageLimits, max_pixels: int
) -> list[NDArray[np.uint8]]:
    """Every instance of a batch, or one error naming every bad instance and what is wrong.

    A size limit stops the batch at once: 413 naming the instance that went over it. The images
    may decode to at most `max_pixels` pixels in all: each one's header is read before it is
    decoded, so a batch of small files that inflate to huge images is refused (413) before it
    costs seconds of CPU. Any other refusal is noted and the rest are still read: one bad
    instance gets its own error (status and code) with `instances[i]: ` in front; several get
    one 422 listing each (`several_refused`).
    """
    images = []
    refused: list[tuple[int, ApiError]] = []
    pixels = 0
    for index, item in enumerate(batch.instances):
        try:
            if item.image is None:
                images.append(item_to_pixels(item, limits))
                continue
            data = decode_base64_image(item.image)
            pixels += header_pixels(data)
            if pixels > max_pixels:
                raise ApiError(
                    413,
                    "too_large",
                    f"the batch's images hold over {max_pixels:,} pixels in all; "
                    "send fewer or smaller images",
                )
            images.append(raw_image_to_pixels(data, limits))
        except ApiError as error:  # every refusal here is one (this module raises them)
            if error.status_code == 413:
                raise _in_instance(index, error) from None
            refused.append((index, error))
    if len(refused) == 1:
        raise _in_instance(*refused[0]) from None
    if refused:
        raise several_refused(refused)
    return images


def _in_instance(index: int, error: ApiError) -> ApiError:
    """`error`, its detail prefixed with the instance it came from."""
    detail = f"instances[{index}]: {error.detail}"
    return ApiError(error.status_code, error.code, detail, headers=error.headers)


def several_refused(refused: list[tuple[int, ApiError]]) -> ApiError:
    """422 naming each bad instance of a batch and why (the first MAX_LISTED_INSTANCES), e.g.
    "3 instances refused: instances[1]: no ink found: draw a digit; instances[4]: ...".

    Its code is theirs when they share one (all `no_ink`, say), else `invalid_input`.
    """
    listed = "; ".join(f"instances[{i}]: {e.detail}" for i, e in refused[:MAX_LISTED_INSTANCES])
    more = len(refused) - MAX_LISTED_INSTANCES
    detail = f"{len(refused)} instances refused: {listed}"
    if more > 0:
        detail += f"; and {more} more"
    codes = {error.code for _, error in refused}
    return ApiError(422, codes.pop() if len(codes) == 1 else "invalid_input", detail)


def raw_image_to_pixels(body: bytes, limits: ImageLimits) -> NDArray[np.uint8]:
    try:
        return image_to_mnist(body, limits)
    except PreprocessError as error:
        raise preprocess_error(error) from None


def _validation_detail(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in error.errors(include_url=False, include_input=False)[:20]
    ]
