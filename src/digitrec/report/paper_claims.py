"""What the seed papers report, number by number, and which of our runs each is set against.

Sources (`../shared/seeds/`): Tonape & Satarkar, "Handwritten Digit Recognition Using CNN: A
Transfer Learning Approach" (Table 1); Agrahari, Patel & Singh, "Advancing Handwritten Digit
Recognition with AI" (the results table); Al-Bayati, "Deep Learning for Handwritten Digit
Recognition System: A Convolution Neural Network Approach" (Tables 6-8); Kushwaha et al., "CNN-Based
Image Classification for Handwritten Digit Recognition"; Nagpal et al., "Handwritten Digit
Recognition Using Deep Learning" (project report, Chandigarh University 2023: model summary,
training log, evaluation). The recipes in `digitrec.train.recipes` hold the same headline numbers
in `reported`; a test keeps the two in agreement.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    paper: str
    their_model: str  # as the paper names it
    measure: str  # what the number is, in the paper's words
    value: float  # a fraction
    ours: str  # the compare entry set against it (a model name of the zoo or the baselines)
    dataset: str = "mnist"  # what our model is measured on for this claim
    train_seconds: float | None = None  # the paper's training time, when it gives one
    note: str = ""  # how well the two match: what differs, what we assumed


TONAPE = "Tonape & Satarkar"
AGRAHARI = "Agrahari et al."
ALBAYATI = "Al-Bayati"
KUSHWAHA = "Kushwaha et al."
NAGPAL = "Nagpal et al."

# Our measurement for Nagpal et al.'s "noisy handwritten digits": they do not say what noise;
# we take the middle Gaussian level of noisy MNIST.
NOISY_DIGITS = "noisy-mnist:gaussian-medium"

# Per-epoch numbers the papers print, for the epochs study.
# Al-Bayati, Table 7: epoch -> (training accuracy, training loss, validation accuracy, val loss).
ALBAYATI_EPOCHS: dict[int, tuple[float, float, float, float]] = {
    1: (0.7729, 0.7154, 0.9765, 0.0784),
    2: (0.9640, 0.1214, 0.9855, 0.0523),
    3: (0.9759, 0.0846, 0.9870, 0.0445),
    4: (0.9811, 0.0651, 0.9878, 0.0423),
    5: (0.9824, 0.0566, 0.9887, 0.0402),
    6: (0.9829, 0.0516, 0.9893, 0.0370),
    7: (0.9858, 0.0449, 0.9894, 0.0365),
    8: (0.9877, 0.0383, 0.9898, 0.0364),
    9: (0.9893, 0.0319, 0.9903, 0.0369),
    10: (0.9900, 0.0320, 0.9900, 0.0394),
}
# Nagpal et al.'s Keras training log: epoch -> (training accuracy, training loss, seconds).
NAGPAL_EPOCHS: dict[int, tuple[float, float, float]] = {
    1: (0.9635, 0.1177, 267),
    2: (0.9880, 0.0385, 251),
    3: (0.9913, 0.0269, 251),
    4: (0.9943, 0.0186, 251),
    5: (0.9955, 0.0147, 245),
    6: (0.9961, 0.0123, 236),
    7: (0.9969, 0.0099, 234),
    8: (0.9973, 0.0080, 234),
    9: (0.9977, 0.0069, 236),
    10: (0.9975, 0.0072, 234),
}

CLAIMS: tuple[Claim, ...] = (
    Claim(
        TONAPE,
        "SVM",
        "MNIST accuracy",
        0.934,
        "svm",
        train_seconds=1200,
        note="their SVM's kernel and features are not given; ours: RBF on 50 PCA components",
    ),
    Claim(
        TONAPE,
        "k-NN",
        "MNIST accuracy",
        0.951,
        "knn",
        train_seconds=1100,
        note="k and features not given; ours: k 3 on 30 PCA components",
    ),
    Claim(
        TONAPE,
        "Simple CNN",
        "MNIST accuracy",
        0.985,
        "cnn-small",
        train_seconds=860,
        note="architecture not given; ours: Al-Bayati's two-conv CNN",
    ),
    Claim(
        TONAPE,
        "CNN + transfer learning",
        "MNIST validation accuracy",
        0.992,
        "cnn-deep",
        train_seconds=840,
        note="their four-conv CNN on an 80/10/10 split; the ResNet-18 feature extractor they "
        "mention is not specified; ours is measured on the test part of the same split",
    ),
    Claim(
        AGRAHARI,
        "LeNet-5",
        "MNIST test accuracy",
        0.975,
        "lenet5",
        note="their hyperparameters were 'tuned'; ours: Kushwaha et al.'s recipe",
    ),
    Claim(
        AGRAHARI,
        "ResNet",
        "MNIST test accuracy",
        0.985,
        "resnet18",
        note="depth not given; ours: ResNet-18 with a 3×3 stem",
    ),
    Claim(
        AGRAHARI,
        "DenseNet",
        "MNIST test accuracy",
        0.980,
        "densenet",
        note="size not given; ours: a small DenseNet-BC",
    ),
    Claim(AGRAHARI, "modified MobileNet", "MNIST test accuracy", 0.988, "mobilenet"),
    Claim(
        ALBAYATI,
        "CNN (conv32-conv64-FC128)",
        "MNIST test accuracy",
        0.9903,
        "cnn-small",
        note="'under 10 minutes on Google Colab using a GPU'",
    ),
    Claim(
        KUSHWAHA,
        "LeNet-5-based CNN",
        "MNIST accuracy",
        0.9923,
        "lenet5",
        note="their LeNet-5 variant and settings are not given",
    ),
    Claim(
        NAGPAL,
        "conv128-conv128-FC64 (354,378 parameters)",
        "MNIST test accuracy",
        0.9937,
        "cnn-wide",
        train_seconds=sum(row[2] for row in NAGPAL_EPOCHS.values()),
        note="their training log: 10 epochs of 234-267 s on the full 60,000",
    ),
    Claim(
        NAGPAL,
        "same CNN",
        "accuracy on noisy handwritten digits",
        0.985,
        "cnn-wide",
        dataset=NOISY_DIGITS,
        note="their noise is not described; ours: MNIST test with Gaussian noise σ 0.25",
    ),
)
