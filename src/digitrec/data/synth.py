"""Synthetic scans of handwritten numbers, built from MNIST **test** digits, with ground truth.

Each page is one line of 1-20 digits on paper-like background, with the troubles real scans have:
touching and overlapping digits, digits broken into pieces, form lines (an underline or a box per
digit), uneven lighting, noise, blur, slight rotation and JPEG artifacts. Every choice comes from
one seeded generator, so the same seed gives the same pages on every machine. Only test digits are
used, so a model trained on MNIST train/val never saw them.
"""

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.data.digitset import DigitSet
from digitrec.data.numbers import write_labels
from digitrec.data.numberset import NumberSet
from digitrec.errors import UsageError
from digitrec.storage import atomic_write_bytes, atomic_write_json


@dataclass(frozen=True)
class SynthConfig:
    count: int = 100  # pages
    seed: int = 0
    min_digits: int = 1
    max_digits: int = 8  # at most 20
    min_height: int = 20  # digit height in pixels
    max_height: int = 120  # at most 300
    touching: float = 0.35  # chance that a digit is pushed into its left neighbour
    form_lines: float = 0.5  # chance of an underline or a box per digit
    broken: float = 0.15  # chance that a digit's stroke is cut into pieces
    jpeg: float = 0.4  # chance that the page is saved as a low-quality JPEG
    # Chance that a page is drawn as real ones look (`data.clutter`): gaps from touching to
    # several digit widths, digits of different sizes and baselines, separators and marks,
    # table rules and neighbouring cells, scan margins, patterned paper, faint ink, perspective,
    # very low resolution. 0 keeps the original generator, page for page (the benchmark's).
    wild: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.count <= 100_000:
            raise UsageError("--count must be in 1..100000")
        if not 1 <= self.min_digits <= self.max_digits <= 20:
            raise UsageError("digits per page must satisfy 1 ≤ min ≤ max ≤ 20")
        if not 10 <= self.min_height <= self.max_height <= 300:
            raise UsageError("digit heights must satisfy 10 ≤ min ≤ max ≤ 300 pixels")
        if not 0.0 <= self.wild <= 1.0:
            raise UsageError("wild must be a probability, from 0 to 1")


@dataclass(frozen=True)
class Page:
    image: np.ndarray  # (H, W) uint8, dark ink on light paper
    text: str
    boxes: list[tuple[int, int, int, int]]  # per digit (x, y, w, h) in page pixels
    jpeg_quality: int | None  # None: saved as PNG


def make_page(digits: DigitSet, config: SynthConfig, rng: np.random.Generator) -> Page:
    if config.wild and rng.random() < config.wild:
        return _wild_page(digits, config, rng)
    import cv2

    count = int(rng.integers(config.min_digits, config.max_digits + 1))
    height = int(rng.integers(config.min_height, config.max_height + 1))
    by_class = [np.flatnonzero(digits.labels == c) for c in range(10)]
    labels = rng.integers(0, 10, count)
    glyphs = [_glyph(digits.images[rng.choice(by_class[c])], height, config, rng) for c in labels]
    margin = max(4, height // 2)
    gap = max(1, height // 6)
    widths = [g.shape[1] for g in glyphs]
    ink = np.zeros((height + 2 * margin, sum(widths) + gap * count + 2 * margin), np.float32)
    boxes, x = [], margin
    for index, glyph in enumerate(glyphs):
        if index and rng.random() < config.touching:  # push into the previous digit
            x -= int(rng.integers(gap, gap + max(2, glyph.shape[1] // 4)))
        y = margin + int(rng.integers(-height // 10, height // 10 + 1))
        y = int(np.clip(y, 0, ink.shape[0] - glyph.shape[0]))
        region = ink[y : y + glyph.shape[0], x : x + glyph.shape[1]]
        np.maximum(region, glyph, out=region)
        boxes.append((x, y, glyph.shape[1], glyph.shape[0]))
        x += glyph.shape[1] + gap
    ink = ink[:, : x - gap + margin]
    _draw_form_lines(ink, boxes, height, config, rng)
    page = _paper(ink, rng)
    page, boxes = _rotate(page, boxes, rng)
    page = _degrade(page, height, rng)
    quality = int(rng.integers(25, 80)) if rng.random() < config.jpeg else None
    if quality is not None:  # bake the artifacts into the pixels we also return
        _, encoded = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, quality])
        decoded = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
        if decoded is None:
            raise OSError("could not re-decode a JPEG page")
        page = decoded
    text = "".join(str(int(c)) for c in labels)
    return Page(page, text, boxes, quality)


def _wild_page(digits: DigitSet, config: SynthConfig, rng: np.random.Generator) -> Page:
    """A page as real ones look (see `data.clutter`); boxes are where the digits were drawn,
    before rotation and perspective."""
    import cv2

    from digitrec.data import clutter

    count = int(rng.integers(config.min_digits, config.max_digits + 1))
    tiny = rng.random() < 0.15  # a low-resolution scan: digits 12-18 px tall
    height = (
        int(rng.integers(12, 19))
        if tiny
        else int(rng.integers(max(20, config.min_height), config.max_height + 1))
    )
    by_class = [np.flatnonzero(digits.labels == c) for c in range(10)]
    labels = rng.integers(0, 10, count)
    size_spread = float(rng.uniform(0, 0.45))  # how much digit sizes vary within this number
    glyphs = []
    for c in labels:
        own = max(8, round(height * (1 - float(rng.uniform(0, size_spread)))))
        glyphs.append(_glyph(digits.images[rng.choice(by_class[c])], own, config, rng))
    pen = max(1, height // 25)
    spacing = rng.choice(["tight", "normal", "wide"], p=[0.3, 0.45, 0.25])
    marks_here = rng.random() < 0.5
    pieces: list[tuple[np.ndarray, int | None]] = []  # (ink, label or None for a mark)
    if marks_here and rng.random() < 0.25:
        pieces.append((clutter.mark(height, pen, rng), None))
    for index, (glyph, label) in enumerate(zip(glyphs, labels, strict=True)):
        pieces.append((glyph, int(label)))
        last = index == len(glyphs) - 1
        if marks_here and (rng.random() < (0.6 if last else 0.12)):
            pieces.append((clutter.mark(height, pen, rng, inner=not last), None))
    margin = max(4, height // 2)
    baseline = float(rng.uniform(0.0, 0.25)) * height  # how far baselines wander
    total = sum(p.shape[1] for p, _ in pieces) + 3 * height * len(pieces) + 2 * margin
    ink = np.zeros((int(2.6 * height) + 2 * margin, total), np.float32)
    boxes, texts, x = [], [], margin
    for index, (piece, label) in enumerate(pieces):
        if index:
            if spacing == "tight":
                gap = int(rng.integers(-max(1, piece.shape[1] // 4), max(2, height // 8)))
            elif spacing == "normal":
                gap = int(rng.integers(1, max(2, height // 3)))
            else:
                gap = int(rng.integers(height // 4, max(height // 4 + 1, int(1.6 * height))))
            if label is None or pieces[index - 1][1] is None:
                gap = max(gap, 1 + height // 10)  # a mark never touches a digit
            x = max(margin, x + gap)
        bottom = margin + int(1.8 * height) + int(rng.uniform(-baseline, baseline))
        y = int(np.clip(bottom - piece.shape[0], 0, ink.shape[0] - piece.shape[0]))
        region = ink[y : y + piece.shape[0], x : x + piece.shape[1]]
        np.maximum(region, piece[:, : region.shape[1]], out=region)
        if label is not None:
            boxes.append((x, y, piece.shape[1], piece.shape[0]))
            texts.append(str(label))
        x += piece.shape[1]
    ink = ink[:, : x + margin]
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    top, bottom = max(0, rows[0] - margin), min(ink.shape[0], rows[-1] + margin + 1)
    ink = ink[top:bottom]
    boxes = [(bx, by - top, bw, bh) for bx, by, bw, bh in boxes]
    if rng.random() < 0.5:
        ink = clutter.cell_rules(ink, boxes, height, rng)
    if rng.random() < 0.3:
        clutter.neighbour_bits(ink, glyphs, rng)
    if rng.random() < 0.3:
        _draw_form_lines(ink, boxes, height, config, rng)
    page = _wild_paper(ink, height, rng)
    if rng.random() < 0.25:
        page = clutter.scan_margin(page, rng)
    page, boxes = _rotate(page, boxes, rng)
    if rng.random() < 0.25:
        page = clutter.perspective(page, rng)
    page = _degrade(page, height, rng)
    if tiny and rng.random() < 0.5:  # binarized, as low-resolution fax-like scans are
        _, page = cv2.threshold(page, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    quality = int(rng.integers(25, 80)) if rng.random() < config.jpeg else None
    if quality is not None:
        _, encoded = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, quality])
        decoded = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
        if decoded is None:
            raise OSError("could not re-decode a JPEG page")
        page = decoded
    return Page(page, "".join(texts), boxes, quality)


def _wild_paper(ink: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    """Ink on paper as `_paper`, but also faint ink (pencil, blue ink turned gray: contrast down
    to about 60 grey levels), grey or coloured paper, and patterned or ruled paper."""
    from digitrec.data import clutter

    paper = float(rng.uniform(160, 250))
    contrast = float(rng.uniform(0.4, 1.0)) if rng.random() < 0.35 else float(rng.uniform(0.7, 1.0))
    pen = paper - contrast * (paper - float(rng.uniform(5, 60)))
    rows, cols = np.indices(ink.shape, dtype=np.float32)
    angle = float(rng.uniform(0, 2 * np.pi))
    ramp = (np.cos(angle) * cols / ink.shape[1] + np.sin(angle) * rows / ink.shape[0]) / 2
    light = 1.0 - float(rng.uniform(0, 0.3)) * (ramp - ramp.min())
    background = np.full(ink.shape, paper, np.float32)
    if rng.random() < 0.35:
        background *= 1 - clutter.paper_texture(ink.shape, height, rng)
    page = (background * (1 - ink) + pen * ink) * light
    result: np.ndarray = np.clip(page, 0, 255).astype(np.uint8)
    return result


def synth_numbers(digits: DigitSet, out: Path, config: SynthConfig) -> Path:
    """Write `config.count` pages into `out` (NNNN.png or .jpg), labels.json (every digit's box)
    and labels.csv (each page's number, all in the test split: `out` reads as `strings:OUT`);
    returns labels.json's path."""
    import cv2

    from digitrec.progress import count_bar

    if digits.split != "test":
        raise UsageError("synthetic pages are built from test digits only")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(config.seed)
    pages: list[dict[str, Any]] = []
    with count_bar("making pages", config.count) as advance:
        for number in range(config.count):
            page = make_page(digits, config, rng)
            suffix = ".png" if page.jpeg_quality is None else ".jpg"
            name = f"{number:05d}{suffix}"
            params = [] if page.jpeg_quality is None else [cv2.IMWRITE_JPEG_QUALITY, 100]
            ok, encoded = cv2.imencode(suffix, page.image, params)
            if not ok:
                raise OSError(f"could not encode {name}")
            atomic_write_bytes(out / name, encoded.tobytes())
            digit_boxes = [
                {"digit": int(d), "box": list(b)}
                for d, b in zip(page.text, page.boxes, strict=True)
            ]
            pages.append({"file": name, "text": page.text, "digits": digit_boxes})
            advance(1)
    labels = {"config": asdict(config), "source": f"{digits.name} test", "pages": pages}
    atomic_write_json(out / "labels.json", labels, indent=1)
    write_labels(out / "labels.csv", [(page["file"], page["text"], "test") for page in pages])
    return out / "labels.json"


def page_set(digits: DigitSet, config: SynthConfig, name: str) -> NumberSet:
    """`config.count` pages of `digits` in memory, drawn as `synth_numbers` draws them (the same
    seed gives the same pages), as a NumberSet in the digits' split: how scripts measure readers
    on pages of validation digits without writing files."""
    rng = np.random.default_rng(config.seed)
    pages = [make_page(digits, config, rng) for _ in range(config.count)]
    images, texts = [p.image for p in pages], [p.text for p in pages]
    return NumberSet(name, digits.split, images, texts, [str(i) for i in range(len(pages))])


def _glyph(digit: np.ndarray, height: int, config: SynthConfig, rng: np.random.Generator) -> Any:
    """One MNIST digit cropped to its ink, scaled to `height` rows, maybe thickened, thinned or
    broken: (h, w) float32 ink in [0, 1]."""
    import cv2

    ys, xs = np.nonzero(digit > 30)
    crop = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255
    scale = height / crop.shape[0] * float(rng.uniform(0.85, 1.0))
    size = (max(2, round(crop.shape[1] * scale)), max(2, round(crop.shape[0] * scale)))
    glyph = cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC).clip(0, 1)
    pen = max(1, height // 25)
    kernel = np.ones((pen, pen), np.uint8)
    choice = rng.random()
    if choice < 0.25:
        glyph = cv2.dilate(glyph, kernel)
    elif choice < 0.4 and pen > 1:
        glyph = cv2.erode(glyph, kernel)
    if rng.random() < config.broken:  # a gap across the stroke, as a dry pen leaves
        row = int(rng.integers(glyph.shape[0] // 4, 3 * glyph.shape[0] // 4))
        glyph[row : row + max(1, height // 15)] = 0
    return glyph


def _draw_form_lines(
    ink: np.ndarray,
    boxes: list[tuple[int, int, int, int]],
    height: int,
    config: SynthConfig,
    rng: np.random.Generator,
) -> None:
    import cv2

    if rng.random() >= config.form_lines:
        return
    strength = float(rng.uniform(0.35, 0.8))
    thickness = max(1, height // 30)
    bottom = max(y + h for _, y, _, h in boxes) + max(2, height // 12)
    if rng.random() < 0.6:  # an underline the digits sit on
        row = min(ink.shape[0] - 1, bottom)
        cv2.line(ink, (0, row), (ink.shape[1] - 1, row), strength, thickness)
        return
    top = max(0, min(y for _, y, _, _ in boxes) - height // 8)
    for x, _, w, _ in boxes:  # a box per digit, as on forms
        cv2.rectangle(ink, (x - 2, top), (x + w + 1, min(ink.shape[0] - 1, bottom)), strength, 1)


def _paper(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink on paper: paper grey 190-250, ink 10-90, a lighting gradient across the page."""
    paper = float(rng.uniform(190, 250))
    pen = float(rng.uniform(10, 90))
    rows, cols = np.indices(ink.shape, dtype=np.float32)
    angle = float(rng.uniform(0, 2 * np.pi))
    ramp = (np.cos(angle) * cols / ink.shape[1] + np.sin(angle) * rows / ink.shape[0]) / 2
    light = 1.0 - float(rng.uniform(0, 0.35)) * (ramp - ramp.min())
    page = (paper * (1 - ink) + pen * ink) * light
    result: np.ndarray = np.clip(page, 0, 255).astype(np.uint8)
    return result


def _rotate(
    page: np.ndarray, boxes: list[tuple[int, int, int, int]], rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    import cv2

    angle = float(rng.uniform(-4, 4))
    height, width = page.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    paper = int(np.median(np.concatenate([page[0], page[-1]])))
    turned = cv2.warpAffine(page, matrix, (width, height), borderValue=paper)
    moved = []
    for x, y, w, h in boxes:
        corners = np.array([[x, y, 1], [x + w, y, 1], [x, y + h, 1], [x + w, y + h, 1]], float)
        points = corners @ matrix.T
        left, top = np.floor(points.min(0)).astype(int)
        right, bottom = np.ceil(points.max(0)).astype(int)
        left, top = max(0, int(left)), max(0, int(top))
        moved.append((left, top, min(width, int(right)) - left, min(height, int(bottom)) - top))
    return turned, moved


def _degrade(page: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    import cv2

    image: np.ndarray = page.astype(np.float32)
    if rng.random() < 0.5:
        sigma = float(rng.uniform(0.3, 1.0)) * max(1.0, height / 40)
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    noise = rng.normal(0, float(rng.uniform(0, 12)), image.shape).astype(np.float32)
    result: np.ndarray = np.clip(image + noise, 0, 255).astype(np.uint8)
    return result
