"""Comparative reports: `compare` the model zoo at the papers' settings, and the `studies` the
papers ran (hidden layers, epochs, ablation, noise, transfer), each written as report.md, a
self-contained report.html, report.json and PNG plots.

Runs are cached by a hash of their training config (`report.cache`), so a report reruns only what
changed. Importing this package is cheap; torch and matplotlib load when a report is made.

    from digitrec.report import compare, run_study, Settings
    compare(["cnn-small", "svm"], Path("reports/small"), Settings(seeds=3))
    run_study("transfer", Path("reports/transfer"), Settings(usps_source=Path("../shared/data/usps")))
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
