/**
 * gridPng: a contact sheet of rows of cells under a header, sized from the options, cells placed where they
 * belong (a red cell in the second column of the second row reads back red there).
 */
import sharp from 'sharp';

import { gridPng } from '../../lib/grid';

async function solid(r: number, g: number, b: number, side = 10): Promise<Buffer> {
  return sharp({ create: { width: side, height: side, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();
}

test('rows of cells under a header, each cell resized to the cell size', async () => {
  const grey = await solid(128, 128, 128);
  const red = await solid(255, 0, 0, 7);
  const png = await gridPng(
    [
      { cells: [grey, grey, grey], caption: 'good  score 0.1  ok' },
      { cells: [grey, red, grey], caption: 'scratch  score 0.9  DEFECT' },
    ],
    { header: ['image', 'anomaly map', 'ground truth'], cell: 40, captionWidth: 100 },
  );
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  // caption 100 + 3 x (40 + 4 gap); header 22 + 2 x (40 + 4 gap).
  expect([info.width, info.height]).toEqual([100 + 3 * 44, 22 + 2 * 44]);
  const at = (x: number, y: number): number[] => Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3));
  expect(at(100 + 44 + 20, 22 + 44 + 20)).toEqual([255, 0, 0]); // row 2, column 2
  expect(at(100 + 20, 22 + 20)).toEqual([128, 128, 128]); // row 1, column 1
  expect(at(100 + 2 * 44 + 20, 22 + 44 + 20)).toEqual([128, 128, 128]);
});
