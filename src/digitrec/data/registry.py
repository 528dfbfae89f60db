"""The datasets digitrec knows, by name: a plain dict, name -> how to fetch and load it.

A dataset is named by a spec: `mnist`, `usps`, `emnist:letters`, `noisy-mnist:blur-high`, a folder
of your own digits (`folder:PATH`, or just the path of an existing folder), or the corrections
users submitted (`feedback:PATH`, `feedback` alone: `$DIGITREC_HOME/feedback.db`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from digitrec.data import cvl, emnist, folder, mnist, noisy, usps
from digitrec.data.acquire import FetchReport
from digitrec.data.digitset import DigitSet
from digitrec.data.feedback import default_store_path
from digitrec.data.feedback_sets import feedback_parts
from digitrec.errors import DataError, UsageError
from digitrec.storage import sha256_file

Fetcher = Callable[[str, Path | None], FetchReport | None]
PartsLoader = Callable[[str, Path | None], dict[str, DigitSet]]


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    summary: str
    fetch: Fetcher  # (variant, source) -> where the verified files are; None if read in place
    load_parts: PartsLoader  # (variant, source) -> the official parts, e.g. {"train", "test"}
    variants: tuple[str, ...] = ()
    default_variant: str = ""


def _noisy_parts(variant: str, source: Path | None) -> dict[str, DigitSet]:
    return {"test": noisy.make_noisy(mnist.load_parts(source)["test"], variant)}


def _folder_path(variant: str) -> Path:
    if not variant:
        raise UsageError("name the folder: folder:PATH (sub-folders 0/ … 9/ of images)")
    return Path(variant).expanduser()


def _check_folder(variant: str, _source: Path | None) -> None:
    """Folders are read in place: nothing to fetch, but say now if there is nothing to read."""
    folder.image_files(_folder_path(variant))


def _feedback_path(variant: str) -> Path:
    return Path(variant).expanduser() if variant else default_store_path()


def _check_feedback(variant: str, _source: Path | None) -> FetchReport:
    """A store is read in place; its SHA-256 goes into the run's config (a snapshot's is fixed)."""
    path = _feedback_path(variant)
    if not path.is_file():
        raise DataError(f"{path}: no feedback database (start `digitrec serve` and submit some)")
    return FetchReport(
        f"feedback:{path}", path.parent, {path.name: "in place"}, {path.name: sha256_file(path)}
    )


DATASETS: dict[str, DatasetEntry] = {
    "mnist": DatasetEntry(
        "mnist",
        "MNIST handwritten digits, 28×28, 60,000 train / 10,000 test",
        fetch=lambda _variant, source: mnist.fetch(source),
        load_parts=lambda _variant, source: mnist.load_parts(source),
    ),
    "usps": DatasetEntry(
        "usps",
        "USPS zip-code digits (ESL), 16×16, 7,291 train / 2,007 test",
        fetch=lambda _variant, source: usps.fetch(source),
        load_parts=lambda _variant, source: usps.load_parts(source),
    ),
    "cvl": DatasetEntry(
        "cvl",
        "CVL real digits of 127 writers (ICDAR 2013), split by writer: 70/10/20% of the writers",
        fetch=lambda _variant, source: cvl.fetch(source),
        load_parts=lambda _variant, source: cvl.load_parts(source),
    ),
    "emnist": DatasetEntry(
        "emnist",
        "EMNIST from NIST's gzip.zip, 28×28; subsets digits, mnist, balanced, letters",
        fetch=emnist.fetch,
        load_parts=emnist.load_parts,
        variants=tuple(emnist.VARIANTS),
        default_variant="digits",
    ),
    "noisy-mnist": DatasetEntry(
        "noisy-mnist",
        "MNIST test digits with Gaussian noise, salt-and-pepper or blur at low/medium/high",
        fetch=lambda _variant, source: mnist.fetch(source),
        load_parts=_noisy_parts,
        variants=noisy.VARIANTS,
        default_variant="gaussian-medium",
    ),
    "folder": DatasetEntry(
        "folder",
        "your own digits: folder:PATH with sub-folders 0/ … 9/ of images in any common format",
        fetch=_check_folder,
        load_parts=lambda variant, _source: folder.load_parts(_folder_path(variant)),
    ),
    "feedback": DatasetEntry(
        "feedback",
        "the corrections users submitted (feedback:PATH; the newest 20% by time are its test)",
        fetch=_check_feedback,
        load_parts=lambda variant, _source: feedback_parts(_feedback_path(variant)),
    ),
}


def parse_spec(spec: str) -> tuple[DatasetEntry, str]:
    """'emnist:letters' -> (the emnist entry, 'letters'); an existing folder -> (folder, path)."""
    name, _, variant = spec.partition(":")
    if name not in DATASETS:
        if Path(spec).expanduser().is_dir():
            return DATASETS["folder"], spec
        raise UsageError(
            f"unknown dataset {spec!r}; choose from {', '.join(DATASETS)} or a folder path"
        )
    entry = DATASETS[name]
    if entry.variants:
        variant = variant or entry.default_variant
        if variant not in entry.variants:
            raise UsageError(
                f"unknown {name} variant {variant!r}; choose from {', '.join(entry.variants)}"
            )
    elif variant and name not in ("folder", "feedback"):
        raise UsageError(f"{name} has no variants (got {spec!r})")
    return entry, variant
