"""The noise study: accuracy on noisy MNIST — Gaussian noise, salt and pepper, blur, each at three
levels — of models trained with and without noise augmentation (`TrainConfig.noise`: that share of
the training digits gets a random kind of noise at a random strength up to the high level).

Noisy MNIST is made from the official test split, which none of these models trains on.
"""

from digitrec.document import plots
from digitrec.document.content import Block, Figure, Section, Table
from digitrec.document.numbers import mean_std, percent
from digitrec.report.live import LiveTable
from digitrec.report.paper_claims import NAGPAL, NOISY_DIGITS
from digitrec.report.settings import Settings
from digitrec.report.studies.measure import (
    Group,
    Progress,
    StudyResult,
    measure_on,
    train_and_measure,
)

RECIPES = ("albayati", "nagpal")
NOISE = 0.5  # share of training digits corrupted, in the "with noise" runs
KINDS = ("gaussian", "salt-pepper", "blur")
LEVELS = ("low", "medium", "high")


def study(settings: Settings) -> StudyResult:
    from digitrec.data.noisy import NOISE_LEVELS
    from digitrec.train import RECIPES as ALL_RECIPES

    # a smoke run checks the pipeline, not the curves: one model, the high levels only
    recipes = RECIPES[:1] if settings.is_smoke else RECIPES
    levels = ("high",) if settings.is_smoke else LEVELS
    variants = [f"{kind}-{level}" for kind in KINDS for level in levels]
    live = LiveTable(
        "noise study: test accuracy, clean and noisy",
        ["recipe", "noise", "seed", "clean", *variants],
        [9, 5, 4, 7, *[max(8, len(v)) for v in variants]],
    )
    progress = Progress(len(recipes) * 2 * settings.seeds)
    # (recipe, trained with noise) -> dataset -> group
    groups: dict[tuple[str, bool], dict[str, Group]] = {}
    for recipe in recipes:
        for noisy in (False, True):
            by_dataset = groups.setdefault((recipe, noisy), {})
            for seed in range(settings.seeds):
                progress.next(f"{recipe} {'with' if noisy else 'without'} noise, seed {seed}")
                values = ALL_RECIPES[recipe].values | {
                    "recipe": recipe,
                    "seed": seed,
                    "noise": NOISE if noisy else 0.0,
                }
                if settings.epochs:
                    values["epochs"] = settings.epochs
                run, clean = train_and_measure(values, settings)
                by_dataset.setdefault("mnist", Group()).add(run, clean)
                cells = [percent(clean.metrics["accuracy"])]
                for variant in variants:
                    measured = measure_on(run, f"noisy-mnist:{variant}", settings)
                    by_dataset.setdefault(variant, Group()).add(run, measured)
                    cells.append(percent(measured.metrics["accuracy"]))
                live.add([recipe, f"{NOISE if noisy else 0:g}", str(seed), *cells])
    rows = []
    for (recipe, noisy), by_dataset in groups.items():
        model = by_dataset["mnist"].runs[0].config.model
        noisy_mean = sum(by_dataset[v].mean for v in variants) / len(variants)
        rows.append(
            [
                f"{recipe} (`{model}`)",
                f"{NOISE:.0%} of digits" if noisy else "none",
                mean_std(by_dataset["mnist"].accuracies),
                *[mean_std(by_dataset[v].accuracies) for v in variants],
                percent(noisy_mean),
            ]
        )
    table = Table(
        ["model", "noise in training", "clean", *variants, "mean of noisy"],
        rows,
        caption=f"Test accuracy, mean ± std over {settings.seeds} seed(s). Levels — gaussian σ: "
        + ", ".join(f"{v:g}" for v in NOISE_LEVELS["gaussian"].values())
        + " of full intensity; salt-pepper: "
        + ", ".join(f"{v:.0%}" for v in NOISE_LEVELS["salt-pepper"].values())
        + " of pixels; blur σ: "
        + ", ".join(f"{v:g}" for v in NOISE_LEVELS["blur"].values())
        + " pixels.",
    )
    blocks: list[Block] = [table]
    nagpal = groups.get(("nagpal", False), {}).get(NOISY_DIGITS.split(":")[1])
    if nagpal is not None:
        blocks.append(
            f"{NAGPAL} report 98.50% on noisy handwritten digits without saying what noise; "
            f"their CNN (`cnn-wide`, trained without noise) reaches {mean_std(nagpal.accuracies)} "
            f"here on `{NOISY_DIGITS}` (difference {100 * (nagpal.mean - 0.985):+.2f} pt)."
        )
    for kind in KINDS:
        xs = list(range(len(levels) + 1))
        series = {
            f"{recipe}, {'with' if noisy else 'without'} noise": (
                xs,
                [100 * by_dataset["mnist"].mean]
                + [100 * by_dataset[f"{kind}-{level}"].mean for level in levels],
            )
            for (recipe, noisy), by_dataset in groups.items()
        }
        figure = plots.lines(
            series,
            f"{kind} level (0 clean, 1 low, 2 medium, 3 high)",
            "test accuracy (%)",
            f"accuracy under {kind}",
            xticks=xs,
        )
        blocks.append(Figure(f"noise-{kind}", f"Test accuracy under {kind} noise", figure))
    results = {
        "noise_share": NOISE,
        "models": {
            f"{recipe}{'+noise' if noisy else ''}": {v: g.to_json() for v, g in d.items()}
            for (recipe, noisy), d in groups.items()
        },
    }
    return StudyResult(
        "digitrec study noise: accuracy on noisy digits, trained with and without noise",
        "Al-Bayati's and Nagpal et al.'s CNNs with their recipes, each trained once on clean "
        f"digits and once with {NOISE:.0%} of the training digits corrupted, then measured on "
        "the nine noisy MNIST test sets.",
        [Section("Results", blocks)],
        results,
    )
