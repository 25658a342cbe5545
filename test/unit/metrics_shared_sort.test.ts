/** AUPRO reusing the pixel sort of prepareBinary gives the same result, to the bit, as sorting itself. */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { aupro, prepareBinary } from '../../lib/metrics';

interface AuproCase {
  name: string;
  height: number;
  width: number;
  maps: number[][];
  masks: number[][];
}

const fixtures: AuproCase[] = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'metrics', 'aupro.json'), 'utf8'));

function concat<T extends Float32Array | Uint8Array>(parts: T[], make: (n: number) => T): T {
  const out = make(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe.each(fixtures.map((c) => [c.name, c] as const))('AUPRO with a shared sort: %s', (_name, c) => {
  const maps = c.maps.map((m) => Float32Array.from(m));
  const masks = c.masks.map((m) => Uint8Array.from(m));
  const prepared = prepareBinary(
    concat(maps, (n) => new Float32Array(n)),
    concat(masks, (n) => new Uint8Array(n)),
  );

  test.each(['float32', 'float64'] as const)('%s: identical curve and area', (arithmetic) => {
    const own = aupro(maps, masks, c.height, c.width, { arithmetic });
    const shared = aupro(maps, masks, c.height, c.width, { arithmetic, prepared });
    expect(shared.aupro).toBe(own.aupro);
    expect([...shared.fpr]).toEqual([...own.fpr]);
    expect([...shared.tpr]).toEqual([...own.tpr]);
  });

  test('a prepared set of other pixels is refused', () => {
    const other = prepareBinary(Float32Array.from([0.1, 0.2]), Uint8Array.from([0, 1]));
    expect(() => aupro(maps, masks, c.height, c.width, { prepared: other })).toThrow(/options.prepared/);
  });
});
