"""The corrections routes, behind the token (they write and reveal stored data): single digits
at /v1/feedback, whole numbers read from photos at /v1/feedback/numbers. Each stores, pages,
shows, relabels and deletes rows of its table of the store (data.feedback); the numbers' routes
come first, so that /v1/feedback/numbers is never taken for a row id."""

import re
import sqlite3
from collections.abc import Callable
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as FastAPIPath
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from digitrec.data.feedback import MAX_PAGE, FeedbackFullError, FeedbackStore
from digitrec.data.numberset import MAX_LABEL
from digitrec.serve import schemas
from digitrec.serve.auth import require_token
from digitrec.serve.dependencies import EngineDep, FeedbackStoreDep, spend_feedback
from digitrec.serve.engine import Engine
from digitrec.serve.inputs import read_submission, request_body
from digitrec.serve.problems import IMAGE_ROUTES, Problem, problem_responses

router = APIRouter(dependencies=[Depends(require_token)], responses=problem_responses(401))
Params = ParamSpec("Params")
T = TypeVar("T")
MAX_ROW_ID = 2**63 - 1  # SQLite's largest row id (and offset)
RowId = Annotated[int, FastAPIPath(ge=1, le=MAX_ROW_ID, description="a stored row's id")]
IdList = Annotated[str, Query(max_length=2000, description="1,2,3")]


def _stored(work: Callable[Params, T], *args: Params.args, **options: Params.kwargs) -> T:
    """A call on the corrections store, its failures (locked, read-only, disk full) a 503."""
    try:
        return work(*args, **options)
    except FeedbackFullError as error:
        raise Problem(507, str(error)) from None
    except (OSError, sqlite3.Error) as error:
        raise Problem(503, f"the corrections store cannot be used now ({error})") from None


def _page(page: Any) -> dict[str, Any]:
    return {
        "items": [item.to_json() for item in page.items],
        "total": page.total,
        "corrections": page.corrections,
        "confirmations": page.confirmations,
    }


def _row_ids(ids: str) -> list[int]:
    try:
        row_ids = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        row_ids = []
    if not all(1 <= row_id <= MAX_ROW_ID for row_id in row_ids):
        raise Problem(422, "ids: row ids separated by commas, e.g. ids=4,8,15")
    if not 1 <= len(row_ids) <= MAX_PAGE:
        raise Problem(422, f"ids: 1 to {MAX_PAGE} row ids at once")
    return row_ids


def _png(png: bytes | None, what: str) -> Response:
    if png is None:
        raise Problem(404, f"no {what}")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})


# ---- whole numbers ---------------------------------------------------------------------------


@router.post(
    "/v1/feedback/numbers",
    summary="Store the correct text of a number read from an image (for fine-tuning the reader)",
    openapi_extra=request_body(
        batch=False,
        extra={"text": {"type": "string", "pattern": f"^[0-9]{{1,{MAX_LABEL}}}$"}},
    ),
    tags=["feedback"],
    status_code=201,
    responses={
        200: {
            "description": "The same image and text were stored already: that row",
            "model": schemas.StoredNumber,
        },
        **problem_responses(*IMAGE_ROUTES, 507),
    },
    response_model=schemas.StoredNumber,
    dependencies=[Depends(spend_feedback)],
)
async def number_feedback(
    request: Request, response: Response, engine: EngineDep, store: FeedbackStoreDep
) -> dict[str, Any]:
    """The server reads the image itself and stores what it read, the boxes of the digits it
    read and the image the reader saw (at most 1200 pixels long) beside the correct text. 201
    with the new row; 200 with the stored one when the same image and text came before."""
    submission = await read_submission(request, batch=False)
    text = _text(submission.fields.get("text"))
    upload = submission.images[0]
    stored = await engine.run(_store_number, engine, store, upload.data, upload.name, text)
    if stored["duplicate"]:
        response.status_code = 200
    return stored


@router.get(
    "/v1/feedback/numbers",
    summary="Review the stored number corrections: a page of them, newest first",
    tags=["feedback"],
    responses=problem_responses(422, 503),
    response_model=schemas.NumberPage,
)
async def number_feedback_page(
    store: FeedbackStoreDep,
    offset: int = Query(0, ge=0, le=MAX_ROW_ID),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    model: str | None = Query(None, max_length=200),
    kind: Literal["correction", "confirmation"] | None = Query(None),
) -> dict[str, Any]:
    """Each row without its image (GET /v1/feedback/numbers/{id}/image)."""
    page = await run_in_threadpool(
        _stored, store.page, offset=offset, limit=limit, model=model, kind=kind, task="numbers"
    )
    return _page(page)


@router.get(
    "/v1/feedback/numbers/{row_id:int}/image",
    summary="The line image of a stored number correction, as PNG",
    tags=["feedback"],
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **problem_responses(404, 422, 503)},
)
async def number_feedback_image(row_id: RowId, store: FeedbackStoreDep) -> Response:
    png = await run_in_threadpool(_stored, store.image, row_id, "numbers")
    return _png(png, f"number correction {row_id}")


@router.patch(
    "/v1/feedback/numbers/{row_id:int}",
    summary="Give a stored number correction another text",
    tags=["feedback"],
    responses=problem_responses(404, 422, 503),
    response_model=schemas.ReviewedNumber,
)
async def retext_number_feedback(
    row_id: RowId, retext: schemas.Retext, store: FeedbackStoreDep
) -> dict[str, Any]:
    row = await run_in_threadpool(_stored, store.relabel, row_id, retext.text, "numbers")
    if row is None:
        raise Problem(404, f"no number correction {row_id}")
    return row.to_json()  # type: ignore[no-any-return]


@router.delete(
    "/v1/feedback/numbers/{row_id:int}",
    summary="Delete a stored number correction",
    tags=["feedback"],
    status_code=204,
    response_class=Response,
    responses=problem_responses(404, 422, 503),
)
async def delete_number_feedback(row_id: RowId, store: FeedbackStoreDep) -> Response:
    if not await run_in_threadpool(_stored, store.delete, [row_id], "numbers"):
        raise Problem(404, f"no number correction {row_id}")
    return Response(status_code=204)


@router.delete(
    "/v1/feedback/numbers",
    summary="Delete stored number corrections, up to 100 at once",
    tags=["feedback"],
    responses=problem_responses(422, 503),
    response_model=schemas.Deleted,
)
async def delete_number_feedback_rows(store: FeedbackStoreDep, ids: IdList) -> dict[str, Any]:
    deleted = await run_in_threadpool(_stored, store.delete, _row_ids(ids), "numbers")
    return {"deleted": deleted}


def _text(value: Any) -> str:
    text = str(value).strip() if isinstance(value, str) else ""
    if not re.fullmatch(f"[0-9]{{1,{MAX_LABEL}}}", text):
        raise Problem(422, f"text: the correct number, 1 to {MAX_LABEL} digits 0-9")
    return text


def _store_number(
    engine: Engine, store: FeedbackStore, data: bytes, name: str, text: str
) -> dict[str, Any]:
    reading, png = engine.number_correction(data, name)
    boxes = [list(digit.box) for digit in reading.digits]
    stored = _stored(
        store.add_number, text, reading.text, reading.confidence, engine.model_version, name,
        png, boxes,
    )  # fmt: skip
    return stored.to_json()


# ---- single digits ---------------------------------------------------------------------------


@router.post(
    "/v1/feedback",
    summary="Store the correct label of an image (for fine-tuning later)",
    openapi_extra=request_body(
        batch=False, extra={"label": {"type": "integer", "minimum": 0, "maximum": 9}}
    ),
    tags=["feedback"],
    status_code=201,
    responses={
        200: {
            "description": "The same image and label were stored already: that row",
            "model": schemas.StoredCorrection,
        },
        **problem_responses(*IMAGE_ROUTES, 507),  # 503 also: the store cannot be written
    },
    response_model=schemas.StoredCorrection,
    dependencies=[Depends(spend_feedback)],
)
async def feedback(
    request: Request, response: Response, engine: EngineDep, store: FeedbackStoreDep
) -> dict[str, Any]:
    """201 with the new row; 200 with the stored one when the same image and label came before
    (one row each)."""
    submission = await read_submission(request, batch=False)
    label = _label(submission.fields.get("label"))
    upload = submission.images[0]
    stored = await engine.run(_store_feedback, engine, store, upload.data, upload.name, label)
    if stored["duplicate"]:
        response.status_code = 200
    return stored


@router.get(
    "/v1/feedback",
    summary="Review the stored corrections: a page of them, newest first",
    tags=["feedback"],
    responses=problem_responses(422, 503),
    response_model=schemas.FeedbackPage,
)
async def feedback_page(
    store: FeedbackStoreDep,
    offset: int = Query(0, ge=0, le=MAX_ROW_ID),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    label: int | None = Query(None, ge=0, le=9),
    model: str | None = Query(None, max_length=200),
    kind: Literal["correction", "confirmation"] | None = Query(None),
) -> dict[str, Any]:
    """Each row without its image (GET /v1/feedback/{id}/image); `total` counts the rows the
    filters match, `corrections` and `confirmations` the whole store."""
    page = await run_in_threadpool(
        _stored, store.page, offset=offset, limit=limit, label=label, model=model, kind=kind
    )
    return _page(page)


@router.get(
    "/v1/feedback/{row_id:int}/image",
    summary="The image of a stored correction, as PNG",
    tags=["feedback"],
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **problem_responses(404, 422, 503)},
)
async def feedback_image(row_id: RowId, store: FeedbackStoreDep) -> Response:
    return _png(await run_in_threadpool(_stored, store.image, row_id), f"correction {row_id}")


@router.patch(
    "/v1/feedback/{row_id:int}",
    summary="Relabel a stored correction",
    tags=["feedback"],
    responses=problem_responses(404, 422, 503),
    response_model=schemas.ReviewedCorrection,
)
async def relabel_feedback(
    row_id: RowId, relabel: schemas.Relabel, store: FeedbackStoreDep
) -> dict[str, Any]:
    """The row as it is now (when its image was stored with that label already, that row: the
    two are one)."""
    row = await run_in_threadpool(_stored, store.relabel, row_id, relabel.label)
    if row is None:
        raise Problem(404, f"no correction {row_id}")
    return row.to_json()  # type: ignore[no-any-return]


@router.delete(
    "/v1/feedback/{row_id:int}",
    summary="Delete a stored correction",
    tags=["feedback"],
    status_code=204,
    response_class=Response,
    responses=problem_responses(404, 422, 503),
)
async def delete_feedback(row_id: RowId, store: FeedbackStoreDep) -> Response:
    if not await run_in_threadpool(_stored, store.delete, [row_id]):
        raise Problem(404, f"no correction {row_id}")
    return Response(status_code=204)


@router.delete(
    "/v1/feedback",
    summary="Delete stored corrections, up to 100 at once",
    tags=["feedback"],
    responses=problem_responses(422, 503),
    response_model=schemas.Deleted,
)
async def delete_feedback_rows(store: FeedbackStoreDep, ids: IdList) -> dict[str, Any]:
    return {"deleted": await run_in_threadpool(_stored, store.delete, _row_ids(ids))}


def _label(value: Any) -> int:
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    if not re.fullmatch("[0-9]", text):
        raise Problem(422, "label: the correct digit, an integer from 0 to 9")
    return int(text)


def _store_feedback(
    engine: Engine, store: FeedbackStore, data: bytes, name: str, label: int
) -> dict[str, Any]:
    prediction, png = engine.correction_image(data, name)
    try:
        stored = store.add(
            label, prediction.digit, prediction.confidence, engine.model_version, name, png
        )
    except FeedbackFullError as error:
        raise Problem(507, str(error)) from None
    except (OSError, sqlite3.Error) as error:  # the disk filled up, the file became read-only
        raise Problem(503, f"the correction could not be stored ({error})") from None
    return stored.to_json()
