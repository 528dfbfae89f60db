"""The hidden-layers study: how depth changes accuracy, as Kushwaha et al. and Agrahari et al. vary
"the number of hidden layers" (neither prints the numbers). Fully connected networks with 1-4
hidden layers (512, then halving), and CNNs with 1-4 conv blocks (conv-BN-ReLU-maxpool at 16, 32,
64, 128 channels: digitrec's `fast` architecture has three), all trained with the same settings —
Kushwaha et al.'s recipe (Adam 1e-3, batch 32, 10 epochs).
"""

from typing import Any

from digitrec.document import plots
from digitrec.document.content import Figure, Section, Table
from digitrec.document.numbers import count, mean_std, percent, seconds
from digitrec.report.live import LiveTable
from digitrec.report.settings import Settings
from digitrec.report.studies.measure import Group, Progress, StudyResult, train_and_measure

RECIPE = "kushwaha"
MLP_HIDDEN = ((512,), (512, 256), (512, 256, 128), (512, 256, 128, 64))
CNN_WIDTHS = ((16,), (16, 32), (16, 32, 64), (16, 32, 64, 128))


def variants() -> list[tuple[str, int, str, dict[str, Any]]]:
    """(family, depth, sizes, TrainConfig values) for every network of the study."""
    mlps = [
        ("MLP", len(h), "-".join(map(str, h)), {"model": "mlp", "model_args": {"hidden": list(h)}})
        for h in MLP_HIDDEN
    ]
    cnns = [
        ("CNN", len(w), "-".join(map(str, w)), {"model": "fast", "model_args": {"widths": list(w)}})
        for w in CNN_WIDTHS
    ]
    return mlps + cnns


def study(settings: Settings) -> StudyResult:
    from digitrec.train import RECIPES

    recipe = RECIPES[RECIPE]
    networks = variants()
    live = LiveTable(
        "hidden-layers study: MNIST test accuracy by depth",
        ["network", "layers", "sizes", "seed", "params", "val", "test"],
        [7, 6, 18, 4, 10, 7, 7],
    )
    progress = Progress(len(networks) * settings.seeds)
    groups: dict[tuple[str, int], Group] = {}
    for family, depth, sizes, change in networks:
        group = groups.setdefault((family, depth), Group())
        for seed in range(settings.seeds):
            progress.next(
                f"{family} with {depth} {'hidden layers' if family == 'MLP' else 'conv blocks'}, seed {seed}"
            )
            values = recipe.values | change | {"recipe": RECIPE, "seed": seed}
            if settings.epochs:
                values["epochs"] = settings.epochs
            run, measurement = train_and_measure(values, settings)
            group.add(run, measurement)
            live.add(
                [
                    family,
                    str(depth),
                    sizes,
                    str(seed),
                    count(measurement.metrics["parameters"]),
                    percent(float(run.card["metrics"]["val_accuracy"])),
                    percent(measurement.metrics["accuracy"]),
                ]
            )
    rows = [
        [
            family,
            str(depth),
            sizes,
            count(groups[(family, depth)].parameters),
            mean_std(groups[(family, depth)].val_accuracies),
            mean_std(groups[(family, depth)].accuracies),
            seconds(groups[(family, depth)].train_seconds),
        ]
        for family, depth, sizes, _ in networks
    ]
    epochs = settings.epochs or recipe.values["epochs"]
    table = Table(
        [
            "network",
            "hidden layers / conv blocks",
            "widths",
            "parameters",
            "validation",
            "test accuracy",
            "training",
        ],
        rows,
        caption=f"Mean ± sample std over {settings.seeds} seed(s), MNIST test. All trained with "
        f"Adam 1e-3, batch 32, {epochs:g} epochs ({RECIPE} recipe). MLP: ReLU and dropout 0.2 "
        "after each hidden layer. CNN: each block conv 3×3-BN-ReLU-maxpool; one linear layer.",
    )
    depths = [1, 2, 3, 4]
    figure = Figure(
        "hidden-layers",
        "Test accuracy against depth (mean ± std over seeds)",
        plots.lines(
            {
                "MLP (hidden layers)": (depths, [100 * groups[("MLP", d)].mean for d in depths]),
                "CNN (conv blocks)": (depths, [100 * groups[("CNN", d)].mean for d in depths]),
            },
            "hidden layers / conv blocks",
            "test accuracy (%)",
            "accuracy against depth",
            errors={
                "MLP (hidden layers)": [100 * groups[("MLP", d)].std for d in depths],
                "CNN (conv blocks)": [100 * groups[("CNN", d)].std for d in depths],
            },
            xticks=depths,
        ),
    )
    return StudyResult(
        "digitrec study hidden-layers: accuracy against depth",
        "MLPs with 1-4 hidden layers and CNNs with 1-4 conv blocks, trained alike.",
        [Section("Results", [table, figure])],
        {
            "recipe": RECIPE,
            "epochs": epochs,
            "networks": {f"{f}-{d}": groups[(f, d)].to_json() for f, d, _, _ in networks},
        },
    )
