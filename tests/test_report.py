"""Reports: `digitrec compare` and every `digitrec study` end to end in smoke mode on real MNIST and
USPS (a few training steps on 200 digits, measured on 200 test digits), checking the files, that
the HTML needs nothing from the network, and that the numbers a report prints are the ones
`digitrec.evaluate.evaluate` gives for the same model. Plus the pieces: the run cache's key, the
papers' numbers, noise augmentation, fine-tuning from a model's weights."""

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from digitrec.cli import main
from digitrec.document.content import Figure, Report, Section, Table, to_html, write_report
from digitrec.document.numbers import percent
from digitrec.errors import UsageError
from digitrec.evaluate import evaluate
from digitrec.report.cache import config_key
from digitrec.report.settings import Settings
from digitrec.train import RECIPES, TrainConfig

SMOKE = ["--limit", "200", "--max-steps", "5", "--eval-limit", "200", "--threads", "1"]
SMOKE += ["--seeds", "1"]
EVAL_LIMIT = 200


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run cache for the module: the studies reuse compare's cnn-small run (same config)."""
    return tmp_path_factory.mktemp("runs")


def check_files(out: Path) -> dict[str, Any]:
    """The report's files exist, the Markdown's images are the PNGs written, and the HTML loads
    nothing from anywhere: every image is inline. Returns report.json."""
    markdown = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs, "a report without plots"
    assert sorted(re.findall(r"!\[[^]]*\]\(([^)]+)\)", markdown)) == pngs
    for png in pngs:
        assert (out / png).read_bytes().startswith(b"\x89PNG")
    sources = re.findall(r"""<img[^>]*\ssrc="([^"]*)\"""", html)
    assert len(sources) == len(pngs)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", html, re.IGNORECASE)
    assert "<script" not in html and "<link" not in html
    assert (
        markdown.startswith("# ") and "Command: `digitrec " in markdown and "Machine: " in markdown
    )
    record: dict[str, Any] = json.loads((out / "report.json").read_text())
    assert record["command"].startswith("digitrec ")
    return record


def measured_runs(results: Any) -> Iterator[dict[str, Any]]:
    """Every per-run record (run directory, dataset, accuracy) anywhere in report.json."""
    if isinstance(results, dict):
        if {"run", "dataset", "accuracy"} <= results.keys():
            yield results
        for value in results.values():
            yield from measured_runs(value)
    elif isinstance(results, list):
        for value in results:
            yield from measured_runs(value)


def assert_agrees_with_evaluate(record: dict[str, Any], mnist: Path, usps: Path) -> None:
    source = usps if record["dataset"].startswith("usps") else mnist
    fresh = evaluate(record["run"], record["dataset"], "test", source=source, limit=EVAL_LIMIT)
    assert record["accuracy"] == fresh["accuracy"]
    assert record["n"] == fresh["n"] == EVAL_LIMIT


@pytest.mark.slow
def test_compare_smoke(home: Path, runs: Path, mnist_dir: Path, usps_dir: Path) -> None:
    out = runs.parent / "compare"
    args = ["compare", "--models", "cnn-small,knn", *SMOKE, "--runs", str(runs)]
    args += ["--source", str(mnist_dir), "--out", str(out)]
    assert main(args) == 0
    record = check_files(out)
    entries = record["results"]["entries"]
    assert list(entries) == ["cnn-small", "knn"]
    markdown = (out / "report.md").read_text()
    for name, entry in entries.items():
        run = entry["runs"][0]
        fresh = evaluate(run["run"], "mnist", "test", source=mnist_dir, limit=EVAL_LIMIT)
        assert run["accuracy"] == entry["accuracy_mean"] == fresh["accuracy"]
        assert run["f1_macro"] == fresh["f1_macro"] and run["ece"] == fresh["ece"]
        row = next(line for line in markdown.splitlines() if line.startswith(f"| `{name}`"))
        assert percent(fresh["accuracy"]) in row and f"{fresh['f1_macro']:.4f}" in row
    for figure in (
        "confusion-cnn-small",
        "curves-cnn-small",
        "mistakes-knn",
        "filters-cnn-small",
        "features-cnn-small",
        "accuracy-vs-parameters",
        "accuracy-vs-latency",
        "per-class-f1",
        "reliability",
    ):
        assert (out / f"{figure}.png").is_file(), figure
    assert not (out / "filters-knn.png").exists()  # no convolutions in a k-NN
    claims = {(c["paper"], c["their_model"]): c for c in record["results"]["claims"]}
    albayati = claims[("Al-Bayati", "CNN (conv32-conv64-FC128)")]
    assert albayati["measured"] == fresh_accuracy(entries, "cnn-small")
    assert albayati["difference"] == pytest.approx(albayati["measured"] - 0.9903)
    assert claims[("Agrahari et al.", "ResNet")]["measured"] is None  # not in this compare
    assert "| Al-Bayati | CNN (conv32-conv64-FC128) | 99.03% (MNIST test accuracy)" in markdown
    assert "Al-Bayati validation" in markdown  # their epoch table beside ours

    # A rerun finds every run and measurement in the cache.
    assert main(args) == 0
    again = json.loads((out / "report.json").read_text())["results"]["entries"]
    assert all(e["runs"][0]["reused"] for e in again.values())
    assert again["cnn-small"]["runs"][0]["accuracy"] == entries["cnn-small"]["runs"][0]["accuracy"]


def fresh_accuracy(entries: dict[str, Any], name: str) -> float:
    value: float = entries[name]["accuracy_mean"]
    return value


@pytest.mark.slow
@pytest.mark.parametrize("study", ["hidden-layers", "epochs", "ablation", "noise", "transfer"])
def test_study_smoke(study: str, home: Path, runs: Path, mnist_dir: Path, usps_dir: Path) -> None:
    out = runs.parent / f"study-{study}"
    args = ["study", study, *SMOKE, "--runs", str(runs), "--source", str(mnist_dir)]
    args += ["--usps-source", str(usps_dir), "--out", str(out)]
    assert main(args) == 0
    record = check_files(out)
    assert record["results"]["kind"] == f"study:{study}"
    measured = list(measured_runs(record["results"]))
    assert measured
    # the first and the last run of the study, measured again by evaluate()
    for one in {id(m): m for m in (measured[0], measured[-1])}.values():
        assert_agrees_with_evaluate(one, mnist_dir, usps_dir)
    markdown = (out / "report.md").read_text()
    assert "Not a result" in markdown  # smoke runs say so


def test_epochs_study_reports_the_papers_table(runs: Path) -> None:
    """The epochs study prints Al-Bayati's validation accuracy per epoch beside ours."""
    from digitrec.report.studies.epochs import _paper_cell

    assert _paper_cell("albayati", 9) == "val 99.03%"
    assert _paper_cell("nagpal", 10) == "train 99.75%"
    assert _paper_cell("albayati", 11) == "—"


def test_config_key_ignores_threads_only() -> None:
    base = TrainConfig(model="cnn-small", epochs=3)
    assert config_key(base) == config_key(TrainConfig(model="cnn-small", epochs=3, threads=1))
    assert config_key(base) == config_key(TrainConfig(model="cnn-small", epochs=3, target_acc=0.5))
    assert config_key(base) != config_key(TrainConfig(model="cnn-small", epochs=3, seed=1))
    assert config_key(base) != config_key(TrainConfig(model="cnn-small", epochs=3, noise=0.5))
    assert config_key(base) != config_key(TrainConfig(model="cnn-small", epochs=3, limit=10))


def test_papers_agree_with_recipes() -> None:
    """The recipes' `reported` accuracy is one of the report's claims for that model."""
    from digitrec.report.comparison import MODEL_RECIPES
    from digitrec.report.paper_claims import CLAIMS

    for model, recipe in MODEL_RECIPES.items():
        reported = RECIPES[recipe].reported.get("accuracy")
        if reported is None or RECIPES[recipe].values["model"] != model:
            continue
        assert reported in [c.value for c in CLAIMS if c.ours == model], (model, recipe)
    assert {c.ours for c in CLAIMS} <= {*MODEL_RECIPES, "svm", "knn"}


def test_entries_and_budget() -> None:
    from digitrec.report.comparison import BUDGET, plan, resolve_entries

    entries = resolve_entries(["tonape", "resnet18@albayati", "svm"])
    assert [(e.label, e.model, e.recipe) for e in entries] == [
        ("cnn-deep", "cnn-deep", "tonape"),
        ("resnet18@albayati", "resnet18", "albayati"),
        ("svm", "svm", ""),
    ]
    planned = plan(entries, Settings(seeds=3), budget=True)
    assert planned[0].paper_epochs == 25 and planned[0].epochs == BUDGET["cnn-deep"].epochs
    assert planned[0].seeds == min(3, BUDGET["cnn-deep"].seeds)
    assert [p.epochs for p in plan(entries, Settings(seeds=3), budget=False)][:2] == [25, 10]
    assert plan(entries, Settings(epochs=2), budget=True)[0].epochs == 2
    with pytest.raises(UsageError, match="unknown model or recipe"):
        resolve_entries(["lenet6"])
    with pytest.raises(UsageError, match="twice"):
        resolve_entries(["cnn-deep", "tonape"])


def test_study_names_match() -> None:
    from digitrec.cli.report_commands import STUDY_NAMES
    from digitrec.report import STUDIES

    assert tuple(STUDIES) == STUDY_NAMES


def test_bad_arguments_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["compare", "--models", "nope", "--out", str(tmp_path)]) == 2
    assert main(["study", "epochs", "--seeds", "0", "--out", str(tmp_path)]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("digitrec: error: ") for e in errors)


def test_the_recorded_command_reruns_the_report() -> None:
    """A report's command names every option that was given or has a value by default (spelled
    from the parser's own list): parsed again, it gives the same arguments."""
    import shlex

    from digitrec.cli import build_parser
    from digitrec.cli.report_commands import _command

    parser = build_parser()
    given = [
        ["compare", "--models", "cnn-small,svm", "--seeds", "0", "--epochs", "1.2345678", "--limit",
         "300", "--no-budget", "--smoke", "--threads", "1", "--out", "reports/x"],
        ["study", "transfer", "--usps-source", "data/usps", "--max-steps", "7", "--eval-limit",
         "50", "--source", "data/mnist", "--out", "reports/y"],
    ]  # fmt: skip
    for argv in given:
        args = parser.parse_args(argv)
        head = argv[:2] if argv[0] == "study" else argv[:1]
        command = _command(args, *head)
        again = parser.parse_args(shlex.split(command)[1:])
        assert vars(again) == vars(args), command


def test_html_escapes_and_embeds(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    report = Report(
        "a <title>",
        "digitrec compare --models x",
        {"cpu": "cpu", "cores": 2},
        [
            Section(
                "s & t",
                [
                    "`code` and **bold** <b>",
                    Table(["a", "b"], [["x|y", "1.0"]]),
                    Figure("fig", "caption", png),
                ],
            )
        ],
        {"n": 1},
    )
    html = to_html(report)
    assert "a &lt;title&gt;" in html and "&lt;b&gt;" in html
    assert "<code>code</code>" in html and "<strong>bold</strong>" in html
    assert '<td class="number">1.0</td>' in html
    written = write_report(report, tmp_path)
    assert {p.name for p in written} == {"fig.png", "report.md", "report.html", "report.json"}
    assert "x\\|y" in (tmp_path / "report.md").read_text()
    with pytest.raises(ValueError, match="unique"):
        write_report(Report("t", "c", {}, [Section("s", [Figure("f", "", png)] * 2)], {}), tmp_path)


def test_report_import_is_light() -> None:
    code = (
        "import sys, digitrec.report, digitrec.cli.report_commands; "
        "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    )
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "[]"


def test_noise_augmentation(mnist_dir: Path) -> None:
    """add_noise: off at share 0, every image changed at share 1, deterministic, pixels stay in
    [0, 1], and its blur is noisy MNIST's blur (up to uint8 rounding)."""
    from digitrec.data import load
    from digitrec.data.noisy import gaussian_blur
    from digitrec.models.modelfile import MEAN, STD, standardize
    from digitrec.train.augment import _blur, add_noise

    images = load("mnist", "test", mnist_dir).images[:32]
    x = torch.from_numpy(standardize(images))
    assert add_noise(x, 0.0, torch.Generator().manual_seed(0)) is x
    noisy = add_noise(x, 1.0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(noisy, add_noise(x, 1.0, torch.Generator().manual_seed(0)))
    assert bool((noisy != x).flatten(1).any(1).all())
    pixels = noisy * STD + MEAN
    assert float(pixels.min()) >= -1e-5 and float(pixels.max()) <= 1 + 1e-5
    half = add_noise(x, 0.5, torch.Generator().manual_seed(0))
    changed = int((half != x).flatten(1).any(1).sum())
    assert 4 <= changed <= 28
    blurred = _blur(x * STD + MEAN, torch.full((32,), 1.0))[:, 0].numpy()
    np.testing.assert_allclose(blurred, gaussian_blur(images, 1.0) / 255.0, atol=0.5 / 255 + 1e-6)


def test_init_starts_from_the_weights(home: Path, mnist_dir: Path, tmp_path: Path) -> None:
    """--init loads the model's weights before training (a step at lr 1e-9 keeps them) and
    refuses a model of another architecture."""
    from digitrec.models.modelfile import read_model

    args = ["train", "--model", "fast", "--limit", "64", "--max-steps", "1", "--threads", "1"]
    args += ["--source", str(mnist_dir)]
    assert main([*args, "--init", "default", "--out", str(tmp_path / "bad")]) == 2
    assert main([*args, "--seed", "1", "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--seed", "2", "--out", str(tmp_path / "fresh")]) == 0
    tuned = [*args, "--seed", "2", "--lr", "1e-9", "--init", str(tmp_path / "a")]
    assert main([*tuned, "--out", str(tmp_path / "b")]) == 0
    _, start = read_model(tmp_path / "a")
    _, fresh = read_model(tmp_path / "fresh")
    _, tuned_weights = read_model(tmp_path / "b")
    name = "features.0.0.weight"  # the first convolution
    np.testing.assert_allclose(tuned_weights[name], start[name], atol=1e-6)
    assert not np.allclose(fresh[name], start[name], atol=1e-3)


def test_scripts_parse() -> None:
    """The time estimate and the report-making script stay runnable (their runs take an hour)."""
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(repo / "scripts/estimate_compare_time.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and "usage:" in done.stdout, done.stderr
    assert subprocess.run(["bash", "-n", str(repo / "scripts/make_reports.sh")]).returncode == 0
