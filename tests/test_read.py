"""`digitrec read` and `digitrec.read`: whole numbers from pages built of real MNIST test digits —
clean lines, the synthetic scans with touching and broken digits, form lines and noise, the same
page inverted, underlined and turned — plus blank pages and broken files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import digitrec
from digitrec.data import load
from digitrec.data.synth import SynthConfig, make_page
from digitrec.models.loading import load_model
from digitrec.reading import read_many
from digitrec.reading.accuracy import string_scores

DIGITREC = Path(sys.executable).with_name("digitrec")
# Synthetic scans (seed 5, 40 pages of 1-6 digits): measured 72.5% exact strings and 12.8%
# character error rate when these bars were set; they catch a real regression, not noise.
# Synthetic scans (test_reads_synthetic_scans' 40 pages): the least exact-string accuracy and the
# most character error rate per reader. Measured: segment 72.5% / 12.8%, line 100% / 0%.
BARS = {"segment": (0.6, 0.2), "line": (0.9, 0.03)}
READERS = ["line", "segment"]


@pytest.fixture(scope="module")
def test_set(mnist_dir: Path) -> digitrec.data.DigitSet:
    return load("mnist", "test", mnist_dir)


@pytest.fixture(scope="module")
def model() -> object:
    return load_model("default")


def clean_line(
    digits: np.ndarray, scale: float = 2.0, gap: int = 12
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Digits side by side, dark ink on white paper, apart from each other; with their boxes."""
    side = round(28 * scale)
    glyphs = [cv2.resize(d, (side, side), interpolation=cv2.INTER_CUBIC) for d in digits]
    page = np.zeros((side + 40, 20 + len(glyphs) * (side + gap)), np.uint8)
    boxes = []
    for i, glyph in enumerate(glyphs):
        x = 20 + i * (side + gap)
        page[20 : 20 + side, x : x + side] = glyph
        ys, xs = np.nonzero(glyph > 60)
        boxes.append(
            (x + int(xs.min()), 20 + int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1)
        )
    return 255 - page, boxes


def iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    w = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return w * h / float(a[2] * a[3] + b[2] * b[3] - w * h)


@pytest.mark.parametrize("reader", READERS)
def test_reads_clean_lines_with_boxes_on_the_digits(
    test_set: object, model: object, reader: str
) -> None:
    rng = np.random.default_rng(0)
    pages, truths, all_boxes = [], [], []
    for _ in range(12):
        picks = rng.choice(len(test_set.labels), int(rng.integers(3, 9)), replace=False)
        page, boxes = clean_line(test_set.images[picks])
        pages.append(page)
        truths.append("".join(str(test_set.labels[i]) for i in picks))
        all_boxes.append(boxes)
    results = read_many(pages, model, reader=reader)
    exact = [r.text == t for r, t in zip(results, truths, strict=True)]
    assert sum(exact) >= 11, [(r.text, t) for r, t in zip(results, truths, strict=True)]
    for result, boxes, ok in zip(results, all_boxes, exact, strict=True):
        if ok:
            for digit, box in zip(result.digits, boxes, strict=True):
                assert iou(digit.box, box) > 0.5, (digit.box, box)
                assert 0 < digit.confidence <= 1
            assert result.confidence == pytest.approx(
                np.prod([d.confidence for d in result.digits])
            )


@pytest.mark.parametrize("reader", READERS)
def test_reads_synthetic_scans(test_set: object, model: object, reader: str) -> None:
    """Touching and broken digits, form lines, noise, blur, JPEG, lighting, rotation."""
    rng = np.random.default_rng(5)
    pages = [make_page(test_set, SynthConfig(max_digits=6), rng) for _ in range(40)]
    results = read_many([p.image for p in pages], model, reader=reader)
    scores = string_scores([p.text for p in pages], [r.text for r in results])
    least_exact, most_cer = BARS[reader]
    assert scores["exact"] >= least_exact and scores["cer"] <= most_cer, scores


@pytest.mark.parametrize("reader", READERS)
def test_polarity_underline_and_skew_do_not_change_the_reading(
    test_set: object, model: object, reader: str
) -> None:
    rng = np.random.default_rng(1)
    picks = rng.choice(len(test_set.labels), 6, replace=False)
    page, _ = clean_line(test_set.images[picks])
    truth = "".join(str(test_set.labels[i]) for i in picks)
    underlined = page.copy()
    cv2.line(underlined, (5, page.shape[0] - 12), (page.shape[1] - 5, page.shape[0] - 12), 40, 2)
    height, width = page.shape
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 4.0, 1.0)
    turned = cv2.warpAffine(underlined, turn, (width, height), borderValue=255)
    readings = read_many([page, 255 - page, underlined, turned], model, reader=reader)
    assert [r.text for r in readings] == [truth] * 4
    # Boxes come back in the turned image's own coordinates: each covers its digit's ink there.
    ink = turned < 128
    for digit in readings[3].digits:
        x, y, w, h = digit.box
        assert ink[y : y + h, x : x + w].sum() > 0.5 * ink.sum() / len(truth) * 0.5


@pytest.mark.parametrize(
    "page",
    [
        np.full((80, 300), 255, np.uint8),
        np.full((80, 300), 90, np.uint8),
        np.clip(np.random.default_rng(0).normal(200, 6, (80, 300)), 0, 255).astype(np.uint8),
    ],
    ids=["white", "grey", "paper-noise"],
)
@pytest.mark.parametrize("reader", READERS)
def test_pages_without_ink_read_as_no_digits(page: np.ndarray, model: object, reader: str) -> None:
    reading = read_many([page], model, reader=reader)[0]
    assert reading.text == "" and reading.digits == [] and reading.reason
    assert reading.error is None


def test_api_takes_paths_bytes_and_arrays(test_set: object, tmp_path: Path) -> None:
    page, _ = clean_line(test_set.images[:4])
    truth = "".join(str(v) for v in test_set.labels[:4])
    path = tmp_path / "number.png"
    cv2.imwrite(str(path), page)
    rgb = np.repeat(page[:, :, None], 3, axis=2)
    for image in (path, str(path), path.read_bytes(), page, rgb):
        assert digitrec.read(image).text == truth


def test_cli_reads_files_reports_bad_ones_and_draws_overlays(
    test_set: object, tmp_path: Path
) -> None:
    page, _ = clean_line(test_set.images[10:15])
    truth = "".join(str(v) for v in test_set.labels[10:15])
    good = tmp_path / "good.jpg"
    cv2.imwrite(str(good), page)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    run = subprocess.run(
        [str(DIGITREC), "read", str(good), str(empty), str(text), "--json", "--overlay",
         str(tmp_path / "seen")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["file"] for r in records] == [str(good), str(empty), str(text)]
    assert records[0]["text"] == truth and len(records[0]["digits"]) == len(truth)
    assert set(records[0]) == {"file", "text", "confidence", "digits"}
    assert set(records[0]["digits"][0]) == {"digit", "confidence", "box"}
    assert "empty" in records[1]["error"] and records[2]["error"]
    overlay = cv2.imread(str(tmp_path / "seen" / "good.read.png"))
    assert overlay is not None and overlay.shape[0] >= page.shape[0]
    assert not (tmp_path / "seen" / "empty.read.png").exists()
    onnx = subprocess.run(
        [str(DIGITREC), "read", str(good), "--json", "--backend", "onnx"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "DIGITREC_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert onnx.returncode == 0, onnx.stderr
    assert json.loads(onnx.stdout)["text"] == truth  # the classifier under ONNX Runtime


def test_cli_rejects_bad_arguments(tmp_path: Path) -> None:
    run = subprocess.run(
        [str(DIGITREC), "read", str(tmp_path / "x.png"), "--max-pixels", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "--max-pixels" in run.stderr


def test_the_pieces_of_a_broken_digit_are_not_two_digits_when_overlap_costs() -> None:
    """Two pieces stacked above each other (the bar and the body of a broken 5): read as two
    digits they overlap entirely in x, which overlap_cost charges for; the whole 5 wins then."""
    from digitrec.reading.segment import Atom, Candidate, Line, choose

    bar = Atom(10, 30, 0, 5, np.ones((5, 20), bool), 1)
    body = Atom(8, 30, 8, 30, np.ones((22, 22), bool), 2)
    line = Line([bar, body], height=30.0, typical_area=500.0, middle=15.0)
    blank = np.zeros((28, 28), np.uint8)
    pieces = [
        Candidate(0, 1, (10, 0, 20, 5), 100, blank, blank),
        Candidate(1, 2, (8, 8, 22, 22), 484, blank, blank),
        Candidate(0, 2, (8, 0, 22, 30), 584, blank, blank),
    ]
    scores = np.array([0.9, 1.0, 1.5])  # apart, the two pieces score more (1.9) than the whole
    apart = choose(line, pieces, [7, 5, 5], scores, skip_cost=2.0)
    assert [c.box for c, _ in apart] == [(10, 0, 20, 5), (8, 8, 22, 22)]
    whole = choose(line, pieces, [7, 5, 5], scores, skip_cost=2.0, overlap_cost=1.0)
    assert [(c.box, d) for c, d in whole] == [((8, 0, 22, 30), 5)]


def test_train_segmenter_fits_a_run_that_read_uses(test_set: object, tmp_path: Path) -> None:
    """`digitrec train-segmenter` (a tiny fit) writes the verifier, the scorer and fit.json into
    its run; `read --reader segment:DIR` reads with them; --costs-only refits the costs of a run;
    a folder that already holds files, or no run at all, is a one-line error."""
    from digitrec.cli import main
    from digitrec.reading.reader import load_segmenter

    run = tmp_path / "segmenter"
    small = ["--train-pages", "12", "--pages", "12", "--dev-pages", "6", "--epochs", "1"]
    assert main(["train-segmenter", "--out", str(run), *small]) == 0
    record = json.loads((run / "fit.json").read_text())
    assert record["config"]["train_pages"] == 12 and 0 <= record["chosen"]["dev_exact"] <= 1
    assert len(record["trials"]) == 3 * 6 * 3 * 4  # C × bonus × skip × overlap
    verifier, scorer = load_segmenter(str(run))
    assert verifier.card["kind"] == "verifier" and scorer.skip_cost in (2.0, 4.0, 8.0)
    page, _ = clean_line(test_set.images[20:24])  # type: ignore[attr-defined]
    image = tmp_path / "line.png"
    cv2.imwrite(str(image), page)
    read = subprocess.run(
        [str(DIGITREC), "read", str(image), "--json", "--reader", f"segment:{run}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["text"].isdigit()
    refit = tmp_path / "refit"
    assert (
        main(["train-segmenter", "--out", str(refit), "--costs-only", "--start", str(run), *small])
        == 0
    )
    assert json.loads((refit / "fit.json").read_text())["costs_only"] is True
    again = subprocess.run(
        [str(DIGITREC), "train-segmenter", "--out", str(run)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert again.returncode == 2 and "is not empty" in again.stderr
    nothing = subprocess.run(
        [str(DIGITREC), "read", str(image), "--reader", f"segment:{tmp_path / 'none'}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert nothing.returncode == 2 and "not a train-segmenter run" in nothing.stderr


def test_a_phone_photo_of_a_sheet_is_read_at_a_bounded_working_size(
    test_set: object, tmp_path: Path
) -> None:
    """A 12-megapixel JPEG of a sheet with a 10-digit number on a small part of it, lit unevenly:
    the number is found and read, its boxes are in the photo's own pixels, inside the number's
    place; the work happens at WORK_SIDE, not 4000 px; the same sheet without the number is blank."""
    from renderings import photographed_sheet

    from digitrec.reading.ink import WORK_SIDE, page_ink

    rng = np.random.default_rng(5)
    images, labels = test_set.images, test_set.labels  # type: ignore[attr-defined]
    photo, (x, y, w, h) = photographed_sheet(images[30:40], rng)
    truth = "".join(str(int(v)) for v in labels[30:40])
    path = tmp_path / "sheet.jpg"
    cv2.imwrite(str(path), photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
    page = page_ink(photo)
    assert page.ink.shape == (1500, WORK_SIDE) and page.shape == photo.shape[:2]
    reading = digitrec.read(path)  # the file: decoded at half size (images.decode_reduced)
    assert reading.text == truth
    for digit in reading.digits:
        bx, by, bw, bh = digit.box
        assert x - 10 <= bx and bx + bw <= x + w + 10 and y - 10 <= by and by + bh <= y + h + 10
    whole = digitrec.read(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))  # decoded whole
    assert whole.text == truth
    for small, big in zip(reading.digits, whole.digits, strict=True):
        assert np.abs(np.subtract(small.box, big.box)).max() <= 8, (small.box, big.box)
    blank, _ = photographed_sheet(np.zeros((10, 28, 28), np.uint8), np.random.default_rng(5))
    assert digitrec.read(blank).reason == "no ink found (blank page)"
