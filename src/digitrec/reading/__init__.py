"""Reading handwritten numbers — a line of digits — from scans, photos and drawings."""

from digitrec.reading.reader import NumberReading, ReadDigit, read, read_many

__all__ = ["NumberReading", "ReadDigit", "read", "read_many"]
