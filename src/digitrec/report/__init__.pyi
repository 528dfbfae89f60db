"""Names this package loads on first use (lazy_loader reads this stub; mypy types it)."""

from .comparison import compare as compare
from .settings import Settings as Settings
from .studies import STUDIES as STUDIES
from .studies import run_study as run_study
