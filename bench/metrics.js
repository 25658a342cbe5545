#!/usr/bin/env node
/**
 * Timing of the evaluation metrics on a synthetic test set (not a test: it prints numbers).
 *   npm run build:ts && node bench/metrics.js [--images 100] [--size 1000] [--arithmetic float32]
 * Default: 100 images of 1000x1000 = 1e8 pixels (an MVTec category at original resolution is ~1.1e8),
 * ~70% of images with 1-3 rectangular or elliptic defects, float32 maps with (almost) all-distinct values:
 * the worst case for the number K of AUPRO curve points.
 */
const path = require('node:path');
const os = require('node:os');
const m = require(path.join(__dirname, '..', 'dist', 'metrics'));

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const images = Number(opt('images', 100));
const size = Number(opt('size', 1000));
const arithmetic = opt('arithmetic', 'float32');

let seed = 12345;
const rand = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
};

const t0 = process.hrtime.bigint();
const maps = [];
const masks = [];
for (let k = 0; k < images; k++) {
  const map = new Float32Array(size * size);
  const mask = new Uint8Array(size * size);
  if (rand() < 0.7) {
    const n = 1 + Math.floor(rand() * 3);
    for (let d = 0; d < n; d++) {
      const h = 20 + Math.floor(rand() * 130);
      const w = 20 + Math.floor(rand() * 130);
      const y0 = Math.floor(rand() * (size - h));
      const x0 = Math.floor(rand() * (size - w));
      const ellipse = rand() < 0.5;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const u = (2 * y) / h - 1;
          const v = (2 * x) / w - 1;
          if (!ellipse || u * u + v * v <= 1) mask[(y0 + y) * size + x0 + x] = 1;
        }
      }
    }
  }
  for (let i = 0; i < map.length; i++) map[i] = 0.7 * rand() + (mask[i] ? 0.3 * rand() + 0.05 : 0);
  maps.push(map);
  masks.push(mask);
}
const genS = Number(process.hrtime.bigint() - t0) / 1e9;

const N = images * size * size;
const scores = new Float32Array(N);
const labels = new Uint8Array(N);
for (let k = 0; k < images; k++) {
  scores.set(maps[k], k * size * size);
  labels.set(masks[k], k * size * size);
}

/** Wall seconds, and CPU seconds of this process (steadier on a shared machine). */
function time(fn) {
  const c = process.cpuUsage();
  const t = process.hrtime.bigint();
  const value = fn();
  const cpu = process.cpuUsage(c);
  return { value, seconds: Number(process.hrtime.bigint() - t) / 1e9, cpu: (cpu.user + cpu.system) / 1e6 };
}

const prep = time(() => m.prepareBinary(scores, labels));
const roc = time(() => m.auroc(prep.value));
const ap = time(() => m.averagePrecision(prep.value));
const f1 = time(() => m.f1Max(prep.value));
const pro = time(() => m.aupro(maps, masks, size, size, { arithmetic }));
// What `ssn eval` does: AUPRO reuses the sort made for pixel AUROC / AP.
const proShared = time(() => m.aupro(maps, masks, size, size, { arithmetic, prepared: prep.value }));
if (proShared.value.aupro !== pro.value.aupro) throw new Error('AUPRO with the shared sort differs');

const result = {
  protocol: {
    pixels: N,
    images,
    size: [size, size],
    positives: prep.value.positives.length,
    regions: pro.value.regions,
    aupro_points: pro.value.fpr.length,
    aupro_arithmetic: arithmetic,
    node: process.version,
    cpu: os.cpus()[0].model,
    cores_seen: os.cpus().length,
    single_thread: true,
  },
  seconds: {
    generate: genS,
    prepare_split_and_sort: prep.seconds,
    auroc_after_prepare: roc.seconds,
    ap_after_prepare: ap.seconds,
    f1max_after_prepare: f1.seconds,
    auroc_total: prep.seconds + roc.seconds,
    aupro_total: pro.seconds,
    aupro_after_prepare: proShared.seconds,
    pixel_metrics_total: prep.seconds + roc.seconds + ap.seconds + proShared.seconds,
  },
  cpu_seconds: {
    prepare_split_and_sort: prep.cpu,
    auroc_after_prepare: roc.cpu,
    ap_after_prepare: ap.cpu,
    aupro_total: pro.cpu,
    aupro_after_prepare: proShared.cpu,
  },
  load_average: os.loadavg(),
  values: { auroc: roc.value, ap: ap.value, f1: f1.value.f1, aupro: pro.value.aupro },
  peak_rss_gib: process.resourceUsage().maxRSS / 2 ** 20,
};
console.log(JSON.stringify(result, null, 2));
console.log(
  `\n${N.toExponential(1)} pixels, ${result.protocol.regions} regions, K = ${result.protocol.aupro_points}:` +
    ` AUROC ${result.seconds.auroc_total.toFixed(2)} s (sort ${prep.seconds.toFixed(2)} s),` +
    ` AP +${ap.seconds.toFixed(2)} s, AUPRO ${pro.seconds.toFixed(2)} s (${arithmetic}), ` +
    `${proShared.seconds.toFixed(2)} s after the shared sort; AUROC+AP+AUPRO ${result.seconds.pixel_metrics_total.toFixed(2)} s;` +
    ` CPU s: AUROC ${(prep.cpu + roc.cpu).toFixed(2)}, AUPRO ${pro.cpu.toFixed(2)}; load ${os.loadavg()[0].toFixed(1)}`,
);
