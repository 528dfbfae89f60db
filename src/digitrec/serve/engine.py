"""What the server computes with: the models, loaded once at start-up, and a bounded thread pool
that runs every inference off the event loop (so concurrent requests never block each other),
with a per-request timeout and a queue limit past which new requests are refused with 503."""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from digitrec.errors import DataError, DigitrecError
from digitrec.models.loading import load_model
from digitrec.models.modelfile import Classifier
from digitrec.reading.ink import WORK_SIDE
from digitrec.reading.line_model import LineReader
from digitrec.reading.reader import (
    NumberReading,
    choose_reader,
    packaged_reading_models,
    read_gray,
    read_line,
)
from digitrec.reading.segment_scorer import SegmentScorer
from digitrec.reading.verifier import Verifier
from digitrec.recognize import (
    DigitPrediction,
    decide_digit,
    message_without_name,
    predict_many,
    to_gray,
    to_page,
)
from digitrec.serve.problems import Problem
from digitrec.serve.settings import ServeSettings

T = TypeVar("T")
FEEDBACK_SIDE = 512  # stored corrections are scaled down to this (plenty for a 28×28 digit)
NUMBER_SIDE = 1200  # and a number's line image to this (the reader sees a 32-pixel-tall line)


@dataclass
class Engine:
    settings: ServeSettings
    classifier: Classifier
    verifier: Verifier
    scorer: SegmentScorer
    executor: ThreadPoolExecutor
    line_reader: LineReader | None = None  # reads numbers when chosen (settings.reader)
    busy: int = 0  # requests on or waiting for the pool, until their work has really finished
    on_busy: Callable[[int], None] | None = None  # told each new `busy` (the metrics' gauge)
    model_path: Path | None = None  # the weights `classifier` came from (None: an .onnx file)
    version: str = ""  # the model version ("shipped", "v3") when the model is `default`
    _explainer: tuple[Any, Any] = (None, None)  # (classifier, its torch module for saliency)
    _export_lock: threading.Lock = field(default_factory=threading.Lock)  # one export at a time
    _reload_lock: threading.Lock = field(default_factory=threading.Lock)  # one reload at a time
    _browser_models: dict[str, Path] = field(default_factory=dict)  # exported, once made

    @classmethod
    def start(cls, settings: ServeSettings) -> "Engine":
        import cv2
        import torch

        # OpenCV's own thread pool splits even a 112×112 resize across the cores, and its idle
        # threads spin: on this server's small images that burned CPU and saved no time (the
        # pool's threads and the other workers already use the cores). benchmarks/serve_load.py
        # reports the server's CPU per request.
        cv2.setNumThreads(1)

        from digitrec.export.runtime import load_classifier

        torch.set_num_threads(settings.torch_threads)
        path, version = _resolved(settings.model)
        classifier = load_classifier(
            str(path or settings.model), settings.backend, threads=settings.torch_threads
        )
        executor = ThreadPoolExecutor(settings.inference_threads, thread_name_prefix="infer")
        verifier, scorer = packaged_reading_models()
        line_reader = choose_reader(settings.reader)
        engine = cls(
            settings, classifier, verifier, scorer, executor, line_reader,
            model_path=path, version=version,
        )  # fmt: skip
        # First-call costs (lazy initialisation in torch/ONNX Runtime, OpenCV) before the first
        # user: a drawn "1" through the whole path, on every thread of the pool.
        warm = [
            executor.submit(engine.predict, [_STROKE]) for _ in range(settings.inference_threads)
        ]
        for future in warm:
            future.result()
        return engine

    def reload(self) -> bool:
        """Load the model `settings.model` names now (`default`: the active version) and the
        line reader `settings.reader` names (`auto`, `line`: the active version's) beside the
        ones in use, warm them, and switch in one assignment each: a request keeps the models it
        started with, the next gets the new ones, none waits or fails. False when both are the
        ones in use already. Errors (a broken file) leave the old models serving."""
        from digitrec.export.runtime import load_classifier

        with self._reload_lock:
            path, version = _resolved(self.settings.model)
            line_reader = choose_reader(self.settings.reader)
            new_model = path is not None and (path, version) != (self.model_path, self.version)
            new_reader = line_reader is not self.line_reader
            if not new_model and not new_reader:
                return False
            classifier = self.classifier
            if new_model:
                classifier = load_classifier(
                    str(path), self.settings.backend, threads=self.settings.torch_threads
                )
                predict_many([_STROKE], classifier, threshold=self.settings.threshold)  # warm
            if new_reader and line_reader is not None:
                read_line(_STROKE, line_reader, "warm-up")
            with self._export_lock:
                if new_model:
                    self._browser_models.pop("digit-classifier", None)
                    self.classifier, self.model_path, self.version = classifier, path, version
                if new_reader:
                    self._browser_models.pop("line-reader", None)
                    self.line_reader = line_reader
            return True

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    @property
    def backend(self) -> str:
        return "onnx" if type(self.classifier).__name__ == "OnnxClassifier" else "torch"

    @property
    def model_name(self) -> str:
        """The model as clients see it: a packaged name, or the file's or run's name (never the
        server's paths)."""
        spec = Path(self.settings.model)
        return spec.stem if spec.suffix in (".safetensors", ".json", ".onnx") else spec.name

    @property
    def model_version(self) -> str:
        """The model and its version, as stored with a correction: "default@v3", "runs/x"."""
        return f"{self.model_name}@{self.version}" if self.version else self.model_name

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(*args)` on the inference pool; 503 when too many wait, 504 past the timeout.

        Work that times out cannot be stopped: it runs to the end, and keeps its place in the
        queue until then, so a backlog shows as 503 (come back later), not as a wave of 504s."""
        if self.busy >= self.settings.queue_max:
            raise Problem(
                503, "server busy: too many requests waiting", headers={"Retry-After": "1"}
            )
        loop = asyncio.get_running_loop()
        self._count_busy(+1)
        job = self.executor.submit(work, *args)
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                return await asyncio.wrap_future(job)
        except TimeoutError:
            raise Problem(504, f"no answer within {self.settings.timeout_s:g} s") from None
        finally:
            if job.done():  # answered (or failed): release now, no second wake-up of the loop
                self._release()
            else:  # timed out or cancelled: the work holds its place until it really ends
                job.add_done_callback(lambda _: loop.call_soon_threadsafe(self._release))

    def _release(self) -> None:
        self._count_busy(-1)

    def _count_busy(self, change: int) -> None:
        self.busy += change  # only touched on the event loop's thread
        if self.on_busy is not None:
            self.on_busy(self.busy)

    def browser_model(self, name: str) -> Path:
        """A model the page runs in the browser, as an ONNX graph (made once, on first use, into
        the cache: a few seconds): "line-reader" (reading.line_onnx) or "digit-classifier"
        (export.browser). A 404 problem when there is none to give."""
        with self._export_lock:
            made = self._browser_models.get(name)
            if made is not None and made.is_file():
                return made
            exporters = {
                "line-reader": self._line_reader_graph,
                "digit-classifier": self._classifier_graph,
            }
            export = exporters[name]
            what = name.replace("-", " ")
            try:
                self._browser_models[name] = made = export()
                return made
            except OSError as error:
                raise Problem(503, f"cannot keep the exported {what} ({error})") from None
            except Problem:
                raise
            except Exception as error:  # the exporter's own failures: one line, not a 500
                raise Problem(503, f"cannot export the {what} ({error})") from None

    def _line_reader_graph(self) -> Path:
        from digitrec.reading.line_onnx import cached_line_reader
        from digitrec.reading.line_ort import OnnxLineReader

        if self.line_reader is None:
            raise Problem(404, "this server reads numbers with the segment reader: no line reader")
        if isinstance(self.line_reader, OnnxLineReader):  # the package's graph itself
            return self.line_reader.graph
        _can_export()
        return cached_line_reader(self.line_reader)

    def _classifier_graph(self) -> Path:
        from digitrec.export.browser import cached_browser_classifier

        _can_export()
        try:
            module = self._module()
        except Problem:
            raise Problem(
                404, "only a neural network runs in the browser: not this model"
            ) from None
        return cached_browser_classifier(module, self.classifier.card)

    # The work itself (runs on the pool's threads).

    def gray(self, data: bytes, name: str) -> np.ndarray:
        return to_gray(data, name, self.settings.max_pixels)

    def predict(
        self, images: list[Any], names: list[str] | None = None, threshold: float | None = None
    ) -> list[DigitPrediction]:
        return predict_many(
            images,
            self.classifier,
            threshold=self.settings.threshold if threshold is None else threshold,
            max_pixels=self.settings.max_pixels,
            names=names,
        )

    def predict_one(self, data: bytes, name: str, threshold: float | None) -> DigitPrediction:
        """Decode (a DataError, i.e. a problem, if that fails) and read one digit."""
        return self.predict([self.gray(data, name)], [name], threshold)[0]

    def read(self, data: bytes, name: str) -> tuple[NumberReading, tuple[int, int]]:
        """The number in an image and the image's width and height (a big photo is decoded
        smaller, `to_page`; the boxes are in its own pixels all the same)."""
        page = to_page(data, name, self.settings.max_pixels, WORK_SIDE)
        return self._read_page(page.gray, name).enlarged(page.factor, page.size), page.size

    def _read_page(self, gray: np.ndarray, name: str) -> NumberReading:
        line_reader = self.line_reader  # one reader for the whole answer, even across a reload
        if line_reader is not None:
            return read_line(gray, line_reader, name)
        return read_gray(gray, self.classifier, self.verifier, self.scorer, name)

    def correction_image(self, data: bytes, name: str) -> tuple[DigitPrediction, bytes]:
        """What a correction stores: the model's reading, and the image as PNG, gray, at most
        FEEDBACK_SIDE pixels on its longer side. An image with no digit is refused (422): it
        would break the folder dataset the corrections are exported to."""
        import cv2

        gray = self.gray(data, name)
        prediction = self.predict([gray], [name])[0]
        if prediction.reason and not prediction.reason.startswith("unsure"):
            raise Problem(422, f"no digit in the image: {prediction.reason}")
        scale = FEEDBACK_SIDE / max(gray.shape)
        if scale < 1:
            size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        return prediction, cv2.imencode(".png", gray)[1].tobytes()

    def number_correction(self, data: bytes, name: str) -> tuple[NumberReading, bytes]:
        """What a number's correction stores: the reading, and the image the reader read it
        from as PNG (gray, at most NUMBER_SIDE pixels on its longer side), the boxes of the
        reading in that image's pixels. An image where nothing was read is stored all the
        same: its correction is the one the reader needs most."""
        import cv2

        page = to_page(data, name, self.settings.max_pixels, WORK_SIDE)
        gray = page.gray
        reading = self._read_page(gray, name)
        scale = NUMBER_SIDE / max(gray.shape)
        if scale < 1:
            size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
            reading = reading.rescaled(scale, (size[0], size[1]))
        return reading, cv2.imencode(".png", gray)[1].tobytes()

    def explain(self, data: bytes, name: str) -> dict[str, Any]:
        from digitrec.preprocess import normalize_digit
        from digitrec.serve.explain import input_png, overlay_png, smoothgrad

        gray = self.gray(data, name)
        try:
            digit_image = normalize_digit(gray, name)
        except DataError as error:
            raise Problem(
                422, f"no digit to explain: {message_without_name(error, name)}"
            ) from None
        classifier = self.classifier  # one model for the whole answer, even across a reload
        probabilities = classifier.predict_proba(digit_image[None])[0]
        prediction = decide_digit(
            name, probabilities, classifier.card.classes, self.settings.threshold
        )
        saliency = smoothgrad(self._module(classifier), digit_image)
        return {
            **prediction.to_json(),
            "method": "smoothgrad",
            "explained": saliency.digit,
            "input_png": input_png(digit_image),
            "saliency_png": overlay_png(digit_image, saliency.heat),
        }

    def _module(self, classifier: Classifier | None = None) -> Any:
        """The torch network of `classifier` (the one in use when None), for saliency."""
        classifier = classifier or self.classifier
        known, module = self._explainer
        if known is classifier:
            return module
        module = getattr(classifier, "module", None)
        if module is None and self.model_path is not None:  # ONNX, or a classic model
            try:
                module = getattr(load_model(self.model_path), "module", None)
            except DigitrecError:
                module = None
        if module is None:
            raise Problem(501, "explanations need a neural network model's weights file")
        self._explainer = (classifier, module)
        return module


_STROKE = np.full((112, 112), 255, np.uint8)  # a drawn "1": warms a model up
_STROKE[16:96, 52:60] = 0


def _resolved(spec: str) -> tuple[Path | None, str]:
    """The weights a model name means now and its version ("" unless `default`); (None, "") for
    an exported .onnx file, which has no weights to reload."""
    from digitrec.models import versions
    from digitrec.models.modelfile import resolve_model_path

    if spec == "default" and not Path(spec).exists():
        active = versions.active()
        return active.path, active.name
    if Path(spec).suffix == ".onnx":
        return None, ""
    return resolve_model_path(spec), ""


def _can_export() -> None:
    """A 404 problem when this server cannot export a graph (onnx is not installed)."""
    from digitrec.export.runtime import onnx_available

    if not onnx_available():
        raise Problem(404, "the server cannot export models (install digitrec[onnx])")
