"""Every setting of the server, in one place: defaults, `DIGITREC_SERVE_*` environment variables,
or keyword arguments (tests and `digitrec serve` flags)."""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from digitrec.home import digitrec_home


class ServeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIGITREC_SERVE_", extra="forbid")

    # "default", a run directory, a model file or an exported .onnx
    model: str = "default"
    backend: Literal["torch", "onnx", "auto"] = "torch"
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
    # CORS is off unless origins are given
    cors_origins: list[str] = Field(default_factory=list)
    # default: $DIGITREC_HOME/feedback.db
    feedback_db: Path | None = None

    def feedback_path(self) -> Path:
        return self.feedback_db or digitrec_home() / "feedback.db"
