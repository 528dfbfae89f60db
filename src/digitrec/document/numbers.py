"""Numbers as a report writes them: one function per kind of number, so a report and its tests
format alike."""

import statistics


def percent(fraction: float) -> str:
    return f"{fraction:.2%}"


def mean_std(fractions: list[float]) -> str:
    """'99.12%' for one value, '99.12 ± 0.05%' (sample standard deviation) for several."""
    if len(fractions) == 1:
        return percent(fractions[0])
    return f"{100 * statistics.mean(fractions):.2f} ± {100 * statistics.stdev(fractions):.2f}%"


def points(difference: float) -> str:
    """A difference of two fractions in percentage points, signed."""
    return f"{100 * difference:+.2f} pt"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f} s" if value >= 100 else f"{value:.1f} s"


def count(value: float) -> str:
    return f"{value:,.0f}"


def megabytes(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} MB"
