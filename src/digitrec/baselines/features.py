"""The feature maps every classic baseline starts with: (N, 28, 28) uint8 digits, ink bright ->
(N, D) float32 rows. Defined once here; each baseline picks one by its `features` argument.

    pixels  D = 784   x / 255, row-major
    pca     D = k     (pixels - mean) @ componentsᵀ, the first k principal axes of the training
                      pixels (fitted with scikit-learn, stored as float32 mean and components)
    hog     D = 324   histograms of oriented gradients: 7×7-pixel cells, 9 unsigned orientation
                      bins (bilinear), 2×2-cell blocks at a 1-cell stride, L2-Hys normalized
    cnn     D = the width of a trained CNN's last linear layer (`TorchClassifier.embed`)

A map is fitted once (PCA, CNN) and exports the arrays that rebuild it (`arrays()`, `load_features`),
so a loaded baseline computes exactly the features it was trained on.
"""

from typing import Any, Protocol

import numpy as np

from digitrec.errors import DataError, UsageError

CNN_PREFIX = "cnn."  # the CNN's weights inside a cnn-svm file: "cnn." + its state-dict names

# HOG geometry, chosen for 28×28 digits (see the `hog` docstring).
# 7-pixel cells (a 4×4 grid, 324 features) beat 4-pixel ones (7×7, 1296) on time, not accuracy:
# RBF SVM on 10k digits, 5k validation: 97.8% in 1.2 s vs 98.2% in 11 s; 1-cell blocks 96.1%.
HOG_CELL = 7  # pixels per cell side
HOG_BINS = 9  # unsigned orientations over [0, π)
HOG_BLOCK = 2  # cells per block side; blocks overlap by one cell
HOG_CLIP = 0.2  # L2-Hys clipping, as Dalal & Triggs 2005
HOG_EPS = 1e-5


class FeatureMap(Protocol):
    kind: str

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) uint8 -> (N, D) float32."""
        ...

    def arrays(self) -> dict[str, np.ndarray]:
        """The learned arrays of the map (none for pixels and hog)."""
        ...

    def card_arguments(self) -> dict[str, Any]:
        """What the baseline's card must also record to rebuild the map (the CNN's card)."""
        ...


def pixels(images: np.ndarray) -> np.ndarray:
    """(N, H, W) uint8 -> (N, H·W) float32 in [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255)


def hog(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 324) float32 HOG descriptors, whole batch at once.

    Gradients are central differences (zero on the border row and column), orientations are
    unsigned (a stroke's two edges vote alike) and split bilinearly between the two nearest of 9
    bins, each vote weighted by the gradient magnitude. A 2×2-cell block is the concatenation of its
    four 9-bin histograms, normalized L2-Hys: v / ‖v‖, clipped at 0.2, normalized again."""
    x = images.astype(np.float32) / np.float32(255)  # (N, 28, 28)
    n, height, width = x.shape
    gx = np.zeros_like(x)
    gy = np.zeros_like(x)
    gx[:, :, 1:-1] = x[:, :, 2:] - x[:, :, :-2]
    gy[:, 1:-1, :] = x[:, 2:, :] - x[:, :-2, :]
    magnitude = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi)  # [0, π]; π folds onto bin 0 below
    position = angle / np.float32(np.pi / HOG_BINS) - np.float32(0.5)  # bin centres at integers
    lower = np.floor(position)
    upper_weight = position - lower
    lower_bin = lower.astype(np.int64) % HOG_BINS
    upper_bin = (lower_bin + 1) % HOG_BINS
    bins = np.arange(HOG_BINS)
    votes = (magnitude * (1 - upper_weight))[..., None] * (bins == lower_bin[..., None]) + (
        magnitude * upper_weight
    )[..., None] * (bins == upper_bin[..., None])  # (N, 28, 28, 9)
    rows, cols = height // HOG_CELL, width // HOG_CELL
    cells = votes.reshape(n, rows, HOG_CELL, cols, HOG_CELL, HOG_BINS).sum(
        axis=(2, 4)
    )  # (N, 4, 4, 9)
    blocks = np.concatenate(
        [
            cells[:, dy : rows - HOG_BLOCK + 1 + dy, dx : cols - HOG_BLOCK + 1 + dx]
            for dy in range(HOG_BLOCK)
            for dx in range(HOG_BLOCK)
        ],
        axis=-1,
    )  # (N, 3, 3, 36)
    blocks = blocks / np.sqrt(np.sum(blocks**2, axis=-1, keepdims=True) + HOG_EPS**2)
    blocks = np.minimum(blocks, np.float32(HOG_CLIP))
    blocks = blocks / np.sqrt(np.sum(blocks**2, axis=-1, keepdims=True) + HOG_EPS**2)
    descriptors: np.ndarray = blocks.reshape(n, -1).astype(np.float32)
    return descriptors


class PixelFeatures:
    kind = "pixels"

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return pixels(images)

    def arrays(self) -> dict[str, np.ndarray]:
        return {}

    def card_arguments(self) -> dict[str, Any]:
        return {}


class HOGFeatures:
    kind = "hog"

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return hog(images)

    def arrays(self) -> dict[str, np.ndarray]:
        return {}

    def card_arguments(self) -> dict[str, Any]:
        return {}


class PCAFeatures:
    """Projection on the first k principal axes of the training pixels."""

    kind = "pca"

    def __init__(self, mean: np.ndarray, components: np.ndarray) -> None:
        self.mean = mean.astype(np.float32)  # (784,)
        self.components = components.astype(np.float32)  # (k, 784), orthonormal rows

    @classmethod
    def fit(cls, images: np.ndarray, components: int, seed: int) -> "PCAFeatures":
        from sklearn.decomposition import PCA

        if components > min(len(images), images[0].size):
            raise UsageError(
                f"components must be at most {min(len(images), images[0].size)} here "
                f"(the number of training digits and of pixels), got {components}"
            )
        # "covariance_eigh" is exact and deterministic, and fast when rows >> columns, as here.
        pca = PCA(components, svd_solver="covariance_eigh", random_state=seed)
        pca.fit(pixels(images).astype(np.float64))
        return cls(pca.mean_, pca.components_)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        # In float64 then rounded, so a row's features do not depend on the batch it came in.
        centred = pixels(images).astype(np.float64) - self.mean
        return (centred @ self.components.T.astype(np.float64)).astype(np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"pca.mean": self.mean, "pca.components": self.components}

    def card_arguments(self) -> dict[str, Any]:
        return {}


class CNNFeatures:
    """A trained CNN's penultimate features; its weights and card travel with the baseline."""

    kind = "cnn"

    def __init__(self, classifier: Any) -> None:
        self.classifier = classifier  # a digitrec.models.torch_classifier.TorchClassifier

    @classmethod
    def load(cls, spec: str) -> "CNNFeatures":
        from digitrec.models.modelfile import read_model
        from digitrec.models.torch_classifier import TorchClassifier

        card, arrays = read_model(spec)
        if card.kind != "torch":
            raise UsageError(f"cnn must name a trained CNN (a torch model), {spec} is a baseline")
        return cls(TorchClassifier.from_arrays(card, arrays))

    def __call__(self, images: np.ndarray) -> np.ndarray:
        features: np.ndarray = self.classifier.embed(images)
        return features

    def arrays(self) -> dict[str, np.ndarray]:
        weights: dict[str, np.ndarray] = self.classifier.arrays()
        return {CNN_PREFIX + name: value for name, value in weights.items()}

    def card_arguments(self) -> dict[str, Any]:
        card: dict[str, Any] = self.classifier.card.to_json()
        return {"cnn_card": card}


def feature_kind(arguments: dict[str, Any]) -> str:
    """cnn-svm's features are its CNN's; every other baseline names them in `features`."""
    return "cnn" if "cnn" in arguments else str(arguments["features"])


def fit_features(arguments: dict[str, Any], images: np.ndarray, seed: int) -> FeatureMap:
    """The feature map a baseline's (resolved) arguments ask for, fitted on training images."""
    kind = feature_kind(arguments)
    if kind == "pca":
        return PCAFeatures.fit(images, int(arguments["components"]), seed)
    if kind == "cnn":
        return CNNFeatures.load(str(arguments["cnn"]))
    return _stateless(kind)


def load_features(arguments: dict[str, Any], arrays: dict[str, np.ndarray]) -> FeatureMap:
    """Rebuild a fitted feature map from a baseline card's arguments and its file's arrays."""
    kind = feature_kind(arguments)
    if kind == "pca":
        return PCAFeatures(required(arrays, "pca.mean"), required(arrays, "pca.components"))
    if kind == "cnn":
        from digitrec.models.modelfile import ModelCard
        from digitrec.models.torch_classifier import TorchClassifier

        if "cnn_card" not in arguments:
            raise DataError("cnn-svm card has no cnn_card argument (the CNN's own card)")
        card = ModelCard.from_json(arguments["cnn_card"], "the cnn_card of a cnn-svm card")
        weights = {
            name.removeprefix(CNN_PREFIX): value
            for name, value in arrays.items()
            if name.startswith(CNN_PREFIX)
        }
        return CNNFeatures(TorchClassifier.from_arrays(card, weights))
    try:
        return _stateless(kind)
    except UsageError as error:
        raise DataError(str(error)) from None


def required(arrays: dict[str, np.ndarray], name: str) -> np.ndarray:
    """arrays[name], or a DataError naming what the model file lacks."""
    if name not in arrays:
        raise DataError(f"model file has no array {name!r}; it is damaged or not this model")
    return arrays[name]


def _stateless(kind: str) -> FeatureMap:
    if kind == "pixels":
        return PixelFeatures()
    if kind == "hog":
        return HOGFeatures()
    raise UsageError(f"unknown features {kind!r}; known: pixels, pca, hog")


def transform(features: FeatureMap, images: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """features(images) a chunk at a time: (N, 28, 28) uint8 -> (N, D) float32, bounded memory
    (HOG's per-pixel votes are 28·28·9 floats per digit)."""
    parts = [features(images[start : start + chunk]) for start in range(0, len(images), chunk)]
    if not parts:
        return features(images)
    return np.concatenate(parts)
