"""Timing a call: the seconds of each of several runs after warm-up, by the standard library's
`timeit` (a monotonic high-resolution clock, the garbage collector paused while a run is timed).
Latency medians, benchmark percentiles and the backend choice all time calls through here."""

import timeit
from collections.abc import Callable


def call_seconds(call: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Run `call` `warmup` times untimed, then `repeats` times, and return each timed run's
    seconds."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0 (got {repeats}, {warmup})")
    for _ in range(warmup):
        call()
    return timeit.Timer(call).repeat(repeat=repeats, number=1)
