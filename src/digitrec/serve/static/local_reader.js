// The line reader in the browser: the pad's drawing is cut into a line image as the server cuts
// it (reading/ink.py, reading/line_model.py), run through the server's own reader exported to
// ONNX (GET /models/line-reader.onnx, reading/line_onnx.py) with ONNX Runtime Web (WebAssembly,
// served from this server's /static/ort/), and decoded as the server decodes it. The answer has
// the shape of POST /v1/read's: {text, confidence, digits: [{digit, confidence, box}]}.
//
// The pad is clean white paper with dark ink, so the steps the server takes for scans and photos
// that a pad never needs (scan margins, form lines) are left out here; tests/test_web_local.py holds the two to the same readings and line images.
"use strict";

import { openSession } from "./ort_session.js";
import {
  boxBlur, components, extremum, gaussianBlur, grayOf, nonzeroBox, otsu, resizeArea, resizeLinear,
  roundHalfEven,
} from "./pixels.js";

// reading/line_model.py (checked against the server by tests/test_web_local.py)
export const HEIGHT = 32; // rows of a line image
export const PAD = 2; // rows of paper above and below the ink, columns beside it (× 2)
export const STRIDE = 4; // line-image columns per frame
export const BLANK = 10; // CTC's blank class
export const MAX_WIDTH = 4096;
export const BANDS = 3; // bands of rows read per page; the surest reading wins
// reading/form_lines.py
const BAND_OVERLAP = 0.5;
const SPECK = 0.02;
// reading/ink.py
const PAPER_WINDOW = 6;
const MIN_CONTRAST_SHARE = 0.08;
const INK_PIXELS = 400;
const MAX_SKEW = 6.0;
const SKEW_STEP = 0.5;
const MIN_SKEW = 0.75;
const MIN_SKEW_GAIN = 1.15;
const BLUR_SIGMA = 0.7;

const MODEL_URL = "/models/line-reader.onnx";

// -> a reader {read(imageData)}; throws when ONNX Runtime Web or the model
// cannot be had (the page then reads on the server).
export async function load() {
  const { ort, session, input, output } = await openSession(MODEL_URL);

  async function logProbs(line) {
    const frames = Math.max(1, Math.floor(line.width / STRIDE));
    const width = frames * STRIDE;
    const data = new Float32Array(HEIGHT * width);
    const usable = Math.min(width, line.width);
    for (let y = 0; y < HEIGHT; y++) {
      for (let x = 0; x < usable; x++) data[y * width + x] = line.pixels[y * line.width + x] / 255;
    }
    const tensor = new ort.Tensor("float32", data, [1, 1, HEIGHT, width]);
    const result = await session.run({ [input]: tensor });
    return { values: result[output].data, frames };
  }

  // The digits of the band read most surely (line_model.LineReader.read_best: the highest mean
  // log confidence; the first band wins ties).
  async function read(imageData) {
    const { page, lines, reason } = cutLines(imageData);
    if (reason) return { text: "", confidence: 0, digits: [], reason };
    let best = null;
    for (const line of lines) {
      const emitted = greedyDecode(await logProbs(line));
      const score = emitted.length
        ? emitted.reduce((s, e) => s + Math.log(Math.max(e.confidence, 1e-12)), 0) / emitted.length
        : -Infinity;
      if (best === null || score > best.score) best = { line, emitted, score };
    }
    const boxes = digitBoxes(best.line, best.emitted).map((box) => toPage(page, box));
    const digits = best.emitted.map((e, i) => ({ digit: e.digit, confidence: e.confidence, box: boxes[i] }));
    if (!digits.length) return { text: "", confidence: 0, digits, reason: "no digits found" };
    const confidence = digits.reduce((p, d) => p * d.confidence, 1);
    return { text: digits.map((d) => d.digit).join(""), confidence, digits };
  }

  return { read };
}

// A drawing (ImageData) -> {page, lines}: the page's ink and the line images of up to BANDS bands
// of rows the writing may stand in (the likeliest first); or {reason} when there is nothing to read.
export function cutLines(imageData) {
  const page = pageInk(grayOf(imageData));
  if (page.reason) return { reason: page.reason };
  const lines = textBands(page.mask, page.width, page.height, BANDS)
    .map((band) => lineImage(page.ink, band, page.width, page.height))
    .filter((line) => line !== null);
  return lines.length ? { page, lines } : { reason: "no digits found" };
}

// ---------------------------------------------------------------------------------------------
// The page's ink (reading/ink.py::page_ink, for dark ink on clean light paper).

function pageInk({ gray, width, height }) {
  if (Math.min(width, height) < 4) return { reason: "image too small to read" };
  const size = gray.length;
  const bright = new Float32Array(size);
  for (let i = 0; i < size; i++) bright[i] = 255 - gray[i];
  const paper = paperLevel(bright, width, height);
  if (paper) for (let i = 0; i < size; i++) bright[i] = Math.max(0, bright[i] - paper[i]); // flat ink
  const smooth = blurredInk(bright, width, height);
  if (topLevel(smooth) < MIN_CONTRAST_SHARE * 255) return { reason: "no ink found (blank page)" };
  let peak = 0;
  for (let i = 0; i < size; i++) if (smooth[i] > peak) peak = smooth[i];
  let ink = new Float32Array(size);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const v = Math.min(1, Math.max(0, smooth[i] / peak));
    ink[i] = v;
    bytes[i] = Math.floor(ink[i] * 255);
  }
  const threshold = Math.max(otsu(bytes), (MIN_CONTRAST_SHARE * 255 * 255) / peak);
  const masked = (values) => {
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) out[i] = values[i] * 255 > threshold ? 1 : 0;
    return out;
  };
  let mask = masked(ink);
  let count = 0;
  for (let i = 0; i < size; i++) count += mask[i];
  if (count < 4) return { reason: "no ink found (too little ink)" };
  const skew = skewOf(mask, width, height);
  const forward = rotationMatrix(width / 2, height / 2, skew);
  if (skew) {
    ink = warpAffine(ink, width, height, forward, width, height);
    mask = masked(ink);
  }
  return { ink, mask, width, height, skew, inverse: invertAffine(forward) };
}

// cv2.GaussianBlur(ink, (0, 0), BLUR_SIGMA) where there is ink: the pad is mostly blank paper
// (0), which the blur leaves 0, so only the ink's box and the blur's reach beyond it (twice: the
// reflected border at the box's edge then reads paper too) are blurred. The same values.
function blurredInk(bright, width, height) {
  const box = nonzeroBox(bright, width, height);
  if (!box) return new Float32Array(bright.length);
  const reach = 2 * ((Math.round(BLUR_SIGMA * 8 + 1) | 1) >> 1) + 1;
  const x0 = Math.max(0, box[0] - reach), x1 = Math.min(width - 1, box[1] + reach);
  const y0 = Math.max(0, box[2] - reach), y1 = Math.min(height - 1, box[3] + reach);
  const w = x1 - x0 + 1, h = y1 - y0 + 1;
  const part = new Float32Array(w * h);
  for (let y = 0; y < h; y++) part.set(bright.subarray((y0 + y) * width + x0, (y0 + y) * width + x0 + w), y * w);
  const blurred = gaussianBlur(part, w, h, BLUR_SIGMA);
  const out = new Float32Array(bright.length);
  for (let y = 0; y < h; y++) out.set(blurred.subarray(y * w, (y + 1) * w), (y0 + y) * width + x0);
  return out;
}

// reading/ink.py::_paper_level: the paper's brightness at every pixel (where strokes cross and
// pile up, the paper shows through less): a grey opening on a reduced image, smoothed, enlarged;
// null where it is 0 everywhere.
function paperLevel(bright, width, height) {
  const factor = Math.max(1, Math.min(height, width) / 48);
  const w = Math.max(1, Math.round(width / factor)), h = Math.max(1, Math.round(height / factor));
  const small = factor > 1 ? resizeArea(bright, width, height, w, h) : Float32Array.from(bright);
  const side = Math.max(3, Math.round(Math.min(w, h) / PAPER_WINDOW) | 1);
  const opened = extremum(extremum(small, w, h, side, Math.min), w, h, side, Math.max);
  if (!opened.some((v) => v !== 0)) return null; // clean paper (the pad, mostly): level 0
  const blurred = boxBlur(opened, w, h, side);
  return resizeLinear(blurred, w, h, width, height);
}

function topLevel(values) {
  // The count-th largest value: a min-heap of the count largest seen (count is at most 400).
  const count = Math.max(1, Math.min(Math.round(0.005 * values.length), INK_PIXELS));
  const heap = new Float64Array(count).fill(-Infinity);
  for (const v of values) {
    if (v <= heap[0]) continue;
    heap[0] = v; // replace the smallest and sift it down
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < count && heap[l] < heap[m]) m = l;
      if (r < count && heap[r] < heap[m]) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }
  return heap[0];
}

function rotationMatrix(cx, cy, degrees) {
  // cv2.getRotationMatrix2D(center, angle, 1)
  const a = (degrees * Math.PI) / 180;
  const alpha = Math.cos(a), beta = Math.sin(a);
  return [alpha, beta, (1 - alpha) * cx - beta * cy, -beta, alpha, beta * cx + (1 - alpha) * cy];
}

function invertAffine([a, b, c, d, e, f]) {
  const det = a * e - b * d;
  const ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

// cv2.warpAffine(src, M, (w, h)), bilinear, zero outside: dst(x, y) = src(M⁻¹ (x, y)). Only the
// destination pixels whose source lies near the nonzero box are computed (the rest are 0). With
// `rowSums`, each destination row's sum is added there instead and no image is made.
function warpAffine(src, width, height, matrix, outWidth, outHeight, box = nonzeroBox(src, width, height), rowSums = null) {
  const [a, b, c, d, e, f] = invertAffine(matrix);
  const out = rowSums ? null : new Float32Array(outWidth * outHeight);
  if (!box) return out;
  const [bx0, bx1, by0, by1] = box;
  // x where lo <= slope * x + offset <= hi, as [from, to) within [0, outWidth)
  const span = (slope, offset, lo, hi, range) => {
    if (slope === 0) return offset >= lo && offset <= hi ? range : [0, 0];
    let x0 = (lo - offset) / slope, x1 = (hi - offset) / slope;
    if (x0 > x1) [x0, x1] = [x1, x0];
    return [Math.max(range[0], Math.floor(x0)), Math.min(range[1], Math.ceil(x1) + 1)];
  };
  for (let y = 0; y < outHeight; y++) {
    const cx = b * y + c, cy = e * y + f;
    const [from, to] = span(d, cy, by0 - 1, by1 + 1, span(a, cx, bx0 - 1, bx1 + 1, [0, outWidth]));
    let sum = 0;
    for (let x = from; x < to; x++) {
      const sx = a * x + cx, sy = d * x + cy;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      if (x0 < -1 || y0 < -1 || x0 >= width || y0 >= height) continue; // all four taps outside
      const fx = sx - x0, fy = sy - y0;
      const left = x0 >= 0, right = x0 + 1 < width, up = y0 >= 0, down = y0 + 1 < height;
      const row = y0 * width, next = row + width;
      let v = 0;
      if (up && left) v += (1 - fx) * (1 - fy) * src[row + x0];
      if (up && right) v += fx * (1 - fy) * src[row + x0 + 1];
      if (down && left) v += (1 - fx) * fy * src[next + x0];
      if (down && right) v += fx * fy * src[next + x0 + 1];
      if (out) out[y * outWidth + x] = v;
      else sum += Math.fround(v); // the warped image is float32, as OpenCV's
    }
    if (rowSums) rowSums[y] += sum;
  }
  return out;
}

function skewOf(mask, width, height) {
  // reading/ink.py::_skew: the rotation that makes the ink's row profile sharpest.
  const factor = Math.max(1, width / 400);
  const w = Math.max(1, Math.round(width / factor)), h = Math.max(1, Math.round(height / factor));
  const small = factor > 1 ? resizeArea(Float32Array.from(mask), width, height, w, h) : Float32Array.from(mask);
  const scores = new Map();
  const box = nonzeroBox(small, w, h);
  const rows = new Float64Array(h);
  for (let angle = -MAX_SKEW; angle <= MAX_SKEW + SKEW_STEP / 2; angle += SKEW_STEP) {
    const key = Math.round(angle * 100) / 100;
    rows.fill(0);
    warpAffine(small, w, h, rotationMatrix(w / 2, h / 2, key), w, h, box, rows);
    let score = 0;
    for (let y = 0; y < h; y++) score += rows[y] * rows[y];
    scores.set(key, score);
  }
  let best = 0;
  for (const [angle, score] of scores) {
    const current = scores.get(best);
    if (score > current || (score === current && Math.abs(angle) < Math.abs(best))) best = angle;
  }
  if (Math.abs(best) < MIN_SKEW || scores.get(best) < MIN_SKEW_GAIN * scores.get(0)) return 0;
  return best;
}

// ---------------------------------------------------------------------------------------------
// Bands of rows (reading/form_lines.py::text_bands, without its form-line removal: a pad has none).

function textBands(mask, width, height, count) {
  const { labels, tops, heights, widths, areas } = components(mask, width, height);
  const n = areas.length;
  if (n <= 1) return [mask];
  const largest = Math.max(...areas);
  const sizeable = areas.map((a) => a >= SPECK * largest);
  const stature = heights.map((h, k) => {
    const cut = tops[k] === 0 || tops[k] + h === height;
    return sizeable[k] ? h * Math.sqrt(widths[k]) * (cut ? 0.5 : 1) : -1;
  });
  const order = [...Array(n).keys()].sort((a, b) => stature[b] - stature[a] || a - b); // stable
  const held = new Array(n).fill(false);
  const bands = [];
  for (const seed of order) {
    if (bands.length === count || !sizeable[seed]) break;
    if (held[seed]) continue;
    const keep = band(tops, heights, sizeable, seed);
    keep.forEach((k, i) => { if (k) held[i] = true; });
    const out = new Uint8Array(mask.length);
    for (let i = 0; i < out.length; i++) if (labels[i] && keep[labels[i] - 1]) out[i] = 1;
    bands.push(out);
  }
  return bands;
}

function band(tops, heights, sizeable, seed) {
  let top = tops[seed], bottom = tops[seed] + heights[seed];
  const inside = tops.map((_, k) => k === seed);
  const overlap = (k) => Math.min(tops[k] + heights[k], bottom) - Math.max(tops[k], top);
  for (let grew = true; grew; ) {
    grew = false;
    const joins = tops.map((_, k) => !inside[k] && sizeable[k] && overlap(k) >= BAND_OVERLAP * heights[k]);
    joins.forEach((j, k) => { if (j) { inside[k] = true; grew = true; } });
    for (let k = 0; k < tops.length; k++) {
      if (inside[k]) {
        top = Math.min(top, tops[k]);
        bottom = Math.max(bottom, tops[k] + heights[k]);
      }
    }
  }
  // Small pieces (dots, broken-off bits) within the band stay; everything outside it goes.
  return tops.map((_, k) => inside[k] || (!sizeable[k] && overlap(k) > 0));
}

// ---------------------------------------------------------------------------------------------
// The line image and its reading (reading/line_model.py).

function lineImage(ink, mask, width, height) {
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x]) {
        top = Math.min(top, y); bottom = Math.max(bottom, y);
        left = Math.min(left, x); right = Math.max(right, x);
      }
    }
  }
  if (bottom < 0) return null;
  const cw = right - left + 1, ch = bottom - top + 1;
  const kept = new Uint8Array(cw * ch);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) kept[y * cw + x] = mask[(top + y) * width + left + x];
  const crop = new Float32Array(cw * ch); // the ink within a pixel of the kept ink (soft edges)
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      let near = 0;
      for (let dy = -1; dy <= 1 && !near; dy++) {
        for (let dx = -1; dx <= 1 && !near; dx++) {
          const yy = y + dy, xx = x + dx;
          if (yy >= 0 && xx >= 0 && yy < ch && xx < cw && kept[yy * cw + xx]) near = 1;
        }
      }
      crop[y * cw + x] = near ? ink[(top + y) * width + left + x] : 0;
    }
  }
  const inner = HEIGHT - 2 * PAD;
  const scale = inner / ch;
  const outWidth = Math.min(Math.max(roundHalfEven(cw * scale), 1), MAX_WIDTH - 4 * PAD);
  const small = scale < 1 ? resizeArea(crop, cw, ch, outWidth, inner) : resizeLinear(crop, cw, ch, outWidth, inner);
  const lineWidth = outWidth + 4 * PAD;
  const pixels = new Uint8Array(HEIGHT * lineWidth);
  for (let y = 0; y < inner; y++) {
    for (let x = 0; x < outWidth; x++) {
      pixels[(y + PAD) * lineWidth + x + 2 * PAD] = Math.floor(Math.min(255, Math.max(0, small[y * outWidth + x] * 255)));
    }
  }
  return { pixels, width: lineWidth, kept, keptWidth: cw, keptHeight: ch, left, top, scale: outWidth / cw };
}

function greedyDecode({ values, frames }) {
  const classes = BLANK + 1;
  const best = [];
  for (let t = 0; t < frames; t++) {
    let k = 0;
    for (let c = 1; c < classes; c++) if (values[t * classes + c] > values[t * classes + k]) k = c;
    best.push(k);
  }
  const emitted = [];
  let start = 0;
  for (let t = 1; t <= frames; t++) {
    if (t === frames || best[t] !== best[start]) {
      const label = best[start];
      if (label !== BLANK) {
        let peak = start;
        for (let u = start; u < t; u++) if (values[u * classes + label] > values[peak * classes + label]) peak = u;
        emitted.push({ digit: label, confidence: Math.exp(values[peak * classes + label]), peak });
      }
      start = t;
    }
  }
  return emitted;
}

function digitBoxes(line, emitted) {
  const { kept, keptWidth: width, keptHeight: height } = line;
  const centres = emitted.map((e) => ((e.peak + 0.5) * STRIDE - 2 * PAD) / line.scale);
  const cuts = [0];
  for (let i = 1; i < centres.length; i++) cuts.push((centres[i - 1] + centres[i]) / 2);
  cuts.push(width);
  const boxes = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    let x0 = Math.min(Math.max(roundHalfEven(cuts[i]), 0), width - 1);
    let x1 = Math.min(Math.max(roundHalfEven(cuts[i + 1]), 1), width);
    x1 = Math.max(x1, x0 + 1);
    let rowLo = height, rowHi = -1, colLo = x1, colHi = -1;
    for (let y = 0; y < height; y++) {
      for (let x = x0; x < x1; x++) {
        if (kept[y * width + x]) {
          rowLo = Math.min(rowLo, y); rowHi = Math.max(rowHi, y);
          colLo = Math.min(colLo, x); colHi = Math.max(colHi, x);
        }
      }
    }
    let y0 = 0, y1 = height;
    if (rowHi >= 0) {
      [x0, x1, y0, y1] = [colLo, colHi + 1, rowLo, rowHi + 1];
    }
    boxes.push([line.left + x0, line.top + y0, x1 - x0, y1 - y0]);
  }
  return boxes;
}

// reading/ink.py::PageInk.to_page: a box on the levelled page -> the box covering it on the pad.
function toPage(page, [x, y, w, h]) {
  const [a, b, c, d, e, f] = page.inverse;
  const xs = [], ys = [];
  for (const [px, py] of [[x, y], [x + w, y], [x, y + h], [x + w, y + h]]) {
    xs.push(a * px + b * py + c);
    ys.push(d * px + e * py + f);
  }
  const left = Math.max(0, Math.floor(Math.min(...xs))), top = Math.max(0, Math.floor(Math.min(...ys)));
  const right = Math.min(page.width, Math.ceil(Math.max(...xs))), bottom = Math.min(page.height, Math.ceil(Math.max(...ys)));
  return [left, top, Math.max(1, right - left), Math.max(1, bottom - top)];
}
