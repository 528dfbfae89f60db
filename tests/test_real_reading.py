"""Real handwriting in: the real datasets (CVL by writer, parish-rows by page, written-numbers,
your own strings:DIR), the front end on real troubles (scan margins, marks outside the line),
the realistic page generator, and `train-reader` / `evaluate-reader` / `read --reader` end to end.
"""

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from digitrec.cli import main
from digitrec.data import fetch, load_splits
from digitrec.data.cvl import writer_split
from digitrec.data.numbers import load_numbers, parish_page
from digitrec.data.synth import SynthConfig, make_page
from digitrec.errors import DataError, UsageError
from digitrec.reading.evaluation import reading_scores
from digitrec.reading.form_lines import remove_form_lines, text_band, text_bands
from digitrec.reading.ink import page_ink
from digitrec.reading.line_model import load_reader, page_line
from digitrec.reading.reader import packaged_line_reader, read_line

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def mnist_val(mnist_dir: Path):  # type: ignore[no-untyped-def]
    return load_splits("mnist", mnist_dir)["val"]


def write_strings(folder: Path, pages: list[tuple[np.ndarray, str]], splits: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["filename", "label", "split"] if splits else ["filename", "label"])
        for index, (image, text) in enumerate(pages):
            name = f"{index:03d}.png"
            cv2.imwrite(str(folder / name), image)
            split = ["train", "val", "test"][index % 3]
            writer.writerow([name, text, split] if splits else [name, text])
    return folder


def synthetic(digits, count: int, seed: int, **config) -> list[tuple[np.ndarray, str]]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    pages = [make_page(digits, SynthConfig(**config), rng) for _ in range(count)]
    return [(p.image, p.text) for p in pages]


# ---- datasets ------------------------------------------------------------------------------


def test_parish_rows_are_split_by_page_and_keep_only_numbers(home: Path) -> None:
    fetch("parish-rows", SHARED / "parish-rows")
    splits = load_numbers("parish-rows")
    assert {k: len(v) for k, v in splits.items()} == {
        "train": 1559, "val": 287, "test": 851, "all": 2697
    }  # fmt: skip
    pages = {
        name: {parish_page(f) for f in splits[name].files} for name in ("train", "val", "test")
    }
    assert not (pages["train"] & pages["val"] or pages["train"] & pages["test"])
    assert not pages["val"] & pages["test"]
    assert all(t.isdigit() for t in splits["all"].texts)  # '5a', 'sn', '-' left out
    assert splits["test"].images[0].ndim == 2  # colour JPEG cells, decoded to gray


def test_written_numbers_are_a_test_set_only(home: Path) -> None:
    fetch("written-numbers", SHARED / "written-numbers")
    splits = load_numbers("written-numbers")
    assert set(splits) == {"test", "all"} and len(splits["test"]) == 600
    assert splits["test"].texts[0] == Path(splits["test"].files[0]).stem


def test_cvl_is_split_by_writer_in_mnist_format(home: Path) -> None:
    fetch("cvl", SHARED / "cvl")
    splits = load_splits("cvl")
    assert {k: len(v) for k, v in splits.items()} == {
        "train": 9557, "val": 1336, "test": 3107, "all": 14000
    }  # fmt: skip
    assert splits["train"].images.shape[1:] == (28, 28)
    # ink bright on black with MNIST's margin: the 2-pixel border is paper
    border = np.concatenate(
        [splits["val"].images[:, :2].ravel(), splits["val"].images[:, -2:].ravel()]
    )
    assert border.mean() < 1.0  # (MNIST validation: 0.46)
    assert [writer_split(w) for w in ("0001", "0002", "0003")] == [
        writer_split(w) for w in ("0001", "0002", "0003")
    ]
    with pytest.raises(UsageError, match="holds whole numbers"):
        load_splits("parish-rows")


def test_strings_dir_is_a_dataset_with_clear_errors(
    tmp_path: Path,
    home: Path,
    mnist_val,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    folder = write_strings(tmp_path / "mine", synthetic(mnist_val, 9, seed=1), splits=True)
    splits = load_numbers(f"strings:{folder}")
    assert [len(splits[s]) for s in ("train", "val", "test", "all")] == [3, 3, 3, 9]
    assert main(["data", "info", f"strings:{folder}", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "numbers" and info["splits"]["all"]["count"] == 9
    (folder / "labels.csv").write_text("filename,label\n000.png,12a\n")
    with pytest.raises(DataError, match=r"label '12a' is not 1-20 digits"):
        load_numbers(f"strings:{folder}")
    (folder / "labels.csv").write_text("file,text\n000.png,12\n")
    with pytest.raises(DataError, match="header filename,label"):
        load_numbers(f"strings:{folder}")
    (folder / "labels.csv").write_text("filename,label\nnope.png,12\n")
    with pytest.raises(DataError, match=r"nope\.png is not a file"):
        load_numbers(f"strings:{folder}")
    (folder / "labels.csv").write_text("filename,label\n000.png,12\n000.png,13\n")
    with pytest.raises(DataError, match="listed twice"):
        load_numbers(f"strings:{folder}")
    (folder / "labels.csv").unlink()
    assert main(["data", "info", f"strings:{folder}"]) == 1
    assert "no labels.csv" in capsys.readouterr().err


# ---- the front end on real troubles ---------------------------------------------------------


def test_a_scan_margin_is_not_ink(mnist_val) -> None:  # type: ignore[no-untyped-def]
    image, _ = synthetic(mnist_val, 1, seed=4, min_digits=3, max_digits=3, form_lines=0)[0]
    margin = np.full((image.shape[0], image.shape[1] // 2), 10, np.uint8)
    scanned = np.concatenate([margin, image], axis=1)  # the dark table beside the page
    page = page_ink(scanned)
    assert not page.mask[:, : margin.shape[1] - 4].any()
    assert page.stroke < 0.25 * image.shape[0]
    assert (
        read_line(scanned, packaged_line_reader()).text
        == read_line(image, packaged_line_reader()).text
    )


def test_marks_far_below_the_line_are_left_out() -> None:
    mask = np.zeros((100, 120), bool)
    mask[20:50, 10:20] = True  # two digits
    mask[25:52, 40:55] = True
    mask[30:45, 70:78] = True  # a smaller digit in the same band
    mask[85:95, 10:100] = True  # printed text at the cell's foot
    kept = text_band(mask)
    assert kept[20:52].sum() == mask[20:52].sum() and not kept[80:].any()


def flourished(digits) -> tuple[np.ndarray, np.ndarray, str]:  # type: ignore[no-untyped-def]
    """A 3-digit number low on a page with a long, thick arc well above it (a flourish, a note's
    stroke): the arc stands taller (height × √width) than any digit, so by stature alone it would
    be the line. (page, the number's own image, its text)."""
    image, text = synthetic(digits, 1, seed=3, min_digits=3, max_digits=3, form_lines=0)[0]
    height, width = image.shape
    page = np.full((3 * height, 3 * width), 235, np.uint8)
    page[2 * height :, width : 2 * width] = image
    columns = np.arange(int(0.2 * width), int(2.8 * width))
    middle, span = columns.mean(), np.ptp(columns) / 2
    rows = (0.2 * height + 0.6 * height * ((columns - middle) / span) ** 2).astype(int)
    for x, y in zip(columns, rows, strict=True):
        cv2.circle(page, (int(x), int(y)), 4, 20, -1)
    return page, image, text


def test_a_flourish_above_the_number_seeds_a_band_but_the_reader_keeps_the_digits(
    mnist_val,
) -> None:  # type: ignore[no-untyped-def]
    page, image, text = flourished(mnist_val)
    below = 2 * image.shape[0]
    ink = page_ink(page)
    bands = text_bands(remove_form_lines(ink.mask, ink.stroke), 3)
    assert len(bands) >= 2 and not bands[0][below:].any()  # stature picks the arc first
    assert bands[1][below:].any()
    reader = packaged_line_reader()
    assert read_line(page, reader).text == read_line(image, reader).text == text


def test_a_line_of_no_digits_never_beats_one_of_digits() -> None:
    from digitrec.reading.line_model import Emitted, surety

    assert surety([]) == -np.inf < surety([Emitted(3, 0.01, 0)])
    assert surety([Emitted(1, 0.9, 0), Emitted(2, 0.9, 4)]) == pytest.approx(np.log(0.9))


def test_wild_pages_are_seeded_and_the_original_generator_is_unchanged(mnist_val) -> None:  # type: ignore[no-untyped-def]
    wild = [p for p, _ in synthetic(mnist_val, 4, seed=7, wild=1.0)]
    again = [p for p, _ in synthetic(mnist_val, 4, seed=7, wild=1.0)]
    assert all(np.array_equal(a, b) for a, b in zip(wild, again, strict=True))
    # wild=0: the very pages the benchmarks were measured on before the wild ones existed
    plain = synthetic(mnist_val, 3, seed=5)
    digest = hashlib.sha256(b"".join(p.tobytes() + t.encode() for p, t in plain)).hexdigest()
    assert digest == ORIGINAL_PAGES_SHA256


ORIGINAL_PAGES_SHA256 = "1d51ea86a97d9be0c8bb88483888a7acb7a6c1e45c9c88c9810f0b74a7145657"


# ---- scores ----------------------------------------------------------------------------------


def test_reading_scores_align_digits() -> None:
    scores = reading_scores(["123", "45", "7"], ["1243", "45", "1"])
    assert scores["exact"] == pytest.approx(1 / 3)
    assert scores["cer"] == pytest.approx(2 / 6)
    assert scores["added"][4] == 1 and scores["confusion"][7][1] == 1
    assert scores["confusion"][5][5] == 1 and sum(scores["missed"]) == 0
    assert scores["exact_by_length"] == {
        "1": {"exact": 0.0, "count": 1}, "2": {"exact": 1.0, "count": 1},
        "3": {"exact": 0.0, "count": 1},
    }  # fmt: skip


# ---- train-reader, evaluate-reader, read --reader --------------------------------------------


@pytest.mark.slow
def test_train_reader_fine_tunes_resumes_and_is_used_by_read(
    tmp_path: Path,
    home: Path,
    mnist_dir: Path,
    mnist_val,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    """A user's own labelled numbers: fine-tune the shipped reader on them (no synthetic pages),
    stop it after its first epoch, resume, and read with it."""
    pages = synthetic(mnist_val, 150, seed=11, wild=1.0, max_digits=4)
    folder = write_strings(tmp_path / "forms", pages)
    out = tmp_path / "run"
    args = ["train-reader", "--out", str(out), "--dataset", f"strings:{folder}",
            "--synth-pages", "0", "--epochs", "2", "--threads", "1", "--repeat-real", "1"]  # fmt: skip
    command = [sys.executable, "-m", "digitrec", *args]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(1200):  # kill it once the first epoch's checkpoint is written
            if (out / "checkpoint.safetensors").is_file():
                break
            if first.poll() is not None:
                break
            subprocess.run(["sleep", "0.1"], check=True)
    finally:
        first.kill()
        first.wait()
    assert not (out / "reader.safetensors").exists()  # stopped after its first epoch
    assert main([*args, "--resume"]) == 0
    whole = tmp_path / "whole"  # the same run, never stopped: the very same weights
    assert main([*args[:2], str(whole), *args[3:]]) == 0
    from safetensors.numpy import load_file

    resumed, straight = (
        load_file(out / "reader.safetensors"),
        load_file(whole / "reader.safetensors"),
    )
    assert all(np.array_equal(resumed[k], straight[k]) for k in straight)
    card = json.loads((out / "reader.json").read_text())
    assert [row["epoch"] for row in card["history"]] == [1, 2]
    assert card["init"] == "default" and card["data"]["train_lines"]["strings:" + str(folder)] > 0
    assert main(args) == 2  # a finished run is not overwritten
    assert "already holds a run" in capsys.readouterr().err
    assert main(["evaluate-reader", "--dataset", f"strings:{folder}", "--split", "val",
                 "--reader", str(out), "--json"]) == 0  # fmt: skip
    scores = json.loads(capsys.readouterr().out)
    assert scores["count"] == len(load_numbers(f"strings:{folder}")["val"])
    assert scores["cer"] >= 0.0 and len(scores["confusion"]) == 10
    image = folder / "000.png"
    assert main(["read", str(image), "--reader", str(out), "--json"]) == 0
    read = json.loads(capsys.readouterr().out)
    line = page_line(page_ink(cv2.imread(str(image), cv2.IMREAD_GRAYSCALE)))
    assert line is not None
    own = "".join(str(e.digit) for e, _ in load_reader(out).read(line))
    assert read["text"] == own


def test_train_reader_shapes_a_reader_from_scratch_and_fine_tunes_keep_it(
    tmp_path: Path,
    home: Path,
    mnist_val,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    pages = synthetic(mnist_val, 40, seed=12, wild=0.0, max_digits=3)
    folder = write_strings(tmp_path / "forms", pages)
    common = ["--dataset", f"strings:{folder}", "--synth-pages", "0", "--epochs", "1",
              "--threads", "1", "--repeat-real", "1"]  # fmt: skip
    small = tmp_path / "small"
    shape = ["--widths", "8,16,16", "--hidden", "16"]
    assert main(["train-reader", "--out", str(small), "--init", "none", *shape, *common]) == 0
    assert json.loads((small / "reader.json").read_text())["arguments"] == {
        "widths": [8, 16, 16], "hidden": 16,
    }  # fmt: skip
    tuned = tmp_path / "tuned"  # from that run: its shape, not the default one
    assert main(["train-reader", "--out", str(tuned), "--init", str(small), *common]) == 0
    assert json.loads((tuned / "reader.json").read_text())["arguments"]["hidden"] == 16
    capsys.readouterr()
    for wrong in (["--init", "default", *shape], ["--init", "none", "--widths", "8,x,8"]):
        assert main(["train-reader", "--out", str(tmp_path / "no"), *wrong, *common]) == 2
        assert "--widths" in capsys.readouterr().err
