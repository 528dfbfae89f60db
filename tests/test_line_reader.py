"""The line reader's parts: line images from the reader's front end, greedy CTC decoding, digit
boxes, the line-set files, and a short real training run that learns."""

from pathlib import Path

import numpy as np
import pytest
import torch

from digitrec.data import load_splits
from digitrec.data.synth import SynthConfig, make_page
from digitrec.errors import UsageError
from digitrec.reading.form_lines import remove_form_lines
from digitrec.reading.ink import page_ink
from digitrec.reading.line_data import LineSet, make_lines
from digitrec.reading.line_model import (
    Emitted,
    LineReader,
    digit_boxes,
    greedy_decode,
    line_image,
    load_line_reader,
    save_line_reader,
)
from digitrec.reading.line_net import LineNet, as_batch
from digitrec.reading.line_shape import BLANK, HEIGHT, PAD, STRIDE
from digitrec.reading.line_training import LineTrainConfig, train_line_reader
from digitrec.reading.reader import read_line, read_many


@pytest.fixture(scope="module")
def splits(mnist_dir: Path) -> dict:
    return load_splits("mnist", mnist_dir)


def frames_for(labels: list[int], per_label: int = 3) -> np.ndarray:
    """Log-probabilities: each label held `per_label` frames, a blank frame after each."""
    rows = []
    for label in labels:
        rows += [label] * per_label + [BLANK]
    out = np.full((len(rows), BLANK + 1), np.log(0.01 / BLANK))
    out[np.arange(len(rows)), rows] = np.log(0.99)
    return out


def test_greedy_decoding_merges_repeats_and_drops_blanks() -> None:
    emitted = greedy_decode(frames_for([4, 4, 0, 7]))
    assert [e.digit for e in emitted] == [4, 4, 0, 7]  # a blank between the two 4s keeps both
    assert [e.peak for e in emitted] == [0, 4, 8, 12]
    assert all(e.confidence == pytest.approx(0.99) for e in emitted)
    no_blank = frames_for([3])[:3]
    assert [e.digit for e in greedy_decode(np.concatenate([no_blank, no_blank]))] == [3]
    assert greedy_decode(frames_for([])[:0]) == []


def test_a_page_becomes_a_line_image_of_its_ink(splits: dict) -> None:
    page = make_page(
        splits["val"], SynthConfig(min_digits=4, max_digits=4), np.random.default_rng(3)
    )
    ink = page_ink(page.image)
    line = line_image(ink.ink, remove_form_lines(ink.mask, ink.stroke))
    assert line is not None and line.pixels.shape[0] == HEIGHT and line.pixels.dtype == np.uint8
    assert line.pixels[:PAD].max() == 0 and line.pixels[-PAD:].max() == 0  # paper above, below
    assert line.pixels.max() > 200  # ink bright
    # four digits about as wide as tall: the line is a few heights long
    assert 2 * HEIGHT < line.pixels.shape[1] < 8 * HEIGHT
    assert line_image(ink.ink, np.zeros_like(ink.mask)) is None


def test_boxes_split_the_ink_between_peaks() -> None:
    ink = np.zeros((40, 100), np.float32)
    ink[5:35, 10:20] = 1.0  # two bars on the page
    ink[5:35, 60:75] = 1.0
    line = line_image(ink, ink > 0.5)
    assert line is not None
    peak = lambda column: int((column - line.left) * line.scale + 2 * PAD) // STRIDE  # noqa: E731
    boxes = digit_boxes(line, [Emitted(1, 0.9, peak(15)), Emitted(1, 0.9, peak(67))])
    assert boxes == [(10, 5, 10, 30), (60, 5, 15, 30)]


def test_line_sets_survive_a_file(tmp_path: Path, splits: dict) -> None:
    lines = make_lines(splits["train"], 5, SynthConfig(), seed=1)
    lines.save(tmp_path / "lines.npz")
    again = LineSet.load(tmp_path / "lines.npz")
    assert np.array_equal(again.pixels, lines.pixels) and list(again.texts) == list(lines.texts)
    assert [i.shape for i in again.images()] == [(HEIGHT, int(w)) for w in lines.widths]


def test_padding_does_not_change_a_line_s_reading() -> None:
    """The LSTM reads only a line's own frames: batched beside a longer line or alone, the same
    log-probabilities."""
    torch.manual_seed(0)
    reader = LineReader(LineNet(), {})
    rng = np.random.default_rng(0)
    short, long = (rng.integers(0, 256, (HEIGHT, w), dtype=np.uint8) for w in (41, 203))
    together = reader.log_probs([short, long])
    alone = reader.log_probs([short])
    assert together[0].shape == (41 // STRIDE, BLANK + 1)
    np.testing.assert_allclose(together[0], alone[0], atol=1e-5)
    x, frames = as_batch([short, long])
    assert x.shape == (2, 1, HEIGHT, 200) and frames.tolist() == [10, 50]


def test_a_short_training_run_learns_and_the_model_file_round_trips(
    splits: dict, tmp_path: Path
) -> None:
    train = make_lines(splits["train"], 160, SynthConfig(max_digits=3), seed=2)
    val = make_lines(splits["val"], 40, SynthConfig(max_digits=3), seed=3)
    config = LineTrainConfig(widths=(8, 16, 16), hidden=16, epochs=3, lr=1e-2, threads=1)
    net, history = train_line_reader(
        train, {"synth": val}, config, tmp_path / "run", log=lambda row: None
    )
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    save_line_reader(net, {"arguments": {"widths": [8, 16, 16], "hidden": 16}}, tmp_path / "m")
    loaded = load_line_reader(tmp_path / "m")
    images = val.images()[:4]
    for a, b in zip(LineReader(net, {}).log_probs(images), loaded.log_probs(images), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # Through read_line: whatever this barely trained net reads comes with one box per digit,
    # inside the image; a blank page is no digits, with the reason.
    page = make_page(splits["val"], SynthConfig(max_digits=3), np.random.default_rng(9)).image
    reading = read_line(page, loaded, "page.png")
    assert len(reading.digits) == len(reading.text)
    for digit in reading.digits:
        x, y, w, h = digit.box
        assert 0 <= x < x + w <= page.shape[1] and 0 <= y < y + h <= page.shape[0]
    blank = read_line(np.full((60, 200), 230, np.uint8), loaded, "blank.png")
    assert blank.text == "" and blank.digits == [] and "no ink" in (blank.reason or "")


def test_a_reader_that_does_not_exist_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="reader must be one of auto, line, segment or a"):
        read_many([np.zeros((40, 40), np.uint8)], reader="lines")


def test_every_network_file_is_one_format_and_a_file_of_another_kind_is_refused(
    tmp_path: Path,
) -> None:
    """The line reader, the verifier and the classifiers write digitrec-model/1 files, told
    apart by their kind; each loader refuses the others' files in one line, and a reader file
    in the format used before (as `git show` of an old commit gives it) still loads."""
    import json

    from safetensors.numpy import save_file

    from digitrec.errors import DataError
    from digitrec.models.loading import load_model
    from digitrec.models.modelfile import PACKAGED, read_model_files
    from digitrec.reading.line_model import LINE_STEM
    from digitrec.reading.verifier import VERIFIER_STEM, load_verifier

    kinds = {}
    for stem in (LINE_STEM, VERIFIER_STEM, PACKAGED / "default"):
        card, _ = read_model_files(stem.with_suffix(".safetensors"))
        on_disk = json.loads(stem.with_suffix(".json").read_text())
        assert card == on_disk and card["format"] == "digitrec-model/1"
        kinds[stem.name] = card["kind"]
    assert kinds == {"line_reader": "line-reader", "verifier": "verifier", "default": "torch"}
    with pytest.raises(DataError, match="a line-reader file, not a digit classifier"):
        load_model(LINE_STEM.with_suffix(".safetensors"))
    with pytest.raises(DataError, match="a torch file, not a line-reader file"):
        load_line_reader(PACKAGED / "default")
    with pytest.raises(DataError, match="a line-reader file, not a verifier file"):
        load_verifier(LINE_STEM)
    # the former format: the card in the header only, no kind
    card, arrays = read_model_files(LINE_STEM.with_suffix(".safetensors"))
    legacy = {"format": "digitrec-line-reader/1", "arguments": card["arguments"]}
    save_file(arrays, str(tmp_path / "old.safetensors"), metadata={"digitrec": json.dumps(legacy)})
    old, shipped = load_line_reader(tmp_path / "old"), load_line_reader()
    line = np.zeros((32, 90), np.uint8)
    line[8:24, 20:24] = 255
    np.testing.assert_array_equal(old.log_probs([line])[0], shipped.log_probs([line])[0])
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(DataError, match="not a readable safetensors file"):
        load_line_reader(tmp_path / "bad")


def test_the_package_reads_under_onnx_runtime_as_under_torch(splits: dict) -> None:
    """The package's reader runs under ONNX Runtime (`line_ort`: its graph is of the shipped
    weights) and gives torch's log-probabilities (to 1e-4) and readings on 150 synthetic pages
    of MNIST validation digits, 1-8 digits, plain and wild."""
    from digitrec.reading.line_model import page_lines
    from digitrec.reading.line_ort import OnnxLineReader
    from digitrec.reading.reader import packaged_line_reader

    onnx_reader = packaged_line_reader()
    assert isinstance(onnx_reader, OnnxLineReader)
    torch_reader = load_line_reader()
    rng = np.random.default_rng(3)
    lines = []
    for _ in range(150):
        page = make_page(splits["val"], SynthConfig(wild=0.5), rng)
        lines += [line.pixels for line in page_lines(page_ink(page.image), 3)]
    expected, got = torch_reader.log_probs(lines), onnx_reader.log_probs(lines)
    for want, have in zip(expected, got, strict=True):
        assert want.shape == have.shape and np.abs(want - have).max() < 1e-4
        assert [e.digit for e in greedy_decode(want)] == [e.digit for e in greedy_decode(have)]


def test_a_stale_graph_is_not_used(tmp_path: Path) -> None:
    """A graph whose recorded weights are not the reader's beside it is left alone (the torch
    reader reads instead), as are one onnxruntime cannot load and a reader without a graph."""
    import shutil

    from digitrec.reading.line_model import LINE_STEM
    from digitrec.reading.line_ort import packaged_onnx_reader

    stem = tmp_path / "line_reader"
    for suffix in (".onnx", ".json", ".safetensors"):
        shutil.copyfile(LINE_STEM.with_suffix(suffix), stem.with_suffix(suffix))
    assert packaged_onnx_reader(stem) is not None
    net = load_line_reader().net
    with torch.no_grad():
        net.head.bias += 0.01  # retrained: new weights, the old graph
    save_line_reader(net, {"arguments": {}}, stem)
    assert packaged_onnx_reader(stem) is None
    stem.with_suffix(".onnx").write_bytes(b"not a graph")  # onnxruntime cannot load it
    assert packaged_onnx_reader(stem) is None
    stem.with_suffix(".onnx").unlink()
    assert packaged_onnx_reader(stem) is None


def test_reading_a_number_does_not_start_torch(tmp_path: Path, splits: dict) -> None:
    """`digitrec read` runs without importing torch (its start-up alone is a second on this
    machine), and reads."""
    import json
    import subprocess
    import sys

    import cv2

    page = make_page(
        splits["val"], SynthConfig(min_digits=5, max_digits=5), np.random.default_rng(1)
    )
    path = tmp_path / "number.png"
    cv2.imwrite(str(path), page.image)
    script = (
        "import sys; from digitrec.cli import main; code = main(['read', '--json', sys.argv[1]]);"
        " assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["text"] == page.text
