"""What a route needs from the running app, as FastAPI dependencies (`Annotated[..., Depends]`):
the settings, the engine, the metrics, the rate limits and the corrections store. The lifespan
(app.py) puts them on `app.state`; only this module (and auth.py, for the token) reads them there, and tests swap any of them
with `app.dependency_overrides`."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from digitrec.serve.engine import Engine
from digitrec.serve.feedback import FeedbackStore
from digitrec.serve.limits import RateLimiter
from digitrec.serve.metrics import Metrics
from digitrec.serve.problems import Problem
from digitrec.serve.settings import ServeSettings


@dataclass(frozen=True)
class Limits:
    """The per-client token buckets: reading requests (a batch costs one per image), corrections
    and sign-in attempts."""

    inference: RateLimiter
    feedback: RateLimiter
    session: RateLimiter


@dataclass(frozen=True)
class Corrections:
    """The corrections store, or None and why it cannot be written (the server still reads)."""

    store: FeedbackStore | None
    problem: str = ""


def client_of(request: Request) -> str:
    """The key a client's rate-limit buckets are kept under: its address."""
    return request.client.host if request.client else "unknown"


def get_settings(request: Request) -> ServeSettings:
    settings: ServeSettings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_limits(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits


def get_corrections(request: Request) -> Corrections:
    corrections: Corrections = request.app.state.corrections
    return corrections


def get_packaged_models(request: Request) -> list[dict[str, Any]]:
    """The models shipped in the package, as /v1/models lists them (read once, at start-up)."""
    models: list[dict[str, Any]] = request.app.state.packaged_models
    return models


def get_feedback_store(
    corrections: Annotated[Corrections, Depends(get_corrections)],
) -> FeedbackStore:
    """The store a correction goes to; 503 (before the upload is read) when there is none."""
    if corrections.store is None:
        raise Problem(503, corrections.problem)
    return corrections.store


def spend_inference(request: Request, limits: Annotated[Limits, Depends(get_limits)]) -> None:
    """One reading request from this client: 429 when its bucket is empty."""
    limits.inference.take(client_of(request))


def spend_feedback(request: Request, limits: Annotated[Limits, Depends(get_limits)]) -> None:
    """One correction from this client: 429 when its bucket is empty."""
    limits.feedback.take(client_of(request))


SettingsDep = Annotated[ServeSettings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
LimitsDep = Annotated[Limits, Depends(get_limits)]
PackagedModelsDep = Annotated[list[dict[str, Any]], Depends(get_packaged_models)]
CorrectionsDep = Annotated[Corrections, Depends(get_corrections)]
FeedbackStoreDep = Annotated[FeedbackStore, Depends(get_feedback_store)]
