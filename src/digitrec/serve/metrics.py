"""Prometheus metrics of one app (its own registry): requests, latency, errors, what was
predicted and what was rejected; and the ASGI middleware that counts every request.

With `digitrec serve --workers N` the workers share a directory in PROMETHEUS_MULTIPROC_DIR
(`serve.workers.shared_metrics`): each worker writes its values there, and /metrics, whichever worker
answers it, sums them over all the workers (prometheus_client's multiprocess mode; the counters of
a worker that died still count)."""

import os
import time
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = {"GET", "POST", "HEAD", "OPTIONS"}  # any other method is counted as "other"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "digitrec_requests",
            "HTTP requests",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "digitrec_request_seconds",
            "time from request to response",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "digitrec_errors",
            "responses with a 4xx or 5xx status",
            ["route", "status"],
            registry=self.registry,
        )
        self.predictions = Counter(
            "digitrec_predictions", "digits read, by class", ["digit"], registry=self.registry
        )
        self.rejections = Counter(
            "digitrec_rejections",
            "images with no confident digit: no_digit (blank, a dot) or unsure (below threshold)",
            ["reason"],
            registry=self.registry,
        )
        self.waiting = Gauge(
            "digitrec_inference_waiting",
            "requests on or waiting for the inference pool",
            registry=self.registry,
            multiprocess_mode="livesum",  # over the workers that are running
        )

    def count_digit(self, digit: int | None, reason: str | None) -> None:
        if digit is not None:
            self.predictions.labels(str(digit)).inc()
        elif reason is not None:
            self.rejections.labels("unsure" if reason.startswith("unsure") else "no_digit").inc()

    def text(self) -> bytes:
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        every_worker = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_worker)  # type: ignore[no-untyped-call]
        return generate_latest(every_worker)


class MetricsMiddleware:
    """Counts each HTTP request under its route's path template (unknown paths as "other", so a
    scanner cannot blow up the number of series)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", None)
            if path is None:  # not routed: a static file (mounts set no route) or a 404
                path = "/static" if scope["path"].startswith("/static/") else "other"
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.metrics.requests.labels(path, method, str(status)).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - started)
            if status >= 400:
                self.metrics.errors.labels(path, str(status)).inc()
