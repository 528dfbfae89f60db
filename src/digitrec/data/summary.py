"""What `digitrec data info` reports: files, checksums, and per-split counts and class balance."""

import hashlib
from pathlib import Path
from typing import Any

from digitrec.data import FetchReport, dataset_parts, fetch, load_splits, parse_spec, part_weight
from digitrec.data.numbers import is_number_dataset, load_numbers
from digitrec.data.splits import SplitConfig

SPLIT_ORDER = ("train", "val", "test", "all")


def summarize(spec: str, source: Path | None, splits: SplitConfig) -> dict[str, Any]:
    """A JSON-ready description of a dataset and each of its splits."""
    if is_number_dataset(spec):
        return summarize_numbers(spec, source)
    lone = dataset_parts(spec)
    entry, variant = parse_spec(part_weight(spec)[0]) if len(lone) == 1 else (None, "")
    report = fetch(spec, source)
    loaded = load_splits(spec, source, splits)
    any_split = next(iter(loaded.values()))
    return {
        "dataset": entry.name if entry else spec,  # a joined spec is its own name
        "variant": variant or None,
        "classes": list(any_split.classes),
        "cache": str(report.directory) if report else None,
        "files": _files(report),
        "scheme": splits.scheme,
        "seed": splits.seed,
        "splits": {
            name: {
                "count": len(loaded[name]),
                "image_shape": list(loaded[name].image_shape),
                "class_counts": loaded[name].class_counts().tolist(),
                # Identifies the exact images and their order: equal hashes, equal split.
                "images_sha256": hashlib.sha256(loaded[name].images.tobytes()).hexdigest(),
            }
            for name in SPLIT_ORDER
            if name in loaded
        },
    }


def summarize_numbers(spec: str, source: Path | None) -> dict[str, Any]:
    """The same for a dataset of whole numbers: per split, how many and of what lengths."""
    report = fetch(spec, source)
    loaded = load_numbers(spec, source)
    return {
        "dataset": spec.partition(":")[0],
        "variant": spec.partition(":")[2] or None,
        "kind": "numbers",
        "cache": str(report.directory) if report else None,
        "files": _files(report),
        "splits": {
            name: {
                "count": len(loaded[name]),
                "length_counts": loaded[name].length_counts(),
                # the file names and texts, in order: equal hashes, equal split
                "labels_sha256": hashlib.sha256(
                    "\n".join(
                        f"{f},{t}"
                        for f, t in zip(loaded[name].files, loaded[name].texts, strict=True)
                    ).encode()
                ).hexdigest(),
            }
            for name in SPLIT_ORDER
            if name in loaded
        },
    }


def _files(report: FetchReport | None) -> list[dict[str, str]]:
    if report is None:
        return []
    return [
        {"name": name, "sha256": report.checksums[name], "origin": origin}
        for name, origin in report.origins.items()
    ]
