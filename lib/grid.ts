/**
 * A contact sheet: rows of equally sized PNG cells (e.g. image | overlay | ground truth) under a header, each
 * row with a caption, as one PNG. Text is drawn by sharp's SVG renderer, so nothing but sharp is needed.
 */
import sharp, { type OverlayOptions } from 'sharp';

export interface GridRow {
  /** PNG (or any image sharp reads) per column; each is resized to the cell size with nearest-neighbour. */
  cells: Buffer[];
  /** Shown left of the row, e.g. 'scratch  score 0.91  DEFECT'. */
  caption: string;
}

export interface GridOptions {
  /** Column titles, one per cell. */
  header: string[];
  /** Side of a square cell in pixels. Default 128. */
  cell?: number;
  /** Width of the caption column in pixels. Default 190. */
  captionWidth?: number;
}

const GAP = 4;
const HEADER = 22;
const FONT = 'font-family="DejaVu Sans, Arial, sans-serif" font-size="13"';

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function svgText(width: number, height: number, lines: Array<{ x: number; y: number; text: string; anchor?: string }>): Buffer {
  const body = lines
    .map((l) => `<text x="${l.x}" y="${l.y}" ${FONT} text-anchor="${l.anchor ?? 'start'}" fill="#222">${escapeXml(l.text)}</text>`)
    .join('');
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`);
}

/** The sheet as PNG bytes. */
export async function gridPng(rows: GridRow[], options: GridOptions): Promise<Buffer> {
  const cell = options.cell ?? 128;
  const captionWidth = options.captionWidth ?? 190;
  const columns = options.header.length;
  const width = captionWidth + columns * (cell + GAP);
  const height = HEADER + rows.length * (cell + GAP);
  const layers: OverlayOptions[] = [
    {
      input: svgText(
        width,
        HEADER,
        options.header.map((h, c) => ({ x: captionWidth + c * (cell + GAP) + cell / 2, y: 15, text: h, anchor: 'middle' })),
      ),
      left: 0,
      top: 0,
    },
  ];
  for (const [r, row] of rows.entries()) {
    const top = HEADER + r * (cell + GAP);
    layers.push({
      input: svgText(
        captionWidth,
        cell,
        wrap(row.caption, captionWidth).map((t, i) => ({ x: 4, y: 18 + 16 * i, text: t })),
      ),
      left: 0,
      top,
    });
    for (const [c, input] of row.cells.entries()) {
      const tile = await sharp(input).resize(cell, cell, { kernel: 'nearest', fit: 'fill' }).png().toBuffer();
      layers.push({ input: tile, left: captionWidth + c * (cell + GAP), top });
    }
  }
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(layers)
    .png({ palette: true })
    .toBuffer();
}

/** Splits a caption on double spaces into lines that fit (about 7 px per character). */
function wrap(caption: string, width: number): string[] {
  const max = Math.max(8, Math.floor(width / 7));
  return caption.split(/\s{2,}/).flatMap((part) => (part.length <= max ? [part] : (part.match(new RegExp(`.{1,${max}}`, 'g')) ?? [])));
}
