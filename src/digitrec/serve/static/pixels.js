// Image operations the in-browser readers share (local_reader.js: lines, local_digit.js: single
// digits), each one the OpenCV call the Python side makes, ported step for step so that the
// browser's images are the server's (tests/test_web_local.py and tests/test_web_digit.py
// compare them). Images are flat typed arrays in row order with their width and height.
"use strict";

// Canvas RGBA -> grey levels.
export function grayOf(imageData) {
  const { data, width, height } = imageData;
  const gray = new Uint8Array(width * height);
  for (let i = 0; i < gray.length; i++) {
    const r = data[4 * i], g = data[4 * i + 1], b = data[4 * i + 2];
    gray[i] = (r * 4899 + g * 9617 + b * 1868 + 8192) >> 14; // OpenCV's BGR -> grey, fixed point
  }
  return { gray, width, height };
}

// A side × side minimum (erode) or maximum (dilate) filter; pixels outside are ignored.
export function extremum(src, width, height, side, pick) {
  const half = Math.floor(side / 2);
  const pass = (input, across) => {
    const out = new Float32Array(input.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let v = input[y * width + x];
        for (let k = -half; k <= half; k++) {
          const xx = across ? x + k : x, yy = across ? y : y + k;
          if (xx >= 0 && yy >= 0 && xx < width && yy < height) v = pick(v, input[yy * width + xx]);
        }
        out[y * width + x] = v;
      }
    }
    return out;
  };
  return pass(pass(src, true), false);
}

// cv2.blur: the mean of a side × side window, the border reflected (BORDER_REFLECT_101).
export function boxBlur(src, width, height, side) {
  const half = Math.floor(side / 2);
  const reflect = (i, n) => (n === 1 ? 0 : i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);
  const pass = (input, across) => {
    const out = new Float32Array(input.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let v = 0;
        for (let k = -half; k <= half; k++) {
          v += across ? input[y * width + reflect(x + k, width)] : input[reflect(y + k, height) * width + x];
        }
        out[y * width + x] = v / side;
      }
    }
    return out;
  };
  return pass(pass(src, true), false);
}

export function gaussianBlur(src, width, height, sigma) {
  const size = Math.round(sigma * 8 + 1) | 1; // OpenCV's kernel size for float images
  const half = (size - 1) / 2;
  const kernel = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    kernel[i] = Math.exp(-((i - half) * (i - half)) / (2 * sigma * sigma));
    sum += kernel[i];
  }
  for (let i = 0; i < size; i++) kernel[i] /= sum;
  const reflect = (i, n) => (n === 1 ? 0 : i < 0 ? -i : i >= n ? 2 * n - 2 - i : i); // BORDER_REFLECT_101
  // One pass along rows (step 1) or columns (step width); reflection only near the edges.
  const pass = (input, n, lines, step, lineStep) => {
    const out = new Float32Array(input.length);
    for (let line = 0; line < lines; line++) {
      const base = line * lineStep;
      for (let i = 0; i < n; i++) {
        let v = 0;
        if (i >= half && i < n - half) {
          const at = base + (i - half) * step;
          for (let k = 0; k < size; k++) v += kernel[k] * input[at + k * step];
        } else {
          for (let k = 0; k < size; k++) v += kernel[k] * input[base + reflect(i + k - half, n) * step];
        }
        out[base + i * step] = v;
      }
    }
    return out;
  };
  return pass(pass(src, width, height, 1, width), height, width, width, 1);
}

// OpenCV's Otsu threshold (getThreshVal_Otsu_8u), step for step; `zeros`: as many more pixels
// at 0 (an image's blank surround, left out of `bytes`).
export function otsu(bytes, zeros = 0) {
  const FLT_EPSILON = 1.1920929e-7;
  const histogram = new Float64Array(256);
  for (const v of bytes) histogram[v] += 1;
  histogram[0] += zeros;
  const scale = 1 / (bytes.length + zeros);
  let mu = 0;
  for (let i = 0; i < 256; i++) mu += i * histogram[i];
  mu *= scale;
  let q1 = 0, mu1 = 0, maxSigma = 0, maxVal = 0;
  for (let i = 0; i < 256; i++) {
    const p = histogram[i] * scale;
    mu1 *= q1;
    q1 += p;
    const q2 = 1 - q1;
    if (Math.min(q1, q2) < FLT_EPSILON || Math.max(q1, q2) > 1 - FLT_EPSILON) continue;
    mu1 = (mu1 + i * p) / q1;
    const mu2 = (mu - q1 * mu1) / q2;
    const sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
    if (sigma > maxSigma) {
      maxSigma = sigma;
      maxVal = i;
    }
  }
  return maxVal;
}

// The bounding box [x0, x1, y0, y1] of an image's nonzero pixels; null when there are none.
export function nonzeroBox(src, width, height) {
  let x0 = width, x1 = -1, y0 = height, y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (src[row + x] !== 0) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  return x1 < 0 ? null : [x0, x1, y0, y1];
}

// cv2.resize(..., INTER_AREA) for shrinking: each output pixel averages the input it covers.
export function resizeArea(src, width, height, outWidth, outHeight) {
  const weights = (n, m) => {
    const scale = n / m;
    const table = [];
    for (let i = 0; i < m; i++) {
      const lo = i * scale, hi = Math.min(n, (i + 1) * scale);
      const parts = [];
      for (let j = Math.floor(lo); j < Math.ceil(hi); j++) {
        const w = Math.min(hi, j + 1) - Math.max(lo, j);
        if (w > 1e-9) parts.push([j, w / (hi - lo)]);
      }
      table.push(parts);
    }
    return table;
  };
  return separable(src, width, height, outWidth, outHeight, weights(width, outWidth), weights(height, outHeight));
}

// cv2.resize(..., INTER_LINEAR): pixel centres aligned, edges clamped.
export function resizeLinear(src, width, height, outWidth, outHeight) {
  const weights = (n, m) => {
    const table = [];
    for (let i = 0; i < m; i++) {
      let s = ((i + 0.5) * n) / m - 0.5;
      s = Math.max(0, s);
      const j = Math.min(Math.floor(s), n - 1), f = Math.min(s - j, 1);
      table.push(j + 1 < n ? [[j, 1 - f], [j + 1, f]] : [[j, 1]]);
    }
    return table;
  };
  return separable(src, width, height, outWidth, outHeight, weights(width, outWidth), weights(height, outHeight));
}

// Resampling by a table per axis: for output index i, the input indices and their weights.
// Tables are flattened into typed arrays (start, count per output; then index, weight pairs).
export function flatten(table) {
  const starts = new Int32Array(table.length), counts = new Int32Array(table.length);
  const total = table.reduce((n, parts) => n + parts.length, 0);
  const index = new Int32Array(total), weight = new Float64Array(total);
  let k = 0;
  table.forEach((parts, i) => {
    starts[i] = k;
    counts[i] = parts.length;
    for (const [j, w] of parts) {
      index[k] = j;
      weight[k] = w;
      k++;
    }
  });
  return { starts, counts, index, weight };
}

export function separable(src, width, height, outWidth, outHeight, across, down) {
  const h = flatten(across), v = flatten(down);
  const rows = new Float32Array(outWidth * height);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    for (let x = 0; x < outWidth; x++) {
      let s = 0;
      for (let k = h.starts[x], end = k + h.counts[x]; k < end; k++) s += h.weight[k] * src[base + h.index[k]];
      rows[y * outWidth + x] = s;
    }
  }
  const out = new Float32Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    for (let k = v.starts[y], end = k + v.counts[y]; k < end; k++) {
      const w = v.weight[k], base = v.index[k] * outWidth;
      for (let x = 0; x < outWidth; x++) out[y * outWidth + x] += w * rows[base + x];
    }
  }
  return out;
}

// 8-connected components of a mask, labelled 1.. in raster order of their first pixel (as
// OpenCV's connectedComponentsWithStats), with each one's left, top, height, width and area.
export function components(mask, width, height) {
  const parent = [0];
  const find = (a) => {
    while (parent[a] !== a) a = parent[a] = parent[parent[a]];
    return a;
  };
  const provisional = new Int32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      let label = 0;
      const join = (n) => {
        const root = find(provisional[n]);
        if (!label) label = root;
        else if (root !== label) {
          if (root < label) {
            parent[label] = root;
            label = root;
          } else parent[root] = label;
        }
      };
      if (x > 0 && provisional[i - 1]) join(i - 1);
      if (y > 0) {
        const up = i - width;
        if (x > 0 && provisional[up - 1]) join(up - 1);
        if (provisional[up]) join(up);
        if (x + 1 < width && provisional[up + 1]) join(up + 1);
      }
      if (!label) {
        label = parent.length;
        parent.push(label);
      }
      provisional[i] = label;
    }
  }
  const final = new Int32Array(parent.length);
  const labels = new Int32Array(width * height);
  const stats = []; // [left, top, right, bottom, area] per final label - 1
  for (let i = 0; i < labels.length; i++) {
    if (!provisional[i]) continue;
    const root = find(provisional[i]);
    if (!final[root]) {
      stats.push([width, height, -1, -1, 0]);
      final[root] = stats.length;
    }
    const label = final[root];
    labels[i] = label;
    const s = stats[label - 1], x = i % width, y = (i - x) / width;
    if (x < s[0]) s[0] = x;
    if (y < s[1]) s[1] = y;
    if (x > s[2]) s[2] = x;
    s[3] = y; // raster order: the latest row seen is the lowest
    s[4] += 1;
  }
  const tops = stats.map((s) => s[1]), heights = stats.map((s) => s[3] - s[1] + 1);
  const widths = stats.map((s) => s[2] - s[0] + 1), areas = stats.map((s) => s[4]);
  const lefts = stats.map((s) => s[0]);
  return { labels, lefts, tops, heights, widths, areas };
}

// Python's round(): halves to the even neighbour.
export function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// numpy.percentile(values, q) with its default linear interpolation (two order statistics
// found by selection, not a sort: the values are often a whole image).
export function percentile(values, q) {
  const n = values.length;
  const index = (q / 100) * (n - 1);
  const low = Math.floor(index), high = Math.min(low + 1, n - 1);
  const copy = Float64Array.from(values);
  const a = select(copy, low);
  const fraction = index - low;
  if (!fraction) return a;
  return a + (select(copy, high, low) - a) * fraction;
}

// The k-th smallest of `values` (reordered in place; entries before `from` are already the
// `from` smallest, as a previous call leaves them), by a three-way quickselect.
function select(values, k, from = 0) {
  let lo = from, hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1];
    let lt = lo, gt = hi, i = lo;
    while (i <= gt) {
      const v = values[i];
      if (v < pivot) [values[lt++], values[i++]] = [v, values[lt]];
      else if (v > pivot) [values[gt--], values[i]] = [v, values[gt]];
      else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return pivot;
  }
  return values[k];
}

// cv2.resize(..., INTER_CUBIC) of a float image (a = -0.75, pixel centres aligned, edges clamped).
export function resizeCubic(src, width, height, outWidth, outHeight) {
  const A = -0.75;
  const weights = (n, m) => {
    const table = [];
    const scale = n / m;
    for (let i = 0; i < m; i++) {
      const f = Math.fround((i + 0.5) * scale - 0.5);
      const s = Math.floor(f), x = f - s;
      const c0 = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
      const c1 = ((A + 2) * x - (A + 3)) * x * x + 1;
      const c2 = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
      const taps = [c0, c1, c2, 1 - c0 - c1 - c2];
      table.push(taps.map((w, k) => [Math.min(Math.max(s - 1 + k, 0), n - 1), w]));
    }
    return table;
  };
  return separable(src, width, height, outWidth, outHeight, weights(width, outWidth), weights(height, outHeight));
}

// cv2.getStructuringElement(MORPH_ELLIPSE, (2r + 1, 2r + 1)) as [dy, from dx, to dx] per row.
export function ellipseRows(radius) {
  const rows = [];
  for (let dy = -radius; dy <= radius; dy++) {
    const dx = radius ? roundHalfEven(radius * Math.sqrt((radius * radius - dy * dy) / (radius * radius))) : 0;
    rows.push([dy, -dx, dx]);
  }
  return rows;
}

// cv2.dilate (pick Math.max) or cv2.erode (Math.min) by a kernel of rows [dy, from, to]; pixels
// outside the image are ignored, as OpenCV's default border value does. Each row's span is
// taken once per image (a running extremum along the rows), then the rows are combined.
export function morph(src, width, height, rows, pick) {
  const spans = new Map();
  for (const [, from, to] of rows) {
    const key = `${from},${to}`;
    if (spans.has(key)) continue;
    const across = new Float32Array(src.length);
    for (let y = 0; y < height; y++) {
      const base = y * width;
      for (let x = 0; x < width; x++) {
        let v = src[base + x];
        for (let xx = Math.max(0, x + from), end = Math.min(width - 1, x + to); xx <= end; xx++) v = pick(v, src[base + xx]);
        across[base + x] = v;
      }
    }
    spans.set(key, across);
  }
  const out = Float32Array.from(src);
  for (const [dy, from, to] of rows) {
    const across = spans.get(`${from},${to}`);
    for (let y = Math.max(0, -dy), end = Math.min(height, height - dy); y < end; y++) {
      const base = y * width, other = (y + dy) * width;
      for (let x = 0; x < width; x++) out[base + x] = pick(out[base + x], across[other + x]);
    }
  }
  return out;
}

// cv2.morphologyEx(MORPH_CLOSE): a dilation, then an erosion, by the same kernel.
export function close(src, width, height, rows) {
  return morph(morph(src, width, height, rows, Math.max), width, height, rows, Math.min);
}

// cv2.distanceTransform(mask, DIST_L2, 5): the 5 × 5 chamfer distance (1, 1.4, 2.1969) of each
// nonzero pixel to the nearest zero one; outside the image counts as far.
export function distanceTransform(mask, width, height) {
  const a = 1, b = Math.fround(1.4), c = Math.fround(2.1969);
  const far = 1e9;
  const d = new Float64Array(width * height);
  const at = (x, y) => (x < 0 || y < 0 || x >= width || y >= height ? far : d[y * width + x]);
  const forward = [[-1, -2, c], [1, -2, c], [-2, -1, c], [-1, -1, b], [0, -1, a], [1, -1, b], [2, -1, c], [-1, 0, a]];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      let v = far;
      for (const [dx, dy, w] of forward) v = Math.min(v, at(x + dx, y + dy) + w);
      d[y * width + x] = v;
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--) {
      let v = d[y * width + x];
      if (v <= a) continue;
      for (const [dx, dy, w] of forward) v = Math.min(v, at(x - dx, y - dy) + w);
      d[y * width + x] = v;
    }
  }
  return d;
}

// cv2.medianBlur(src, 3) of a float image (the border replicated); the median of nine by
// Paeth's exchange network.
export function median3(src, width, height) {
  const out = new Float32Array(src.length);
  const p = new Float64Array(9);
  const order = [1, 2, 4, 5, 7, 8, 0, 1, 3, 4, 6, 7, 1, 2, 4, 5, 7, 8, 0, 3, 5, 8, 4, 7, 3, 6, 1, 4, 2, 5, 4, 7, 4, 2, 6, 4, 4, 2];
  for (let y = 0; y < height; y++) {
    const up = Math.max(y - 1, 0) * width, row = y * width, down = Math.min(y + 1, height - 1) * width;
    for (let x = 0; x < width; x++) {
      const l = Math.max(x - 1, 0), r = Math.min(x + 1, width - 1);
      p[0] = src[up + l]; p[1] = src[up + x]; p[2] = src[up + r];
      p[3] = src[row + l]; p[4] = src[row + x]; p[5] = src[row + r];
      p[6] = src[down + l]; p[7] = src[down + x]; p[8] = src[down + r];
      for (let k = 0; k < order.length; k += 2) {
        const a = order[k], b = order[k + 1];
        if (p[a] > p[b]) {
          const t = p[a];
          p[a] = p[b];
          p[b] = t;
        }
      }
      out[row + x] = p[4];
    }
  }
  return out;
}

// cv2.moments(image)'s m00, m10 and m01.
export function moments(src, width, height) {
  let m00 = 0, m10 = 0, m01 = 0;
  for (let y = 0; y < height; y++) {
    let row = 0, rowX = 0;
    for (let x = 0; x < width; x++) {
      const v = src[y * width + x];
      row += v;
      rowX += x * v;
    }
    m00 += row;
    m10 += rowX;
    m01 += y * row;
  }
  return { m00, m10, m01 };
}

// np.pad(image, margin) with zeros.
export function padded(src, width, height, margin) {
  const w = width + 2 * margin, h = height + 2 * margin;
  const out = new Float32Array(w * h);
  for (let y = 0; y < height; y++) out.set(src.subarray(y * width, (y + 1) * width), (y + margin) * w + margin);
  return { image: out, width: w, height: h };
}

// A window [left, top, width, height] of an image, copied.
export function cropped(src, width, [left, top, w, h]) {
  const out = new (src.constructor)(w * h);
  for (let y = 0; y < h; y++) out.set(src.subarray((top + y) * width + left, (top + y) * width + left + w), y * w);
  return out;
}
