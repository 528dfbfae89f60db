"""Handwriting for the web page's end-to-end tests: a 28×28 MNIST digit turned into pen strokes
(its Zhang-Suen skeleton traced into polylines) and replayed on the page's drawing pad with
Playwright's mouse or, through the Chrome DevTools Protocol, a finger on a touchscreen; where on
the pad to draw, and waiting for the page's answer."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from renderings import skeleton

Pixel = tuple[int, int]  # (row, column) in the 28×28 digit
Stroke = list[Pixel]

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "web"  # screenshots
STEPS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def skeleton_graph(mask: np.ndarray) -> dict[Pixel, list[Pixel]]:
    """The skeleton's pixels and their neighbours. A diagonal step is dropped where an L of two
    straight steps joins the same pixels, so corners do not leave one-pixel triangles behind."""
    thin = skeleton(mask).astype(bool)
    pixels = {(int(r), int(c)) for r, c in zip(*np.nonzero(thin), strict=True)}
    graph: dict[Pixel, list[Pixel]] = {}
    for r, c in sorted(pixels):
        neighbours = []
        for dr, dc in STEPS:
            q = (r + dr, c + dc)
            if q not in pixels:
                continue
            if dr and dc and ((r + dr, c) in pixels or (r, c + dc) in pixels):
                continue
            neighbours.append(q)
        graph[(r, c)] = neighbours
    return graph


def _walk(graph: dict[Pixel, list[Pixel]], start: Pixel, used: set[frozenset[Pixel]]) -> Stroke:
    """Follow unused edges from `start`, at a branch going as straight as possible."""
    path = [start]
    here, heading = start, (0.0, 0.0)
    while True:
        options = [q for q in graph[here] if frozenset((here, q)) not in used]
        if not options:
            return path

        def turn(q: Pixel, here: Pixel = here, heading: tuple[float, float] = heading) -> tuple:
            dr, dc = q[0] - here[0], q[1] - here[1]
            return (-(dr * heading[0] + dc * heading[1]) / np.hypot(dr, dc), q)

        step = min(options, key=turn)
        used.add(frozenset((here, step)))
        dr, dc = step[0] - here[0], step[1] - here[1]
        heading = (dr / np.hypot(dr, dc), dc / np.hypot(dr, dc))
        here = step
        path.append(here)


def digit_strokes(digit: np.ndarray, threshold: int = 128) -> list[Stroke]:
    """Pen strokes that retrace an ink-bright 28×28 digit: every skeleton edge once, starting at
    line ends, then at branch points, then anywhere left (closed loops like a 0). Deterministic."""
    graph = skeleton_graph(digit >= threshold)
    if not graph:
        raise ValueError("the digit has no ink above the threshold")
    degree = {p: len(n) for p, n in graph.items()}
    starts = sorted(graph, key=lambda p: (degree[p] != 1, degree[p] < 3, p))
    used: set[frozenset[Pixel]] = set()
    strokes: list[Stroke] = []
    for start in starts:
        if degree[start] == 0:
            strokes.append([start])  # a lone dot
        while any(frozenset((start, q)) not in used for q in graph[start]):
            strokes.append(_walk(graph, start, used))
    return strokes


def on_box(strokes: list[Stroke], box: dict[str, float]) -> Iterator[list[tuple[float, float]]]:
    """The strokes in page coordinates: the 28×28 grid stretched over an element's bounding box
    (pixel centres), so a digit drawn there sits where MNIST puts it in its frame."""
    sx, sy = box["width"] / 28, box["height"] / 28
    for stroke in strokes:
        yield [(box["x"] + (c + 0.5) * sx, box["y"] + (r + 0.5) * sy) for r, c in stroke]


def draw_with_mouse(page: Any, box: dict[str, float], strokes: list[Stroke]) -> int:
    """Replay the strokes with the mouse (pointer events of type "mouse"); returns the moves made."""
    moves = 0
    for points in on_box(strokes, box):
        page.mouse.move(*points[0])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(x, y)
            moves += 1
        page.mouse.up()
    return moves


def draw_with_finger(cdp: Any, box: dict[str, float], strokes: list[Stroke]) -> int:
    """Replay the strokes as touches (pointer events of type "touch") through a CDP session of a
    page whose context has touch; returns the moves made."""
    moves = 0
    for points in on_box(strokes, box):
        x, y = points[0]
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]}
        )
        for x, y in points[1:]:
            cdp.send(
                "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]}
            )
            moves += 1
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    return moves


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def pad_box(page: Any) -> dict[str, float]:
    box = page.locator("#pad").bounding_box()
    assert box is not None
    return dict(box)


def digit_box(page: Any) -> dict[str, float]:
    """The square in the middle of the (twice as wide) pad: where one digit is drawn."""
    box = pad_box(page)
    return {**box, "x": box["x"] + (box["width"] - box["height"]) / 2, "width": box["height"]}


def number_boxes(page: Any, count: int) -> list[dict[str, float]]:
    """Side by side frames across the pad, one per digit of a number, as people write one: a
    `count`-th of the pad's width each (at most its height), and taller than wide when there is
    room (handwritten digits are; an MNIST frame is square)."""
    box = pad_box(page)
    width = min(box["height"], box["width"] / count)
    height = min(box["height"], 1.6 * width)
    top = box["y"] + (box["height"] - height) / 2
    left = box["x"] + (box["width"] - count * width) / 2
    return [
        {"x": left + i * width, "y": top, "width": width, "height": height} for i in range(count)
    ]


# The page's in-browser models have loaded, or given up (the server reads instead).
MODELS_SETTLED = (
    "() => { const d = document.getElementById('pad').dataset; return d.reader && d.classifier; }"
)


def wait_for_answer(page: Any) -> dict[str, Any]:
    """Wait until the result shown is the answer about the drawing as it is now."""
    version = page.get_attribute("#pad", "data-version")
    page.wait_for_function(
        """v => {
          const r = document.getElementById("result");
          return r.dataset.version === v && (r.dataset.state === "done" || r.dataset.state === "error");
        }""",
        arg=version,
    )
    return {
        "state": page.get_attribute("#result", "data-state"),
        "digit": page.text_content("#digit"),
        "bars": page.eval_on_selector_all(
            "#bars li",
            "rows => rows.map(r => [Number(r.dataset.digit), Number(r.dataset.probability)])",
        ),
    }


@contextmanager
def desktop_page(browser: Any, timeout_ms: int = 30_000) -> Iterator[Any]:
    """A new page in a desktop-sized window of its own (closed afterwards), not yet loaded: add
    init scripts and routes, then `goto`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        yield page
    finally:
        context.close()
