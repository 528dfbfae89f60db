// digitrec web page: a drawing pad read live — by the line reader (a number, a box and a
// confidence per digit), run in the browser (local_reader.js) or else by POST /v1/read, and, when
// it holds one digit, by the digit classifier (the digit, all ten probabilities, the 28 × 28 the
// model saw), run in the browser too (local_digit.js) or else by POST /v1/explain, which also
// gives the saliency; a correction goes to POST /v1/feedback — and a photo reader that posts to
// /v1/read and draws a box around every digit it found. Plain JS, no build step, no network
// beyond this server.
"use strict";

(() => {
  const PAD_HEIGHT = 280; // canvas pixels, as the PNG the server gets: room for one large digit
  const PAD_WIDTH = 2 * PAD_HEIGHT; // ... or a number of several
  const BRUSH = Math.round(PAD_HEIGHT / 12); // about MNIST's stroke width once a digit is normalized
  const INK = "#111111";
  const PAPER = "#ffffff";
  const DEBOUNCE_MS = 200; // ask once the pen rests this long...
  const MAX_WAIT_MS = 700; // ...or after this long of continuous drawing
  const READ_CANVAS_MAX = 1600; // longest side of the photo as drawn (canvas pixels)
  const UPLOAD_MAX = 2000; // a larger photo is shrunk to this longest side before it is sent
  const BOX_COLOR = "#e6007e"; // magenta: visible on paper, ink and most photos

  const $ = (id) => document.getElementById(id);
  const percent = (p) => `${(100 * p).toFixed(1)}%`;
  const article = (digit) => (digit === 8 ? "an" : "a"); // "an 8", "a 7"
  // The server's reasons are phrases ("no ink found (blank page)"): show them as sentences — but
  // a message that starts with the user's file name ("note.txt: not a readable image") keeps the
  // name as they gave it.
  const sentence = (text) => {
    const t = String(text).trim();
    if (!t) return t;
    const first = t.split(/\s/, 1)[0];
    const named = first.endsWith(":") && /[./\\]/.test(first);
    return (named ? t : t[0].toUpperCase() + t.slice(1)) + (/[.!?…]$/.test(t) ? "" : ".");
  };

  // ---------------------------------------------------------------------------------------------
  // Talking to the server: every failure becomes one friendly line.

  async function problemText(response) {
    if (response.status === 401) return "This needs the server's access token.";
    let body = null;
    try {
      body = await response.json();
    } catch {
      // not JSON: fall through to the status line
    }
    if (body && (body.detail || body.reason || body.title)) {
      return String(body.detail || body.reason || body.title);
    }
    if (response.status === 413) return "That image is too big for the server.";
    if (response.status === 503 || response.status === 504) {
      return "The server is busy — try again in a moment.";
    }
    return `The server answered ${response.status}${response.statusText ? " " + response.statusText : ""}.`;
  }

  // -> {ok: true, status, body} or {ok: false, status, message}. A 401 asks for the token once
  // (signIn) and, signed in, sends the request again.
  async function post(url, init, retry = true) {
    let response;
    try {
      response = await fetch(url, { method: "POST", ...init });
    } catch {
      return { ok: false, status: 0, message: "Cannot reach the digitrec server." };
    }
    if (response.status === 401 && retry && (await signIn())) return post(url, init, false);
    if (!response.ok) {
      return { ok: false, status: response.status, message: await problemText(response) };
    }
    if (response.status === 204) return { ok: true, status: 204, body: null };
    try {
      return { ok: true, status: response.status, body: await response.json() };
    } catch {
      return { ok: false, status: response.status, message: "The server sent an unreadable answer." };
    }
  }

  // The sign-in dialog: the token is traded for a session cookie (POST /v1/session) that this
  // page's requests then carry; the script never keeps the token. Requests refused together
  // share one dialog. -> true once signed in, false when the user cancels.
  let signingIn = null;
  function signIn() {
    if (signingIn) return signingIn;
    const dialog = $("signin");
    const form = $("signin-form");
    const status = $("signin-status");
    signingIn = new Promise((resolve) => {
      const finish = (ok) => {
        form.onsubmit = null;
        $("signin-cancel").onclick = null;
        dialog.oncancel = null;
        $("signin-token").value = "";
        setStatus(status, "");
        if (dialog.open) dialog.close();
        signingIn = null;
        resolve(ok);
      };
      form.onsubmit = async (event) => {
        event.preventDefault();
        setStatus(status, "Checking…");
        let response;
        try {
          response = await fetch("/v1/session", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ token: $("signin-token").value.trim() }),
          });
        } catch {
          setStatus(status, "Cannot reach the digitrec server.", "error");
          return;
        }
        if (response.ok) {
          finish(true);
          if (!local) loadLocalReader();
        }
        else if (response.status === 401) setStatus(status, "That is not this server's token.", "error");
        else setStatus(status, await problemText(response), "error");
      };
      $("signin-cancel").onclick = () => finish(false);
      dialog.oncancel = () => finish(false); // Escape
      dialog.showModal();
      $("signin-token").focus();
    });
    return signingIn;
  }

  const postJSON = (url, payload) =>
    post(url, { headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });

  function setStatus(element, text, kind) {
    element.textContent = sentence(text || "");
    element.classList.toggle("ok", kind === "ok");
    element.classList.toggle("error", kind === "error");
  }

  // ---------------------------------------------------------------------------------------------
  // The drawing pad: strokes are lists of points in canvas pixels; undo pops one and redraws.

  const pad = $("pad");
  const ctx = pad.getContext("2d");
  pad.width = PAD_WIDTH;
  pad.height = PAD_HEIGHT;
  const boxes = $("pad-boxes"); // the digits the line reader found, drawn over the pad
  boxes.width = PAD_WIDTH;
  boxes.height = PAD_HEIGHT;

  const strokes = [];
  let active = null; // {pointerId, points} while a pointer is down
  let version = 0; // bumps on every change of the pixels
  let epoch = 0; // bumps on clear: answers about an earlier drawing are dropped

  function paintPaper() {
    ctx.fillStyle = PAPER;
    ctx.fillRect(0, 0, PAD_WIDTH, PAD_HEIGHT);
  }

  function setBrush() {
    ctx.strokeStyle = INK;
    ctx.fillStyle = INK;
    ctx.lineWidth = BRUSH;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
  }

  function paintDot(point) {
    setBrush();
    ctx.beginPath();
    ctx.arc(point.x, point.y, BRUSH / 2, 0, 2 * Math.PI);
    ctx.fill();
  }

  function paintSegments(points, from) {
    setBrush();
    ctx.beginPath();
    ctx.moveTo(points[from].x, points[from].y);
    for (let i = from + 1; i < points.length; i++) ctx.lineTo(points[i].x, points[i].y);
    ctx.stroke();
  }

  function paintStroke(points) {
    if (points.length === 1) paintDot(points[0]);
    else paintSegments(points, 0);
  }

  function redraw() {
    paintPaper();
    for (const points of strokes) paintStroke(points);
  }

  function padPoint(event) {
    const rect = pad.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * PAD_WIDTH) / rect.width,
      y: ((event.clientY - rect.top) * PAD_HEIGHT) / rect.height,
    };
  }

  function changed() {
    version += 1;
    pad.dataset.version = String(version);
    pad.dataset.strokes = String(strokes.length);
    $("undo").disabled = strokes.length === 0;
    $("clear").disabled = strokes.length === 0;
    setFeedbackEnabled(false); // until the drawing is read as one digit
    forgetCorrection(); // the Undo was about the drawing before
    setStatus($("feedback-status"), "");
    clearBoxes();
    scheduleRecognition();
  }

  // Strokes are taken from a zone a little larger than the pad, and the pointer is captured: a
  // stroke that starts just outside the pad, or leaves it and comes back, is drawn all the same.
  const zone = pad.parentElement;
  zone.addEventListener("pointerdown", (event) => {
    if (active || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    zone.setPointerCapture(event.pointerId);
    active = { pointerId: event.pointerId, points: [padPoint(event)] };
    strokes.push(active.points);
    paintDot(active.points[0]);
    changed();
  });

  zone.addEventListener("pointermove", (event) => {
    if (!active || event.pointerId !== active.pointerId) return;
    event.preventDefault();
    const points = active.points;
    const from = points.length - 1;
    const coalesced = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const e of coalesced.length ? coalesced : [event]) points.push(padPoint(e));
    paintSegments(points, from);
    changed();
  });

  function endStroke(event) {
    if (active && event.pointerId === active.pointerId) {
      active = null;
      announce();
      // The pen is up: no reason to wait out the debounce.
      if (timer !== null) {
        clearTimeout(timer);
        recognize();
      }
    }
  }
  zone.addEventListener("pointerup", endStroke);
  zone.addEventListener("pointercancel", endStroke);
  zone.addEventListener("lostpointercapture", endStroke);

  function undo() {
    if (!strokes.length) return;
    strokes.pop();
    active = null;
    redraw();
    if (!strokes.length) clear();
    else changed();
  }

  function clear() {
    strokes.length = 0;
    active = null;
    epoch += 1;
    redraw();
    changed();
  }

  $("undo").addEventListener("click", undo);
  $("clear").addEventListener("click", clear);
  document.addEventListener("keydown", (event) => {
    const inField = event.target instanceof HTMLInputElement;
    if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key === "z" && !inField) {
      event.preventDefault();
      undo();
    }
  });

  // ---------------------------------------------------------------------------------------------
  // Live recognition: debounced, at most one request in flight, the latest drawing wins.

  const result = $("result");
  let timer = null;
  let waitingSince = null; // when the first change not yet asked about happened
  let inFlight = false;

  function scheduleRecognition() {
    clearTimeout(timer);
    timer = null;
    if (!strokes.length) {
      waitingSince = null;
      showNothing();
      return;
    }
    result.dataset.state = "pending";
    result.setAttribute("aria-busy", "true");
    const now = performance.now();
    if (waitingSince === null) waitingSince = now;
    const wait = Math.max(0, Math.min(DEBOUNCE_MS, waitingSince + MAX_WAIT_MS - now));
    timer = setTimeout(recognize, wait);
  }

  // The line reader and the digit classifier run in this browser when they can (local_reader.js,
  // local_digit.js: ONNX Runtime Web and the server's own models as ONNX, all from this server);
  // until they have loaded, or where WebAssembly is missing, the pad is read by POST /v1/read and
  // /v1/explain. `window.digitrecLocalReader` and `window.digitrecLocalDigit` are for tests.
  // With `--auth all` the models need the token too: loaded again once signed in.
  let local = null;
  let localDigit = null;
  function loadLocalReader() {
    const loaded = (module, attribute, keep) =>
      import(module)
        .then((m) => m.load())
        .then((model) => {
          keep(model);
          pad.dataset[attribute] = "browser";
          return model;
        })
        .catch((error) => {
          pad.dataset[attribute] = "server";
          console.info(`digitrec: ${module} not loaded, the server reads instead (${error.message || error})`);
          return null;
        });
    loadLocalLines = () => {
      window.digitrecLocalReader = loaded("/static/local_reader.js", "reader", (m) => (local = m));
      return window.digitrecLocalReader;
    };
    loadLocalDigit = () => {
      window.digitrecLocalDigit = loaded("/static/local_digit.js", "classifier", (m) => (localDigit = m));
      return window.digitrecLocalDigit;
    };
    loadLocalLines();
    loadLocalDigit();
  }
  let loadLocalLines = () => null;
  let loadLocalDigit = () => null;
  loadLocalReader();

  function padImage() {
    return ctx.getImageData(0, 0, PAD_WIDTH, PAD_HEIGHT);
  }

  async function readPad(image) {
    if (local) {
      try {
        const body = await local.read(padImage());
        return { ok: body.digits.length > 0, status: body.digits.length ? 200 : 422, body, where: "browser" };
      } catch (error) {
        console.info(`digitrec: the in-browser reader failed (${error.message || error}); asking the server`);
      }
    }
    return { ...(await postJSON("/v1/read", { image: image() })), where: "server" };
  }

  // One digit: the classifier's view, in the browser when it can be (without the saliency, which
  // only the server draws), else the server's (POST /v1/explain).
  async function classifyPad(image) {
    if (localDigit) {
      try {
        const body = await localDigit.classify(padImage());
        if (!body.input) return { ok: false, status: 422, message: sentence(`no digit to explain: ${body.reason}`), where: "browser" };
        return { ok: true, status: 200, body: { ...body, input_png: inputPng(body.input) }, where: "browser" };
      } catch (error) {
        console.info(`digitrec: the in-browser classifier failed (${error.message || error}); asking the server`);
      }
    }
    return { ...(await postJSON("/v1/explain", { image: image() })), where: "server" };
  }

  // The 28 × 28 input as the server draws it (serve/explain.py::input_png): ink white on black.
  function inputPng(pixels) {
    const small = document.createElement("canvas");
    small.width = small.height = 28;
    const c = small.getContext("2d");
    const data = c.createImageData(28, 28);
    pixels.forEach((v, i) => {
      data.data.set([v, v, v, 255], 4 * i);
    });
    c.putImageData(data, 0, 0);
    return small.toDataURL("image/png");
  }

  // The saliency of a digit read in the browser, from the server when it answers (else a note):
  // one request at a time, for the latest drawing.
  let saliencyWanted = null;
  let saliencyBusy = false;
  async function showSaliency(image, answeredVersion) {
    saliencyWanted = { image, answeredVersion };
    if (saliencyBusy) return;
    saliencyBusy = true;
    try {
      while (saliencyWanted) {
        const wanted = saliencyWanted;
        saliencyWanted = null;
        if (wanted.answeredVersion !== version) continue;
        const saliency = $("saliency");
        saliency.dataset.state = "pending";
        const answer = await postJSON("/v1/explain", { image: wanted.image() });
        if (wanted.answeredVersion !== version) continue;
        if (answer.ok) {
          saliency.src = answer.body.saliency_png;
          saliency.dataset.state = "done";
        } else {
          saliency.dataset.state = "missing";
          const why = answer.status === 0 ? "out of reach now" : "which could not draw it now";
          $("saliency-caption").textContent = `Where it looked: drawn by the server, ${why}`;
        }
      }
    } finally {
      saliencyBusy = false;
    }
  }

  async function recognize() {
    timer = null;
    waitingSince = null;
    if (inFlight || !strokes.length) return; // the running request looks again when it ends
    const asked = { version, epoch };
    let png = null; // the drawing as the server gets it, encoded only when it is sent
    const image = () => (png ??= pad.toDataURL("image/png"));
    inFlight = true;
    let answer;
    let number = null;
    let reading;
    try {
      // The line reader says how many digits there are; one digit gets the classifier's view.
      reading = await readPad(image);
      if (reading.ok && reading.body.digits.length > 1) number = reading.body;
      else answer = await classifyPad(image);
    } finally {
      inFlight = false;
    }
    // No classifier's view from the server (out of reach, busy, refused): the digit the browser
    // read is the answer.
    const offline = answer && !answer.ok && answer.status === 0;
    if (answer && !answer.ok && answer.status !== 422 && reading.where === "browser") {
      if (reading.ok) number = reading.body;
      else if (offline) answer = { ok: false, status: 422, message: reading.body.reason || "No digit found.", where: "browser" };
    }
    if (asked.epoch === epoch && strokes.length) {
      result.dataset.readBy = number ? reading.where : answer.where;
      if (number) showNumber(number, asked.version);
      else showAnswer(answer, asked.version);
      if (!number && answer.ok && answer.where === "browser") showSaliency(image, asked.version);
      if (number && answer && !answer.ok) {
        const why = offline ? "The server is out of reach" : answer.message.replace(/[.]$/, "");
        setStatus($("feedback-status"), `${why}: read in your browser.`);
      }
      announce();
    }
    // The drawing changed while we waited and no debounce is pending: ask about the latest one.
    if (asked.version !== version && strokes.length && timer === null) recognize();
  }

  function showNothing() {
    result.dataset.state = "idle";
    result.removeAttribute("aria-busy");
    delete result.dataset.version;
    delete result.dataset.digit;
    delete result.dataset.number;
    $("digit").textContent = "";
    $("bars").replaceChildren();
    $("number-digits").replaceChildren();
    clearBoxes();
    $("views").hidden = true;
    $("model-input").removeAttribute("src");
    $("saliency").removeAttribute("src");
    setStatus($("summary"), "Draw a digit or a number to start.");
  }

  // What a screen reader hears: the answer about the drawing as it is once the pen is up — not
  // every guess made while a stroke is still being drawn (the summary above is not a live region).
  let announced = "";
  function announce() {
    const latest = result.dataset.version === String(version);
    const settled = result.dataset.state === "done" || result.dataset.state === "error";
    const text = active || !latest || !settled ? "" : $("summary").textContent;
    if (text && text !== announced) $("announce").textContent = text;
    announced = text || announced;
  }

  function clearBoxes() {
    boxes.getContext("2d").clearRect(0, 0, PAD_WIDTH, PAD_HEIGHT);
  }

  // Several digits: the number, a box and a digit over each on the pad, and each one's confidence.
  function showNumber(body, answeredVersion) {
    const latest = answeredVersion === version;
    result.dataset.version = String(answeredVersion);
    result.dataset.state = latest ? "done" : "pending";
    if (latest) result.removeAttribute("aria-busy");
    delete result.dataset.digit;
    result.dataset.number = body.text;
    $("digit").textContent = body.text;
    $("bars").replaceChildren();
    $("views").hidden = true;
    const count = body.digits.length;
    setStatus(
      $("summary"),
      count === 1
        ? `Looks like ${article(body.digits[0].digit)} ${body.text} (${percent(body.confidence)} sure).`
        : `Reads ${body.text} (${percent(body.confidence)} sure of all ${count} digits).`,
    );
    const items = body.digits.map(({ digit, confidence, box }) => {
      const li = document.createElement("li");
      li.dataset.digit = String(digit);
      li.dataset.confidence = String(confidence);
      li.dataset.box = box.join(",");
      li.textContent = `${digit}: ${percent(confidence)}`;
      return li;
    });
    $("number-digits").replaceChildren(...items);
    clearBoxes();
    if (latest) drawPadBoxes(body.digits);
    setFeedbackEnabled(false);
    setStatus($("feedback-status"), "Corrections are taken for single digits.");
  }

  function drawPadBoxes(digits) {
    const c = boxes.getContext("2d");
    c.lineWidth = 3;
    c.strokeStyle = BOX_COLOR;
    c.fillStyle = BOX_COLOR;
    c.font = "bold 26px system-ui, sans-serif";
    c.textBaseline = "bottom";
    for (const { digit, confidence, box } of digits) {
      const [x, y, w, h] = box;
      c.globalAlpha = confidence < 0.9 ? 0.55 : 1; // unsure digits drawn fainter
      c.strokeRect(x - 3, y - 3, w + 6, h + 6);
      c.fillText(String(digit), x, Math.max(26, y - 5));
    }
    c.globalAlpha = 1;
  }

  function showAnswer(answer, answeredVersion) {
    const latest = answeredVersion === version;
    result.dataset.version = String(answeredVersion);
    result.dataset.state = latest ? (answer.ok ? "done" : "error") : "pending";
    if (latest) result.removeAttribute("aria-busy");
    const summary = $("summary");
    if (!answer.ok) {
      // 422 = no digit in the drawing yet: not an error worth red text.
      delete result.dataset.digit;
      delete result.dataset.number;
      $("digit").textContent = "";
      $("bars").replaceChildren();
      $("number-digits").replaceChildren();
      $("views").hidden = true;
      setStatus(summary, answer.message, answer.status === 422 ? "" : "error");
      return;
    }
    delete result.dataset.number;
    $("number-digits").replaceChildren();
    if (latest) {
      setFeedbackEnabled(true);
      setStatus($("feedback-status"), "");
    }
    const body = answer.body;
    const digit = body.digit === null || body.digit === undefined ? null : body.digit;
    result.dataset.digit = digit === null ? "" : String(digit);
    $("digit").textContent = digit === null ? "?" : String(digit);
    if (digit === null) setStatus(summary, body.reason || "Not sure what this is.");
    else setStatus(summary, `Looks like ${article(digit)} ${digit} (${percent(body.confidence)} sure).`);
    showBars(body.probabilities || []);
    $("model-input").src = body.input_png;
    const saliency = $("saliency");
    $("saliency-caption").textContent = "Where it looked";
    if (body.saliency_png) {
      saliency.src = body.saliency_png;
      saliency.dataset.state = "done";
    } else {
      saliency.removeAttribute("src"); // asked of the server next (showSaliency)
      saliency.dataset.state = "pending";
    }
    $("views").hidden = false;
  }

  // All ten classes, 0 to 9, each with its bar: where the rest of the probability went is seen too.
  function showBars(probabilities) {
    const rows = probabilities.map((probability, digit) => {
      const li = document.createElement("li");
      li.dataset.digit = String(digit);
      li.dataset.probability = String(probability);
      const name = document.createElement("span");
      name.textContent = String(digit);
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.setAttribute("aria-hidden", "true");
      const fill = document.createElement("span");
      fill.style.width = `${Math.max(0, Math.min(1, probability)) * 100}%`;
      bar.append(fill);
      const value = document.createElement("span");
      value.className = "p";
      value.textContent = percent(probability);
      li.setAttribute("aria-label", `${digit}: ${percent(probability)}`);
      li.append(name, bar, value);
      return li;
    });
    $("bars").replaceChildren(...rows);
  }

  // ---------------------------------------------------------------------------------------------
  // "That's wrong — it's a N": the drawing as it is now, with the right label.

  const feedbackButtons = [];
  for (let label = 0; label <= 9; label++) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = String(label);
    button.dataset.label = String(label);
    button.dataset.testid = `feedback-${label}`;
    button.setAttribute("aria-label", `It's ${article(label)} ${label}`);
    button.disabled = true;
    button.addEventListener("click", () => sendFeedback(label));
    feedbackButtons.push(button);
  }
  $("feedback-buttons").replaceChildren(...feedbackButtons);

  function setFeedbackEnabled(enabled) {
    for (const button of feedbackButtons) button.disabled = !enabled;
  }

  async function sendFeedback(label) {
    if (!strokes.length) return;
    const status = $("feedback-status");
    const image = pad.toDataURL("image/png");
    const asked = version;
    forgetCorrection();
    setStatus(status, "Saving…");
    setFeedbackEnabled(false);
    const answer = await postJSON("/v1/feedback", { image, label });
    setFeedbackEnabled(asked === version && strokes.length > 0);
    if (asked !== version) return; // drawn on meanwhile: the message would be about another image
    if (answer.ok) {
      const { id, kind, duplicate } = answer.body;
      status.dataset.feedbackId = String(id);
      status.dataset.kind = kind;
      const what = kind === "confirmation" ? `confirmed: it is ${article(label)} ${label}` : `saved as ${article(label)} ${label}`;
      setStatus(status, duplicate ? `Already ${what}.` : `Thanks — ${what}.`, "ok");
      $("feedback-undo").hidden = duplicate; // stored before: not this click's to undo
    } else {
      setStatus(status, `Not saved: ${answer.message}`, "error");
    }
  }

  function forgetCorrection() {
    const status = $("feedback-status");
    delete status.dataset.feedbackId;
    delete status.dataset.kind;
    $("feedback-undo").hidden = true;
  }

  // Undo the correction just stored, whose row id holder.dataset[key] keeps: DELETE url/{id}.
  // When the holder moved on meanwhile (drawn on, corrected again), the answer is not shown.
  async function undoCorrection(holder, key, url, button, status) {
    const id = holder.dataset[key];
    if (!id) return;
    button.hidden = true;
    const answer = await post(`${url}/${encodeURIComponent(id)}`, { method: "DELETE" });
    if (holder.dataset[key] !== id) return;
    if (answer.ok || answer.status === 404) {
      delete holder.dataset[key];
      setStatus(status, "That correction is removed.", "ok");
    } else {
      button.hidden = false;
      setStatus(status, `Not removed: ${answer.message}`, "error");
    }
  }
  $("feedback-undo").addEventListener("click", () => {
    const status = $("feedback-status");
    undoCorrection(status, "feedbackId", "/v1/feedback", $("feedback-undo"), status);
  });

  // ---------------------------------------------------------------------------------------------
  // Reading a number from a photo or scan.

  const readResult = $("read-result");
  const readCanvas = $("read-canvas");
  let readToken = 0;

  function loadImage(file) {
    return new Promise((resolve) => {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => resolve(img); // the object URL stays valid while the image is shown
      img.onerror = () => {
        URL.revokeObjectURL(url);
        resolve(null); // the browser cannot show it; the server may still read it
      };
      img.src = url;
    });
  }

  function drawPhoto(img, answer) {
    // The browser applies EXIF orientation when drawing, as the server does before boxing.
    const width = img ? img.naturalWidth : answer.width;
    const height = img ? img.naturalHeight : answer.height;
    const scale = Math.min(1, READ_CANVAS_MAX / Math.max(width, height));
    readCanvas.width = Math.max(1, Math.round(width * scale));
    readCanvas.height = Math.max(1, Math.round(height * scale));
    const c = readCanvas.getContext("2d");
    c.fillStyle = "#fff";
    c.fillRect(0, 0, readCanvas.width, readCanvas.height);
    if (img) c.drawImage(img, 0, 0, readCanvas.width, readCanvas.height);
    readCanvas.hidden = false;
    return c;
  }

  function drawBoxes(c, answer) {
    // Boxes are in the uploaded image's pixels: scale them to the canvas.
    const sx = readCanvas.width / answer.width;
    const sy = readCanvas.height / answer.height;
    // Line and labels sized in CSS pixels as displayed, so they stay legible on a phone.
    const perCssPixel = readCanvas.width / Math.max(1, readCanvas.clientWidth);
    const line = Math.max(2, Math.round(2 * perCssPixel));
    c.lineWidth = line;
    c.strokeStyle = BOX_COLOR;
    c.textBaseline = "bottom";
    for (const { digit, box } of answer.digits) {
      const [x, y, w, h] = box;
      c.strokeRect(x * sx, y * sy, w * sx, h * sy);
      const font = Math.round(Math.max(13 * perCssPixel, Math.min(0.45 * h * sy, 40 * perCssPixel)));
      c.font = `bold ${font}px system-ui, sans-serif`;
      const text = String(digit);
      const tx = x * sx;
      const ty = Math.max(font + 2, y * sy - line);
      const tw = c.measureText(text).width;
      c.fillStyle = "rgba(255, 255, 255, 0.85)";
      c.fillRect(tx, ty - font, tw + 6, font);
      c.fillStyle = BOX_COLOR;
      c.fillText(text, tx + 3, ty);
    }
  }

  function listBoxes(answer) {
    const items = answer.digits.map(({ digit, confidence, box }) => {
      const li = document.createElement("li");
      li.dataset.digit = String(digit);
      li.dataset.confidence = String(confidence);
      li.dataset.box = box.join(",");
      li.textContent = `${digit} (${percent(confidence)} sure)`;
      return li;
    });
    $("read-boxes").replaceChildren(...items);
  }

  function resetRead() {
    $("read-text").textContent = "";
    $("read-confidence").textContent = "";
    $("read-boxes").replaceChildren();
    delete readResult.dataset.text;
    readSent = null;
    correctForm.hidden = true;
    $("read-correct-undo").hidden = true;
    delete correctForm.dataset.rowId;
    setStatus($("read-correct-status"), "");
  }

  // Correcting the number read (POST /v1/feedback/numbers, behind the token): the image sent
  // for reading goes again with the text it really shows; the server reads it itself and keeps
  // what it read beside the correction. Undo deletes the row just stored.
  let readSent = null; // {blob, name}: the image the shown reading is of
  const correctForm = $("read-correct");
  correctForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const sent = readSent;
    const status = $("read-correct-status");
    const text = $("read-correct-text").value.trim();
    if (!sent) return;
    if (!/^[0-9]{1,20}$/.test(text)) {
      setStatus(status, "Type the number's digits: 1 to 20 of them, nothing else.", "error");
      return;
    }
    $("read-correct-undo").hidden = true;
    setStatus(status, "Saving…");
    const form = new FormData();
    form.append("file", sent.blob, sent.name);
    form.append("text", text);
    const answer = await post("/v1/feedback/numbers", { body: form });
    if (sent !== readSent) return; // another image was chosen meanwhile
    if (!answer.ok) {
      setStatus(status, `Not saved: ${answer.message}`, "error");
      return;
    }
    const { id, kind, duplicate } = answer.body;
    correctForm.dataset.rowId = String(id);
    correctForm.dataset.kind = kind;
    const what = kind === "confirmation" ? `confirmed: it is ${text}` : `saved: it is ${text}`;
    setStatus(status, duplicate ? `Already ${what}.` : `Thanks — ${what}.`, "ok");
    $("read-correct-undo").hidden = duplicate; // stored before: not this click's to undo
  });
  $("read-correct-undo").addEventListener("click", () =>
    undoCorrection(correctForm, "rowId", "/v1/feedback/numbers", $("read-correct-undo"),
                   $("read-correct-status")));

  // A phone photo (12 MP, several MB) is shrunk to UPLOAD_MAX on its longer side before it goes:
  // the server reads at about that size anyway, and the upload is a tenth. Drawn upright (the
  // browser applies EXIF orientation), so the copy needs no tag. Images the browser cannot show
  // go as they are.
  function shrunk(img, file) {
    const longest = Math.max(img.naturalWidth, img.naturalHeight);
    if (longest <= UPLOAD_MAX) return Promise.resolve(file);
    const scale = UPLOAD_MAX / longest;
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(img.naturalWidth * scale);
    canvas.height = Math.round(img.naturalHeight * scale);
    canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => {
      canvas.toBlob((blob) => resolve(blob || file), "image/jpeg", 0.92);
    });
  }

  async function readFile(file) {
    if (!file) return;
    const token = ++readToken;
    const status = $("read-status");
    resetRead();
    readResult.dataset.state = "pending";
    readResult.setAttribute("aria-busy", "true");
    setStatus(status, `Reading ${file.name || "the image"}…`);
    const img = await loadImage(file);
    const sent = img ? await shrunk(img, file) : file;
    readResult.dataset.sentBytes = String(sent.size);
    const form = new FormData();
    form.append("file", sent, file.name || "image");
    const answer = await post("/v1/read", { body: form });
    if (token !== readToken) return; // another image was chosen meanwhile
    readResult.removeAttribute("aria-busy");
    if (!answer.ok) {
      readResult.dataset.state = "error";
      if (img) drawPhoto(img, null);
      else readCanvas.hidden = true;
      setStatus(status, answer.message, "error");
      return;
    }
    const body = answer.body;
    const c = drawPhoto(img, body);
    drawBoxes(c, body);
    listBoxes(body);
    // A format the server reads but this browser cannot show (TIFF, say): say why it is blank.
    const unseen = img
      ? ""
      : ` This browser cannot show ${file.name || "the image"}, so its digits are boxed on a blank page of its size.`;
    readResult.dataset.state = "done";
    readResult.dataset.text = body.text || "";
    readSent = { blob: sent, name: file.name || "image" };
    $("read-correct-text").value = body.text || "";
    correctForm.hidden = false;
    readResult.dataset.width = String(body.width);
    readResult.dataset.height = String(body.height);
    $("read-text").textContent = body.text || "";
    if (body.text) {
      $("read-confidence").textContent = `${percent(body.confidence)} sure`;
      setStatus(status, (body.reason || "") + unseen);
    } else {
      const why = body.reason ? `No number found: ${body.reason}` : "No number found";
      setStatus(status, why + (unseen ? "." + unseen : ""));
    }
  }

  const upload = $("upload");
  const camera = $("camera");
  $("choose").addEventListener("click", () => upload.click());
  $("take-photo").addEventListener("click", () => camera.click());
  for (const input of [upload, camera]) {
    input.addEventListener("change", () => {
      readFile(input.files[0]);
      input.value = ""; // choosing the same file again reads it again
    });
  }

  // The camera button only where there is likely a camera: a touch device, or a video input.
  const takePhoto = $("take-photo");
  if (window.matchMedia("(pointer: coarse)").matches) takePhoto.hidden = false;
  if (navigator.mediaDevices && navigator.mediaDevices.enumerateDevices) {
    navigator.mediaDevices
      .enumerateDevices()
      .then((devices) => {
        if (devices.some((d) => d.kind === "videoinput")) takePhoto.hidden = false;
      })
      .catch(() => {});
  }

  const drop = $("drop");
  const firstImage = (files) => Array.from(files || []).find((f) => f.type.startsWith("image/"));
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const files = event.dataTransfer ? event.dataTransfer.files : null;
    const file = firstImage(files) || (files && files[0]);
    if (file) readFile(file);
  });
  // Dropped outside the zone: do not let the browser navigate away to the image; say where to.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      setStatus($("read-status"), "Drop the image on the dashed area to read it.", "error");
    }
  });
  document.addEventListener("paste", (event) => {
    const files = event.clipboardData ? Array.from(event.clipboardData.files) : [];
    const file = firstImage(files);
    if (file) {
      event.preventDefault();
      readFile(file);
    } else if (files.length) {
      event.preventDefault();
      const name = files[0].name || "that file";
      setStatus($("read-status"), `${name}: not an image. Paste a photo, a scan or a screenshot.`, "error");
    }
  });

  // ---------------------------------------------------------------------------------------------
  // Review of the stored corrections (GET/PATCH/DELETE /v1/feedback and /v1/feedback/numbers,
  // behind the token): pages of 24, newest first; a row's label (a digit, or a number's text)
  // changed in place, rows deleted one by one or selected. The choice above says which store.

  const REVIEW_PAGE = 24;
  let reviewOffset = 0;
  let reviewTotal = 0;
  const reviewList = $("review-list");
  const reviewStatus = $("review-status");
  const selectedRows = () => [...reviewList.querySelectorAll("input[type=checkbox]:checked")];
  const reviewTask = () => document.querySelector("input[name=review-task]:checked").value;
  const reviewBase = () => (reviewTask() === "numbers" ? "/v1/feedback/numbers" : "/v1/feedback");

  function reviewControls() {
    const rows = reviewList.querySelectorAll("li").length;
    $("review-all").disabled = rows === 0;
    $("review-delete").disabled = selectedRows().length === 0;
    $("review-more").hidden = reviewOffset >= reviewTotal;
  }

  // The control that changes a row's label: a digit's select, a number's text field (Enter or
  // leaving it saves). `save(value)` sends it; the control goes back when the server refuses.
  function labelControl(item, numbers, save) {
    if (!numbers) {
      const label = document.createElement("select");
      label.setAttribute("aria-label", `label of row ${item.id}`);
      for (let digit = 0; digit < 10; digit++) label.add(new Option(String(digit), String(digit)));
      label.value = String(item.label);
      label.onchange = () => save(Number(label.value), () => (label.value = String(item.label)));
      return label;
    }
    const field = document.createElement("input");
    Object.assign(field, { type: "text", inputMode: "numeric", value: item.text, size: 12 });
    field.pattern = "[0-9]{1,20}";
    field.maxLength = 20;
    field.setAttribute("aria-label", `number of row ${item.id}`);
    field.onchange = () => {
      if (!/^[0-9]{1,20}$/.test(field.value)) {
        setStatus(reviewStatus, "A number is 1 to 20 digits, 0-9 only.", "error");
        field.value = item.text;
        return;
      }
      save(field.value, () => (field.value = item.text));
    };
    return field;
  }

  function reviewRow(item, numbers) {
    const row = document.createElement("li");
    row.dataset.id = String(item.id);
    row.dataset.testid = "review-row";
    if (numbers) row.classList.add("number");
    const base = numbers ? "/v1/feedback/numbers" : "/v1/feedback";
    const image = document.createElement("img");
    image.src = `${base}/${item.id}/image`;
    const what = document.createElement("div");
    what.className = "what";
    const when = item.created.slice(0, 16).replace("T", " ");
    const text = document.createElement("span");
    const describe = () => {
      const label = numbers ? item.text : item.label;
      const read = numbers
        ? item.read || "nothing"
        : item.predicted === null ? "nothing sure" : String(item.predicted);
      image.alt = `stored image ${item.id}, labelled ${label}`;
      text.textContent = `read ${read} → ${label} · ${item.kind} · ${when}`;
    };
    describe();
    text.title = `row ${item.id}`;
    const control = labelControl(item, numbers, async (value, undo) => {
      const answer = await post(`${base}/${item.id}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(numbers ? { text: value } : { label: value }),
      });
      if (!answer.ok) {
        undo();
        setStatus(reviewStatus, answer.message, "error");
        return;
      }
      Object.assign(item, answer.body);
      if (answer.body.id !== Number(row.dataset.id)) row.remove(); // merged into another row
      else describe();
      const now = numbers ? answer.body.text : answer.body.label;
      setStatus(reviewStatus, `Row ${answer.body.id} is now ${numbers ? "" : "a "}${now}.`, "ok");
    });
    const pick = document.createElement("input");
    pick.type = "checkbox";
    pick.setAttribute("aria-label", `select row ${item.id}`);
    pick.onchange = reviewControls;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Delete";
    remove.onclick = () => deleteRows([item.id]);
    const controls = document.createElement("div");
    controls.append(control, remove);
    what.append(text, controls);
    row.append(pick, image, what);
    return row;
  }

  async function showCorrections(more) {
    if (!more) reviewOffset = 0;
    setStatus(reviewStatus, "Loading…");
    const numbers = reviewTask() === "numbers";
    const answer = await post(`${reviewBase()}?limit=${REVIEW_PAGE}&offset=${reviewOffset}`, { method: "GET" });
    if (!answer.ok) {
      setStatus(reviewStatus, answer.message, "error");
      return;
    }
    if (!more) reviewList.replaceChildren();
    const body = answer.body;
    for (const item of body.items) reviewList.append(reviewRow(item, numbers));
    reviewOffset += body.items.length;
    reviewTotal = body.total;
    setStatus(
      reviewStatus,
      body.total
        ? `${reviewOffset} of ${body.total} shown; the store holds ${body.corrections} corrections and ${body.confirmations} confirmations.`
        : `No corrections of ${numbers ? "numbers" : "digits"} stored yet.`,
      "ok",
    );
    $("review-all").checked = false;
    reviewControls();
  }

  async function deleteRows(ids) {
    const answer = await post(`${reviewBase()}?ids=${ids.join(",")}`, { method: "DELETE" });
    if (!answer.ok) {
      setStatus(reviewStatus, answer.message, "error");
      return;
    }
    for (const id of ids) reviewList.querySelector(`li[data-id="${id}"]`)?.remove();
    reviewOffset -= answer.body.deleted;
    reviewTotal -= answer.body.deleted;
    setStatus(reviewStatus, `Deleted ${answer.body.deleted} of ${ids.length}.`, "ok");
    reviewControls();
  }

  $("review-show").onclick = () => showCorrections(false);
  for (const choice of document.querySelectorAll("input[name=review-task]")) {
    choice.onchange = () => {
      reviewList.replaceChildren(); // the other store's rows: shown when asked for
      reviewOffset = reviewTotal = 0;
      setStatus(reviewStatus, "");
      reviewControls();
      showCorrections(false);
    };
  }
  $("review-more").onclick = () => showCorrections(true);
  $("review-all").onchange = () => {
    for (const box of reviewList.querySelectorAll("input[type=checkbox]")) box.checked = $("review-all").checked;
    reviewControls();
  };
  $("review-delete").onclick = () =>
    deleteRows(selectedRows().map((box) => Number(box.closest("li").dataset.id)));

  // ---------------------------------------------------------------------------------------------
  // Start: blank paper, and the model's name in the footer.

  paintPaper();
  pad.dataset.version = "0";
  pad.dataset.strokes = "0";
  showNothing();
  // The model (and its version: `digitrec models list`) in the footer, looked at again every
  // minute: when the server switched to another version (POST /v1/models/reload, SIGHUP), the
  // classifier and the line reader this page runs are fetched again (a version may hold a reader
  // of its own), so the page and the server read alike.
  let shownVersion = null;
  function showModel() {
    return fetch("/healthz")
      .then((response) => (response.ok ? response.json() : null))
      .then((body) => {
        const version = body && body.version ? body.version : "";
        $("model-name").textContent = body && body.model ? body.model + (version ? ` (${version})` : "") : "unknown";
        pad.dataset.modelVersion = version;
        if (shownVersion !== null && version !== shownVersion) {
          if (localDigit) loadLocalDigit();
          if (local) loadLocalLines();
        }
        shownVersion = version;
      })
      .catch(() => {
        $("model-name").textContent = "unreachable";
      });
  }
  window.digitrecShowModel = showModel; // for tests: look now rather than in a minute
  showModel();
  setInterval(showModel, 60000);
})();
