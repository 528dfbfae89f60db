"""digitrec: handwritten digit and number recognition.

The top-level package stays cheap to import (no torch, no OpenCV): heavy modules are imported by
the functions that need them.
"""

from digitrec.errors import DigitrecError

__version__ = "0.1.0"

__all__ = ["DigitrecError", "__version__"]
