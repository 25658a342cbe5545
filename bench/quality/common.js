'use strict';
/**
 * Shared by the bench/quality scripts: where the built package is, a tiny argument parser, and a JavaScript
 * copy of the core's 8-bit INTER_LINEAR resize (cpp/data/resize_linear.cpp), which the addon does not expose.
 */
const fs = require('node:fs');
const path = require('node:path');

/** The package root whose dist/ the scripts use: SSN_PACKAGE_DIR, else the repository this file is in. */
const PACKAGE_ROOT = path.resolve(process.env.SSN_PACKAGE_DIR || path.join(__dirname, '..', '..'));

/** require() of a compiled module of the package, e.g. pkg('data/magnetic_tile'); pkg() is the index. */
function pkg(sub = '') {
  const file = path.join(PACKAGE_ROOT, 'dist', sub);
  try {
    return require(file);
  } catch (e) {
    if (e.code === 'MODULE_NOT_FOUND' && !fs.existsSync(path.join(PACKAGE_ROOT, 'dist'))) {
      throw new Error(`${PACKAGE_ROOT}/dist is missing: run \`npx tsc -p tsconfig.json\` there, or set SSN_PACKAGE_DIR ` +
        'to a built checkout (and SSN_NATIVE_BINDING to its addon if this one has no build/).');
    }
    throw e;
  }
}

/** --name value options and --flag booleans. */
function parseArgs(argv, booleans = []) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out._.push(a);
      continue;
    }
    const name = a.slice(2);
    if (booleans.includes(name)) out[name] = true;
    else {
      if (i + 1 >= argv.length) throw new Error(`--${name} needs a value`);
      out[name] = argv[++i];
    }
  }
  return out;
}

function requireArg(args, name) {
  if (args[name] === undefined) throw new Error(`--${name} is required`);
  return args[name];
}

/** "64" -> [64, 64]; "192x320" -> [192, 320] (height x width). */
function parseSize(text) {
  const m = /^(\d+)(?:x(\d+))?$/.exec(String(text));
  if (!m) throw new Error(`--size: expected N or HxW, got ${text}`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

// ---- OpenCV cv::resize(INTER_LINEAR) on 8-bit images, a line-by-line copy of cpp/data/resize_linear.cpp ----

const COEF_SCALE = 2048; // INTER_RESIZE_COEF_SCALE (11 bits)
const fround = Math.fround;

/** saturate_cast<short>(float): round half to even, then clamp. */
function roundCoef(v) {
  const f = Math.floor(v);
  const d = v - f;
  let r;
  if (d > 0.5) r = f + 1;
  else if (d < 0.5) r = f;
  else r = f % 2 === 0 ? f : f + 1;
  return Math.min(32767, Math.max(-32768, r));
}

function makeTaps(src, dst, clampWeights) {
  const scale = src / dst;
  const index = new Int32Array(dst);
  const a0 = new Int32Array(dst);
  const a1 = new Int32Array(dst);
  for (let d = 0; d < dst; d++) {
    let f = fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = fround(f - s);
    if (clampWeights) {
      if (s < 0) { f = 0; s = 0; }
      if (s >= src - 1) { f = 0; s = src - 1; }
    }
    index[d] = s;
    a0[d] = roundCoef(fround(fround(1 - f) * COEF_SCALE));
    a1[d] = roundCoef(fround(f * COEF_SCALE));
  }
  return { index, a0, a1 };
}

function areaHalf(src, width, channels, dstH, dstW) {
  const dst = new Uint8Array(dstH * dstW * channels);
  const row = width * channels;
  for (let y = 0; y < dstH; y++) {
    const r0 = 2 * y * row;
    const r1 = r0 + row;
    for (let x = 0; x < dstW; x++) {
      for (let c = 0; c < channels; c++) {
        const i = 2 * x * channels + c;
        dst[(y * dstW + x) * channels + c] = (src[r0 + i] + src[r0 + i + channels] + src[r1 + i] + src[r1 + i + channels] + 2) >> 2;
      }
    }
  }
  return dst;
}

/** src: height x width x channels bytes (row-major); returns dstH x dstW x channels bytes. */
function resizeLinearU8(src, height, width, channels, dstH, dstW) {
  if (height === dstH && width === dstW) return Uint8Array.from(src);
  if (height === 2 * dstH && width === 2 * dstW) return areaHalf(src, width, channels, dstH, dstW);
  const xt = makeTaps(width, dstW, true);
  const yt = makeTaps(height, dstH, false);
  const n = dstW * channels;
  const hresize = (sy) => {
    const out = new Int32Array(n);
    const base = sy * width * channels;
    for (let x = 0; x < dstW; x++) {
      const x0 = xt.index[x];
      const x1 = Math.min(x0 + 1, width - 1);
      for (let c = 0; c < channels; c++) {
        out[x * channels + c] = src[base + x0 * channels + c] * xt.a0[x] + src[base + x1 * channels + c] * xt.a1[x];
      }
    }
    return out;
  };
  const rows = new Map(); // source row -> horizontal pass (the C++ caches two; the values are the same)
  const row = (sy) => {
    let r = rows.get(sy);
    if (!r) {
      if (rows.size > 4) rows.clear();
      r = hresize(sy);
      rows.set(sy, r);
    }
    return r;
  };
  const dst = new Uint8Array(dstH * n);
  for (let y = 0; y < dstH; y++) {
    const l0 = row(Math.min(Math.max(yt.index[y], 0), height - 1));
    const l1 = row(Math.min(Math.max(yt.index[y] + 1, 0), height - 1));
    const b0 = yt.a0[y];
    const b1 = yt.a1[y];
    const o = y * n;
    // VResizeLinear<uchar, int, short> with FixedPtCast, as the C++ (all values fit int32).
    for (let i = 0; i < n; i++) dst[o + i] = ((((b0 * (l0[i] >> 4)) >> 16) + ((b1 * (l1[i] >> 4)) >> 16) + 2) >> 2) & 255;
  }
  return dst;
}

/** RGB bytes from gray (replicated) or RGBA (alpha dropped), as the core's to_rgb (cv2.imread IMREAD_COLOR). */
function toRgb(image) {
  const { data, width, height, channels } = image;
  if (channels === 3) return data;
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = data[i * channels + (channels === 1 ? 0 : c)];
  return rgb;
}

module.exports = { PACKAGE_ROOT, pkg, parseArgs, requireArg, parseSize, resizeLinearU8, toRgb };
