// The digit classifier in the browser: a drawing of one digit is brought to the model's 28 × 28
// input as the server brings it (preprocess.normalize_digit, background.ink_signal, ported step
// for step), then classified by the server's own model exported to ONNX (GET
// /models/digit-classifier.onnx: the standardization and the calibrated softmax inside the graph)
// with ONNX Runtime Web. The answer has the shape of POST /v1/explain's, without the saliency
// (which the page still asks the server for): {digit, confidence, probabilities, top3, reason,
// input} with input the 28 × 28 grey levels. tests/test_web_digit.py holds the two to the same
// inputs and digits.
"use strict";

import { openSession } from "./ort_session.js";
import {
  close, components, cropped, distanceTransform, ellipseRows, gaussianBlur, grayOf, median3,
  moments, morph, nonzeroBox, otsu, padded, percentile, resizeArea, resizeCubic, resizeLinear, roundHalfEven,
} from "./pixels.js";

// preprocess.py (checked against the server by tests/test_web_digit.py)
export const SIDE = 28;
export const BOX = 20;
export const WORK = 4 * BOX;
export const BOX_LEVEL = 0.05;
export const MAX_SIDE = 1024;
export const MNIST_STROKE_WIDTH = 2.45;
export const MNIST_STROKE_RANGE = [1.75, 3.45];
export const MIN_CONTRAST = 32;
export const MIN_SIGNAL_TO_NOISE = 6.0;
export const MIN_INK_PIXELS = 4;
export const MIN_DIGIT_SIDE = 6;
export const SPECK_FRACTION = 0.05;
export const NEAR_FRACTION = 0.5;
export const NOISE_LIMIT = 0.04;
export const MAX_GAP_RADIUS = 6;
export const DOT_SIZE = 0.15;
export const DOT_ASPECT = 0.5;
export const DOT_FILL = 0.6;
export const DOT_SOLIDITY = 0.85;
// background.py
export const UNEVEN_LIGHT = 0.15;
export const MIN_CLEAR_PAPER = 2;
// recognize.py: the server's default; a server started with --threshold sends its own
export const DEFAULT_THRESHOLD = 0.5;

const MODEL_URL = "/models/digit-classifier.onnx";
const SQUARE_3 = [[-1, -1, 1], [0, -1, 1], [1, -1, 1]]; // a 3 × 3 kernel as morph's rows

// No digit in the drawing: the reason, as the server words it.
class NoDigit extends Error {}

// -> a classifier {classify(imageData)}; throws when ONNX Runtime Web or the model cannot be had.
export async function load() {
  const { ort, session, input, output, response } = await openSession(MODEL_URL);
  const given = Number.parseFloat(response.headers.get("Digitrec-Threshold"));
  const threshold = Number.isFinite(given) ? given : DEFAULT_THRESHOLD;

  async function classify(imageData) {
    let digitImage;
    try {
      digitImage = normalizeDigit(grayOf(imageData));
    } catch (error) {
      if (error instanceof NoDigit) return { digit: null, confidence: 0, probabilities: [], top3: [], reason: error.message, input: null };
      throw error;
    }
    const pixels = Float32Array.from(digitImage, (v) => v / 255);
    const result = await session.run({ [input]: new ort.Tensor("float32", pixels, [1, 1, SIDE, SIDE]) });
    const probabilities = Array.from(result[output].data);
    return { ...decide(probabilities, threshold), input: digitImage };
  }

  return { classify, threshold };
}

// recognize.decide_digit: the surest class, or none ("unsure") below the threshold.
export function decide(probabilities, threshold) {
  const order = probabilities.map((_, k) => k).sort((a, b) => probabilities[b] - probabilities[a] || a - b);
  const top3 = order.slice(0, 3).map((k) => [k, probabilities[k]]);
  const [digit, confidence] = top3[0];
  if (confidence < threshold) {
    const reason = `unsure: best guess ${digit} at ${(100 * confidence).toFixed(1)}%, below the threshold of ${+(100 * threshold).toPrecision(6)}%`;
    return { digit: null, confidence, probabilities, top3, reason };
  }
  return { digit, confidence, probabilities, top3, reason: null };
}

// ---------------------------------------------------------------------------------------------
// preprocess.normalize_digit: grey levels {gray, width, height} -> 28 × 28 Uint8Array.

export function normalizeDigit({ gray, width, height }) {
  if (Math.min(width, height) < 2) throw new NoDigit(`image is ${width}×${height}, too small for a digit`);
  let lo = 255, hi = 0;
  for (const v of gray) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi - lo < MIN_CONTRAST) throw new NoDigit("no digit found (blank image)");
  if (Math.max(width, height) > MAX_SIDE) throw new Error("an image this big is left to the server");
  const shortSide = Math.min(width, height);
  const full = inkSignal(gray, width, height);
  let noise = full.noise;
  const contrast = percentile(full.signal, 99.5);
  // The rest only sees the part of the image around the ink (where the signal is not 0, and a
  // blur's reach beyond): outside it, every step below gives 0, so the answer is the same.
  const around = nonzeroBox(full.signal, width, height) ?? [0, width - 1, 0, height - 1];
  const reach = 9; // the 9-tap blur's reach, twice, and a pixel of median
  const [x0, y0] = [Math.max(0, around[0] - reach), Math.max(0, around[2] - reach)];
  const [x1, y1] = [Math.min(width - 1, around[1] + reach), Math.min(height - 1, around[3] + reach)];
  const w0 = x1 - x0 + 1, h0 = y1 - y0 + 1; // the part's width and height
  let signal = cropped(full.signal, width, [x0, y0, w0, h0]);
  if (noise >= NOISE_LIMIT * contrast && shortSide >= 16) {
    signal = median3(signal, w0, h0);
    noise *= 0.6;
  }
  const mask = inkMask(signal, w0, h0, shortSide >= 32, width * height - w0 * h0);
  const inked = [];
  let left = w0, top = h0, right = -1, bottom = -1;
  for (let y = 0; y < h0; y++) {
    for (let x = 0; x < w0; x++) {
      if (!mask[y * w0 + x]) continue;
      inked.push(signal[y * w0 + x]);
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      bottom = y;
    }
  }
  if (inked.length < MIN_INK_PIXELS) throw new NoDigit("no digit found (too little ink)");
  const level = percentile(inked, 90);
  if (level < Math.max(MIN_CONTRAST, MIN_SIGNAL_TO_NOISE * noise)) {
    throw new NoDigit("no digit found (nothing stands out from the paper's noise)");
  }
  const box = [left, top, right - left + 1, bottom - top + 1];
  const [, , w, h] = box;
  const kept = cropped(mask, w0, box);
  if (isDot(kept, w, h, shortSide)) throw new NoDigit("no digit found (a dot, not a digit)");
  const near = morph(Float32Array.from(kept), w, h, SQUARE_3, Math.max);
  const floor = Math.min(3 * noise, 0.3 * level);
  const inside = cropped(signal, w0, box);
  const crop = new Float32Array(w * h);
  for (let i = 0; i < crop.length; i++) {
    crop[i] = near[i] ? Math.min(1, Math.max(0, (inside[i] - floor) / (level - floor))) : 0;
  }
  let work = toWorkingSize(crop, w, h);
  work = normalizeStrokeWidth(work);
  work = closeGaps(work);
  return boxAndCenter(work);
}

// preprocess.ink_mask: Otsu's threshold on the (smoothed: `blur`) signal, then the digit's
// components; `outside`: the pixels of the image around this part, all 0.
function inkMask(signal, width, height, blur, outside) {
  const smooth = blur ? gaussianBlur(signal, width, height, 1.0) : signal;
  let top = 1e-6;
  for (let i = 0; i < smooth.length; i++) if (smooth[i] > top) top = smooth[i];
  const factor = Math.fround(255 / top);
  const scaled = new Uint8Array(smooth.length);
  for (let i = 0; i < smooth.length; i++) {
    const v = Math.fround(smooth[i] * factor); // float32 arithmetic, as numpy's
    scaled[i] = v <= 0 ? 0 : v >= 255 ? 255 : v;
  }
  const split = otsu(scaled, outside);
  const mask = new Uint8Array(scaled.length);
  for (let i = 0; i < scaled.length; i++) mask[i] = scaled[i] > split ? 1 : 0;
  const { labels, lefts, tops, widths, heights, areas } = components(mask, width, height);
  if (areas.length <= 1) return mask;
  const order = areas.map((_, k) => k).sort((a, b) => areas[b] - areas[a] || a - b);
  const first = order[0];
  const reach = NEAR_FRACTION * Math.max(widths[first], heights[first]);
  const kept = new Uint8Array(areas.length);
  kept[first] = 1;
  let union = [lefts[first], tops[first], lefts[first] + widths[first], tops[first] + heights[first]];
  const candidates = order.slice(1).filter((k) => areas[k] >= SPECK_FRACTION * areas[first]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const k of [...candidates]) {
      const x = lefts[k], y = tops[k], w = widths[k], h = heights[k];
      const gapX = Math.max(union[0] - (x + w), x - union[2], 0);
      const gapY = Math.max(union[1] - (y + h), y - union[3], 0);
      if (Math.max(gapX, gapY) <= reach) {
        kept[k] = 1;
        candidates.splice(candidates.indexOf(k), 1);
        union = [Math.min(union[0], x), Math.min(union[1], y), Math.max(union[2], x + w), Math.max(union[3], y + h)];
        grew = true;
      }
    }
  }
  for (let i = 0; i < mask.length; i++) mask[i] = labels[i] && kept[labels[i] - 1] ? 1 : 0;
  return mask;
}

// preprocess._is_dot: a speck, or a small, compact, convex blob (a tap of the pen).
function isDot(mask, width, height, shortSide) {
  if (Math.max(width, height) < MIN_DIGIT_SIDE) return true;
  if (Math.max(width, height) >= DOT_SIZE * shortSide) return false;
  let area = 0;
  for (const v of mask) area += v;
  if (Math.min(width, height) < DOT_ASPECT * Math.max(width, height) || area < DOT_FILL * width * height) return false;
  if (components(mask, width, height).areas.length !== 1 || hasHole(mask, width, height)) return false;
  return area >= DOT_SOLIDITY * hullArea(mask, width, height);
}

// Whether a mask's paper holds a region (4-connected) that does not reach the mask's edge.
function hasHole(mask, width, height) {
  const seen = new Uint8Array(mask.length);
  const stack = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if ((x === 0 || y === 0 || x === width - 1 || y === height - 1) && !mask[y * width + x]) {
        seen[y * width + x] = 1;
        stack.push(y * width + x);
      }
    }
  }
  while (stack.length) {
    const i = stack.pop(), x = i % width, y = (i - x) / width;
    for (const [xx, yy] of [[x - 1, y], [x + 1, y], [x, y - 1], [x, y + 1]]) {
      const j = yy * width + xx;
      if (xx >= 0 && yy >= 0 && xx < width && yy < height && !mask[j] && !seen[j]) {
        seen[j] = 1;
        stack.push(j);
      }
    }
  }
  for (let i = 0; i < mask.length; i++) if (!mask[i] && !seen[i]) return true;
  return false;
}

// The pixels on or inside the convex hull of a mask's ink (cv2.convexHull, cv2.fillConvexPoly).
function hullArea(mask, width, height) {
  const points = [];
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (mask[y * width + x]) points.push([x, y]);
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const half = (list) => {
    const chain = [];
    for (const p of list) {
      while (chain.length >= 2 && cross(chain[chain.length - 2], chain[chain.length - 1], p) <= 0) chain.pop();
      chain.push(p);
    }
    chain.pop();
    return chain;
  };
  const hull = [...half(points), ...half([...points].reverse())];
  let inside = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let on = true;
      for (let k = 0; k < hull.length && on; k++) on = cross(hull[k], hull[(k + 1) % hull.length], [x, y]) >= -1e-9;
      inside += on ? 1 : 0;
    }
  }
  return inside;
}

// preprocess._to_working_size: the longer side WORK, in [0, 1], with a margin of WORK / 8.
function toWorkingSize(crop, width, height) {
  const scale = WORK / Math.max(height, width);
  const w = Math.max(1, roundHalfEven(width * scale)), h = Math.max(1, roundHalfEven(height * scale));
  const resized = scale < 1 ? resizeArea(crop, width, height, w, h) : resizeCubic(crop, width, height, w, h);
  for (let i = 0; i < resized.length; i++) resized[i] = Math.min(1, Math.max(0, resized[i]));
  return padded(resized, w, h, WORK / 8);
}

function inkCount({ image }, level = 0.5) {
  let count = 0;
  for (const v of image) count += v > level ? 1 : 0;
  return count;
}

// preprocess.normalize_stroke_width: strokes outside MNIST's range brought to its nearer end.
function normalizeStrokeWidth(work) {
  const { image, width, height } = work;
  const mask = Uint8Array.from(image, (v) => (v > 0.5 ? 1 : 0));
  const count = inkCount(work);
  if (!count) return work;
  const distance = distanceTransform(mask, width, height);
  let sum = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) sum += Math.fround(distance[i]);
  const stroke = ((4 * sum) / count - 2) * (BOX / WORK);
  const [low, high] = MNIST_STROKE_RANGE;
  if (low <= stroke && stroke <= high) return work;
  const target = Math.min(Math.max(stroke, low), high);
  const radius = roundHalfEven((Math.abs(target - stroke) * WORK) / BOX / 2);
  if (radius === 0) return work;
  const rows = ellipseRows(radius);
  if (stroke < MNIST_STROKE_WIDTH) {
    const room = padded(image, width, height, radius);
    return { ...room, image: morph(room.image, room.width, room.height, rows, Math.max) };
  }
  const thinned = { image: morph(image, width, height, rows, Math.min), width, height };
  return inkCount(thinned) < 0.2 * count ? work : thinned;
}

// preprocess._pieces: ink components (work > 0.5) of at least SPECK_FRACTION of the largest.
function pieces(image, width, height) {
  const { areas } = components(Uint8Array.from(image, (v) => (v > 0.5 ? 1 : 0)), width, height);
  if (!areas.length) return 0;
  const largest = Math.max(...areas);
  return areas.filter((a) => a >= SPECK_FRACTION * largest).length;
}

// preprocess.close_gaps: a digit in pieces closed by the smallest radius that joins it.
function closeGaps(work) {
  if (MAX_GAP_RADIUS < 1 || pieces(work.image, work.width, work.height) <= 1) return work;
  const { image, width, height } = padded(work.image, work.width, work.height, MAX_GAP_RADIUS);
  const mask = Float32Array.from(image, (v) => (v > 0.5 ? 1 : 0));
  let rows;
  for (let radius = 1; radius <= MAX_GAP_RADIUS; radius++) {
    rows = ellipseRows(radius);
    if (pieces(close(mask, width, height, rows), width, height) <= 1) break;
  }
  return { image: close(image, width, height, rows), width, height };
}

// preprocess._box_and_center: the ink's box scaled to 20 px (at 4×), its centre of mass at
// MNIST's (14.0, 14.0) to a quarter pixel, shrunk 4× by area averaging.
function boxAndCenter({ image, width, height }) {
  let left = width, top = height, right = -1, bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (image[y * width + x] > BOX_LEVEL) {
        if (x < left) left = x;
        if (x > right) right = x;
        if (y < top) top = y;
        bottom = y;
      }
    }
  }
  if (right < 0) throw new NoDigit("no digit found (too little ink)");
  const cw = right - left + 1, ch = bottom - top + 1;
  const crop = cropped(image, width, [left, top, cw, ch]);
  const fine = WORK / BOX;
  const scale = WORK / Math.max(ch, cw);
  const w = Math.max(1, roundHalfEven(cw * scale)), h = Math.max(1, roundHalfEven(ch * scale));
  const digit = scale < 1 ? resizeArea(crop, cw, ch, w, h) : resizeLinear(crop, cw, ch, w, h);
  for (let i = 0; i < digit.length; i++) digit[i] = Math.min(1, Math.max(0, digit[i]));
  const side = SIDE * fine, center = (SIDE / 2) * fine + (fine - 1) / 2;
  const { m00, m10, m01 } = moments(digit, w, h);
  const cy = m00 ? m01 / m00 : (h - 1) / 2, cx = m00 ? m10 / m00 : (w - 1) / 2;
  const y0 = Math.min(Math.max(roundHalfEven(center - cy), 0), side - h);
  const x0 = Math.min(Math.max(roundHalfEven(center - cx), 0), side - w);
  const canvas = new Float32Array(side * side);
  for (let y = 0; y < h; y++) canvas.set(digit.subarray(y * w, (y + 1) * w), (y0 + y) * side + x0);
  const small = resizeArea(canvas, side, side, SIDE, SIDE);
  return Uint8Array.from(small, (v) => Math.min(255, Math.max(0, roundHalfEven(v * 255))));
}

// ---------------------------------------------------------------------------------------------
// background.ink_signal: the ink as a bright signal over paper at 0, and the paper's noise.

function inkSignal(gray, width, height) {
  const image = Float32Array.from(gray);
  const step = Math.max(1, Math.ceil(Math.sqrt((height * width) / 4096)));
  const sampleRows = Math.ceil(height / step), sampleCols = Math.ceil(width / step);
  const sample = new Float64Array(sampleRows * sampleCols);
  for (let r = 0; r < sampleRows; r++) {
    for (let c = 0; c < sampleCols; c++) sample[r * sampleCols + c] = image[r * step * width + c * step];
  }
  const sampleTerms = (degree) => {
    const terms = [];
    for (let r = 0; r < sampleRows; r++) {
      for (let c = 0; c < sampleCols; c++) terms.push(polynomialTerms((r * step) / height, (c * step) / width, degree));
    }
    return terms;
  };
  const border = [], borderTerms = [];
  const edge = (y, x) => {
    border.push(image[y * width + x]);
    borderTerms.push(polynomialTerms(y / height, x / width, 1));
  };
  for (let x = 0; x < width; x++) edge(0, x);
  for (let x = 0; x < width; x++) edge(height - 1, x);
  for (let y = 0; y < height; y++) edge(y, 0);
  for (let y = 0; y < height; y++) edge(y, width - 1);
  const [p0, p1, p2] = robustFit(borderTerms, border, shortestHalf(border));
  const residual = new Float64Array(sample.length);
  let total = 0;
  for (let r = 0; r < sampleRows; r++) {
    for (let c = 0; c < sampleCols; c++) {
      const i = r * sampleCols + c;
      residual[i] = sample[i] - (p0 * 1 + p1 * ((r * step) / height) + p2 * ((c * step) / width));
      total += residual[i];
    }
  }
  const dark = total / residual.length <= 0;
  const sign = dark ? -1 : 1;
  const inkness = residual.map((v) => sign * v);
  const paper = otsuPaper(inkness);
  const values = [], paperInkness = [];
  for (let i = 0; i < sample.length; i++) {
    if (paper[i]) {
      values.push(sample[i]);
      paperInkness.push(inkness[i]);
    }
  }
  let noise = noiseSigma(image, width, height, step, paper, sampleRows, sampleCols);
  if (values.length >= 50) {
    let low = Infinity, high = -Infinity;
    for (const v of values) {
      low = Math.min(low, v);
      high = Math.max(high, v);
    }
    const uneven = UNEVEN_LIGHT * Math.max(percentile(inkness, 99.5) - percentile(paperInkness, 50), 1.0);
    let coefficients = null;
    if (high - low > uneven && percentile(values, 95) - percentile(values, 5) > uneven / 2) {
      const surface = sampleTerms(2);
      coefficients = robustFit(surface.filter((_, i) => paper[i]), values, values.map(() => true));
      let lo = Infinity, hi = -Infinity;
      for (const t of surface) {
        const v = Math.min(Math.max(dot(t, coefficients), low), high);
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      if (hi - lo <= uneven) coefficients = null;
    }
    if (coefficients) {
      const signal = new Float32Array(image.length);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const paperLevel = Math.min(Math.max(Math.fround(dot(polynomialTerms(y / height, x / width, 2), coefficients)), low), high);
          const v = image[y * width + x];
          signal[y * width + x] = dark ? ((paperLevel - v) / Math.max(paperLevel, 1)) * 255 : v - paperLevel;
        }
      }
      if (dark) noise *= 255 / Math.max(percentile(values, 50), 1);
      return { signal, noise };
    }
  }
  const level = percentile(values.length ? values : border, 50);
  const signal = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) signal[i] = sign * (image[i] - level);
  return { signal, noise };
}

function polynomialTerms(row, col, degree) {
  return degree === 2 ? [1, row, col, row * row, col * col, row * col] : [1, row, col];
}

function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

// background._robust_fit: least squares on the kept points, refitted on the inliers (twice more).
function robustFit(terms, values, keep) {
  const n = terms[0].length;
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (values.length && lo === hi) return [values[0], ...new Array(n - 1).fill(0)];
  let coefficients = new Array(n).fill(0);
  for (let round = 0; round < 3; round++) {
    const normal = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1e-9 : 0)));
    const rhs = new Array(n).fill(0);
    keep.forEach((k, p) => {
      if (!k) return;
      const t = terms[p];
      for (let i = 0; i < n; i++) {
        rhs[i] += t[i] * values[p];
        for (let j = 0; j < n; j++) normal[i][j] += t[i] * t[j];
      }
    });
    coefficients = solve(normal, rhs);
    const residual = values.map((v, p) => v - dot(terms[p], coefficients));
    const kept = residual.filter((_, p) => keep[p]).map(Math.abs);
    const sigma = percentile(kept, 50) * 1.4826;
    const inliers = residual.map((r) => Math.abs(r) < 2.5 * sigma + 2.0);
    const count = inliers.reduce((s, v) => s + (v ? 1 : 0), 0);
    if (count < 3 * n || inliers.every((v, p) => v === keep[p])) break;
    keep = inliers;
  }
  return coefficients;
}

// A small linear system by Gaussian elimination with partial pivoting.
function solve(matrix, rhs) {
  const n = rhs.length;
  const a = matrix.map((row, i) => [...row, rhs[i]]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) pivot = r;
    [a[c], a[pivot]] = [a[pivot], a[c]];
    for (let r = c + 1; r < n; r++) {
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= n; k++) a[r][k] -= f * a[c][k];
    }
  }
  const x = new Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r][n];
    for (let k = r + 1; k < n; k++) s -= a[r][k] * x[k];
    x[r] = s / a[r][r];
  }
  return x;
}

// background._shortest_half: the values in the shortest interval holding just over half of them.
function shortestHalf(values) {
  const order = Float64Array.from(values).sort();
  const half = Math.floor(order.length / 2) + 1;
  let start = 0, best = Infinity;
  for (let i = 0; i + half - 1 < order.length; i++) {
    const width = order[i + half - 1] - order[i];
    if (width < best) {
      best = width;
      start = i;
    }
  }
  const lo = order[start], hi = order[start + half - 1];
  return values.map((v) => v >= lo && v <= hi);
}

// background._otsu_paper: samples clearly paper (under half of Otsu's threshold, or under it).
function otsuPaper(inkness) {
  let low = Infinity, high = -Infinity;
  for (const v of inkness) {
    low = Math.min(low, v);
    high = Math.max(high, v);
  }
  const factor = 255 / Math.max(high - low, 1e-6);
  const scaled = Uint8Array.from(inkness, (v) => Math.trunc((v - low) * factor));
  const split = otsu(scaled);
  let paper = Array.from(scaled, (v) => v <= split / 2);
  if (paper.filter(Boolean).length < 50) paper = Array.from(scaled, (v) => v <= split);
  return paper;
}

// background._noise_sigma: Immerkær's noise estimate over the sampled paper clear of the ink.
function noiseSigma(image, width, height, step, paper, rows, cols) {
  const reflect = (i, n) => (n === 1 ? 0 : i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);
  const kernel = [1, -2, 1, -2, 4, -2, 1, -2, 1];
  const response = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const y = r * step, x = c * step;
      let v = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          v += kernel[(dy + 1) * 3 + dx + 1] * image[reflect(y + dy, height) * width + reflect(x + dx, width)];
        }
      }
      response[r * cols + c] = Math.abs(Math.fround(v));
    }
  }
  const grid = Float32Array.from(paper, (p) => (p ? 1 : 0));
  let clear = Array.from(morph(grid, cols, rows, SQUARE_3, Math.min), (v) => v > 0);
  if (clear.filter(Boolean).length < MIN_CLEAR_PAPER) {
    const distinct = new Set();
    for (let r = 0; r < rows && distinct.size <= 2; r++) for (let c = 0; c < cols; c++) distinct.add(image[r * step * width + c * step]);
    if (distinct.size <= 2) return 0;
    clear = paper;
  }
  let sum = 0, count = 0;
  clear.forEach((k, i) => {
    if (k) {
      sum += response[i];
      count++;
    }
  });
  return count ? ((sum / count) * Math.sqrt(Math.PI / 2)) / 6 : 0;
}
