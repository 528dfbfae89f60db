"""`digitrec predict` and `digitrec.predict`: real MNIST test digits saved as the files users have
(scans in five formats, colour, transparent PNGs, rotated-by-EXIF JPEGs), blanks that must not be
read as digits, and broken files that must not stop the others."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import digitrec
from digitrec.data import load
from digitrec.images import apply_orientation, decode_image, decode_reduced, exif_orientation
from digitrec.recognize import predict_many

DIGITREC = Path(sys.executable).with_name("digitrec")


def digitrec_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIGITREC), *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def test_digits(mnist_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    test = load("mnist", "test", mnist_dir)
    return test.images[:40], test.labels[:40]


def as_scan(digit: np.ndarray, scale: int = 4) -> np.ndarray:
    """Dark ink on white paper, scaled up as a scanner at higher resolution would give."""
    side = 28 * scale
    return cv2.resize(255 - digit, (side, side), interpolation=cv2.INTER_CUBIC)


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """Insert an APP1 Exif segment holding only the orientation tag after the JPEG's SOI."""
    ifd = (1).to_bytes(2, "little") + (0x0112).to_bytes(2, "little") + (3).to_bytes(2, "little")
    ifd += (1).to_bytes(4, "little") + orientation.to_bytes(2, "little") + b"\0\0" + b"\0" * 4
    tiff = b"II*\0" + (8).to_bytes(4, "little") + ifd
    payload = b"Exif\0\0" + tiff
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:2] + segment + jpeg[2:]


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tiff", ".webp"])
def test_reads_scanned_digits_in_every_format(
    suffix: str, test_digits: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    images, labels = test_digits
    paths = []
    for i, digit in enumerate(images):
        paths.append(tmp_path / f"{i}{suffix}")
        cv2.imwrite(str(paths[-1]), as_scan(digit))
    results = predict_many(paths)
    read = [r.digit for r in results]
    assert np.mean(np.array(read) == labels) >= 0.95, read


def test_colour_and_transparent_images(test_digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = test_digits
    right = 0
    for digit, label in zip(images[:20], labels[:20], strict=True):
        blue_on_yellow = np.zeros((112, 112, 3), np.uint8)
        ink = cv2.resize(digit, (112, 112)).astype(np.float32) / 255
        paper, pen = np.array([250, 240, 120]), np.array([20, 30, 160])  # RGB
        blue_on_yellow[:] = (paper * (1 - ink[..., None]) + pen * ink[..., None]).astype(np.uint8)
        transparent = np.zeros((112, 112, 4), np.uint8)  # black ink, alpha = ink, RGBA
        transparent[..., 3] = (ink * 255).astype(np.uint8)
        _, png = cv2.imencode(".png", transparent[..., [2, 1, 0, 3]])
        predictions = [digitrec.predict(blue_on_yellow), digitrec.predict(png.tobytes())]
        right += sum(p.digit == label for p in predictions)
    assert right >= 38  # of 40


def test_exif_orientation_is_applied(test_digits: tuple[np.ndarray, np.ndarray]) -> None:
    upright = as_scan(test_digits[0][0])
    stored = np.rot90(upright, 1)  # the camera stored it turned; EXIF 6 says "turn clockwise"
    _, jpeg = cv2.imencode(".jpg", np.ascontiguousarray(stored), [cv2.IMWRITE_JPEG_QUALITY, 95])
    tagged = with_exif_orientation(jpeg.tobytes(), 6)
    assert exif_orientation(tagged) == 6 and exif_orientation(jpeg.tobytes()) == 1
    np.testing.assert_array_equal(
        decode_image(tagged, "tagged"), np.rot90(decode_image(jpeg.tobytes(), "plain"), -1)
    )
    assert digitrec.predict(tagged).digit == int(test_digits[1][0])
    for orientation in range(1, 9):  # the eight orientations are the 8 symmetries of a square
        turned = apply_orientation(np.arange(6).reshape(2, 3), orientation)
        assert sorted(turned.flatten()) == list(range(6))


def test_big_jpegs_are_decoded_smaller_for_reading_turned_as_tagged() -> None:
    """decode_reduced: a JPEG at least twice the side asked for is decoded 2, 4 or 8 times
    smaller, to what the full decode shrunk by that much gives (within JPEG's rounding), its
    size as seen reported (turned by its EXIF tag); a PNG, or a JPEG under twice the side, is
    decoded whole."""
    rng = np.random.default_rng(0)
    stored = cv2.GaussianBlur(rng.integers(0, 256, (1200, 1600), np.uint8), (0, 0), 4)
    _, jpeg = cv2.imencode(".jpg", stored, [cv2.IMWRITE_JPEG_QUALITY, 95])
    data = jpeg.tobytes()
    for side, factor in ((200, 8), (300, 4), (500, 2), (800, 2), (801, 1), (0, 1)):
        reduced = decode_reduced(data, "photo.jpg", side=side)
        assert reduced.factor == factor and reduced.size == (1600, 1200), side
        assert reduced.gray.shape == (1200 // factor, 1600 // factor)
        whole = decode_image(data, "photo.jpg")
        shrunk = cv2.resize(whole, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)
        assert np.abs(reduced.gray.astype(int) - shrunk).mean() < 1.5, side
    tagged = decode_reduced(with_exif_orientation(data, 6), "turned.jpg", side=300)
    assert tagged.size == (1200, 1600) and tagged.gray.shape == (400, 300)
    np.testing.assert_array_equal(
        tagged.gray, np.rot90(decode_reduced(data, "x", side=300).gray, -1)
    )
    _, png = cv2.imencode(".png", stored)
    assert decode_reduced(png.tobytes(), "scan.png", side=200).factor == 1


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_exif_orientation_of_other_formats_and_broken_tags(fmt: str) -> None:
    """PNG and WebP carry EXIF too (Pillow reads it; OpenCV decodes the pixels as stored), and a
    TIFF its own orientation tag (OpenCV's decoder applies it): each is turned once, like a JPEG;
    a broken EXIF segment is ignored without a word."""
    import io
    import warnings

    from PIL import Image

    stored = np.arange(12 * 20, dtype=np.uint8).reshape(12, 20)
    exif = Image.Exif()
    exif[0x0112] = 8  # "turn 90° anticlockwise to view"
    buffer = io.BytesIO()
    Image.fromarray(stored).save(
        buffer, fmt, exif=exif, **({"lossless": True} if fmt == "WEBP" else {})
    )
    assert exif_orientation(buffer.getvalue()) == (1 if fmt == "TIFF" else 8)
    np.testing.assert_array_equal(decode_image(buffer.getvalue(), "x"), np.rot90(stored, 1))
    _, jpeg = cv2.imencode(".jpg", stored)
    payload = b"Exif\0\0" + b"MM\0*\xff\xff\xff\xf0garbage"
    broken = jpeg[:2].tobytes() + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    broken += jpeg[2:].tobytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert exif_orientation(broken) == 1
        np.testing.assert_array_equal(decode_image(broken, "x"), decode_image(jpeg.tobytes(), "x"))


def test_blank_and_near_blank_are_never_digits() -> None:
    white = np.full((200, 200), 255, np.uint8)
    dot = white.copy()
    dot[100, 100] = 0
    faint = white.copy()
    faint[50:150, 95:105] = 245  # a smudge, less contrast than ink
    for image in (white, dot, faint, np.zeros((50, 50), np.uint8)):
        result = digitrec.predict(image)
        assert result.digit is None and result.reason and not result.error


def test_threshold_turns_unsure_answers_into_no_digit(
    test_digits: tuple[np.ndarray, np.ndarray],
) -> None:
    result = digitrec.predict(as_scan(test_digits[0][0]), threshold=1.0)
    assert result.digit is None and result.reason is not None and "unsure" in result.reason
    assert len(result.probabilities) == 10 and result.top3[0][1] == max(result.probabilities)


def test_cli_keeps_going_past_bad_files(
    test_digits: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    good = tmp_path / "seven.png"
    cv2.imwrite(str(good), as_scan(test_digits[0][0]))
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:60])
    one_pixel = tmp_path / "pixel.png"
    cv2.imwrite(str(one_pixel), np.zeros((1, 1), np.uint8))
    huge = tmp_path / "huge.png"  # a valid PNG header claiming 100,000 × 100,000 pixels
    huge.write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (100_000).to_bytes(4, "big") * 2 + b"\x08\x00"
    )
    folder = tmp_path / "folder"
    (folder / "inner").mkdir(parents=True)
    inside = folder / "inner" / "seven.png"  # a folder is searched, recursively
    inside.write_bytes(good.read_bytes())
    (folder / "notes.txt").write_text("not an image")  # skipped, not an error
    files = [good, empty, text, truncated, one_pixel, huge, folder, tmp_path / "missing.png"]
    done = digitrec_cli("predict", "--json", *map(str, files))
    assert done.returncode == 1, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    read = [*files[:6], inside, files[-1]]
    assert [row["file"] for row in rows] == [str(f) for f in read]
    assert "skipped 1 file that is not an image" in done.stderr and "notes.txt" in done.stderr
    assert rows[6]["digit"] == rows[0]["digit"]
    del rows[6]
    assert rows[0]["digit"] == int(test_digits[1][0]) and "error" not in rows[0]
    assert len(rows[0]["probabilities"]) == 10
    errors = {Path(row["file"]).name: row.get("error", row.get("reason")) for row in rows[1:]}
    assert errors["empty.png"] == "empty file"
    assert "not a readable image" in errors["notes.png"]
    assert "not a readable image" in errors["truncated.png"]
    assert "too small" in errors["pixel.png"]
    assert "over the" in errors["huge.png"] and "pixel limit" in errors["huge.png"]
    assert "cannot read" in errors["missing.png"]
    assert all(row["digit"] is None for row in rows[1:])


def test_cli_reads_only_regular_files_and_caps_them_while_reading(
    test_digits: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    """A FIFO with no writer would hang a plain open(); /dev/zero behind a link claims 0 bytes and
    never ends; a sparse file over the cap is refused by its size as read, not as claimed."""
    import os

    from digitrec.images import MAX_FILE_BYTES

    good = tmp_path / "seven.png"
    cv2.imwrite(str(good), as_scan(test_digits[0][0]))
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.png"
    zero.symlink_to("/dev/zero")
    sparse = tmp_path / "sparse.png"
    with sparse.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    linked = tmp_path / "linked.png"
    linked.symlink_to(good)
    files = [fifo, zero, sparse, linked]
    for command in ("predict", "read"):
        done = digitrec_cli(command, "--json", *map(str, files))
        assert done.returncode == 1, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        errors = [row.get("error", row.get("reason")) for row in rows]
        assert errors[0] == errors[1] == "not a regular file (a pipe, device or socket); not read"
        assert errors[2] == f"file is over the {MAX_FILE_BYTES:,}-byte limit"
        assert "error" not in rows[3] and "Traceback" not in done.stderr
    assert json.loads(done.stdout.splitlines()[3])["text"] == str(int(test_digits[1][0]))


def test_cli_text_output_and_bad_threshold(
    test_digits: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    good = tmp_path / "digit.png"
    cv2.imwrite(str(good), as_scan(test_digits[0][1]))
    done = digitrec_cli("predict", str(good))
    assert done.returncode == 0 and str(int(test_digits[1][1])) in done.stdout
    bad = digitrec_cli("predict", "--threshold", "2", str(good))
    assert bad.returncode == 2 and "probability in [0, 1]" in bad.stderr


def test_cli_output_formats_globs_and_a_table_that_fits(tmp_path: Path) -> None:
    import shutil

    from digitrec.output import fitted_table

    examples = Path(__file__).resolve().parents[1] / "examples" / "numbers"
    for image in sorted(examples.glob("0000[0-2].*")):
        shutil.copy(image, tmp_path / image.name)
    pattern = str(tmp_path / "*.*")  # quoted: the command expands it
    piped = subprocess.run(
        [str(DIGITREC), "read", pattern],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    lines = piped.stdout.splitlines()  # stdout is no terminal: tab-separated rows
    assert lines[0].split("\t") == ["file", "number", "confidence", "least sure", "note"]
    assert len(lines) == 4 and all(len(line.split("\t")) == 5 for line in lines)
    assert 0 < float(lines[1].split("\t")[2]) <= 1  # plain numbers for programs
    out = tmp_path / "results.csv"
    done = digitrec_cli("read", str(tmp_path), "--format", "csv", "--out", str(out))
    assert done.returncode == 0 and done.stdout == ""
    assert out.read_text().splitlines()[1:] == [",".join(line.split("\t")) for line in lines[1:]]
    missing = digitrec_cli("read", str(tmp_path / "*.tif"))
    assert missing.returncode == 2 and "no file matches" in missing.stderr
    folder = digitrec_cli("read", str(tmp_path), "--out", str(tmp_path))  # refused before reading
    assert (
        folder.returncode == 2 and "is a folder" in folder.stderr and ".part" not in folder.stderr
    )
    header = ["file", "number", "confidence", "least sure", "note"]
    body = [["scans/" + "x" * 60 + ".png", "1103819419", "53.0%", "#1: 1 73.2%", "n" * 200]]
    table, needed = fitted_table(header, body, 80)
    assert needed == 80 and [c.width for c in table.columns][1:4] == [10, 10, 11]
