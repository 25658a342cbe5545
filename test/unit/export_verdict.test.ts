import { float32AtLeast } from '../../lib/export/verdict';

/** The float32 just below the float32 f. */
function below(f: number): number {
  const a = new Float32Array([f]);
  const u = new Uint32Array(a.buffer);
  if (f === 0) return -(2 ** -149);
  u[0] += f > 0 ? -1 : 1;
  return a[0];
}

test('float32AtLeast is the smallest float32 >= t: a float32 x passes x >= t exactly when x >= it', () => {
  const ts = [0.5, 0.1, -0.1, 1 / 3, -1 / 3, 0.99999999, 1e-40, -1e-40, 0, 7.25, -2.5e-3, Math.fround(0.3), 123456.789];
  let seed = 7;
  for (let i = 0; i < 200; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    ts.push((seed / 2 ** 32 - 0.5) * 40);
  }
  for (const t of ts) {
    const f = float32AtLeast(t);
    expect(Math.fround(f)).toBe(f);
    expect(f >= t).toBe(true);
    expect(below(f) < t).toBe(true);
  }
  expect(float32AtLeast(Math.fround(0.3))).toBe(Math.fround(0.3)); // a float32 threshold stays as it is
});
