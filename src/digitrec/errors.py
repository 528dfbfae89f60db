"""The exceptions digitrec raises for problems a user can fix.

Each carries a one-line message meant to be shown as is; the CLI prints it without a traceback.
Anything else that escapes is a bug and keeps its traceback under `--verbose`.
"""


class DigitrecError(Exception):
    """A failure the user can act on: bad input, missing data, a bad argument."""

    exit_code = 1


class UsageError(DigitrecError):
    """A bad argument or an unknown name."""

    exit_code = 2


class DataError(DigitrecError):
    """Data that is missing, unreadable or malformed."""


class ChecksumError(DataError):
    """A file whose SHA-256 differs from the one it must have."""


class NotAnImageError(DataError):
    """Bytes that no image decoder understands: empty, truncated, another kind of file."""


class ImageTooLargeError(DataError):
    """An image (or file) over a configured size limit; refused before it is decoded in full."""
