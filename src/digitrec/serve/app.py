"""The FastAPI application: `create_app(settings)`; uvicorn calls it as a factory.

The models are loaded once, in the lifespan, before the first request is accepted. Middleware,
outermost first: the guard (Host, cross-site writes, security headers: guard.py), gzip (answers
of GZIP_MIN_BYTES or more, when the client accepts it), metrics (every request counted and
timed), the body's size and time limits, CORS (only when origins are configured). Routes that write or reveal stored data need the API token (auth.py; with auth
"all", every route but /healthz and the page); the connections under the app are bounded by
connections.py. Every error leaves as a problem document (problems.py).
"""

import asyncio
import gc
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from digitrec import __version__
from digitrec.data.feedback import FeedbackStore
from digitrec.serve import feedback_routes, problems
from digitrec.serve.auth import load_auth, require_token, session_router
from digitrec.serve.dependencies import Corrections, Limits
from digitrec.serve.engine import Engine
from digitrec.serve.guard import GuardMiddleware, html_policy, inline_scripts
from digitrec.serve.limits import BodyLimitMiddleware, RateLimiter
from digitrec.serve.metrics import Metrics, MetricsMiddleware
from digitrec.serve.routes import STATIC, packaged_models, private, public, router
from digitrec.serve.settings import ServeSettings

GZIP_MIN_BYTES = 1024  # answers and files at least this big go gzip-compressed when asked


def open_feedback(settings: ServeSettings) -> Corrections:
    """The corrections store, or None and why it cannot be written (a read-only home, a
    database that is not one): the server then still predicts and reads, and says so once."""
    path = settings.feedback_path()
    try:
        store = FeedbackStore(
            path, max_rows=settings.feedback_max_rows, max_bytes=settings.feedback_max_bytes
        )
    except (OSError, sqlite3.Error) as error:
        problem = f"{path}: corrections cannot be stored ({error})"
        print(f"digitrec serve: {problem}; /v1/feedback answers 503", file=sys.stderr)
        return Corrections(None, problem)
    return Corrections(store)


class _Reloads:
    """SIGHUP switches the engine to the active model version (Engine.reload), in a thread of
    its own, one at a time; a failure is printed and the old model keeps serving."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.loop = asyncio.get_running_loop()
        self.tasks: set[asyncio.Future[None]] = set()
        try:
            self.loop.add_signal_handler(signal.SIGHUP, self.start)
            self.installed = True
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread (tests)
            self.installed = False

    def start(self) -> None:
        task = asyncio.ensure_future(asyncio.to_thread(self._reload))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _reload(self) -> None:
        try:
            if self.engine.reload():
                print(
                    f"digitrec serve: now serving {self.engine.model_name} "
                    f"{self.engine.version}".rstrip(),
                    file=sys.stderr,
                )
        except Exception as error:  # a broken model file: keep serving the old one
            print(f"digitrec serve: reload failed, old model kept: {error}", file=sys.stderr)

    def close(self) -> None:
        if self.installed:
            self.loop.remove_signal_handler(signal.SIGHUP)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # not SIG_DFL while shutting down


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    settings = settings or ServeSettings()
    auth = load_auth(settings)
    # auth "all": reading digits, the models and the API's documents need the token too
    gated = [Depends(require_token)] if settings.auth == "all" else []
    gated_responses = problems.problem_responses(401) if gated else {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = Engine.start(settings)
        app.state.engine.on_busy = app.state.metrics.waiting.set
        reloads = _Reloads(app.state.engine)
        app.state.corrections = open_feedback(settings)
        app.state.packaged_models = packaged_models()
        # Everything loaded so far (torch, the models, the app) lives as long as the server: out
        # of the garbage collector's sight, an occasional full collection no longer walks all of
        # it in the middle of someone's request.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            reloads.close()
            gc.unfreeze()
            app.state.engine.close()

    app = FastAPI(
        title="digitrec",
        version=__version__,
        summary="Read handwritten digits and numbers; explain what the network saw; collect "
        "corrections.",
        lifespan=lifespan,
        docs_url=None,  # served below from the package's own copy of Swagger UI, not a CDN
        redoc_url=None,
        openapi_url=None,  # served below, behind the token with auth "all"
    )
    app.state.settings = settings
    app.state.auth = auth
    app.state.metrics = Metrics()
    app.state.limits = Limits(
        inference=RateLimiter(
            "inference requests", settings.inference_rate, settings.inference_burst
        ),
        feedback=RateLimiter("corrections", settings.feedback_rate, settings.feedback_burst),
        session=RateLimiter("sign-in attempts", 1.0, 10),
    )
    problems.install(app)
    app.include_router(router, dependencies=gated, responses=gated_responses)
    app.include_router(feedback_routes.router)
    app.include_router(private)
    app.include_router(public)
    app.include_router(session_router)

    @app.get("/openapi.json", include_in_schema=False, dependencies=gated)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=gated)
    async def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="digitrec API",
            swagger_js_url="/static/docs/swagger-ui-bundle.js",
            swagger_css_url="/static/docs/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            swagger_ui_parameters={"validatorUrl": None},  # no badge from validator.swagger.io
        )
        # Swagger UI starts from one inline script: allowed by its hash, nothing else inline.
        scripts = inline_scripts(bytes(page.body).decode())
        page.headers["Content-Security-Policy"] = html_policy(scripts)
        return page

    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"]
        )
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)
    app.add_middleware(
        GuardMiddleware, allowed_hosts=settings.allowed_hosts, cors_origins=settings.cors_origins
    )
    return app
