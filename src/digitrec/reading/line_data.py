"""The line reader's data: line images with their texts (`LineSet`), made from synthetic pages or
from real labelled numbers, each through the reader's own front end (`page_ink`, `page_line`).

A training spec names the parts, joined by '+': `synth` (synthetic pages, see `SYNTH`: the
training digits of MNIST, USPS and CVL's training writers for training, their validation digits
for validation — never a test split), and any number dataset (`parish-rows`, `strings:DIR`,
`feedback-numbers:PATH`; their train split for training, their val split for validation). A
real part may carry a weight, `PART*N`: its training lines count N times (`data.part_weight`).
Synthetic lines are made in parallel chunks of CHUNK pages, each cached by a hash of its
settings in `$DIGITREC_HOME/line-data/`, so a rerun starts training at once.
"""

import functools
import hashlib
import io
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from digitrec.data.digitset import DigitSet
from digitrec.data.numbers import is_number_dataset, load_numbers
from digitrec.data.numberset import NumberSet
from digitrec.data.synth import SynthConfig, make_page
from digitrec.errors import DataError, UsageError
from digitrec.home import digitrec_home
from digitrec.progress import count_bar
from digitrec.reading.ink import page_ink
from digitrec.reading.line_model import page_line
from digitrec.reading.line_shape import HEIGHT

CHUNK = 500  # synthetic pages per worker task
DIGIT_SOURCES = "mnist+usps+cvl"  # where synthetic pages take their digits (train / val splits)
SYNTH = SynthConfig(wild=0.5)  # the shipped reader's pages: half drawn as real ones look
MAX_INK = 0.35  # share of a synthetic line image above which the front end took paper for ink


@dataclass(frozen=True)
class LineSet:
    """Line images with their texts, stored flat: pixels (HEIGHT, sum of widths) uint8."""

    pixels: np.ndarray
    widths: np.ndarray  # (N,) int64
    texts: np.ndarray  # (N,) unicode

    def __len__(self) -> int:
        return len(self.widths)

    def images(self) -> list[np.ndarray]:
        ends = np.cumsum(self.widths)
        return [self.pixels[:, e - w : e] for e, w in zip(ends, self.widths, strict=True)]

    def save(self, path: Path) -> None:
        from digitrec.storage import atomic_write_bytes

        buffer = io.BytesIO()
        np.savez(buffer, pixels=self.pixels, widths=self.widths, texts=self.texts)
        atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> "LineSet":
        with np.load(path, allow_pickle=False) as data:
            return cls(data["pixels"], data["widths"], data["texts"])

    @classmethod
    def of(cls, images: list[np.ndarray], texts: list[str]) -> "LineSet":
        if not images:
            return cls(np.zeros((HEIGHT, 0), np.uint8), np.zeros(0, np.int64), np.array([], "<U1"))
        return cls(
            np.concatenate(images, axis=1),
            np.array([i.shape[1] for i in images], np.int64),
            np.array(texts),
        )

    @classmethod
    def joined(cls, sets: list["LineSet"]) -> "LineSet":
        sets = [s for s in sets if len(s)]
        if not sets:
            return cls.of([], [])
        return cls(
            np.concatenate([s.pixels for s in sets], axis=1),
            np.concatenate([s.widths for s in sets]),
            np.concatenate([s.texts.astype(str) for s in sets]),
        )

    def repeated(self, times: int) -> "LineSet":
        return LineSet.joined([self] * times)


def make_lines(
    digits: DigitSet,
    count: int,
    config: SynthConfig,
    seed: int,
    on_progress: Callable[[int], None] | None = None,
) -> LineSet:
    """`count` synthetic pages of these digits, each through the front end. A page where it
    finds no ink, or takes paper for ink (more than MAX_INK of the line image is ink: shading or
    texture it could not tell from writing), is skipped: its label would teach noise."""
    rng = np.random.default_rng(seed)
    images, texts = [], []
    for _ in range(count):
        page = make_page(digits, config, rng)
        try:
            line = page_line(page_ink(page.image))
        except DataError:
            line = None
        if line is not None and float((line.pixels > 127).mean()) <= MAX_INK:
            images.append(line.pixels)
            texts.append(page.text)
        if on_progress:
            on_progress(1)
    if not images:
        raise DataError(f"none of the {count} pages gave a line of ink")
    return LineSet.of(images, texts)


def number_lines(numbers: NumberSet) -> LineSet:
    """Real labelled numbers through the front end; an image where it finds no ink is left out
    (it could not be read anyway, and counts as a miss when measured by `read`)."""
    images, texts = [], []
    for image, text in zip(numbers.images, numbers.texts, strict=True):
        try:
            line = page_line(page_ink(image))
        except DataError:
            continue
        if line is not None:
            images.append(line.pixels)
            texts.append(text)
    return LineSet.of(images, texts)


def spec_parts(spec: str) -> dict[str, int | None]:
    """'synth+parish-rows*3' -> {'synth': None, 'parish-rows': 3}: each part checked, with its
    weight (None: none given)."""
    from digitrec.data import part_weight

    parts: dict[str, int | None] = {}
    for raw in (p.strip() for p in spec.split("+")):
        part, times = part_weight(raw)
        if part != "synth" and not is_number_dataset(part):
            raise UsageError(
                f"reader dataset part {part!r}: use synth, parish-rows, written-numbers, "
                "strings:DIR or feedback-numbers:PATH, joined by '+'"
            )
        if part in parts:
            raise UsageError(f"reader dataset {spec!r}: a part named twice")
        if part == "synth" and part != raw:
            raise UsageError("synth takes no weight: --synth-pages says how many pages")
        parts[part] = times if part != raw else None
    return parts


def reader_lines(
    spec: str,
    split: str,
    synth_pages: int,
    seed: int,
    workers: int,
    source: Path | None = None,
) -> dict[str, LineSet]:
    """{part: its lines of this split ('train' or 'val')}; a number dataset without the split
    (written-numbers is test only) gives no part."""
    out: dict[str, LineSet] = {}
    for part in spec_parts(spec):
        if part == "synth":
            if synth_pages:
                out[part] = synthetic_lines(split, synth_pages, SYNTH, seed, workers)
            continue
        numbers = load_numbers(part, source)
        if split in numbers:
            out[part] = number_lines(numbers[split])
    return out


def synthetic_lines(split: str, pages: int, synth: SynthConfig, seed: int, workers: int) -> LineSet:
    """The line images of `pages` pages of this split's digits, in chunks of CHUNK pages (chunk k
    seeded with (seed, k)) made by `workers` processes; each chunk is cached by a hash of its
    settings, so a bigger set reuses the chunks of a smaller one."""
    if split not in ("train", "val"):
        raise ValueError("synthetic lines are made of train or val digits only")
    jobs = [
        (split, min(CHUNK, pages - start), synth, seed, k)
        for k, start in enumerate(range(0, pages, CHUNK))
    ]
    folder = digitrec_home() / "line-data"
    paths = [folder / f"{split}-{_key(job)}.npz" for job in jobs]
    missing = [(job, path) for job, path in zip(jobs, paths, strict=True) if not path.is_file()]
    if missing:
        folder.mkdir(parents=True, exist_ok=True)
        bar = count_bar(f"making {split} lines", len(missing))
        with bar as advance, ProcessPoolExecutor(max(1, workers)) as pool:
            made = pool.map(_chunk, [job for job, _ in missing])
            for part, (_, path) in zip(made, missing, strict=True):
                part.save(path)
                advance(1)
    return LineSet.joined([LineSet.load(path) for path in paths])


def _key(job: tuple[str, int, SynthConfig, int, int]) -> str:
    split, count, synth, seed, k = job
    text = json.dumps(
        [split, count, asdict(synth), seed, k, HEIGHT, DIGIT_SOURCES, FRONT_END], sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# Bump when the front end (ink, lines, line_image) or the page generator changes what a chunk
# holds: cached chunks of an older one are then made anew.
FRONT_END = 6


def _chunk(job: tuple[str, int, SynthConfig, int, int]) -> LineSet:
    split, count, synth, seed, k = job
    import torch

    torch.set_num_threads(1)
    return make_lines(
        source_digits(split),
        count,
        synth,
        int(np.random.SeedSequence([seed, k]).generate_state(1)[0]),
    )


@functools.cache
def source_digits(split: str) -> DigitSet:
    """The digits synthetic pages of this split are drawn from, loaded once per process."""
    from digitrec.data import load_splits

    return load_splits(DIGIT_SOURCES)[split]


def default_workers(threads: int) -> int:
    return threads or len(os.sched_getaffinity(0))
