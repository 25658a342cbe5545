import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadMvtec } from '../../lib/data/mvtec';
import { isAnomalous } from '../../lib/calibration';
import { evaluateSplit, type EvalModel } from '../../lib/eval/evaluate';
import { curveSvg, toMarkdown, writeReports } from '../../lib/eval/report';
import { square, writePng } from '../helpers/datasetTree';
import { fakeEvalModel } from '../helpers/fakeEvalModel';

describe('evaluation and report', () => {
  let tmp: string;
  let root: string;
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-eval-'));
    root = path.join(tmp, 'mvtec');
    const c = path.join(root, 'grid');
    await writePng(path.join(c, 'train', 'good', '000.png'), 32, 32, () => 40);
    // Normal images: dim, one of them with a bright spot (a false positive); defects: bright squares, one faint.
    for (let i = 0; i < 4; i++)
      await writePng(
        path.join(c, 'test', 'good', `00${i}.png`),
        32,
        32,
        i === 3 ? (x, y) => (square(20, 20, 4)(x, y) ? 200 : 40) : () => 40,
      );
    for (let i = 0; i < 3; i++) {
      const sq = square(4 + 4 * i, 8, 8);
      const faint = i === 2;
      await writePng(path.join(c, 'test', 'hole', `00${i}.png`), 32, 32, (x, y) => (sq(x, y) ? (faint ? 120 : 250) : 40));
      await writePng(path.join(c, 'ground_truth', 'hole', `00${i}_mask.png`), 32, 32, sq, 1);
    }
    await writePng(path.join(c, 'test', 'scratch', '000.png'), 32, 32, (_x, y) => (y === 16 || y === 17 ? 255 : 40));
    await writePng(path.join(c, 'ground_truth', 'scratch', '000_mask.png'), 32, 32, (_x, y) => (y === 16 || y === 17 ? 255 : 0), 1);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('metrics follow the official normalisation, with per-type figures and a threshold', async () => {
    const split = await loadMvtec(root, 'grid');
    const progress: number[] = [];
    const run = await evaluateSplit(fakeEvalModel(16), split, { batchSize: 3, onProgress: (d) => progress.push(d) });
    const r = run.result;
    expect(progress).toEqual([3, 6, 8]);
    expect(r.imageSize).toEqual([16, 16]);
    expect(r.counts).toMatchObject({ test: 8, normal: 4, anomalous: 4, masked: 4, regions: 4 });
    // Scores are normalised to [0, 1] over the test set.
    expect(Math.min(...r.items.map((i) => i.score))).toBe(0);
    expect(Math.max(...r.items.map((i) => i.score))).toBe(1);
    // The normal image with a spot outranks the faint hole only: 15 of the 16 (anomalous, normal) pairs are right.
    expect(r.metrics.imageAuroc).toBeCloseTo(15 / 16, 12);
    expect(r.metrics.pixelAuroc).toBeGreaterThan(0.9);
    expect(r.metrics.aupro).toBeGreaterThan(0.5);
    expect(r.perType.scratch).toMatchObject({ count: 1, imageAuroc: 1 });
    expect(r.perType.hole.count).toBe(3);
    expect(r.perType.good.imageAuroc).toBeNull();
    expect(r.threshold?.f1).toBeGreaterThan(0.8);
    expect(r.curves.pro?.fpr.at(-1)).toBeCloseTo(0.3, 2);
    expect(toMarkdown(r)).toContain('| I-AUROC | AP-det | P-AUROC | AP-loc | AUPRO@0.3 |');
  });

  test('the HTML report is self-contained, with SVG curves and inline overlays, worst errors first', async () => {
    const run = await evaluateSplit(fakeEvalModel(16), await loadMvtec(root, 'grid'));
    const out = path.join(tmp, 'report');
    const files = await writeReports(run, out, { examples: 2 });
    const html = readFileSync(files.html, 'utf8');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/(src|href)="(?!data:)/);
    expect(html.match(/<svg/g)).toHaveLength(3);
    expect(html.match(/<img alt="overlay" src="data:image\/png;base64,/g)).toHaveLength(4);
    // The first false positive shown is the normal image with the bright spot.
    const fpSection = html.split('Worst false positives')[1];
    expect(fpSection.indexOf('grid/test/good/003.png')).toBeGreaterThan(-1);
    expect(fpSection.indexOf('grid/test/good/003.png')).toBeLessThan(fpSection.indexOf('grid/test/good/000.png') >>> 0);
    const json = JSON.parse(readFileSync(files.json, 'utf8'));
    expect(json.metrics.imageAuroc).toBe(run.result.metrics.imageAuroc);
    expect(readFileSync(files.markdown, 'utf8')).toContain('| scratch | 1 |');
  });

  test('a calibrated model: accuracy and confusion counts at its stored threshold, beside the F1-max figures', async () => {
    // The fake's raw score is sigmoid(10 * max - 5): calling images whose map reaches 0.6 anomalous flags the
    // two bright holes and the scratch (TP), the normal image with a bright spot (FP), and misses the faint hole.
    const base = fakeEvalModel(16);
    const imageThreshold = 1 / (1 + Math.exp(-(10 * 0.6 - 5)));
    const calibrated: EvalModel = {
      async predictBatch(inputs) {
        return (await base.predictBatch(inputs)).map((p) => ({
          ...p,
          anomalous: isAnomalous(p.score, { imageThreshold }),
          thresholds: { image: imageThreshold, pixel: 0.6 },
        }));
      },
    };
    const run = await evaluateSplit(calibrated, await loadMvtec(root, 'grid'), { batchSize: 3 });
    const c = run.result.calibrated!;
    expect(c.confusion).toEqual({ tp: 3, fp: 1, tn: 3, fn: 1 });
    expect(c).toMatchObject({ imageThreshold, accuracy: 6 / 8, precision: 3 / 4, recall: 3 / 4, f1: 3 / 4 });
    expect(run.result.items.find((i) => i.id.endsWith('good/003.png'))?.anomalous).toBe(true);
    expect(run.result.threshold).not.toBeNull(); // the F1-max figures stay
    const markdown = toMarkdown(run.result);
    expect(markdown).toContain('accuracy 75.0% (TP 3, FP 1, TN 3, FN 1');
    // An uncalibrated model has no stored threshold to report.
    const plain = await evaluateSplit(base, await loadMvtec(root, 'grid'));
    expect(plain.result.calibrated).toBeNull();
    expect(plain.result.items.every((i) => i.anomalous === undefined)).toBe(true);
    expect(toMarkdown(plain.result)).not.toContain('stored threshold');
  });

  test('curveSvg draws one polyline over the given range', () => {
    const svg = curveSvg({ fpr: [0, 0.1, 0.3], tpr: [0, 0.5, 1] }, 'PRO', 'fpr', 'pro', 0.3);
    expect(svg).toContain('<polyline points="44.0,224.0 132.0,124.0 308.0,24.0"');
  });
});
