"""Images in requests: a multipart upload (field `file`, or repeated `files` for a batch) or JSON
(`{"image": BASE64}` / `{"images": [...]}`, plain base64 or a `data:` URL), or for one image the
raw bytes as the body (`image/*` or `application/octet-stream`). What the bytes are is
decided by decoding them (content sniffing), never by the file name or the declared type."""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from digitrec.serve.problems import Problem

MAX_FIELDS = 16  # form fields besides the files: only `label` is used


@dataclass(frozen=True)
class Upload:
    name: str  # the uploaded file's name, or "image[i]" for base64
    data: bytes


@dataclass(frozen=True)
class Submission:
    images: list[Upload]
    fields: dict[str, Any]  # the other form fields / JSON keys (e.g. "label")


# Shown in the OpenAPI docs of every route that takes images.
def request_body(batch: bool, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    key, file_key = ("images", "files") if batch else ("image", "file")
    # An image's bytes must also decode (magic number, header, pixels): no schema can say so,
    # and the answer to bytes that do not is 415 (serve.problems). In a batch each item gets
    # its own answer, an error included: any string is a valid item there.
    binary = {"type": "string", "format": "binary"}
    text = {"type": "string", "description": "base64, or a data: URL"}
    many = {"type": "array", "minItems": 1}
    one = {"minLength": 1}
    multipart: dict[str, Any] = {
        file_key: {**many, "items": binary} if batch else {**binary, **one}
    }
    plain: dict[str, Any] = {key: {**many, "items": text} if batch else {**text, **one}}
    for name, schema in (extra or {}).items():
        multipart[name] = plain[name] = schema
    required = [file_key, *(extra or {})]
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": multipart, "required": required}
                },
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": plain,
                        "required": [key, *(extra or {})],
                    }
                },
            },
        }
    }


async def read_submission(request: Request, *, batch: bool, batch_max: int = 1) -> Submission:
    """The images (and other fields) of a request; a Problem (4xx) when there are none."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        submission = await _multipart(request, batch, batch_max)
    elif kind == "application/json":
        submission = await _json(request, batch)
    elif not batch and (kind.startswith("image/") or kind == "application/octet-stream"):
        body = await request.body()  # the raw image (curl --data-binary @digit.png)
        submission = Submission([Upload("image[0]", body)] if body else [], {})
    else:
        raise Problem(
            415,
            "send the image as multipart/form-data (field 'file'), JSON {\"image\": base64} "
            "or a raw image body",
        )
    if not submission.images:
        what = "'files' (multipart) or 'images' (JSON)" if batch else "'file' or 'image'"
        raise Problem(422, f"no image in the request: expected {what}")
    if len(submission.images) > batch_max:
        raise Problem(413, f"too many images: at most {batch_max} per request")
    return submission


async def _multipart(request: Request, batch: bool, batch_max: int) -> Submission:
    key = "files" if batch else "file"
    try:
        form = await request.form(max_files=batch_max, max_fields=MAX_FIELDS)
    except Problem:  # the body's size and time limits
        raise
    except HTTPException as error:  # Starlette's own limits on files and fields
        if "files" in str(error.detail):
            raise Problem(413, f"too many images: at most {batch_max} per request") from None
        raise Problem(422, f"{error.detail}") from None
    except ClientDisconnect:
        raise
    except Exception as error:  # python-multipart's parse errors
        raise Problem(400, f"malformed multipart body: {error}") from None
    images: list[Upload] = []
    fields: dict[str, Any] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != key:
                    raise Problem(422, f"unexpected file field {name!r}: send the image as {key!r}")
                images.append(Upload(value.filename or f"image[{len(images)}]", await value.read()))
            else:
                fields[name] = value
    finally:
        await form.close()  # the spooled temporary files of the uploads
    return Submission(images, fields)


async def _json(request: Request, batch: bool) -> Submission:
    # Parsing (up to the body limit) and base64 decoding take a while for big bodies: they run
    # in a worker thread so that they never hold up the event loop and the other requests.
    return await run_in_threadpool(_parse_json, await request.body(), batch)


def _parse_json(data: bytes, batch: bool) -> Submission:
    try:
        body = json.loads(data)
    except (ValueError, RecursionError) as error:  # includes JSONDecodeError, bad UTF-8
        raise Problem(400, f"body is not valid JSON: {str(error)[:200]}") from None
    if not isinstance(body, dict):
        raise Problem(422, "the JSON body must be an object")
    key = "images" if batch else "image"
    raw = body.pop(key, None)
    if raw is None:
        return Submission([], body)
    items = raw if batch else [raw]
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        shape = "a list of base64 strings" if batch else "a base64 string"
        raise Problem(422, f"{key!r} must be {shape}")
    return Submission([Upload(f"image[{i}]", decode_base64(s)) for i, s in enumerate(items)], body)


def decode_base64(text: str) -> bytes:
    """Plain base64 or a data: URL -> bytes; a Problem if it is neither."""
    if text.startswith("data:"):
        header, comma, text = text.partition(",")
        if not comma or not header.endswith(";base64"):
            raise Problem(422, "a data: URL must be base64-encoded (data:image/png;base64,...)")
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Problem(422, "image is not valid base64") from None
