"""What the server computes with: the models, loaded once at start-up, and a bounded thread pool
that runs every inference off the event loop (so concurrent requests never block each other),
with a per-request timeout and a queue limit past which new requests are refused with 503."""

import asyncio
import base64
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from digitrec.errors import DataError
from digitrec.models.modelfile import Classifier, load_model
from digitrec.reading.reader import NumberReading, packaged_reading_models, read_gray
from digitrec.reading.scoring import SegmentScorer
from digitrec.reading.verifier import Verifier
from digitrec.recognize import (
    DigitPrediction,
    decide_digit,
    message_without_name,
    predict_many,
    to_gray,
)
from digitrec.serve.problems import Problem
from digitrec.serve.settings import ServeSettings

T = TypeVar("T")


@dataclass
class Engine:
    settings: ServeSettings
    classifier: Classifier
    verifier: Verifier
    scorer: SegmentScorer
    executor: ThreadPoolExecutor
    waiting: int = 0
    _explainer: Any = None  # the torch module for saliency, loaded on first use

    @classmethod
    def start(cls, settings: ServeSettings) -> "Engine":
        import torch

        from digitrec.export.runtime import load_classifier

        torch.set_num_threads(settings.torch_threads)
        classifier = load_classifier(
            settings.model, settings.backend, threads=settings.torch_threads
        )
        executor = ThreadPoolExecutor(settings.inference_threads, thread_name_prefix="infer")
        engine = cls(settings, classifier, *packaged_reading_models(), executor)
        engine.predict([np.zeros((28, 28), np.uint8)])  # first-call costs before the first user
        return engine

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    @property
    def backend(self) -> str:
        return "onnx" if type(self.classifier).__name__ == "OnnxClassifier" else "torch"

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(*args)` on the inference pool; 503 when too many wait, 504 past the timeout."""
        if self.waiting >= self.settings.queue_max:
            raise Problem(
                503, "server busy: too many requests waiting", headers={"Retry-After": "1"}
            )
        self.waiting += 1  # only touched on the event loop's thread
        try:
            future = asyncio.get_running_loop().run_in_executor(self.executor, work, *args)
            return await asyncio.wait_for(future, self.settings.timeout_s)
        except TimeoutError:
            raise Problem(504, f"no answer within {self.settings.timeout_s:g} s") from None
        finally:
            self.waiting -= 1

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
        gray = self.gray(data, name)
        reading = read_gray(gray, self.classifier, self.verifier, self.scorer, name)
        return reading, (gray.shape[1], gray.shape[0])

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
        probabilities = self.classifier.predict_proba(digit_image[None])[0]
        prediction = decide_digit(
            name, probabilities, self.classifier.card.classes, self.settings.threshold
        )
        saliency = smoothgrad(self._module(), digit_image)
        return {
            **prediction.to_json(),
            "method": "smoothgrad",
            "explained": saliency.digit,
            "input_png": data_url(input_png(digit_image)),
            "saliency_png": data_url(overlay_png(digit_image, saliency.heat)),
        }

    def _module(self) -> Any:
        if self._explainer is None:
            module = getattr(self.classifier, "module", None)
            if module is None:  # ONNX or a classic model: saliency needs the torch network
                try:
                    module = getattr(load_model(self.settings.model), "module", None)
                except DataError:
                    module = None
            if module is None:
                raise Problem(501, "explanations need a neural network model's weights file")
            self._explainer = module
        return self._explainer


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
