"""How well strings were read: exact-string accuracy and character error rate, the two numbers
every reading result in digitrec (tests, training, benchmarks) is judged by."""

from collections.abc import Sequence


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, each costing 1."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def string_scores(truths: Sequence[str], reads: Sequence[str]) -> dict[str, float]:
    """{"exact": share of strings read exactly, "cer": edits / characters of the truths}."""
    if len(truths) != len(reads) or not truths:
        raise ValueError("need as many readings as truths, at least one")
    errors = sum(edit_distance(t, r) for t, r in zip(truths, reads, strict=True))
    exact = sum(t == r for t, r in zip(truths, reads, strict=True))
    return {"exact": exact / len(truths), "cer": errors / max(1, sum(len(t) for t in truths))}
