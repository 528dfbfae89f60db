"""Folder datasets and the shared preprocessing, on real MNIST digits saved as ordinary image files
the way a user would have them: dark ink on white paper, bigger, in several formats."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from digitrec.data import fetch, load, load_splits
from digitrec.data.folder import load_parts
from digitrec.errors import DataError, UsageError
from digitrec.images import decode_image
from digitrec.preprocess import normalize_digit, to_mnist_format


@pytest.fixture(scope="module")
def mnist_test(mnist_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    digits = load("mnist", "test", mnist_dir)
    return digits.images[:60], digits.labels[:60]


def as_user_image(digit: np.ndarray, scale: int = 4) -> np.ndarray:
    """A 28×28 MNIST digit as a user's scan: dark ink on white, `scale`× bigger, off-centre."""
    big = cv2.resize(255 - digit, (28 * scale, 28 * scale), interpolation=cv2.INTER_CUBIC)
    page = np.full((28 * scale + 40, 28 * scale + 90), 255, np.uint8)
    page[10 : 10 + 28 * scale, 70 : 70 + 28 * scale] = big
    return page


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def test_normalizing_a_scan_recovers_the_mnist_digit(mnist_test: tuple) -> None:
    images, _ = mnist_test
    scores = [similarity(normalize_digit(as_user_image(img)), img) for img in images]
    assert np.median(scores) > 0.95, scores
    assert np.percentile(scores, 10) > 0.85, scores


def test_polarity_does_not_matter(mnist_test: tuple) -> None:
    page = as_user_image(mnist_test[0][0])
    np.testing.assert_array_equal(normalize_digit(page), normalize_digit(255 - page))


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (np.full((50, 50), 255, np.uint8), "blank"),
        (np.full((50, 50), 0, np.uint8), "blank"),
        (np.pad(np.zeros((1, 1), np.uint8), 20, constant_values=255), "too little ink"),
        (np.zeros((1, 30), np.uint8), "too small"),
    ],
)
def test_no_digit_is_refused(image: np.ndarray, reason: str) -> None:
    with pytest.raises(DataError, match=reason):
        normalize_digit(image, "sample")


def test_a_digit_filling_the_frame() -> None:
    """Ink over most of the image: the paper level comes from the border, not the median."""
    page = np.full((50, 50), 255, np.uint8)
    page[3:47, 8:42] = 0
    page[12:38, 18:32] = 255  # a thick zero filling the frame
    digit = normalize_digit(page)
    assert digit.max() == 255
    assert digit[14, 14] == 0  # the hole stays empty
    assert (digit > 128).sum() > 150


def write_folder(root: Path, images: np.ndarray, labels: np.ndarray) -> None:
    formats = [".png", ".jpg", ".bmp", ".webp", ".tif"]
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        suffix = formats[index % len(formats)]
        page = as_user_image(image)
        if index % 7 == 0:  # with an alpha channel: transparent paper, opaque ink
            bgra = np.zeros((*page.shape, 4), np.uint8)
            bgra[..., 3] = 255 - page
            page, suffix = bgra, ".png"
        assert cv2.imwrite(str(folder / f"{index:03d}{suffix}"), page)


def test_folder_dataset(tmp_path: Path, mnist_test: tuple) -> None:
    images, labels = mnist_test
    write_folder(tmp_path / "mine", images, labels)
    (tmp_path / "mine" / "notes.txt").write_text("not an image, ignored")
    digits = load_parts(tmp_path / "mine")["all"]
    assert len(digits) == len(images)
    assert sorted(digits.labels.tolist()) == sorted(labels.tolist())
    assert digits.image_shape == (28, 28)
    # Files are read in label order then name order: match each back to its source digit.
    order = sorted(range(len(labels)), key=lambda i: (labels[i], f"{i:03d}"))
    scores = [similarity(digits.images[k], images[i]) for k, i in enumerate(order)]
    assert np.median(scores) > 0.9, scores

    splits = load_splits(str(tmp_path / "mine"))
    assert [len(splits[n]) for n in ("train", "val", "test")] == [48, 6, 6]


def test_folder_with_a_bad_file(tmp_path: Path, mnist_test: tuple) -> None:
    images, labels = mnist_test
    write_folder(tmp_path / "mine", images[:5], labels[:5])
    bad = tmp_path / "mine" / "3" / "broken.png"
    bad.parent.mkdir(exist_ok=True)
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match=r"broken\.png: not a readable image"):
        load(f"folder:{tmp_path / 'mine'}", "all")
    assert len(load_parts(tmp_path / "mine", skip_bad=True)["all"]) == 5


def test_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "5").mkdir()
    with pytest.raises(DataError, match=r"no images in sub-folders 0/ … 9/"):
        load(str(tmp_path), "all")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"hello, not an image", "not a readable image"),
        # A valid PNG signature and header claiming 100,000 × 100,000 pixels.
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (100_000).to_bytes(4, "big") * 2 + b"\x08\x00",
            "100000×100000, over the",
        ),
    ],
)
def test_bad_image_bytes(data: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        decode_image(data, "upload")


def test_decodes_16_bit_and_colour() -> None:
    gray16 = np.full((8, 8), 65535, np.uint16)
    gray16[2:6, 2:6] = 0
    ok, png = cv2.imencode(".png", gray16)
    assert ok
    decoded = decode_image(png.tobytes(), "16-bit")
    assert decoded.dtype == np.uint8 and decoded[0, 0] == 255 and decoded[3, 3] == 0
    colour = np.zeros((8, 8, 3), np.uint8)
    colour[..., 2] = 255  # pure red, BGR order
    ok, jpg = cv2.imencode(".png", colour)
    assert abs(int(decode_image(jpg.tobytes(), "red")[0, 0]) - 76) <= 1  # ITU-R 601 luma of red


def test_size_and_place_do_not_matter(mnist_test: tuple) -> None:
    """The same digit drawn 2×, 4× or 9× bigger, anywhere on a larger page, normalizes to
    nearly the same 28×28 image."""
    for digit in mnist_test[0][:20]:
        outputs = []
        for scale, (top, left) in [(2, (0, 0)), (4, (90, 10)), (9, (30, 200))]:
            big = cv2.resize(255 - digit, (28 * scale,) * 2, interpolation=cv2.INTER_CUBIC)
            page = np.full((28 * scale + 100, 28 * scale + 220), 255, np.uint8)
            page[top : top + 28 * scale, left : left + 28 * scale] = big
            outputs.append(normalize_digit(page))
        assert min(similarity(outputs[0], o) for o in outputs[1:]) > 0.9


def test_to_mnist_format_matches_the_image_file_path(usps_dir: Path) -> None:
    """USPS digits brought to 28×28 directly (as evaluate does) and through PNG files (as a user's
    images go) give nearly the same images: one preprocessing for both. (A faint stray stroke
    can fall either side of Otsu's threshold at 16 and at 64 pixels: measured median 0.998,
    lowest 0.72.)"""
    val = load("usps", "val", usps_dir)
    direct = to_mnist_format(val.images[:100], "usps val")
    assert direct.shape == (100, 28, 28) and direct.dtype == np.uint8
    scores = []
    for image, normalized in zip(val.images[:100], direct, strict=True):
        big = cv2.resize(255 - image, (64, 64), interpolation=cv2.INTER_CUBIC)
        scores.append(similarity(normalize_digit(big), normalized))
    assert np.median(scores) > 0.98 and np.percentile(scores, 5) > 0.9, scores


def test_joined_dataset(tmp_path: Path, mnist_dir: Path, mnist_test: tuple) -> None:
    """`mnist+folder:PATH`: each split is MNIST's, then the folder's, both 28×28."""
    images, labels = mnist_test
    write_folder(tmp_path / "mine", images, labels)
    spec = f"mnist+folder:{tmp_path / 'mine'}"
    joined = load_splits(spec, mnist_dir)
    mnist, mine = load_splits("mnist", mnist_dir), load_splits(str(tmp_path / "mine"))
    for split in ("train", "val", "test"):
        first = len(mnist[split])
        assert len(joined[split]) == first + len(mine[split])
        assert np.array_equal(joined[split].images[:first], mnist[split].images)
        assert np.array_equal(joined[split].images[first:], mine[split].images)
        assert np.array_equal(joined[split].labels[first:], mine[split].labels)
    assert len(joined["all"]) == sum(len(joined[s]) for s in ("train", "val", "test"))
    report = fetch(spec, mnist_dir)
    assert report is not None and "mnist/train-images-idx3-ubyte" in report.checksums
    plus = tmp_path / "a+b"  # a folder whose name holds a '+' is one folder
    write_folder(plus, images[:20], labels[:20])
    assert len(load_splits(f"folder:{plus}")["all"]) == len(load_splits(str(plus))["all"]) == 20
    bad_specs = [("mnist+", "empty name"), ("mnist+nope", "unknown dataset 'nope'")]
    for bad, message in [*bad_specs, ("mnist+mnist", "named twice")]:
        with pytest.raises(UsageError, match=message):
            load_splits(bad, mnist_dir)
