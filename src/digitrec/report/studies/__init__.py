"""The experiments the seed papers ran, one module each, rerun with `digitrec study NAME`:

- `hidden-layers`: MLPs with 1-4 hidden layers and CNNs with 1-4 conv blocks;
- `epochs`: validation and test accuracy after each of 30 epochs, beside the papers' epoch tables;
- `ablation`: Agrahari et al.'s MobileNet with batch norm, dropout, augmentation and the auxiliary
  classifier removed one at a time;
- `noise`: accuracy on noisy MNIST of models trained with and without noise augmentation;
- `transfer`: MNIST -> USPS with 10 / 100 / 1000 labels, fine-tuned against from scratch.

Each study trains through the run cache, prints a table while it runs, and returns the sections
and numbers of its report; `run_study` writes that report.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from digitrec.document.content import Report, write_report
from digitrec.errors import UsageError
from digitrec.report.settings import Settings, apply_threads, machine_record
from digitrec.report.studies.measure import StudyResult


@dataclass(frozen=True)
class Study:
    run: Callable[[Settings], StudyResult]
    default_seeds: int  # seeds when --seeds is not given


def _load(name: str) -> Callable[[Settings], StudyResult]:
    def run(settings: Settings) -> StudyResult:
        import importlib

        module = importlib.import_module(f"digitrec.report.studies.{name.replace('-', '_')}")
        study: Callable[[Settings], StudyResult] = module.study
        return study(settings)

    return run


STUDIES: dict[str, Study] = {
    "hidden-layers": Study(_load("hidden-layers"), default_seeds=2),
    "epochs": Study(_load("epochs"), default_seeds=1),
    "ablation": Study(_load("ablation"), default_seeds=1),
    "noise": Study(_load("noise"), default_seeds=1),
    "transfer": Study(_load("transfer"), default_seeds=3),
}


def run_study(
    name: str, out: Path, settings: Settings | None = None, *, command: str = ""
) -> Report:
    """Run study `name` (a key of STUDIES) and write its report into `out`."""
    if name not in STUDIES:
        raise UsageError(f"unknown study {name!r}; known: {', '.join(STUDIES)}")
    settings = settings or Settings(seeds=STUDIES[name].default_seeds)
    apply_threads(settings.threads)
    result = STUDIES[name].run(settings)
    sections = result.sections
    if settings.is_smoke:
        sections = [result.smoke_section(settings), *sections]
    report = Report(
        result.title,
        command,
        machine_record(settings),
        sections,
        {"kind": f"study:{name}", **result.results},
        summary=result.summary,
    )
    write_report(report, out)
    return report


__all__ = ["STUDIES", "Study", "run_study"]
