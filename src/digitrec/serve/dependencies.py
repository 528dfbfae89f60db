"""What a route needs from the running app, as FastAPI dependencies (`Annotated[..., Depends]`):
the settings, the engine, the metrics, the rate limits and the corrections store. The lifespan
(app.py) puts them on `app.state`; only this module (and auth.py, for the token) reads them there, and tests swap any of them
with `app.dependency_overrides`."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from digitrec.data.feedback import FeedbackStore
from digitrec.serve.engine import Engine
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


def _state(name: str, what: str) -> Callable[[Request], Any]:
    """A dependency giving what the app put on app.state under `name`."""

    def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    get.__name__, get.__doc__ = f"get_{name}", f"A dependency: {what}."
    return get


get_settings = _state("settings", "the server's settings")
get_engine = _state("engine", "the models and the inference pool")
get_metrics = _state("metrics", "the Prometheus counters")
get_limits = _state("limits", "the per-client rate limits")
get_corrections = _state("corrections", "the corrections store, or why there is none")
get_packaged_models = _state("packaged_models", "the packaged models, read at start-up")


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
