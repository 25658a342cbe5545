#!/usr/bin/env node
'use strict';
/**
 * Exports a Magnetic Tile split at the model size as .npy files, so that the official code (driven by
 * official_driver.py) and our package train and test on the same pixels.
 *
 *   node bench/quality/export-split.js --root /work/shared/data/magnetic-tile --size 256 \
 *        [--supervised] [--split-seed 42] [--limit N] --out /tmp/mt-unsup-256
 *
 * Split: our loader, loadMagneticTile(root, { supervised, seed }) (lib/data/magnetic_tile.ts); --limit N keeps
 * at most N train and N test items with `ssn benchmark --limit`'s rule (limitItems: evenly spaced per label).
 * Pixels: our resizeImage (decoded by sharp, made RGB and resized by the core exactly as predict and train do:
 * OpenCV INTER_LINEAR on the 8-bit image). Masks: our loadMask (first channel, INTER_NEAREST, >= 128).
 * So train_images[i] is exactly what `train` keeps natively and test_images[i] what `predict` feeds the backbone.
 *
 * Writes to --out:
 *   {train,test}_images.npy  uint8 [N,H,W,3] RGB
 *   {train,test}_masks.npy   uint8 [N,H,W] in {0,1} (zeros for normal items)
 *   {train,test}_labels.npy  uint8 [N] (0 normal, 1 defective)
 *   split.json               ids, types, labels, whether each item has a mask, the options, counts
 *
 * --check-resize K also predicts K test images with a fresh default-backbone model twice, from the file and
 * from the exported pixels, and fails unless maps and logits are identical (checks the resize on real data).
 */
const fs = require('node:fs');
const path = require('node:path');

const { PACKAGE_ROOT, pkg, parseArgs, requireArg, parseSize } = require('./common');

async function exportItems(items, height, width, threshold, resizeImage, loadMask) {
  const n = items.length;
  const images = new Uint8Array(n * height * width * 3);
  const masks = new Uint8Array(n * height * width);
  const labels = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const item = items[k];
    images.set((await resizeImage(item.image, height, width)).data, k * height * width * 3);
    masks.set(await loadMask(item.mask, height, width, threshold, item.id), k * height * width);
    labels[k] = item.label;
  }
  return { images, masks, labels };
}

async function main() {
  const args = parseArgs(process.argv.slice(2), ['supervised']);
  const root = requireArg(args, 'root');
  const out = requireArg(args, 'out');
  const [height, width] = parseSize(args.size ?? '256');
  const supervised = Boolean(args.supervised);
  const seed = Number(args['split-seed'] ?? 42);
  const limit = args.limit === undefined ? undefined : Number(args.limit);

  const { resizeImage } = pkg('image');
  const { loadMask, DEFAULT_MASK_THRESHOLD } = pkg('data/masks');
  const { loadMagneticTile } = pkg('data/magnetic_tile');
  const { limitItems } = pkg('eval/benchmark');
  const { writeNpy } = pkg('npy');

  const split = await loadMagneticTile(root, { supervised, seed });
  const threshold = split.maskThreshold ?? DEFAULT_MASK_THRESHOLD;
  const parts = { train: limitItems(split.train, limit), test: limitItems(split.test, limit) };
  fs.mkdirSync(out, { recursive: true });
  const t0 = Date.now();
  const meta = {
    dataset: split.name,
    root: path.resolve(root),
    supervised,
    splitSeed: seed,
    limit: limit ?? null,
    imageSize: [height, width],
    maskThreshold: threshold,
    resize: 'OpenCV INTER_LINEAR on 8-bit RGB (bench/quality/common.js); masks INTER_NEAREST then >= threshold',
    package: PACKAGE_ROOT,
  };
  for (const [name, items] of Object.entries(parts)) {
    const { images, masks, labels } = await exportItems(items, height, width, threshold, resizeImage, loadMask);
    await writeNpy(path.join(out, `${name}_images.npy`), images, [items.length, height, width, 3]);
    await writeNpy(path.join(out, `${name}_masks.npy`), masks, [items.length, height, width]);
    await writeNpy(path.join(out, `${name}_labels.npy`), labels, [items.length]);
    meta[name] = {
      count: items.length,
      positives: labels.reduce((a, b) => a + b, 0),
      ids: items.map((i) => i.id),
      types: items.map((i) => i.type ?? (i.label ? 'defect' : 'good')),
      labels: Array.from(labels),
      hasMask: items.map((i) => i.mask !== undefined),
    };
  }
  meta.exportSeconds = (Date.now() - t0) / 1000;
  fs.writeFileSync(path.join(out, 'split.json'), JSON.stringify(meta, null, 1));
  console.log(
    `${split.name}: train ${meta.train.count} (${meta.train.positives} defective), test ${meta.test.count} ` +
      `(${meta.test.positives} defective) at ${height}x${width} -> ${out} (${meta.exportSeconds.toFixed(1)} s)`,
  );

  const checkK = Number(args['check-resize'] ?? 0);
  if (checkK > 0) await checkResize(parts.test.slice(0, checkK), out, height, width);
}

/** predict(file) and predict(exported raw pixels) must give the same map and logit, bit for bit. */
async function checkResize(items, out, height, width) {
  const { SuperSimpleNet } = pkg();
  const { readNpy } = pkg('npy');
  const images = await readNpy(path.join(out, 'test_images.npy'));
  const model = await SuperSimpleNet.create({ imageSize: [height, width], seed: 1 });
  let worstMap = 0;
  let worstLogit = 0;
  for (let k = 0; k < items.length; k++) {
    const raw = { data: images.data.subarray(k * height * width * 3, (k + 1) * height * width * 3), width, height, channels: 3 };
    const a = await model.predict(items[k].image);
    const b = await model.predict(raw);
    for (let i = 0; i < a.map.length; i++) worstMap = Math.max(worstMap, Math.abs(a.map[i] - b.map[i]));
    worstLogit = Math.max(worstLogit, Math.abs(a.logit - b.logit));
  }
  await model.dispose();
  console.log(
    `check-resize: ${items.length} test images, predict(file) vs predict(exported pixels): ` +
      `max |map diff| ${worstMap}, max |logit diff| ${worstLogit}`,
  );
  if (worstMap !== 0 || worstLogit !== 0) throw new Error('the exported pixels differ from what predict resizes');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
