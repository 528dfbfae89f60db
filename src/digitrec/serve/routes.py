"""The /v1 endpoints, health, metrics and the page. Each route takes what it needs as dependencies
(serve.dependencies), parses its request, hands the work to the engine's inference pool, counts
what it read, and answers JSON of its response model (serve.schemas; problems on failure).

Three routers, by who may call them (serve.auth): `router` (reading digits and numbers, the
models: open, or behind the token with auth "all"), `private` (what writes or reveals stored
data — corrections, metrics: always behind the token), `public` (health, the page: never)."""

import base64
import shutil
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from digitrec.errors import DigitrecError
from digitrec.serve import schemas
from digitrec.serve.auth import require_token
from digitrec.serve.dependencies import (
    CorrectionsDep,
    EngineDep,
    LimitsDep,
    MetricsDep,
    PackagedModelsDep,
    SettingsDep,
    client_of,
    spend_inference,
)
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
