"""Every setting of the server, in one place: defaults, `DIGITREC_SERVE_*` environment variables,
or keyword arguments (tests and `digitrec serve` flags)."""

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")  # the names a local server answers to


class ServeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIGITREC_SERVE_", extra="forbid")

    # "default", a run directory, a model file or an exported .onnx
    model: str = "default"
    # auto: ONNX Runtime when installed and measured faster here (saliency still uses torch)
    backend: Literal["torch", "onnx", "auto"] = "auto"
    # how /v1/read reads a line: "line" (the CTC line reader), "segment" (cut, then classify
    # with `model`), or "auto": the line reader when the package has one
    reader: Literal["auto", "line", "segment"] = "auto"
    # below this top-class probability a digit is "unsure"
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    # request body limit, and decoded image limit (checked from the header where possible)
    max_body_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    max_pixels: Annotated[int, Field(ge=1)] = 16_000_000
    # images per /v1/predict/batch request
    batch_max: Annotated[int, Field(ge=1, le=1024)] = 64
    # per request, for the inference part: past it the client gets 504
    timeout_s: Annotated[float, Field(gt=0)] = 10.0
    # requests computed at once off the event loop; how many may wait before new ones get 503;
    # intra-op threads of each inference
    inference_threads: Annotated[int, Field(ge=1, le=64)] = 2
    queue_max: Annotated[int, Field(ge=1)] = 256
    torch_threads: Annotated[int, Field(ge=1, le=64)] = 1
    # a request body must arrive within this (408 past it); open connections at most (503 past
    # it, from uvicorn); idle keep-alive connections are closed after this
    body_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    max_connections: Annotated[int, Field(ge=1)] = 1000
    keep_alive_s: Annotated[float, Field(gt=0)] = 5.0
    # CORS is off unless origins are given: a JSON list or comma-separated; these origins, and
    # the server's own, may also write (POST) from a browser page
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # the Host header names answered ("*": any); others get 400 (DNS rebinding, serve.guard)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(LOCAL_HOSTS))
    # per client address and server process: inference requests (images, for a batch) and
    # corrections a second on average, and at once (429 past them; a rate of 0 turns one off)
    inference_rate: Annotated[float, Field(ge=0)] = 1000.0
    inference_burst: Annotated[int, Field(ge=1)] = 2000
    feedback_rate: Annotated[float, Field(ge=0)] = 2.0
    feedback_burst: Annotated[int, Field(ge=1)] = 30
    # default: $DIGITREC_HOME/feedback.db; corrections stored at most, and their images' bytes
    feedback_db: Path | None = None
    feedback_max_rows: Annotated[int, Field(ge=1)] = 100_000
    feedback_max_bytes: Annotated[int, Field(ge=1024)] = 2 * 1024**3
    # the API token (serve.auth): given (DIGITREC_SERVE_TOKEN), read from a file, or else
    # generated once into $DIGITREC_HOME/serve-token; needed by the routes that write or reveal
    # stored data ("writes") or by every route but /healthz and the page itself ("all")
    token: SecretStr | None = None
    auth_token_file: Path | None = None
    auth: Literal["writes", "all"] = "writes"
    # a request's head (request line and headers) must arrive within this, on a new or kept
    # connection, and stay within these sizes (431 past them: serve.connections)
    header_timeout_s: Annotated[float, Field(gt=0)] = 5.0
    max_header_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024
    max_headers: Annotated[int, Field(ge=8)] = 100

    @field_validator("cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    def feedback_path(self) -> Path:
        from digitrec.data.feedback import default_store_path

        return self.feedback_db or default_store_path()
