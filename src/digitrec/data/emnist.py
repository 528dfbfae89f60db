"""EMNIST (Cohen et al. 2017) from NIST's official `gzip.zip` archive.

The archive (561,753,746 bytes) is verified by its SHA-256 (the value TensorFlow Datasets records for
it); only then are the chosen subset's four `.gz` IDX members copied into the cache, with their own
SHA-256 written to a manifest so later loads verify them without the archive. EMNIST images are
stored transposed relative to MNIST; the loader turns them upright.

Not yet run against the real archive on this machine (it cannot be downloaded here); the tests build
small archives of the same layout.
"""

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitrec.data.acquire import (
    FetchReport,
    FileSpec,
    HttpsMirror,
    ensure_files,
    offline,
    require_source_dir,
)
from digitrec.data.digitset import DIGIT_CLASSES, DigitSet
from digitrec.data.idx import read_idx
from digitrec.data.mnist import check_images_and_labels
from digitrec.errors import ChecksumError, DataError, UsageError
from digitrec.home import dataset_dir
from digitrec.storage import atomic_write_text, read_chunks, sha256_file, write_hashed

ARCHIVE = FileSpec(
    "gzip.zip",
    "fb9bb67e33772a9cc0b895e4ecf36d2cf35be8b709693c3564cea2a019fcda8e",
    aliases=("emnist-gzip.zip",),
)
ARCHIVE_MIRRORS = (
    HttpsMirror("https://biometrics.nist.gov/cs_links/EMNIST/", gzipped=False),
    HttpsMirror("https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/", gzipped=False),
)
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Variant:
    classes: tuple[str, ...]
    first_label: int  # `letters` numbers its classes from 1


VARIANTS = {
    "digits": Variant(DIGIT_CLASSES, 0),
    "mnist": Variant(DIGIT_CLASSES, 0),
    "balanced": Variant(tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt"), 0),
    "letters": Variant(tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), 1),
}


def member_names(variant: str) -> dict[str, tuple[str, str]]:
    """{part: (images member, labels member)} inside the archive's `gzip/` folder."""
    return {
        part: (
            f"emnist-{variant}-{part}-images-idx3-ubyte.gz",
            f"emnist-{variant}-{part}-labels-idx1-ubyte.gz",
        )
        for part in ("train", "test")
    }


def fetch(
    variant: str, source: Path | None = None, *, archive_sha256: str = ARCHIVE.sha256
) -> FetchReport:
    """Make the subset's four members present and verified in the cache."""
    if variant not in VARIANTS:
        raise UsageError(f"unknown EMNIST subset {variant!r}; choose from {', '.join(VARIANTS)}")
    dest = dataset_dir("emnist")
    wanted = [name for pair in member_names(variant).values() for name in pair]
    manifest = _read_manifest(dest)
    if manifest.archive_sha256 == archive_sha256 and all(name in manifest.files for name in wanted):
        specs = [FileSpec(name, manifest.files[name]) for name in wanted]
        try:
            return ensure_files("emnist", specs)  # verifies the cached members
        except DataError:
            pass  # a member went missing or bad: extract again from the archive
    archive = _locate_archive(source, dest, archive_sha256)
    try:
        checksums = _extract(archive, wanted, dest, manifest, archive_sha256)
    finally:
        if archive.parent == dest:  # a download of ours, not the user's copy
            archive.unlink(missing_ok=True)
    origins = dict.fromkeys(wanted, f"{archive} (verified archive)")
    return FetchReport("emnist", dest, origins, {name: checksums[name] for name in wanted})


def load_parts(
    variant: str, source: Path | None = None, *, archive_sha256: str = ARCHIVE.sha256
) -> dict[str, DigitSet]:
    report = fetch(variant, source, archive_sha256=archive_sha256)
    spec = VARIANTS[variant]
    parts = {}
    for part, (images_name, labels_name) in member_names(variant).items():
        images = read_idx(report.path(images_name))
        labels = read_idx(report.path(labels_name)).astype(np.int64) - spec.first_label
        check_images_and_labels(
            images, labels, f"EMNIST {variant} {part}", count=None, num_classes=len(spec.classes)
        )
        upright = np.ascontiguousarray(images.transpose(0, 2, 1))
        parts[part] = DigitSet(f"emnist:{variant}", part, upright, labels, spec.classes)
    return parts


@dataclass
class Manifest:
    """What was extracted into the cache, from which archive, with each member's SHA-256."""

    archive_sha256: str | None
    files: dict[str, str]


def _read_manifest(dest: Path) -> Manifest:
    try:
        raw = json.loads((dest / MANIFEST).read_text())
        return Manifest(
            str(raw["archive_sha256"]), {str(k): str(v) for k, v in raw["files"].items()}
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Manifest(None, {})  # no manifest, or an unreadable one: extract afresh


def _locate_archive(source: Path | None, dest: Path, archive_sha256: str) -> Path:
    """The verified archive: the user's copy in `source` (verified in place, not copied: it is
    562 MB), else a download into the cache folder."""
    if source is not None:
        require_source_dir(source)
        for name in (ARCHIVE.name, *ARCHIVE.aliases):
            candidate = source / name
            if candidate.is_file():
                actual = sha256_file(candidate)
                if actual != archive_sha256:
                    raise ChecksumError(
                        f"checksum mismatch for {candidate}: SHA-256 {actual}, "
                        f"expected {archive_sha256}"
                    )
                return candidate
    problems = [f"no {ARCHIVE.name} in {source}"] if source is not None else []
    archive = FileSpec(ARCHIVE.name, archive_sha256)
    for mirror in ARCHIVE_MIRRORS:
        if offline():
            problems.append(f"{mirror.description}: skipped, DIGITREC_OFFLINE is set")
            continue
        problem = mirror.fetch([archive], dest).get(archive.name)
        if problem is None:
            return dest / archive.name
        problems.append(problem)
    raise DataError(
        f"emnist: could not get {ARCHIVE.name} ({'; '.join(problems)}). Download it from NIST's "
        "EMNIST page and pass --source DIR."
    )


def _extract(
    archive: Path, names: list[str], dest: Path, manifest: Manifest, archive_sha256: str
) -> dict[str, str]:
    """Copy the named members into `dest`; return the updated {member: SHA-256} manifest."""
    files = dict(manifest.files) if manifest.archive_sha256 == archive_sha256 else {}
    try:
        with zipfile.ZipFile(archive) as bundle:
            for name in names:
                try:
                    member = bundle.open(f"gzip/{name}")
                except KeyError:
                    raise DataError(f"{archive} has no gzip/{name}") from None
                with member:
                    files[name] = write_hashed(dest / name, read_chunks(member))
    except zipfile.BadZipFile as error:
        raise DataError(f"{archive} is not a valid zip archive ({error})") from error
    record = {"archive_sha256": archive_sha256, "files": files}
    atomic_write_text(dest / MANIFEST, json.dumps(record, indent=2, sort_keys=True))
    return files
