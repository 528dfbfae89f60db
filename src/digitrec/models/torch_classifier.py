"""A trained PyTorch zoo model behind the `Classifier` interface: uint8 digits in, probabilities out."""

from typing import Any

import numpy as np
import torch
from torch import nn

from digitrec.errors import DataError
from digitrec.models.modelfile import ModelCard, standardize
from digitrec.models.zoo import build_model

BATCH = 512  # images per forward pass at inference; bounded memory, near-peak CPU throughput


class TorchClassifier:
    def __init__(self, module: nn.Module, card: ModelCard) -> None:
        self.module = module.eval()
        self.card = card

    @classmethod
    def from_arrays(cls, card: ModelCard, arrays: dict[str, np.ndarray]) -> "TorchClassifier":
        module = build_model(card.architecture, card.arguments)
        state = {name: torch.from_numpy(np.array(value)) for name, value in arrays.items()}
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as error:  # torch lists missing/unexpected keys and shape mismatches
            detail = " ".join(line.strip() for line in str(error).splitlines()[1:3])
            raise DataError(f"weights do not fit {card.architecture}: {detail[:300]}") from None
        return cls(module, card)

    def logits(self, images: np.ndarray) -> torch.Tensor:
        """images: (N, 28, 28) uint8 ink bright -> (N, C) float32 logits."""
        _check_images(images)
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(images), BATCH):
                batch = torch.from_numpy(standardize(images[start : start + BATCH]))
                outputs.append(self.module(batch.contiguous(memory_format=torch.channels_last)))
        if not outputs:
            return torch.zeros((0, len(self.card.classes)))
        return torch.cat(outputs)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        logits = self.logits(images) / self.card.temperature
        probabilities: np.ndarray = torch.softmax(logits, dim=1).numpy()
        return probabilities

    def embed(self, images: np.ndarray) -> np.ndarray:
        """The features the last linear layer sees: (N, D) float32 (for cnn-svm and plots)."""
        last = [m for m in self.module.modules() if isinstance(m, nn.Linear)][-1]
        captured: list[torch.Tensor] = []

        def keep(_module: nn.Module, inputs: tuple[Any, ...]) -> None:
            captured.append(inputs[0].detach().flatten(1).clone())

        handle = last.register_forward_pre_hook(keep)
        try:
            self.logits(images)
        finally:
            handle.remove()
        if not captured:
            return np.zeros((0, last.in_features), np.float32)
        features: np.ndarray = torch.cat(captured).numpy()
        return features

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: t.detach().cpu().numpy() for name, t in self.module.state_dict().items()}


def _check_images(images: np.ndarray) -> None:
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"expected (N, 28, 28) uint8 digits, got {images.dtype} {images.shape}")
