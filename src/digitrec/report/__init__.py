"""Comparative reports: `compare` the model zoo at the papers' settings, and the `studies` the
papers ran (hidden layers, epochs, ablation, noise, transfer), each written as report.md, a
self-contained report.html, report.json and PNG plots.

Runs are cached by a hash of their training config (`report.cache`), so a report reruns only what
changed. Importing this package is cheap; torch and matplotlib load when a report is made.

    from digitrec.report import compare, run_study, Settings
    compare(["cnn-small", "svm"], Path("reports/small"), Settings(seeds=3))
    run_study("transfer", Path("reports/transfer"), Settings(usps_source=Path("../shared/data/usps")))
"""

from typing import Any

from digitrec.report.runner import Settings


def __getattr__(name: str) -> Any:
    if name == "compare":
        from digitrec.report.comparison import compare

        return compare
    if name in ("run_study", "STUDIES"):
        from digitrec.report import studies

        return getattr(studies, name)
    raise AttributeError(f"module 'digitrec.report' has no attribute {name!r}")


__all__ = ["STUDIES", "Settings", "compare", "run_study"]
