"""The /v1 endpoints, health, metrics and the page. Each route takes what it needs as dependencies
(serve.dependencies), parses its request, hands the work to the engine's inference pool, counts
what it read, and answers JSON of its response model (serve.schemas; problems on failure).

Three routers, by who may call them (serve.auth): `router` (reading digits and numbers, the
models: open, or behind the token with auth "all"), `private` (what writes or reveals stored
data — corrections, metrics: always behind the token), `public` (health, the page: never)."""

import base64
import re
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as FastAPIPath
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from digitrec.data.feedback import MAX_PAGE, FeedbackStore
from digitrec.errors import DigitrecError
from digitrec.serve import schemas
from digitrec.serve.auth import require_token
from digitrec.serve.dependencies import (
    CorrectionsDep,
    EngineDep,
    FeedbackStoreDep,
    LimitsDep,
    MetricsDep,
    PackagedModelsDep,
    SettingsDep,
    client_of,
    spend_feedback,
    spend_inference,
)
from digitrec.serve.engine import Engine
from digitrec.serve.guard import html_policy
from digitrec.serve.inputs import read_submission, request_body
from digitrec.serve.problems import IMAGE_ROUTES, Problem, problem_responses
from digitrec.serve.workers import SUPERVISOR_ENV

STATIC = Path(__file__).resolve().parent / "static"
MIN_FREE_BYTES = 100 * 1024 * 1024  # /healthz's disk check says "low" under this
router = APIRouter()
private = APIRouter(dependencies=[Depends(require_token)], responses=problem_responses(401))
public = APIRouter()


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


@router.post(
    "/v1/predict",
    summary="Read the one digit in an image",
    openapi_extra=request_body(batch=False),
    tags=["recognize"],
    responses=problem_responses(*IMAGE_ROUTES),
    response_model=schemas.Prediction,
    dependencies=[Depends(spend_inference)],
    response_model_exclude_unset=True,  # absent fields (reason, error) stay absent
)
async def predict(
    request: Request,
    engine: EngineDep,
    metrics: MetricsDep,
    threshold: float | None = Query(None, ge=0.0, le=1.0),
) -> dict[str, Any]:
    started = time.perf_counter()
    upload = (await read_submission(request, batch=False)).images[0]
    result = await engine.run(engine.predict_one, upload.data, upload.name, threshold)
    metrics.count_digit(result.digit, result.reason)
    return {**result.to_json(), "model": engine.model_name, "ms": _ms(started)}


@router.post(
    "/v1/predict/batch",
    summary="Read the one digit in each of several images",
    openapi_extra=request_body(batch=True),
    tags=["recognize"],
    responses=problem_responses(*IMAGE_ROUTES),
    response_model=schemas.Predictions,
    response_model_exclude_unset=True,  # absent fields (reason, error) stay absent
)
async def predict_batch(
    request: Request, engine: EngineDep, metrics: MetricsDep, limits: LimitsDep
) -> dict[str, Any]:
    started = time.perf_counter()
    submission = await read_submission(request, batch=True, batch_max=engine.settings.batch_max)
    limits.inference.take(client_of(request), len(submission.images))
    datas = [upload.data for upload in submission.images]
    names = [upload.name for upload in submission.images]
    results = await engine.run(engine.predict, datas, names)
    for result in results:
        if not result.error:
            metrics.count_digit(result.digit, result.reason)
    return {
        "results": [r.to_json() for r in results],
        "model": engine.model_name,
        "ms": _ms(started),
    }


@router.post(
    "/v1/read",
    summary="Read the handwritten number (a line of digits) in an image",
    openapi_extra=request_body(batch=False),
    tags=["recognize"],
    responses=problem_responses(*IMAGE_ROUTES),
    response_model=schemas.Reading,
    dependencies=[Depends(spend_inference)],
    response_model_exclude_unset=True,  # absent fields (reason, error) stay absent
)
async def read(request: Request, engine: EngineDep, metrics: MetricsDep) -> dict[str, Any]:
    started = time.perf_counter()
    upload = (await read_submission(request, batch=False)).images[0]
    reading, (width, height) = await engine.run(engine.read, upload.data, upload.name)
    for digit in reading.digits:
        metrics.count_digit(digit.digit, None)
    if not reading.digits:
        metrics.count_digit(None, reading.reason or "no digits found")
    body = {**reading.to_json(), "width": width, "height": height}
    return {**body, "model": engine.model_name, "ms": _ms(started)}


@router.post(
    "/v1/explain",
    summary="Why: the digit, the 28×28 image the network saw and a saliency overlay",
    openapi_extra=request_body(batch=False),
    tags=["recognize"],
    responses={
        200: {"content": {"image/png": {}}},
        **problem_responses(*IMAGE_ROUTES, 501),  # 501: a model without network weights
    },
    response_model=schemas.Explanation,
    dependencies=[Depends(spend_inference)],
    response_model_exclude_unset=True,  # absent fields (reason, error) stay absent
)
async def explain(
    request: Request,
    engine: EngineDep,
    metrics: MetricsDep,
    format: str = Query("json", pattern="^(json|png)$"),
) -> Any:
    started = time.perf_counter()
    upload = (await read_submission(request, batch=False)).images[0]
    result = await engine.run(engine.explain, upload.data, upload.name)
    metrics.count_digit(result["digit"], result.get("reason"))
    if format == "png":
        return Response(result["saliency_png"], media_type="image/png")
    images = {key: data_url(result[key]) for key in ("input_png", "saliency_png")}
    return {**result, **images, "model": engine.model_name, "ms": _ms(started)}


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@private.post(
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


Params = ParamSpec("Params")
T = TypeVar("T")
MAX_ROW_ID = 2**63 - 1  # SQLite's largest row id (and offset)
RowId = Annotated[int, FastAPIPath(ge=1, le=MAX_ROW_ID, description="a stored row's id")]


def _stored(work: Callable[Params, T], *args: Params.args, **options: Params.kwargs) -> T:
    """A call on the corrections store, its failures (locked, read-only, disk full) a 503."""
    try:
        return work(*args, **options)
    except (OSError, sqlite3.Error) as error:
        raise Problem(503, f"the corrections store cannot be used now ({error})") from None


@private.get(
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
    return {
        "items": [item.to_json() for item in page.items],
        "total": page.total,
        "corrections": page.corrections,
        "confirmations": page.confirmations,
    }


@private.get(
    "/v1/feedback/{row_id}/image",
    summary="The image of a stored correction, as PNG",
    tags=["feedback"],
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **problem_responses(404, 422, 503)},
)
async def feedback_image(row_id: RowId, store: FeedbackStoreDep) -> Response:
    png = await run_in_threadpool(_stored, store.image, row_id)
    if png is None:
        raise Problem(404, f"no correction {row_id}")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})


@private.patch(
    "/v1/feedback/{row_id}",
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
    return row.to_json()


@private.delete(
    "/v1/feedback/{row_id}",
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


@private.delete(
    "/v1/feedback",
    summary="Delete stored corrections, up to 100 at once",
    tags=["feedback"],
    responses=problem_responses(422, 503),
    response_model=schemas.Deleted,
)
async def delete_feedback_rows(
    store: FeedbackStoreDep, ids: str = Query(..., max_length=2000, description="1,2,3")
) -> dict[str, Any]:
    try:
        row_ids = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        row_ids = []
    if not all(1 <= row_id <= MAX_ROW_ID for row_id in row_ids):
        raise Problem(422, "ids: row ids separated by commas, e.g. ids=4,8,15")
    if not 1 <= len(row_ids) <= MAX_PAGE:
        raise Problem(422, f"ids: 1 to {MAX_PAGE} row ids at once")
    return {"deleted": await run_in_threadpool(_stored, store.delete, row_ids)}


def _label(value: Any) -> int:
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    if not re.fullmatch("[0-9]", text):
        raise Problem(422, "label: the correct digit, an integer from 0 to 9")
    return int(text)


def _store_feedback(
    engine: Engine, store: FeedbackStore, data: bytes, name: str, label: int
) -> dict[str, Any]:
    from digitrec.data.feedback import FeedbackFullError

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


@router.get(
    "/v1/models",
    summary="The model being served and the packaged ones",
    tags=["info"],
    responses=problem_responses(),
    response_model=schemas.Models,
)
async def models(engine: EngineDep, packaged: PackagedModelsDep) -> dict[str, Any]:
    reader = "segment" if engine.line_reader is None else "line"
    loaded = {
        "name": engine.model_name,
        "version": engine.version,
        "backend": engine.backend,
        "reader": reader,
    }
    return {
        "loaded": {**loaded, "card": engine.classifier.card.to_json()},
        "available": packaged,
    }


@private.post(
    "/v1/models/reload",
    summary="Switch to the model version promoted last, without a restart",
    tags=["info"],
    responses=problem_responses(403, 408, 413, 503),
    response_model=schemas.Reloaded,
)
async def reload_model(engine: EngineDep) -> dict[str, Any]:
    """Loads and warms the active version (`digitrec models promote|rollback`) beside the one
    in use and switches atomically: no request fails or waits for it. With several workers,
    the others are told too (through the supervisor, as by SIGHUP) and switch on their own."""
    try:
        reloaded = await run_in_threadpool(engine.reload)
    except Exception as error:  # a broken file, a model torch cannot load: the old one serves on
        detail = str(error) if isinstance(error, DigitrecError) else repr(error)
        raise Problem(
            503, f"the new model cannot be loaded; still serving the old ({detail})"
        ) from None
    told = tell_other_workers()
    return {
        "model": engine.model_name,
        "version": engine.version,
        "reloaded": reloaded,
        "workers": "all" if told else "this",
    }


def tell_other_workers() -> bool:
    """Under `digitrec serve --workers N`: SIGHUP to the supervisor, which passes it on to
    every worker (serve.workers). False for a single server process."""
    import os
    import signal

    supervisor = os.environ.get(SUPERVISOR_ENV)
    if supervisor is None or supervisor != str(os.getppid()):
        return False
    os.kill(int(supervisor), signal.SIGHUP)
    return True


# What a /models/*.onnx route answers: the graph, or why there is none (404) or it cannot be made.
ONNX_FILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {"schema": {"type": "string"}}}},
    **problem_responses(404, 503),
}


@router.get(
    "/models/line-reader.onnx",
    summary="The line reader as ONNX, for reading drawn numbers in the browser",
    tags=["info"],
    response_class=FileResponse,
    responses=ONNX_FILE,
)
async def line_reader_model(engine: EngineDep) -> FileResponse:
    """The server's line reader for one line (reading.line_onnx): input "line" (1, 1, 32, W)
    ink in [0, 1], W a multiple of 4; output "log_probs" (1, W/4, 11). Outside /v1/ so that a
    page that cannot reach the API still reads what is drawn on it."""
    path = await run_in_threadpool(engine.browser_model, "line-reader")
    headers = {"Cache-Control": "no-cache"}
    return FileResponse(path, media_type="application/octet-stream", headers=headers)


@router.get(
    "/models/digit-classifier.onnx",
    summary="The digit classifier as ONNX, for reading a drawn digit in the browser",
    tags=["info"],
    response_class=FileResponse,
    responses=ONNX_FILE,
)
async def digit_classifier_model(engine: EngineDep) -> FileResponse:
    """The server's classifier (export.browser): input "digits" (N, 1, 28, 28), the normalized
    digit's ink in [0, 1]; output "probabilities" (N, 10), calibrated as the server's. The
    header Digitrec-Threshold gives the confidence below which the server answers "unsure".
    Outside /v1/, as the line reader."""
    path = await run_in_threadpool(engine.browser_model, "digit-classifier")
    headers = {
        "Cache-Control": "no-cache",
        "Digitrec-Threshold": f"{engine.settings.threshold:g}",
    }
    return FileResponse(path, media_type="application/octet-stream", headers=headers)


def packaged_models() -> list[dict[str, Any]]:
    """The models shipped in the package, with their sizes (read once, at start-up)."""
    from digitrec.models.modelfile import PACKAGED, read_model
    from digitrec.models.zoo import build_model, parameter_count

    available = []
    for path in sorted(PACKAGED.glob("*.safetensors")):
        card, arrays = read_model(path)
        available.append(
            {
                "name": path.stem,
                "architecture": card.architecture,
                "params": parameter_count(build_model(card.architecture, card.arguments))
                if card.kind == "torch"
                else int(sum(a.size for a in arrays.values())),
                "val_accuracy": card.metrics.get("val_accuracy"),
            }
        )
    return available


@public.get(
    "/healthz",
    summary="Liveness: the model is loaded; checks of the feedback store and the disk",
    tags=["info"],
    responses=problem_responses(),
    response_model=schemas.Health,
)
async def healthz(
    engine: EngineDep, settings: SettingsDep, corrections: CorrectionsDep
) -> dict[str, Any]:
    """'ok' while the server can read digits; `checks` says what else works: the feedback store
    ('ok' or why not) and the disk holding it (free bytes; 'low' under MIN_FREE_BYTES)."""
    path = settings.feedback_path()
    existing = next((p for p in path.parents if p.exists()), Path("/"))  # nearest that exists
    try:
        free = shutil.disk_usage(existing).free
        disk = "ok" if free >= MIN_FREE_BYTES else "low"
    except OSError as error:
        free, disk = 0, f"unknown ({error.strerror or error})"
    feedback = "ok" if corrections.store is not None else corrections.problem
    checks = {"model": "ok", "feedback": feedback, "disk": disk, "disk_free_bytes": free}
    return {
        "status": "ok",
        "model": engine.model_name,
        "version": engine.version,
        "checks": checks,
    }


@private.get(
    "/metrics",
    summary="Prometheus metrics",
    tags=["info"],
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problem_responses(),
    },
)
async def metrics(metrics: MetricsDep) -> Response:
    return Response(metrics.text(), media_type="text/plain; version=0.0.4")


@public.get("/", include_in_schema=False)
async def page() -> FileResponse:
    index = STATIC / "index.html"
    if not index.is_file():
        raise Problem(404, "the web page is not installed")
    headers = {"Cache-Control": "no-cache", "Content-Security-Policy": html_policy()}
    return FileResponse(index, headers=headers)
