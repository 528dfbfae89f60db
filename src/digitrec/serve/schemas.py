"""The API's answers as Pydantic models: `/docs` and /openapi.json show every response's schema,
and FastAPI checks each answer against its model before it leaves (`response_model_exclude_unset`:
a field the answer does not carry, such as `reason` when there is none, stays out of the JSON).
Problem documents (errors) are problems.py's."""

from typing import Any

from pydantic import BaseModel, Field

from digitrec.data.numberset import MAX_LABEL


class Timed(BaseModel):
    model: str = Field(description="the name of the model that answered")
    ms: float = Field(description="time spent on the request in the server, in milliseconds")


class ClassProbability(BaseModel):
    digit: int
    probability: float


class DigitAnswer(BaseModel):
    file: str = Field(description="the upload's file name (or 'image')")
    digit: int | None = Field(description="the digit read; null when none is confident")
    confidence: float
    probabilities: list[float] = Field(description="per class 0-9, summing to 1")
    top3: list[ClassProbability]
    reason: str | None = Field(None, description="why no digit was given (when digit is null)")
    error: str | None = Field(None, description="why this image could not be read (batch only)")


class Prediction(DigitAnswer, Timed):
    pass


class Predictions(Timed):
    results: list[DigitAnswer] = Field(description="one per image, in the order sent")


class Explanation(DigitAnswer, Timed):
    method: str = Field(description="how the saliency was computed ('smoothgrad')")
    explained: int = Field(description="the class the saliency map explains")
    input_png: str = Field(description="the 28×28 input the network saw, as a PNG data URL")
    saliency_png: str = Field(description="the saliency over the input, as a PNG data URL")


class ReadDigitAnswer(BaseModel):
    digit: int
    confidence: float
    box: list[int] = Field(description="x, y, width, height in the image's pixels")


class Reading(Timed):
    file: str
    text: str = Field(description="the digits read, '' when none was found")
    confidence: float = Field(description="the chance the whole string is right")
    digits: list[ReadDigitAnswer]
    reason: str | None = Field(None, description="why no digit was found")
    error: str | None = None
    width: int = Field(description="the image's width in pixels, as read")
    height: int


class StoredCorrection(BaseModel):
    id: int
    label: int
    predicted: int | None = Field(description="what the model read (null: no confident digit)")
    confidence: float
    created: str = Field(description="when it was stored (UTC, ISO 8601)")
    kind: str = Field(description="correction, or confirmation: the label is what the model read")
    duplicate: bool = Field(description="the same image and label were stored already: that row")


class ReviewedCorrection(StoredCorrection):
    model: str = Field(description="the model that read the image")
    source: str = Field(description="the uploaded file's name")


class FeedbackPage(BaseModel):
    items: list[ReviewedCorrection] = Field(description="newest first")
    total: int = Field(description="the rows matching the filters")
    corrections: int = Field(description="rows in the store whose label differs from the reading")
    confirmations: int = Field(description="rows in the store whose label is what the model read")


class StoredNumber(BaseModel):
    id: int
    text: str = Field(description="the number the image really shows")
    read: str = Field(description="what the reader read ('' when it found no digits)")
    confidence: float
    boxes: list[list[int]] = Field(description="[x, y, w, h] of each read digit in the image")
    created: str = Field(description="when it was stored (UTC, ISO 8601)")
    kind: str = Field(description="correction, or confirmation: the text is what was read")
    duplicate: bool = Field(description="the same image and text were stored already: that row")


class ReviewedNumber(StoredNumber):
    model: str = Field(description="the model that read the image")
    source: str = Field(description="the uploaded file's name")


class NumberPage(BaseModel):
    items: list[ReviewedNumber] = Field(description="newest first")
    total: int = Field(description="the rows matching the filters")
    corrections: int = Field(description="number rows whose text differs from the reading")
    confirmations: int = Field(description="number rows whose text is what was read")


class Retext(BaseModel):
    text: str = Field(pattern=rf"^[0-9]{{1,{MAX_LABEL}}}$", description="the correct number")


class Relabel(BaseModel):
    label: int = Field(ge=0, le=9, description="the correct digit")


class Deleted(BaseModel):
    deleted: int = Field(description="how many of the rows named there were")


class LoadedModel(BaseModel):
    name: str
    version: str = Field(description="the model version (`digitrec models list`) for default")
    backend: str = Field(description="torch or onnx")
    reader: str = Field(description="the number reader: line or segment")
    card: dict[str, Any] = Field(description="the model card (models/modelfile.py)")


class PackagedModel(BaseModel):
    name: str
    architecture: str
    params: int
    val_accuracy: float | None


class Models(BaseModel):
    loaded: LoadedModel
    available: list[PackagedModel]


class HealthChecks(BaseModel):
    model: str
    feedback: str = Field(description="'ok', or why corrections cannot be stored")
    disk: str = Field(description="'ok', 'low', or 'unknown (why)' for the store's disk")
    disk_free_bytes: int


class Health(BaseModel):
    status: str
    model: str
    version: str = Field(description="the model version (`digitrec models list`) for default")
    checks: HealthChecks


class Reloaded(BaseModel):
    model: str
    version: str
    reloaded: bool = Field(description="false when the active version was in use already")
    workers: str = Field(description="'all' (every worker was told) or 'this' (one process)")
