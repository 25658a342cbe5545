/**
 * Evaluation reports: result.json (metrics, threshold, per-type figures, per-item scores, thinned curves),
 * report.md (tables) and report.html, a self-contained page (no external resource: overlays are inline
 * base64 PNGs, curves inline SVG) with the worst false positives and false negatives first.
 */
import * as path from 'node:path';

import sharp from 'sharp';

import { writeAtomic } from '../atomic_write';
import { overlayPng } from '../overlay';
import type { Curve, EvalResult, EvalRun, StoredThresholdMetrics } from './evaluate';

const METRIC_LABELS: Array<[keyof EvalResult['metrics'], string]> = [
  ['imageAuroc', 'I-AUROC'],
  ['imageAp', 'AP-det'],
  ['pixelAuroc', 'P-AUROC'],
  ['pixelAp', 'AP-loc'],
  ['aupro', 'AUPRO@0.3'],
  ['segImageAuroc', 'seg-I-AUROC'],
  ['segImageAp', 'seg-AP-det'],
];

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || Number.isNaN(v) ? '-' : (100 * v).toFixed(digits);
}

export function toMarkdown(r: EvalResult): string {
  const lines: string[] = [];
  lines.push(`# Evaluation: ${r.dataset}`, '');
  lines.push(
    `${r.counts.test} test images (${r.counts.normal} normal, ${r.counts.anomalous} anomalous, ` +
      `${r.counts.regions} defect regions) at ${r.imageSize[0]}x${r.imageSize[1]}.`,
    '',
  );
  lines.push(`| ${METRIC_LABELS.map(([, l]) => l).join(' | ')} |`);
  lines.push(`|${METRIC_LABELS.map(() => '---:').join('|')}|`);
  lines.push(`| ${METRIC_LABELS.map(([k]) => pct(r.metrics[k])).join(' | ')} |`, '');
  if (r.threshold) {
    lines.push(
      `F1-max threshold on the normalised image score: ${r.threshold.value.toFixed(4)} ` +
        `(F1 ${pct(r.threshold.f1)}, precision ${pct(r.threshold.precision)}, recall ${pct(r.threshold.recall)}).`,
      '',
    );
  }
  if (r.calibrated) lines.push(`${storedThresholdText(r.calibrated)}.`, '');
  lines.push('| type | images | I-AUROC vs good | P-AUROC | mean score |', '|---|---:|---:|---:|---:|');
  for (const [type, t] of Object.entries(r.perType)) {
    lines.push(`| ${type} | ${t.count} | ${pct(t.imageAuroc)} | ${pct(t.pixelAuroc)} | ${t.meanScore.toFixed(3)} |`);
  }
  for (const n of r.notes) lines.push('', `Note: ${n}`);
  return `${lines.join('\n')}\n`;
}

/** One sentence on a calibrated model's verdicts at its stored threshold. */
export function storedThresholdText(c: StoredThresholdMetrics): string {
  const { tp, fp, tn, fn } = c.confusion;
  return (
    `At the model's stored threshold ${c.imageThreshold.toPrecision(6)} on the raw image score: accuracy ${pct(c.accuracy)}% ` +
    `(TP ${tp}, FP ${fp}, TN ${tn}, FN ${fn}; precision ${pct(c.precision)}, recall ${pct(c.recall)}, F1 ${pct(c.f1)})`
  );
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An inline SVG line plot of a curve on [0, xMax] x [0, 1]. */
export function curveSvg(
  curve: Curve,
  title: string,
  xLabel: string,
  yLabel: string,
  xMax = 1,
  marker?: { x: number; y: number; label: string },
): string {
  const W = 320;
  const H = 260;
  const L = 44;
  const B = 36;
  const T = 24;
  const R = 12;
  const px = (x: number): number => L + (Math.min(x, xMax) / xMax) * (W - L - R);
  const py = (y: number): number => H - B - y * (H - B - T);
  const pts = curve.fpr.map((x, i) => `${px(x).toFixed(1)},${py(curve.tpr[i]).toFixed(1)}`).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const grid = ticks
    .map(
      (t) =>
        `<line x1="${px(t * xMax)}" y1="${T}" x2="${px(t * xMax)}" y2="${H - B}" class="g"/>` +
        `<line x1="${L}" y1="${py(t)}" x2="${W - R}" y2="${py(t)}" class="g"/>` +
        `<text x="${px(t * xMax)}" y="${H - B + 14}" text-anchor="middle">${+(t * xMax).toFixed(3)}</text>` +
        `<text x="${L - 4}" y="${py(t) + 4}" text-anchor="end">${t}</text>`,
    )
    .join('');
  // The marker's label sits on the side of the point with more room.
  const right = marker !== undefined && marker.x / xMax < 0.6;
  const m = marker
    ? `<circle cx="${px(marker.x)}" cy="${py(marker.y)}" r="4" class="m"/>` +
      `<text x="${px(marker.x) + (right ? 6 : -6)}" y="${py(marker.y) + 14}" text-anchor="${right ? 'start' : 'end'}">${esc(marker.label)}</text>`
    : '';
  return (
    `<svg class="curve" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">` +
    `<text x="${W / 2}" y="16" text-anchor="middle" class="t">${esc(title)}</text>${grid}` +
    `<polyline points="${pts}" class="c"/>${m}` +
    `<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>` +
    `<text x="12" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(T + H - B) / 2})">${esc(yLabel)}</text></svg>`
  );
}

/** The 0/1 mask (w x h, model size) as a PNG stretched to outW x outH, the size of the image shown beside it. */
async function maskPng(mask: Uint8Array, w: number, h: number, outW: number, outH: number): Promise<Buffer> {
  const px = Buffer.alloc(mask.length);
  for (let i = 0; i < mask.length; i++) px[i] = mask[i] ? 255 : 0;
  return sharp(px, { raw: { width: w, height: h, channels: 1 } })
    .resize(outW, outH, { fit: 'fill', kernel: 'nearest' })
    .png()
    .toBuffer();
}

export interface HtmlOptions {
  /** Worst false positives / negatives shown. Default 8 each. */
  examples?: number;
  /** Largest side of embedded overlays. Default 256. */
  maxSide?: number;
  title?: string;
}

export async function toHtml(run: EvalRun, options: HtmlOptions = {}): Promise<string> {
  const r = run.result;
  const n = options.examples ?? 8;
  const [h, w] = r.imageSize;
  const thr = r.threshold?.value ?? 0.5;
  const order = r.items.map((_, k) => k);
  const fp = order
    .filter((k) => r.items[k].label === 0)
    .sort((a, b) => r.items[b].score - r.items[a].score)
    .slice(0, n);
  const fn = order
    .filter((k) => r.items[k].label === 1)
    .sort((a, b) => r.items[a].score - r.items[b].score)
    .slice(0, n);
  const card = async (k: number): Promise<string> => {
    const it = r.items[k];
    const over = await overlayPng(run.items[k].image, run.maps[k], w, h, { range: [0, 1], maxSide: options.maxSide ?? 256 });
    const shown = await sharp(over).metadata();
    const gtPng = it.label ? await maskPng(run.masks[k], w, h, shown.width ?? w, shown.height ?? h) : undefined;
    const gt = gtPng ? `<img alt="mask" src="data:image/png;base64,${gtPng.toString('base64')}">` : '';
    const verdict = it.score >= thr ? 'anomalous' : 'normal';
    const wrong = it.score >= thr !== (it.label === 1);
    return (
      `<figure class="${wrong ? 'wrong' : 'right'}"><img alt="overlay" src="data:image/png;base64,${over.toString('base64')}">${gt}` +
      `<figcaption>${esc(it.id)}<br>type ${esc(it.type)}, score ${it.score.toFixed(4)} → ${verdict}${wrong ? ' (wrong)' : ''}</figcaption></figure>`
    );
  };
  const cards = async (ks: number[]): Promise<string> => {
    const out: string[] = [];
    for (const k of ks) out.push(await card(k));
    return out.join('') || '<p>none</p>';
  };
  const rows = METRIC_LABELS.map(([k, l]) => `<tr><th>${l}</th><td>${pct(r.metrics[k], 2)}</td></tr>`).join('');
  const types = Object.entries(r.perType)
    .map(
      ([t, m]) =>
        `<tr><td>${esc(t)}</td><td>${m.count}</td><td>${pct(m.imageAuroc)}</td><td>${pct(m.pixelAuroc)}</td><td>${m.meanScore.toFixed(3)}</td></tr>`,
    )
    .join('');
  const curves: string[] = [];
  if (r.curves.imageRoc) {
    const roc = r.curves.imageRoc;
    // The threshold's own point: the rates of the normalised scores at or above it.
    const pos = r.items.filter((i) => i.label === 1);
    const neg = r.items.filter((i) => i.label === 0);
    const marker = r.threshold
      ? {
          x: neg.filter((i) => i.score >= thr).length / neg.length,
          y: pos.filter((i) => i.score >= thr).length / pos.length,
          label: `thr ${thr.toFixed(3)}`,
        }
      : undefined;
    curves.push(curveSvg(roc, `Image ROC (AUROC ${pct(r.metrics.imageAuroc)})`, 'false positive rate', 'true positive rate', 1, marker));
  }
  if (r.curves.pixelRoc)
    curves.push(curveSvg(r.curves.pixelRoc, `Pixel ROC (AUROC ${pct(r.metrics.pixelAuroc)})`, 'false positive rate', 'true positive rate'));
  if (r.curves.pro)
    curves.push(curveSvg(r.curves.pro, `PRO curve (AUPRO ${pct(r.metrics.aupro)})`, 'false positive rate', 'per-region overlap', 0.3));
  const title = options.title ?? `SuperSimpleNet evaluation: ${r.dataset}`;
  const thrText = r.threshold
    ? `F1-max threshold <b>${r.threshold.value.toFixed(4)}</b> on the normalised image score (F1 ${pct(r.threshold.f1)}, precision ${pct(r.threshold.precision)}, recall ${pct(r.threshold.recall)})`
    : 'no threshold (no anomalous test image)';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child{text-align:left}
.curves{display:flex;flex-wrap:wrap;gap:12px}
svg.curve{border:1px solid #ddd;background:#fff;font-size:10px}
svg .g{stroke:#eee}svg .c{fill:none;stroke:#c0392b;stroke-width:2}svg .m{fill:#2c3e50}svg .t{font-size:12px;font-weight:bold}
.cards{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;padding:6px;border:2px solid #ccc;max-width:540px}figure.wrong{border-color:#c0392b}
figure img{max-width:256px;max-height:256px;margin-right:4px}
figcaption{font-size:12px;word-break:break-all}
</style></head><body>
<h1>${esc(title)}</h1>
<p>${r.counts.test} test images (${r.counts.normal} normal, ${r.counts.anomalous} anomalous, ${r.counts.regions} defect regions) scored at ${h}×${w}.
Scores are min-max normalised over the test set as the official evaluation does. ${thrText}.</p>
${r.calibrated ? `<p>${esc(storedThresholdText(r.calibrated))}.</p>` : ''}
<h2>Metrics (%)</h2><table>${rows}</table>
<h2>Per defect type</h2><table><tr><th>type</th><th>images</th><th>I-AUROC vs good</th><th>P-AUROC</th><th>mean score</th></tr>${types}</table>
<h2>Curves</h2><div class="curves">${curves.join('') || '<p>none</p>'}</div>
<h2>Worst false positives (normal images, highest scores)</h2><div class="cards">${await cards(fp)}</div>
<h2>Worst false negatives (anomalous images, lowest scores)</h2><div class="cards">${await cards(fn)}</div>
${r.notes.map((x) => `<p>Note: ${esc(x)}</p>`).join('')}
</body></html>
`;
}

/** result.json, report.md and report.html in `dir`; returns their paths. */
export async function writeReports(
  run: EvalRun,
  dir: string,
  options: HtmlOptions = {},
): Promise<{ json: string; markdown: string; html: string }> {
  const files = { json: path.join(dir, 'result.json'), markdown: path.join(dir, 'report.md'), html: path.join(dir, 'report.html') };
  await writeAtomic(files.json, `${JSON.stringify(run.result, null, 2)}\n`);
  await writeAtomic(files.markdown, toMarkdown(run.result));
  await writeAtomic(files.html, await toHtml(run, options));
  return files;
}
