"""End-to-end tests of the web page at `/`: a real `digitrec serve` process, Debian's Chromium
driven by Playwright, real MNIST test digits drawn on the pad stroke by stroke along their
skeletons, a real example scan uploaded. Screenshots of every state go to test-artifacts/web/.

Playwright never downloads a browser here: it launches /usr/bin/chromium, which
scripts/test.sh installs (apt-get, as root) on a fresh machine."""

import base64
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from web_drawing import (
    MODELS_SETTLED,
    desktop_page,
    digit_box,
    digit_strokes,
    draw_with_finger,
    draw_with_mouse,
    number_boxes,
    pad_box,
    screenshot,
    wait_for_answer,
)

from digitrec.data import load
from digitrec.preprocess import normalize_digit

REPO = Path(__file__).resolve().parents[1]
NUMBER_SCAN = REPO / "examples" / "numbers" / "00002.png"  # "85646"; `digitrec read` gets it right
WAIT_MS = 20_000  # for one answer from the server, drawn or read

# Counts the page's own /v1/explain fetches, to check it never has two in flight.
COUNT_EXPLAIN_FETCHES = """
(() => {
  const fetchOriginal = window.fetch;
  const count = { now: 0, max: 0, total: 0 };
  window.__explainFetches = count;
  window.fetch = async (...args) => {
    if (!String(args[0]).includes("/v1/explain")) return fetchOriginal(...args);
    count.now += 1;
    count.total += 1;
    count.max = Math.max(count.max, count.now);
    try {
      const response = await fetchOriginal(...args);
      await response.clone().arrayBuffer();
      return response;
    } finally {
      count.now -= 1;
    }
  };
})();
"""


@pytest.fixture(scope="module")
def server(web_server: dict[str, Any]) -> dict[str, Any]:
    return web_server


@pytest.fixture
def page(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    """The page at / on a desktop-sized window, its in-browser reader loaded (so the drawings are
    read as users' are)."""
    with desktop_page(browser, WAIT_MS) as page:
        page.add_init_script(COUNT_EXPLAIN_FETCHES)
        page.goto(server["url"] + "/")
        page.wait_for_function(MODELS_SETTLED)
        yield page


@pytest.fixture(scope="module")
def mnist_test(mnist_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    digits = load("mnist", "test", mnist_dir)
    return digits.images, digits.labels


def first_of_each_class(labels: np.ndarray) -> list[int]:
    """The fixed digits drawn: the first MNIST test image of every class (indices 3, 2, 1, 18, 4,
    8, 11, 0, 61, 7 for 0-9)."""
    return [int(np.flatnonzero(labels == k)[0]) for k in range(10)]


def pad_pixels(page: Any) -> np.ndarray:
    """The pad's pixels as the server gets them: its PNG, decoded to gray."""
    url = page.eval_on_selector("#pad", "pad => pad.toDataURL('image/png')")
    png = base64.b64decode(url.split(",", 1)[1])
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)


def explain_fetches(page: Any) -> dict[str, int]:
    return dict(page.evaluate("window.__explainFetches"))


def test_drawn_mnist_digits_are_read_live(page: Any, mnist_test: tuple) -> None:
    images, labels = mnist_test
    box = digit_box(page)
    shown, moves = {}, 0
    page.wait_for_function("document.getElementById('model-name').textContent !== '…'")
    # what `digitrec serve` loads by default, and its version (nothing promoted: the package's)
    assert page.text_content("#model-name") == "default (shipped)"
    screenshot(page, "start")
    for index in first_of_each_class(labels):
        if page.is_enabled("#clear"):
            page.click("#clear")
        moves += draw_with_mouse(page, box, digit_strokes(images[index]))
        answer = wait_for_answer(page)
        label = int(labels[index])
        shown[index] = (label, answer["digit"])
        screenshot(page, f"drawn-{label}-mnist-test-{index}")
        assert answer["state"] == "done", page.text_content("#summary")
        assert [d for d, _ in answer["bars"]] == list(range(10))  # all ten, 0 to 9
        probabilities = [p for _, p in answer["bars"]]
        assert max(range(10), key=probabilities.__getitem__) == int(answer["digit"])
        assert sum(probabilities) == pytest.approx(1, abs=1e-4)
        # the live region says the answer once the pen is up, as the summary shows it
        assert page.text_content("#announce") == page.text_content("#summary")
        assert page.get_attribute("#result", "data-read-by") == "browser"
        # what the model saw, made in the browser, is what the server makes of the same pad
        seen = page.get_attribute("#model-input", "src")
        browser_input = cv2.imdecode(
            np.frombuffer(base64.b64decode(seen.split(",", 1)[1]), np.uint8), cv2.IMREAD_GRAYSCALE
        )
        python_input = normalize_digit(pad_pixels(page))
        assert np.abs(browser_input.astype(int) - python_input).max() <= 2
        page.wait_for_selector("#saliency[data-state=done]")  # the server's part
        for view in ("#model-input", "#saliency"):
            assert page.get_attribute(view, "src").startswith("data:image/png;base64,")
            assert page.is_visible(view)
    wrong = {i: pair for i, pair in shown.items() if str(pair[0]) != pair[1]}
    assert not wrong, f"MNIST test index: (label, shown): {wrong}"
    fetches = explain_fetches(page)
    assert fetches["max"] == 1, fetches  # never two requests in flight
    assert fetches["total"] < moves / 3, (fetches, moves)  # debounced, not one per move


def test_undo_and_clear(page: Any, mnist_test: tuple) -> None:
    images, labels = mnist_test
    seven = first_of_each_class(labels)[7]
    box = digit_box(page)
    assert page.is_disabled("#undo") and page.is_disabled("#clear")
    strokes = digit_strokes(images[seven])
    draw_with_mouse(page, box, strokes)
    first = wait_for_answer(page)
    assert first["digit"] == "7"
    drawn = pad_pixels(page)
    screenshot(page, "undo-1-seven")

    # A bar across the bottom: another stroke, another answer.
    draw_with_mouse(page, box, [[(25, 2), (25, 14), (25, 25)]])
    assert page.get_attribute("#pad", "data-strokes") == str(len(strokes) + 1)
    wait_for_answer(page)
    assert (pad_pixels(page)[245:265] < 128).any()
    screenshot(page, "undo-2-extra-stroke")

    page.click("#undo")
    assert page.get_attribute("#pad", "data-strokes") == str(len(strokes))
    again = wait_for_answer(page)
    undone = pad_pixels(page)
    # Redrawn from the stroke list: the same drawing up to anti-aliasing where segments overlap.
    assert np.abs(undone.astype(int) - drawn).mean() < 1.0
    assert again["digit"] == first["digit"]
    assert [p for _, p in again["bars"]] == pytest.approx([p for _, p in first["bars"]], abs=0.01)
    screenshot(page, "undo-3-undone")

    # Ctrl+Z undoes one stroke from the keyboard, too.
    draw_with_mouse(page, box, [[(25, 2), (25, 14), (25, 25)]])
    wait_for_answer(page)
    page.keyboard.press("Control+z")
    assert page.get_attribute("#pad", "data-strokes") == str(len(strokes))
    assert wait_for_answer(page)["digit"] == first["digit"]

    page.click("#clear")
    assert page.get_attribute("#pad", "data-strokes") == "0"
    assert page.get_attribute("#result", "data-state") == "idle"
    assert page.text_content("#digit") == ""
    assert page.locator("#bars li").count() == 0
    assert page.is_hidden("#model-input") and page.is_hidden("#saliency")
    assert (pad_pixels(page) == 255).all()
    assert page.is_disabled("#undo") and page.is_disabled("#clear")
    assert page.is_disabled("[data-testid=feedback-0]")
    # An answer still on its way about the cleared drawing must not come back.
    page.wait_for_timeout(500)
    assert page.text_content("#digit") == ""
    screenshot(page, "undo-4-cleared")

    # A dot is no digit: the page says why, in the server's words.
    draw_with_mouse(page, box, [[(14, 14)]])
    answer = wait_for_answer(page)
    response = page.request.post(
        page.url + "v1/explain", data={"image": page.eval_on_selector("#pad", "p => p.toDataURL()")}
    )
    api = response.json()
    why = api.get("detail") if response.status == 422 else api.get("reason")
    assert why and answer["digit"] in ("", "?")
    assert why.lower() in page.text_content("#summary").lower()
    screenshot(page, "undo-5-a-dot")


def test_a_number_drawn_on_the_pad_is_read_as_a_number(page: Any, mnist_test: tuple) -> None:
    """Several digits on the pad are read by the line reader: the number, each digit's confidence
    and a box over each on the pad — never one confident digit for several; corrections (of
    single digits) are off. Numbers of 2, 3 and 6 digits, from MNIST test digits drawn side by
    side; the page's answer is the API's for the same pixels."""
    images, labels = mnist_test
    for count, start in ((2, 100), (3, 200), (6, 300)):
        if page.is_enabled("#clear"):
            page.click("#clear")
        indices = list(range(start, start + count))
        truth = "".join(str(int(labels[i])) for i in indices)
        for index, box in zip(indices, number_boxes(page, count), strict=True):
            draw_with_mouse(page, box, digit_strokes(images[index]))
        answer = wait_for_answer(page)
        screenshot(page, f"drawn-number-{truth}")
        api = page.request.post(
            page.url + "v1/read",
            data={"image": page.eval_on_selector("#pad", "p => p.toDataURL()")},
        ).json()
        assert answer["state"] == "done", page.text_content("#summary")
        assert answer["digit"] == api["text"] == truth, (answer["digit"], api["text"], truth)
        assert page.get_attribute("#result", "data-number") == truth
        listed = page.eval_on_selector_all(
            "#number-digits li", "rows => rows.map(r => [Number(r.dataset.digit), r.dataset.box])"
        )
        assert listed == [[d["digit"], ",".join(map(str, d["box"]))] for d in api["digits"]]
        assert answer["bars"] == [] and page.is_hidden("#views")
        assert page.text_content("#summary").startswith(f"Reads {truth} (")
        assert page.is_disabled("[data-testid=feedback-0]")
        # a box is drawn over each digit on the pad: the middle of its bottom edge is magenta
        edges = [[round(x + w / 2), y + h + 3] for x, y, w, h in (d["box"] for d in api["digits"])]
        colours = page.eval_on_selector(
            "#pad-boxes",
            "(c, points) => points.map(([x, y]) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data))",
            edges,
        )
        for r, g, b, alpha in colours:
            assert r > 180 and g < 80 and b > 80 and alpha > 100, colours
    page.click("#clear")
    assert page.locator("#number-digits li").count() == 0
    boxes = page.eval_on_selector(
        "#pad-boxes",
        "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)",
    )
    assert max(boxes[3::4]) == 0  # cleared with the drawing


def read_through_api(page: Any, server: dict[str, Any], path: Path) -> tuple[int, dict[str, Any]]:
    """What POST /v1/read answers about a file, asked directly (not through the page's script)."""
    file = {"name": path.name, "mimeType": "image/png", "buffer": path.read_bytes()}
    response = page.request.post(server["url"] + "/v1/read", multipart={"file": file})
    return response.status, response.json()


def test_upload_reads_the_number_and_boxes_each_digit(page: Any, server: dict[str, Any]) -> None:
    expected = json.loads((NUMBER_SCAN.parent / "labels.json").read_text())
    truth = next(p["text"] for p in expected["pages"] if p["file"] == NUMBER_SCAN.name)
    status, api = read_through_api(page, server, NUMBER_SCAN)
    assert status == 200 and api["text"] == truth

    page.set_input_files("#upload", str(NUMBER_SCAN))
    page.wait_for_selector("#read-result[data-state=done]")
    screenshot(page, "read-number")
    assert page.text_content("#read-text") == truth
    assert page.text_content("#read-confidence").endswith("sure")
    listed = page.eval_on_selector_all(
        "#read-boxes li", "rows => rows.map(r => [Number(r.dataset.digit), r.dataset.box])"
    )
    assert listed == [[d["digit"], ",".join(map(str, d["box"]))] for d in api["digits"]]
    assert len(listed) == len(truth)

    # Each box is drawn where it belongs: its bottom edge, scaled to the canvas, is magenta.
    width, height = page.eval_on_selector("#read-canvas", "c => [c.width, c.height]")
    assert page.is_visible("#read-canvas") and width > 1
    sx, sy = width / api["width"], height / api["height"]
    edges = [
        [round((x + w / 2) * sx), round((y + h) * sy)]
        for x, y, w, h in (d["box"] for d in api["digits"])
    ]
    colours = page.eval_on_selector(
        "#read-canvas",
        "(c, points) => points.map(([x, y]) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data))",
        edges,
    )
    for r, g, b, _ in colours:
        assert r > 180 and g < 80 and b > 80, colours


def test_upload_without_a_number_says_why(
    page: Any, server: dict[str, Any], tmp_path: Path
) -> None:
    blank = tmp_path / "blank-page.png"
    cv2.imwrite(str(blank), np.full((120, 300), 250, np.uint8))
    status, api = read_through_api(page, server, blank)
    expected_line = api.get("reason") if status == 200 else api.get("detail")
    assert expected_line

    # Dropped on the drop zone this time, as a file dragged from the desktop would be.
    dropped = page.evaluate_handle(
        """([name, b64]) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], name, { type: "image/png" }));
          return transfer;
        }""",
        [blank.name, base64.b64encode(blank.read_bytes()).decode()],
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    page.wait_for_selector("#read-result:not([data-state=pending]):not([data-state=idle])")
    screenshot(page, "read-no-number")
    assert page.text_content("#read-text") == ""
    assert page.locator("#read-boxes li").count() == 0
    assert expected_line.lower() in page.text_content("#read-status").lower()


def test_correction_is_saved(page: Any, server: dict[str, Any], mnist_test: tuple) -> None:
    images, labels = mnist_test
    four = first_of_each_class(labels)[4]
    draw_with_mouse(page, digit_box(page), digit_strokes(images[four]))
    answer = wait_for_answer(page)
    shown = int(answer["digit"])
    confidence = max(p for _, p in answer["bars"])
    sent = pad_pixels(page)
    correction = (shown + 5) % 10  # "that's wrong": any other label

    page.click(f"[data-testid=feedback-{correction}]")
    # Storing needs the server's token: the page asks for it once (a wrong one is said so)
    page.wait_for_selector("[data-testid=signin]:visible")
    page.fill("[data-testid=signin-token]", "not-the-token-0123456789")
    page.click("[data-testid=signin-submit]")
    page.wait_for_selector("[data-testid=signin-status].error")
    assert page.text_content("[data-testid=signin-status]") == "That is not this server's token."
    screenshot(page, "sign-in")
    token = (server["home"] / "serve-token").read_text().strip()
    page.fill("[data-testid=signin-token]", token)
    page.click("[data-testid=signin-submit]")
    page.wait_for_selector("#feedback-status[data-feedback-id]")
    assert page.is_hidden("[data-testid=signin]")
    an = "an" if correction == 8 else "a"
    assert page.text_content("#feedback-status") == f"Thanks — saved as {an} {correction}."
    screenshot(page, "feedback-saved")
    row_id = int(page.get_attribute("#feedback-status", "data-feedback-id"))
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["digitrec_session"]["httpOnly"] and token not in str(cookies)
    assert token not in page.content()  # the script keeps no copy of it

    db = server["home"] / "feedback.db"
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT label, predicted, confidence, image FROM feedback WHERE id = ?", (row_id,)
        ).fetchone()
    assert row is not None, f"no row {row_id} in {db}"
    label, predicted, stored_confidence, png = row
    assert (label, predicted) == (correction, shown)
    assert stored_confidence == pytest.approx(confidence, abs=1e-6)
    stored = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    # kept at most 512 pixels on its longer side (serve.engine.FEEDBACK_SIDE): the pad, halved less
    assert sent.shape == (280, 560) and stored.shape == (256, 512)
    expected = cv2.resize(sent, (512, 256), interpolation=cv2.INTER_AREA)
    assert np.abs(stored.astype(int) - expected).max() <= 1
    # the same label again is the same row; the label the model read is a confirmation
    saved_again = "s => document.querySelector('#feedback-status').textContent.startsWith(s)"
    page.click(f"[data-testid=feedback-{correction}]")
    page.wait_for_function(saved_again, arg="Already saved")
    assert page.get_attribute("#feedback-status", "data-feedback-id") == str(row_id)
    assert page.is_hidden("[data-testid=feedback-undo]")  # stored before: not this click's
    page.click(f"[data-testid=feedback-{shown}]")
    page.wait_for_function(saved_again, arg="Thanks — confirmed: it is")
    assert page.get_attribute("#feedback-status", "data-kind") == "confirmation"
    confirmation = int(page.get_attribute("#feedback-status", "data-feedback-id"))
    # signed in: the next correction is stored without asking again
    again = next(k for k in range(10) if k not in (shown, correction))
    page.click(f"[data-testid=feedback-{again}]")
    page.wait_for_function(
        "id => document.querySelector('#feedback-status').dataset.feedbackId > id",
        arg=confirmation,
    )
    assert page.is_hidden("[data-testid=signin]")
    # and the last one can be undone
    last = int(page.get_attribute("#feedback-status", "data-feedback-id"))
    page.click("[data-testid=feedback-undo]")
    page.wait_for_function(saved_again, arg="That correction is removed")
    with sqlite3.connect(db) as connection:
        kept = connection.execute(
            "SELECT id, label, predicted FROM feedback WHERE id IN (?, ?, ?) ORDER BY id",
            (row_id, confirmation, last),
        ).fetchall()
    assert kept == [(row_id, correction, shown), (confirmation, shown, shown)]


def test_phone_layout_and_touch_drawing(
    browser: Any, server: dict[str, Any], mnist_test: tuple
) -> None:
    images, labels = mnist_test
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(server["url"] + "/")
        screenshot(page, "phone-start")
        no_sideways_scroll = "document.documentElement.scrollWidth <= window.innerWidth"
        assert page.evaluate(no_sideways_scroll), page.evaluate(
            "document.documentElement.scrollWidth"
        )
        box = pad_box(page)
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["width"] >= 280
        assert page.is_visible("#take-photo")  # a touch device: the camera button is offered
        for button in page.locator("#feedback-buttons button").all():
            bounds = button.bounding_box()
            assert bounds is not None and bounds["x"] + bounds["width"] <= 390
            assert bounds["width"] >= 44 and bounds["height"] >= 44

        two = first_of_each_class(labels)[2]
        draw_with_finger(context.new_cdp_session(page), digit_box(page), digit_strokes(images[two]))
        answer = wait_for_answer(page)
        assert answer["digit"] == "2"
        assert page.evaluate("window.scrollY") == 0  # drawing did not scroll the page
        # the answer is in view while drawing, not below the fold
        for element in ("#digit", "#summary"):
            bounds = page.locator(element).bounding_box()
            assert bounds is not None and bounds["y"] + bounds["height"] <= 844, (element, bounds)
        screenshot(page, "phone-drawn")

        page.set_input_files("#upload", str(REPO / "examples" / "numbers" / "00005.png"))
        page.wait_for_selector("#read-result[data-state=done]")
        assert page.evaluate(no_sideways_scroll)
        canvas = page.locator("#read-canvas").bounding_box()
        assert canvas is not None and canvas["x"] + canvas["width"] <= 390
        screenshot(page, "phone-read")
    finally:
        context.close()


def test_strokes_from_outside_the_pad_file_names_and_dark_mode(
    browser: Any, server: dict[str, Any], tmp_path: Path
) -> None:
    """A stroke that starts just outside the pad is drawn (the pointer is taken from a margin
    round it and captured); a refused upload's message keeps the file name as given; under a
    dark system theme the page is dark and the pad stays white paper with dark ink."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(server["url"] + "/")
        box = pad_box(page)
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] - 10, y)  # in the margin, left of the pad
        page.mouse.down()
        for step in range(1, 21):
            page.mouse.move(box["x"] - 10 + step * 12, y)
        page.mouse.up()
        assert page.get_attribute("#pad", "data-strokes") == "1"
        pixels = pad_pixels(page)
        assert (pixels[135:145, 0:40] < 128).any()  # ink from the pad's very left edge
        wait_for_answer(page)
        screenshot(page, "dark-stroke-from-outside")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(18, 21, 28)", background
        assert page.evaluate(
            "getComputedStyle(document.getElementById('pad')).backgroundColor"
        ) == ("rgb(255, 255, 255)")
        assert pixels.max() == 255 and pixels[0, 0] == 255  # paper stays white

        note = tmp_path / "note.txt"
        note.write_text("not an image")
        page.set_input_files("#upload", str(note))
        page.wait_for_selector("#read-result[data-state=error]")
        status = page.text_content("#read-status")
        assert status.startswith("note.txt: "), status
    finally:
        context.close()


def test_refused_pastes_and_drops_and_images_the_browser_cannot_show(
    page: Any, tmp_path: Path
) -> None:
    """Pasting a file that is not an image, or dropping one outside the drop zone, is said in a
    line (not ignored); a TIFF (read by the server, not shown by Chromium) gets its boxes on a
    blank page and a note saying why."""
    pasted = page.evaluate_handle(
        """() => {
          const transfer = new DataTransfer();
          transfer.items.add(new File(["%PDF-1.7"], "Report.pdf", { type: "application/pdf" }));
          return transfer;
        }"""
    )
    page.evaluate(
        "t => document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: t}))", pasted
    )
    assert page.text_content("#read-status") == (
        "Report.pdf: not an image. Paste a photo, a scan or a screenshot."
    )
    dropped = page.evaluate_handle(
        """() => {
          const transfer = new DataTransfer();
          transfer.items.add(new File(["x"], "digit.png", { type: "image/png" }));
          return transfer;
        }"""
    )
    page.dispatch_event("header", "drop", {"dataTransfer": dropped})
    assert page.text_content("#read-status") == "Drop the image on the dashed area to read it."

    scan = cv2.imread(str(NUMBER_SCAN), cv2.IMREAD_GRAYSCALE)
    tiff = tmp_path / "number.tiff"
    cv2.imwrite(str(tiff), scan)
    page.set_input_files("#upload", str(tiff))
    page.wait_for_selector("#read-result[data-state=done]")
    screenshot(page, "read-tiff")
    assert page.text_content("#read-text")  # read by the server
    assert "cannot show number.tiff" in page.text_content("#read-status")


def test_a_phone_photo_is_shrunk_before_it_is_sent_and_read(
    page: Any, tmp_path: Path, mnist_test: tuple
) -> None:
    """A 12-megapixel photo of a sheet: the page sends a copy at most 2000 pixels on its longer
    side (a fraction of the bytes), the number on it is read, and its boxes are drawn."""
    from renderings import photographed_sheet

    images, labels = mnist_test
    photo, _ = photographed_sheet(images[30:40], np.random.default_rng(5))
    truth = "".join(str(int(v)) for v in labels[30:40])
    path = tmp_path / "sheet.jpg"
    cv2.imwrite(str(path), photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
    page.set_input_files("#upload", str(path))
    page.wait_for_selector("#read-result[data-state=done]", timeout=60_000)
    screenshot(page, "read-phone-photo")
    assert page.text_content("#read-text") == truth, page.text_content("#read-status")
    sent = int(page.get_attribute("#read-result", "data-sent-bytes"))
    assert sent < path.stat().st_size / 2
    width, height = (
        int(page.get_attribute("#read-result", f"data-{k}")) for k in ("width", "height")
    )
    assert (width, height) == (2000, 1500)  # what the server read: the shrunk copy
    assert page.locator("#read-boxes li").count() == len(truth)


def test_corrections_are_reviewed_on_the_page(
    page: Any, server: dict[str, Any], mnist_test: tuple
) -> None:
    """30 stored rows (real MNIST digits, dark on white, as the page stores them): a page of 24
    and then the rest, one relabelled in place, two deleted by selection, one by its button —
    each change in the store itself."""
    from digitrec.data.feedback import FeedbackStore

    images, labels = mnist_test
    db = server["home"] / "feedback.db"
    store = FeedbackStore(db)
    ids = []
    for index in range(30):
        png = bytes(cv2.imencode(".png", 255 - images[500 + index])[1])
        ids.append(
            store.add(int(labels[500 + index]), None, 0.4, "default@shipped", "r.png", png).id
        )
    page.click("[data-testid=review-show]")
    page.wait_for_selector("[data-testid=signin]:visible")
    page.fill("[data-testid=signin-token]", (server["home"] / "serve-token").read_text().strip())
    page.click("[data-testid=signin-submit]")
    page.wait_for_selector("[data-testid=review-row]")
    assert page.locator("[data-testid=review-row]").count() == 24
    total = store.page(limit=1).total
    assert page.text_content("[data-testid=review-status]").startswith(f"24 of {total} shown")
    page.click("[data-testid=review-more]")
    page.wait_for_function("n => document.querySelectorAll('[data-testid=review-row]').length === n",
                           arg=min(total, 48))  # fmt: skip
    newest = ids[-1]
    row = page.locator(f"li[data-id='{newest}']")
    assert row.locator("img").evaluate("img => img.complete && img.naturalWidth") == 28
    relabel = (int(labels[529]) + 1) % 10
    row.locator("select").select_option(str(relabel))
    page.wait_for_function("s => document.querySelector('#review-status').textContent.startsWith(s)",
                           arg=f"Row {newest} is now a {relabel}")  # fmt: skip
    with sqlite3.connect(db) as connection:
        (label,) = connection.execute(
            "SELECT label FROM feedback WHERE id = ?", (newest,)
        ).fetchone()
    assert label == relabel
    for chosen in ids[-3:-1]:
        page.locator(f"li[data-id='{chosen}'] input[type=checkbox]").check()
    page.click("[data-testid=review-delete]")
    page.wait_for_function(
        "() => document.querySelector('#review-status').textContent === 'Deleted 2 of 2.'"
    )
    page.locator(f"li[data-id='{ids[0]}'] button").click()
    page.wait_for_function(
        "() => document.querySelector('#review-status').textContent === 'Deleted 1 of 1.'"
    )
    with sqlite3.connect(db) as connection:
        kept = {row[0] for row in connection.execute("SELECT id FROM feedback")}
    assert not kept & {ids[0], *ids[-3:-1]} and newest in kept
    assert page.locator(f"li[data-id='{ids[-2]}']").count() == 0
    screenshot(page, "review")


def test_a_misread_number_is_corrected_on_the_page(
    page: Any, server: dict[str, Any], tmp_path: Path
) -> None:
    """A real parish-row cell read from a file; its user types what it really says, signs in,
    saves (the store holds the text beside what the server read), finds it in the Corrections
    card's numbers and changes its text there, then undoes it."""
    from digitrec.data.feedback import FeedbackStore
    from digitrec.data.numbers import load_numbers

    cells = load_numbers("parish-rows", REPO.parent / "shared" / "data" / "parish-rows")["val"]
    path = tmp_path / "cell.png"
    cv2.imwrite(str(path), cells.images[7])
    page.set_input_files("#upload", str(path))
    page.wait_for_selector("#read-result[data-state=done]")
    read = page.text_content("#read-text")
    assert page.input_value("[data-testid=read-correct-text]") == read  # offered to edit
    page.fill("[data-testid=read-correct-text]", "12a")
    page.click("[data-testid=read-correct-save]")  # the browser's own check stops it
    assert page.text_content("[data-testid=read-correct-status]") == ""
    typed = "9" if read != "9" else "8"
    page.fill("[data-testid=read-correct-text]", typed)
    page.click("[data-testid=read-correct-save]")
    page.wait_for_selector("[data-testid=signin]:visible")
    page.fill("[data-testid=signin-token]", (server["home"] / "serve-token").read_text().strip())
    page.click("[data-testid=signin-submit]")
    page.wait_for_function(
        "() => document.querySelector('#read-correct-status').textContent.startsWith('Thanks')"
    )
    assert page.text_content("#read-correct-status") == f"Thanks — saved: it is {typed}."
    store = FeedbackStore(server["home"] / "feedback.db", read_only=True)
    (row,) = store.page(task="numbers").items
    assert (row.text, row.read, row.kind, row.source) == (typed, read, "correction", "cell.png")
    # the Corrections card shows it among the numbers, wide, and changes its text in the store
    page.check("[data-testid=review-numbers]")
    shown = page.locator(f"li[data-id='{row.id}']")
    shown.wait_for()
    width = shown.locator("img").evaluate("img => img.complete && img.naturalWidth")
    assert width == cells.images[7].shape[1]
    assert shown.locator("span").text_content().startswith(f"read {read or 'nothing'} → {typed}")
    shown.locator("input[type=text]").fill("4711")
    shown.locator("input[type=text]").press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#review-status').textContent === 'Row ' + "
        f"{row.id} + ' is now 4711.'"
    )
    assert store.page(task="numbers").items[0].text == "4711"
    screenshot(page, "review-numbers")
    page.click("[data-testid=read-correct-undo]")
    page.wait_for_function(
        "() => document.querySelector('#read-correct-status').textContent"
        " === 'That correction is removed.'"
    )
    assert store.count("numbers") == 0
